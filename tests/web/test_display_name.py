"""Locust's `--web-host-display-name`: the address the run prints for its page (behind a proxy, say)."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import Target, horde
from tests.web.conftest import LOCUSTFILE


def test_the_printed_address_is_the_display_name(tmp_path: Path, target: Target) -> None:
    result = horde(
        "run", "-f", LOCUSTFILE, "-H", target.url, "--web-port", "0", "--journal", "run.jsonl", "--autostart",
        "-u", "1", "-t", "1s", "--autoquit", "0", "--only-summary", cwd=tmp_path,
        env={"LOCUST_WEB_HOST_DISPLAY_NAME": "https://load.example/horde"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "horde: web UI at https://load.example/horde (Ctrl-C to stop)" in result.stderr
