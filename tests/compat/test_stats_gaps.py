"""The last of Locust's statistics APIs: `log_request` / `log_error` from custom clients, counted exactly once
whether the users run in this process or in worker processes, and `get_current_response_time_percentile`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.processes import horde

LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"
CUSTOM_CLIENT = str(LOCUSTFILES / "stats_custom_client.py")


@pytest.mark.parametrize("processes", [None, "2"], ids=["local", "processes"])
def test_a_custom_clients_log_request_and_log_error_are_counted_once(tmp_path: Path, processes: str | None) -> None:
    """Two users make 30 calls each, every third one failing: exactly 60 requests and 20 failures, in the
    summary and in what the locustfile reads back through `environment.stats`."""
    extra = ["--processes", processes] if processes else []
    result = horde(
        "run", "-f", CUSTOM_CLIENT, "-u", "2", "-r", "10", "-t", "2s", "--json-file", "summary.json", *extra,
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # failures were counted: Locust's exit code 1
    summary = json.loads((tmp_path / "summary.json").read_text())
    (entry,) = summary["entries"]
    assert (entry["method"], entry["name"], entry["num_requests"], entry["num_failures"]) == (
        "RPC", "custom-call", 60, 20,
    )  # fmt: skip
    assert entry["min_response_time"] > 0 and entry["avg_content_length"] == 7
    (error,) = summary["errors"]
    assert (error["error"], error["occurrences"]) == ("every third call fails", 20)
    assert re.search(r"custom-client: requests=60 failures=20", result.stdout), output
