"""Environment as a library: a plain script in Locust's style runs a load test and reads its statistics."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.support.processes import Target

SCRIPT = Path(__file__).resolve().parent / "locustfiles" / "api_use_as_lib.py"


def test_a_library_script_runs_a_local_load_test_and_reads_the_targets_counts(
    fresh_target: Target, tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), fresh_target.url, "2"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    match = re.search(r"library: total=(\d+) failures=(\d+) home=(\d+) item=(\d+) history=(\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    total, failures, home, item, history = map(int, match.groups())
    counts = fresh_target.counts()
    # Each request the target served is counted once; a user stopped mid-request may leave one uncounted.
    assert counts["GET /"] - 4 <= home <= counts["GET /"]
    assert counts["GET /items/<id>"] - 4 <= item <= counts["GET /items/<id>"]
    assert total == home + item and failures == 0 and home > 0 and item > 0
    assert history >= 1  # stats_history ran while the run did
    assert "Aggregated" in result.stdout  # stats_printer printed the table
    assert list(tmp_path.glob("horde-runs/*.journal"))  # the run is journaled like any other


def test_a_script_that_did_not_patch_with_gevent_is_told_how_in_one_line(tmp_path: Path) -> None:
    script = (
        "from horde import Environment, User, task\n"
        "class Idle(User):\n"
        "    @task\n"
        "    def nothing(self):\n"
        "        pass\n"
        "Environment(user_classes=[Idle]).create_local_runner()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "monkey.patch_all()" in result.stderr.splitlines()[-1]
    assert not (tmp_path / "horde-runs").exists()
