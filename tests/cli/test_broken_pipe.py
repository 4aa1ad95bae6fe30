"""`horde ... | head`: a reader that goes away ends horde quietly, as it ends any Unix tool (SIGPIPE's 141)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.processes import REPO

GOLDEN = REPO / "tests" / "actors" / "golden" / "local-run-v3.journal"


@pytest.mark.parametrize(
    "args",
    [["replay", "--timeline", str(GOLDEN)], ["replay", str(GOLDEN)], ["--help"]],
    ids=["timeline", "replay", "usage"],
)
def test_a_closed_pipe_ends_a_printing_command_quietly(args: list[str]) -> None:
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone (as `head` does once it has its lines): every write fails
    try:
        result = subprocess.run(
            [sys.executable, "-m", "horde", *args], stdout=writer, stderr=subprocess.PIPE, text=True, timeout=60
        )
    finally:
        os.close(writer)
    assert result.stderr == ""
    assert result.returncode == 141


def test_the_timeline_piped_into_head_gives_heads_lines_and_no_traceback() -> None:
    pipeline = f"{sys.executable} -m horde replay --timeline {GOLDEN} | head -n 2"
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline], capture_output=True, text=True, timeout=60, cwd=REPO
    )
    assert len(result.stdout.splitlines()) == 2 and "configured" in result.stdout
    assert result.stderr == ""
    assert result.returncode in (0, 141)  # 0 when horde wrote everything before head closed the pipe
