"""`horde run` end to end: a real process, real HTTP to the demo target, the journal and the reports it writes."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from horde.actors import stats_aggregator
from horde.protocol.journal import read_journal
from horde.protocol.stats import StatsDelta
from horde.stats.summary import summary_dict
from tests.support.processes import LOCUSTFILES, Target, horde
from tests.support.waiting import JournalWatch, wait_for_event, wait_for_served


def _route_counts(summary: dict) -> dict[str, int]:
    """horde's names as the target names its routes (the locustfiles group item URLs as /items/[id])."""
    return {f"{e['method']} {e['name'].replace('[id]', '<id>')}": e["num_requests"] for e in summary["entries"]}


def test_counts_journal_and_reports_agree_with_the_target(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", str(LOCUSTFILES / "shop.py"), "-H", fresh_target.url, "-u", "6", "-r", "20", "-t", "2s", "-s", "5",
        "--journal", "run.jsonl", "--summary-json", "summary.json", "--csv", "out", "--stats-interval", "0.5",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    served = fresh_target.counts()
    reported = _route_counts(summary)
    assert reported, "no request was made"
    # With a stop timeout users finish their task, so nothing is in flight at the stop: the counts are exact.
    for route, count in reported.items():
        assert served.get(route, 0) == count, (route, served, reported)
    assert sum(served.values()) == summary["aggregated"]["num_requests"]

    journal = read_journal(tmp_path / "run.jsonl")
    assert not journal.torn_tail
    seqs = [r.seq for r in journal.records]
    assert seqs == list(range(1, len(seqs) + 1)), "seq must be gapless"
    states = [r.event.state for r in journal.records if r.type == "run.state_changed"]
    assert states == ["spawning", "running", "stopping", "stopped"]

    folded = stats_aggregator.AggregatorState()
    for record in journal.records:
        if record.type == "stats.merged":
            assert isinstance(record.event.delta, StatsDelta)
            folded = stats_aggregator.apply(folded, record.event)
    assert summary_dict(folded.stats) == summary

    with open(tmp_path / "out_stats.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows[-1]["Name"] == "Aggregated"
    assert int(rows[-1]["Request Count"]) == summary["aggregated"]["num_requests"]
    for suffix in ("_stats_history.csv", "_failures.csv", "_exceptions.csv"):
        assert (tmp_path / f"out{suffix}").exists()


def test_sigterm_stops_cleanly_and_still_writes_everything(fresh_target: Target, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", "-f", str(LOCUSTFILES / "shop.py"), "-H", fresh_target.url,
         "-u", "4", "-r", "10", "--journal", "run.jsonl", "--summary-json", "summary.json"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # Stopped once its 4 users run and the target has served some of their requests.
        running = JournalWatch(tmp_path / "run.jsonl")
        wait_for_event(running, "worker.users_reported", lambda e: sum(e.user_counts.values()) == 4, alive=[process])
        wait_for_served(fresh_target, 20)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode in (0, 1), err
    assert "SIGTERM" in err
    summary = json.loads((tmp_path / "summary.json").read_text())
    served = sum(fresh_target.counts().values())
    # Without a stop timeout the 4 users are killed at once: at most their 4 requests in flight are not counted.
    assert served - 4 <= summary["aggregated"]["num_requests"] <= served
    assert served > 0
    states = [r.event for r in read_journal(tmp_path / "run.jsonl").records if r.type == "run.state_changed"]
    assert states[-2].state == "stopping" and states[-2].reason == "SIGTERM"
    assert states[-1].state == "stopped"
    assert "Response time percentiles" in out


def test_an_unreachable_host_is_counted_not_fatal(tmp_path: Path) -> None:
    result = horde(
        "run", "-f", str(LOCUSTFILES / "shop.py"), "-H", "http://127.0.0.1:9", "-u", "2", "-r", "10", "-t", "1s",
        "--summary-json", "summary.json", "--only-summary",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["aggregated"]["num_failures"] == summary["aggregated"]["num_requests"] > 0
    assert any("refused" in e["error"].lower() for e in summary["errors"])


def test_a_load_test_shape_drives_the_run_and_fixed_counts_hold(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", str(LOCUSTFILES / "mixed.py"), "-H", fresh_target.url, "-t", "3s",
        "--journal", "run.jsonl", "--only-summary",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    records = read_journal(tmp_path / "run.jsonl").records
    ticks = [r.event for r in records if r.type == "shape.ticked"]
    assert [(t.user_count, t.spawn_rate) for t in ticks][:2] == [(10, 5.0), (30, 10.0)]
    # As in Locust, the shape ends the run (at 5 s), not -t, and the person is told -t is ignored (ADR 0021).
    assert next(r.event for r in records if r.type == "run.configured").run_time is None
    stopping = next(r.event for r in records if r.type == "run.state_changed" and r.event.state == "stopping")
    assert stopping.reason == "shape finished"
    assert "The following option(s) will be ignored: --run-time" in result.stdout + result.stderr
    configured = next(r.event for r in records if r.type == "run.configured").user_classes
    for report in (r.event for r in records if r.type == "worker.users_reported"):
        for name, (_, fixed) in configured.items():
            if fixed and sum(report.user_counts.values()) >= fixed:
                assert report.user_counts[name] == fixed


def test_user_classes_named_on_the_command_line(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", str(LOCUSTFILES / "nested.py"), "Visitor", "-H", fresh_target.url, "-u", "3", "-r", "50",
        "-t", "1s", "--journal", "run.jsonl", "--only-summary",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    records = read_journal(tmp_path / "run.jsonl").records
    assert next(r.event for r in records if r.type == "run.configured").user_classes == {"Visitor": (1.0, 0)}
    assert [r.event for r in records if r.type == "worker.users_reported"][-1].user_counts == {"Visitor": 3}


def test_a_journal_to_dev_null_runs_without_keeping_one(fresh_target: Target, tmp_path: Path) -> None:
    """A character device is the one existing path a journal may be opened on: it is how to keep none."""
    result = horde(
        "run", "-f", str(LOCUSTFILES / "shop.py"), "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "1s",
        "--journal", os.devnull, "--summary-json", "summary.json", "--only-summary",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert json.loads((tmp_path / "summary.json").read_text())["aggregated"]["num_requests"] > 0
    assert not list(tmp_path.glob("**/*.jsonl"))


def test_the_quitting_hook_fires_once_before_the_summary_and_sets_the_exit_code(
    fresh_target: Target, tmp_path: Path
) -> None:
    result = horde(
        "run", "-f", str(LOCUSTFILES / "quitting_hook.py"), "-H", fresh_target.url, "-u", "1", "-r", "10",
        "-t", "1s", "--journal", os.devnull,
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 7, result.stderr
    assert result.stdout.count("quitting hook: fired") == 1
    assert result.stdout.index("quitting hook: fired") < result.stdout.index("Response time percentiles")


def test_demo_runs_end_to_end(tmp_path: Path) -> None:
    result = horde("demo", "-t", "1s", "--only-summary", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Aggregated" in result.stdout
    assert "journal, CSV and JSON are in" in result.stdout
    assert list(tmp_path.glob("horde-runs/demo-*/journal.jsonl"))


def test_demo_help_explains_and_starts_nothing(tmp_path: Path) -> None:
    result = horde("demo", "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: horde demo") and "target" not in result.stderr
    assert not (tmp_path / "horde-runs").exists()


def test_events_command_filters_the_journal(tmp_path: Path) -> None:
    """On a recorded run's plain-text journal (the golden one of format version 2): filtering needs no new run."""
    golden = Path(__file__).parents[1] / "actors" / "golden" / "local-run-v2.jsonl"
    result = horde("events", str(golden), "--type", "run.*", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(" run." in line for line in lines)
    assert "run.state_changed" in result.stdout


def test_events_prints_histograms_as_bucket_maps_whatever_the_journal_version(tmp_path: Path) -> None:
    """The golden journal is version 1 (maps); it is upcast to packed `Buckets` when read and printed as maps."""
    golden = Path(__file__).parents[1] / "actors" / "golden" / "local-run.jsonl"
    raw = [json.loads(line) for line in golden.read_text().splitlines()[1:]]
    reported = [r["data"] for r in raw if r["type"] == "stats.reported"]
    result = horde("events", str(golden), "--type", "stats.reported", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = [json.loads(line.split(None, 4)[4]) for line in result.stdout.splitlines()]
    assert printed == reported


def test_a_closed_output_pipe_does_not_stop_the_run_from_ending(fresh_target: Target, tmp_path: Path) -> None:
    """`horde run ... 2>&1 | head -3`: once the reader is gone every log line fails to write; the run must still
    end at -t and journal its end (a log write that raised inside an actor used to leave the run without one)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", "-f", str(LOCUSTFILES / "shop.py"), "-H", fresh_target.url,
         "-u", "2", "-r", "10", "-t", "1s", "--journal", "run.jsonl", "-L", "DEBUG"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        process.stdout.readline()
        process.stdout.close()  # the reader goes away, as `head` does
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    states = [r.event.state for r in read_journal(tmp_path / "run.jsonl").records if r.type == "run.state_changed"]
    assert states[-1] == "stopped"
