"""Failure semantics of user code, as Locust has them, through the real CLI (ADR 0018).

Each case is a Locust-style locustfile in tests/compat/locustfiles/faults_*.py, run by `horde run` in a subprocess
against the demo target: the exit code, the one line on stderr, the exceptions in the JSON summary, and that the
reports and the journal are written whenever the run started. The runs of a group go in parallel (a local run binds
no port), so the module costs about two runs' time.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from horde.protocol.journal import read_journal
from tests.support.processes import HordeProcess, Target

LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"

RUN_TIME = "2s"
HANG_RUN_TIME = "3s"
HANG_LIMIT = 5.0
"""A run with `-t 3s` whose users hang or fail in `__init__` ends within this many seconds of its start (as its
journal times it, so that a busy machine's slow interpreter start does not count)."""
HANG_WALL_LIMIT = 25.0
"""The whole process, start to exit: well under the 30 s a hanging `__init__` would hold it."""


@dataclass
class Outcome:
    code: int
    out: str
    err: str
    seconds: float
    cwd: Path

    def summary(self) -> dict:
        return json.loads((self.cwd / "summary.json").read_text())

    def exceptions(self) -> dict[str, int]:
        return {row["message"]: row["count"] for row in self.summary()["exceptions"]}

    def run_seconds(self) -> float:
        """From the journal's first record to the run's stop."""
        records = read_journal(self.cwd / "run.jsonl").records
        stopped = [r for r in records if r.type == "run.state_changed" and r.event.state == "stopped"]  # type: ignore[union-attr]
        return (stopped[-1].mono_ns - records[0].mono_ns) / 1e9

    def lines_with(self, text: str) -> list[str]:
        return [line for line in self.err.splitlines() if text in line]

    def assert_reports_written(self) -> None:
        """The summary on stdout, the JSON, the CSV and a journal that saw the run stop."""
        assert "=== Summary ===" in self.out, self.out
        assert (self.cwd / "summary.json").is_file()
        assert (self.cwd / "faults_stats.csv").is_file()
        records = read_journal(self.cwd / "run.jsonl").records
        states = [record.event.state for record in records if record.type == "run.state_changed"]  # type: ignore[union-attr]
        assert states[-1] == "stopped", states


def _start(name: str, cwd: Path, host: str | None, run_time: str) -> HordeProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    args = ["run", "-f", str(LOCUSTFILES / f"{name}.py"), "-u", "2", "-r", "10", "-t", run_time]
    args += ["--summary-json", "summary.json", "--csv", "faults", "--journal", "run.jsonl", "--only-summary"]
    if host is not None:
        args += ["-H", host]
    return HordeProcess(args, cwd=cwd, name=name)


def _run_all(cases: dict[str, str | None], base: Path, run_time: str) -> dict[str, Outcome]:
    """Runs every case at once and waits for them all: {name: outcome}."""
    started = {}
    for name, host in cases.items():
        started[name] = (_start(name, base / name, host, run_time), time.monotonic())
    outcomes = {}
    for name, (process, began) in started.items():
        try:
            process.wait(timeout=60)
        except BaseException:
            process.kill()
            raise
        seconds = time.monotonic() - began
        out, err = process.communicate(timeout=10)
        outcomes[name] = Outcome(process.returncode or 0, out, err, seconds, base / name)
    return outcomes


@pytest.fixture(scope="module")
def runs(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    host = target.url
    cases: dict[str, str | None] = {
        "faults_missing_host": None,
        "faults_on_start": host,
        "faults_task": host,
        "faults_on_stop": host,
        "faults_wait_none": host,
        "faults_no_tasks": host,
        "faults_zero_weight_tasks": host,
        "faults_zero_weight_class": host,
        "faults_listener": host,
        "faults_init_listener": host,
        "faults_sys_exit": host,
    }
    yield _run_all(cases, tmp_path_factory.mktemp("faults"), RUN_TIME)


@pytest.fixture(scope="module")
def hangs(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Outcome]]:
    """The two cases that used to hang the run, by themselves so that their timing is their own."""
    cases: dict[str, str | None] = {"faults_init_raises": target.url, "faults_init_slow": target.url}
    yield _run_all(cases, tmp_path_factory.mktemp("hangs"), HANG_RUN_TIME)


# --- the two hangs -----------------------------------------------------------------------------------------------


def test_a_raising_user_init_is_counted_and_the_run_ends_on_time(hangs: dict[str, Outcome]) -> None:
    outcome = hangs["faults_init_raises"]
    assert outcome.run_seconds() < HANG_LIMIT and outcome.seconds < HANG_WALL_LIMIT, outcome.err
    assert outcome.code == 2, outcome.err  # Locust: its spawning greenlet dies, an unhandled greenlet exception
    assert outcome.exceptions() == {"ValueError('broken __init__')": 2}
    assert len(outcome.lines_with("BrokenInit.__init__ raised ValueError: broken __init__")) == 1  # told once for both
    assert "ActorDeadError" not in outcome.err and "Unhandled exception in Worker" not in outcome.err
    outcome.assert_reports_written()


def test_a_slow_user_init_does_not_hold_up_the_end_of_the_run(hangs: dict[str, Outcome]) -> None:
    outcome = hangs["faults_init_slow"]
    assert outcome.run_seconds() < HANG_LIMIT and outcome.seconds < HANG_WALL_LIMIT, outcome.err
    assert outcome.code == 0, outcome.err
    assert "did not confirm the stop" not in outcome.err
    assert outcome.summary()["exceptions"] == []
    outcome.assert_reports_written()


# --- where user code runs ----------------------------------------------------------------------------------------


def test_a_missing_host_is_one_line_per_class_and_counted(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_missing_host"]
    assert outcome.code == 2, outcome.err  # as Locust (ADR 0025)
    (line,) = outcome.lines_with("You must specify the base host")
    assert "NoHost.__init__" in line
    assert "Traceback" not in outcome.err
    assert list(outcome.exceptions().values()) == [2]
    outcome.assert_reports_written()


def test_a_failing_on_start_ends_the_user_and_is_counted(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_on_start"]
    assert outcome.code == 1, outcome.err
    assert len(outcome.lines_with("BadStart.on_start raised RuntimeError: on_start failed")) == 2  # once per user
    assert outcome.exceptions() == {"RuntimeError('on_start failed')": 2}  # the user ends: no task ran
    assert outcome.summary()["aggregated"]["num_requests"] == 0
    outcome.assert_reports_written()


def test_a_failing_task_is_counted_each_time_and_the_user_goes_on(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_task"]
    assert outcome.code == 1, outcome.err
    counts = outcome.exceptions()
    assert list(counts) == ["KeyError('missing')"]
    requests = outcome.summary()["aggregated"]["num_requests"]
    assert counts["KeyError('missing')"] >= 10 and requests >= counts["KeyError('missing')"]
    outcome.assert_reports_written()


def test_a_failing_on_stop_is_counted_not_a_gevent_traceback(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_on_stop"]
    assert outcome.code == 1, outcome.err
    assert outcome.exceptions() == {"RuntimeError('on_stop failed')": 2}
    assert len(outcome.lines_with("BadStop.on_stop raised RuntimeError: on_stop failed")) == 2
    assert "failed with RuntimeError" not in outcome.err  # gevent's own report of a dead greenlet
    assert "During handling" not in outcome.err
    outcome.assert_reports_written()


def test_a_wait_time_returning_none_stops_the_user_in_one_line(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_wait_none"]
    assert outcome.code == 1, outcome.err
    assert len(outcome.lines_with("NoneWait.wait_time returned None, not a number of seconds")) == 1
    assert "Traceback" not in outcome.err
    (message,) = outcome.exceptions()
    assert message.startswith("MissingWaitTimeError(") and outcome.exceptions()[message] == 2  # once per user
    assert outcome.summary()["aggregated"]["num_requests"] == 2  # each ran its first task, then stopped
    outcome.assert_reports_written()


@pytest.mark.parametrize("name, user_class", [("faults_no_tasks", "Idle"), ("faults_zero_weight_tasks", "Unweighted")])
def test_a_class_without_tasks_is_told_once_and_counted_at_each_wait(
    runs: dict[str, Outcome], name: str, user_class: str
) -> None:
    outcome = runs[name]
    assert outcome.code == 1, outcome.err
    assert len(outcome.lines_with(f"no tasks defined on {user_class}")) == 1
    assert "Traceback" not in outcome.err
    ((message, count),) = outcome.exceptions().items()
    assert message.startswith("LocustError('no tasks defined") and count >= 10
    outcome.assert_reports_written()


def test_a_class_of_weight_zero_is_one_line_and_exit_1(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_zero_weight_class"]
    assert outcome.code == 1, outcome.err
    assert outcome.err.strip().splitlines() == [
        "horde: error: no user class with a weight above 0 or a fixed_count among Nobody; nobody would run"
    ]


def test_a_raising_event_listener_is_logged_and_the_run_exits_2(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_listener"]
    assert outcome.code == 2, outcome.err
    assert len(outcome.lines_with("Uncaught exception in listener")) == 1
    assert outcome.summary()["exceptions"] == []
    assert outcome.summary()["aggregated"]["num_requests"] > 0  # the load went on
    outcome.assert_reports_written()


def test_a_raising_init_listener_stops_before_the_run_with_exit_1(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_init_listener"]
    assert outcome.code == 1, outcome.err
    assert "RuntimeError: init listener failed" in outcome.err  # the listener's traceback, as Locust logs it
    assert outcome.err.strip().splitlines()[-1] == (
        "horde: error: an init event listener raised an exception (see above); the run does not start"
    )
    assert not (outcome.cwd / "summary.json").exists()


def test_sys_exit_at_import_exits_with_its_code_and_says_so(runs: dict[str, Outcome]) -> None:
    outcome = runs["faults_sys_exit"]
    assert outcome.code == 3, outcome.err
    (line,) = outcome.err.strip().splitlines()
    assert line.startswith("horde: error: ") and line.endswith(
        "faults_sys_exit.py:7: sys.exit(3) called while importing"
    )


def test_the_exceptions_reach_the_csv_too(runs: dict[str, Outcome]) -> None:
    with open(runs["faults_on_stop"].cwd / "faults_exceptions.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [(row["Count"], row["Message"]) for row in rows] == [("2", "RuntimeError('on_stop failed')")]
