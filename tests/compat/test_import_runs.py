"""Locust-style locustfiles, unedited, run through the real `horde run` against the demo target."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import Target, horde

LOCUSTFILES = Path(__file__).parent / "locustfiles"


def _reported(summary: dict) -> dict[str, int]:
    return {f"{e['method']} {e['name'].replace('[id]', '<id>')}": e["num_requests"] for e in summary["entries"]}


def _run(locustfile: str, target: Target, tmp_path: Path) -> tuple[dict[str, int], dict[str, int]]:
    result = horde(
        "run", "-f", str(LOCUSTFILES / locustfile), "-H", target.url, "-u", "2", "-r", "10", "-t", "1s", "-s", "5",
        "--summary-json", "summary.json", "--journal", "run.jsonl", "--only-summary",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return _reported(json.loads((tmp_path / "summary.json").read_text())), target.counts()


def test_a_locust_style_locustfile_runs_unchanged(fresh_target: Target, tmp_path: Path) -> None:
    reported, served = _run("import_shop.py", fresh_target, tmp_path)
    # two users, each: a login, then 5 tasks of one request each, then StopUser
    assert served.pop("POST /login") == 2
    assert sum(served.values()) == 2 * 5
    assert set(served) <= {"GET /", "GET /cart", "GET /items/<id>"}
    assert reported == {**served, "POST /login": 2}


def test_a_markov_task_set_runs_its_chain(fresh_target: Target, tmp_path: Path) -> None:
    reported, served = _run("import_markov.py", fresh_target, tmp_path)
    # two users of 12 steps each; the chain starts at home (GET /), which always moves to browse (GET /cart)
    assert sum(served.values()) == 2 * 12
    assert served["GET /"] >= 2 and served["GET /cart"] >= 2
    assert reported == served
