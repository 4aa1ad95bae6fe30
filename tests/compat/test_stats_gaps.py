"""The last of Locust's statistics APIs: `log_request` / `log_error` from custom clients, counted exactly once
whether the users run in this process or in worker processes, and `runner.start_shape()` for library runners
(`get_current_response_time_percentile` is tested beside `horde/stats/locust_api.py`)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from horde.protocol.events import ShapeTicked, StatsMerged, StatsReset
from horde.protocol.journal import read_journal
from tests.support.processes import Target, horde

LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"
CUSTOM_CLIENT = str(LOCUSTFILES / "stats_custom_client.py")
SHAPE_SCRIPT = LOCUSTFILES / "stats_shape_lib.py"


@pytest.mark.parametrize("processes", [None, "2"], ids=["local", "processes"])
def test_a_custom_clients_log_request_and_log_error_are_counted_once(tmp_path: Path, processes: str | None) -> None:
    """Two users make 30 calls each, every third one failing: exactly 60 requests and 20 failures, in the
    summary and in what the locustfile reads back through `environment.stats`."""
    extra = ["--processes", processes] if processes else []
    result = horde(
        "run", "-f", CUSTOM_CLIENT, "-u", "2", "-r", "10", "-t", "1s", "--summary-json", "summary.json", *extra,
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


def test_start_shape_drives_a_library_run_and_reset_stats_resets_at_each_stage(
    fresh_target: Target, tmp_path: Path
) -> None:
    """`runner.start_shape()` on a library runner: two stages, then the shape stops the run; with
    `Environment(reset_stats=True)` the statistics start afresh at each completed ramp, as Locust's."""
    result = subprocess.run(
        [sys.executable, str(SHAPE_SCRIPT), fresh_target.url], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "a shape already drives this run" in output
    match = re.search(r"shape-lib: total=(\d+)", result.stdout)
    assert match, output
    (journal,) = tmp_path.glob("horde-runs/*.journal")
    records = list(read_journal(journal).records)
    assert [r.event.user_count for r in records if isinstance(r.event, ShapeTicked)] == [2, 4]
    resets = [r.seq for r in records if isinstance(r.event, StatsReset)]
    assert len(resets) == 2
    after = sum(
        entry.num_requests
        for r in records
        if isinstance(r.event, StatsMerged) and r.seq > resets[-1]
        for entry in r.event.delta.entries
    )
    assert int(match.group(1)) == after > 0
