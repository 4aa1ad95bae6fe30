"""`horde run` with users that wait without a greenlet (ADR 0032): every request counted once, as the target saw."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import LOCUSTFILES, Target, horde


def test_parked_users_count_exactly_what_the_target_served(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", str(LOCUSTFILES / "parked.py"), "-H", fresh_target.url, "-u", "30", "-r", "100", "-t", "2s",
        "-s", "5", "--summary-json", "summary.json",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    reported = {f"{e['method']} {e['name'].replace('[id]', '<id>')}": e["num_requests"] for e in summary["entries"]}
    served = fresh_target.counts()
    assert reported == served
    for route in ("POST /login", "GET /", "GET /cart", "POST /cart", "GET /items/<id>", "GET /text"):
        assert reported.get(route, 0) > 0, (route, reported)
    assert summary["aggregated"]["num_failures"] == 0
