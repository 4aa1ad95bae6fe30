"""`--reset-stats`: the statistics start afresh once spawning is complete, journaled as `stats.reset` (ADR 0020)."""

from __future__ import annotations

import json
from pathlib import Path

from horde.actors.replay import replay_file
from horde.protocol.events import RunConfigured, RunStateChanged, StatsMerged, StatsReset
from horde.protocol.journal import read_journal
from horde.protocol.states import RunState
from horde.stats.summary import summary_dict
from tests.support.processes import Target, horde

LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"
RESET = str(LOCUSTFILES / "stats_reset.py")


def test_reset_stats_counts_only_what_is_reported_after_the_ramp(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", RESET, "-H", fresh_target.url, "-u", "4", "-r", "2", "-t", "2s", "--reset-stats",
        "--stats-interval", "0.25", "--journal", "run.jsonl", "--summary-json", "summary.json",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not yet effective" not in result.stderr
    records = list(read_journal(tmp_path / "run.jsonl").records)
    config = next(r.event for r in records if isinstance(r.event, RunConfigured))
    assert config.reset_stats
    resets = [r for r in records if isinstance(r.event, StatsReset)]
    assert len(resets) == 1, [r.type for r in records]
    reset = resets[0]
    running = next(r for r in records if isinstance(r.event, RunStateChanged) and r.event.state == RunState.RUNNING)
    assert running.seq < reset.seq  # asked for when the ramp completed, not before

    def requests(selected: list[StatsMerged]) -> int:
        return sum(entry.num_requests for report in selected for entry in report.delta.entries)

    reports = [r for r in records if isinstance(r.event, StatsMerged)]
    before = requests([r.event for r in reports if r.seq < reset.seq])  # type: ignore[misc]
    after = requests([r.event for r in reports if r.seq > reset.seq])  # type: ignore[misc]
    assert before > 0 and after > 0

    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["aggregated"]["num_requests"] == after
    served = fresh_target.served()
    assert served - 4 <= before + after <= served  # every request served is reported exactly once, reset or not

    # The live aggregator's final statistics are exactly the journal's fold, through the reset.
    replayed = replay_file(tmp_path / "run.jsonl").state.aggregator
    assert summary_dict(replayed.stats) == summary
    check = horde("replay", "run.jsonl", "--check", cwd=tmp_path, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr


def test_without_the_flag_nothing_is_reset(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", RESET, "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "1s",
        "--journal", "run.jsonl", "--summary-json", "summary.json", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert not [r for r in read_journal(tmp_path / "run.jsonl").records if isinstance(r.event, StatsReset)]
    served = fresh_target.served()
    assert served - 2 <= json.loads((tmp_path / "summary.json").read_text())["aggregated"]["num_requests"] <= served
