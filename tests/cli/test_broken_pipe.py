"""`horde ... | head`: a reader that goes away ends horde quietly, as it ends any Unix tool (SIGPIPE's 141)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import LOCUSTFILES, REPO, Target

GOLDEN = REPO / "tests" / "actors" / "golden" / "local-run-v3.journal"

CLOSED_PIPE = """
import os, subprocess, sys
reader, writer = os.pipe()
os.close(reader)  # the reader has gone, as `head` does once it has its lines: every write fails
result = subprocess.run(sys.argv[1:], stdout=writer, stderr=subprocess.PIPE)
sys.stderr.buffer.write(result.stderr)
sys.exit(result.returncode)
"""
"""Runs a command with its stdout on a pipe whose reader has gone; its exit code and stderr are the command's.
From a plain interpreter: the test process itself is patched by gevent, whose subprocess module let a write to
such a pipe succeed now and then."""


def with_closed_stdout(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", CLOSED_PIPE, sys.executable, "-m", "horde", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


@pytest.mark.parametrize(
    "args",
    [["replay", "--timeline", str(GOLDEN)], ["replay", str(GOLDEN)], ["--help"]],
    ids=["timeline", "replay", "usage"],
)
def test_a_closed_pipe_ends_a_printing_command_quietly(args: list[str]) -> None:
    result = with_closed_stdout(args)
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


def test_a_run_whose_reader_went_away_runs_to_its_end_and_keeps_its_exit_code(
    fresh_target: Target, tmp_path: Path
) -> None:
    args = ["run", "-f", str(LOCUSTFILES / "two_classes.py"), "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "1s"]
    result = with_closed_stdout([*args, "--headless", "-s", "5", "--summary-json", "summary.json"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["aggregated"]["num_requests"] == fresh_target.served() > 0  # the run went on, silent
