"""Plugins in real `horde run` processes against the demo target: the API, isolation, the shipped examples."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import msgspec

from horde.protocol.journal import Record, read_journal
from tests.support.processes import REPO, Target, horde
from tests.support.waiting import wait_until

HERE = Path(__file__).resolve().parent
FAST = str(HERE / "fast.py")
SAMPLES = "tests.plugins.sample_plugins"
ENV = {"PYTHONPATH": str(REPO)}


def _data(record: Record) -> Any:
    assert isinstance(record.event, msgspec.Raw), record.type
    return json.loads(bytes(record.event))


def _assert_intact(path: Path) -> list[Record]:
    journal = read_journal(path)
    assert not journal.torn_tail
    seqs = [r.seq for r in journal.records]
    assert seqs == list(range(1, len(seqs) + 1)), "seq must be gapless"
    states = [r.event.state for r in journal.records if r.type == "run.state_changed"]  # type: ignore[union-attr]
    assert states == ["spawning", "running", "stopping", "stopped"]
    return journal.records


def test_a_plugin_named_on_the_command_line_gets_every_event_and_appends_its_own(
    fresh_target: Target, tmp_path: Path
) -> None:
    result = horde(
        "run", "-f", FAST, "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "2s", "--only-summary",
        "--stats-interval", "0.5", "--journal", "run.jsonl",
        "--plugin", f"{SAMPLES}:Recorder", "--plugin-opt", "recorder.label=hello",
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = _assert_intact(tmp_path / "run.jsonl")
    (seen,) = [r for r in records if r.type == "plugin.recorder.seen"]
    assert seen.source == "plugin:recorder"
    data = _data(seen)
    assert data["label"] == "hello"
    # Every event before its own, in order, from seq 1 (the ones written before it subscribed are replayed).
    others = [r.seq for r in records if r.seq < seen.seq and r.source != "plugin:recorder"]
    assert data["seqs"] == others
    assert {"run.configured", "run.state_changed", "stats.merged", "worker.heartbeat"} <= set(data["types"])
    assert data["requests"] > 0
    (note,) = [r for r in records if r.type == "plugin.recorder.note"]
    assert _data(note) == {"text": "recorder hello started"}


def test_a_plugin_for_another_api_version_is_a_one_line_error(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", FAST, "-H", fresh_target.url, "-t", "1s", "--plugin", f"{SAMPLES}:FromTheFuture",
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "needs plugin API version 99; this horde provides 1" in lines[0]
    assert not (tmp_path / "horde-runs").exists(), "no journal for a run that never started"


def test_bad_plugin_options_and_unknown_plugins_are_usage_errors(fresh_target: Target, tmp_path: Path) -> None:
    for args, message in [
        (["--plugin", f"{SAMPLES}:Recorder"], "plugin 'recorder': needs label="),
        (["--plugin", "no_such_plugin"], "no plugin named 'no_such_plugin'"),
        (["--threshold", "p95<<3"], "threshold 'p95<<3'"),
        (["--plugin-opt", "prometheus.port"], "expected NAME.key=value"),
    ]:
        result = horde("run", "-f", FAST, "-H", fresh_target.url, "-t", "1s", *args, cwd=tmp_path, env=ENV)
        assert result.returncode == 2, (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)


def test_a_raising_or_hanging_plugin_is_restarted_then_disabled_and_the_run_completes(
    fresh_target: Target, tmp_path: Path
) -> None:
    result = horde(
        "run", "-f", FAST, "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "2s", "--only-summary",
        "-s", "5", "--journal", "run.jsonl", "--summary-json", "summary.json", "--plugin", f"{SAMPLES}:Exploding",
        "--plugin", f"{SAMPLES}:Stuck",
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = _assert_intact(tmp_path / "run.jsonl")
    restarted = [_data(r) for r in records if r.type == "plugin.exploding.restarted"]
    disabled = [_data(r) for r in records if r.type == "plugin.exploding.disabled"]
    assert [r["restart"] for r in restarted] == [1, 2]
    assert "RuntimeError('boom at" in restarted[0]["reason"]
    assert len(disabled) == 1 and "restarted 2 time(s)" in disabled[0]["reason"]
    assert "plugin disabled" in result.stderr + result.stdout
    stuck = [
        (r.type, _data(r)["reason"]) for r in records if r.type in ("plugin.stuck.restarted", "plugin.stuck.disabled")
    ]
    assert [t for t, _ in stuck] == ["plugin.stuck.restarted", "plugin.stuck.disabled"], stuck
    assert "took over 0.2 s" in stuck[0][1]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["aggregated"]["num_requests"] == fresh_target.counts()["GET /"]


def test_a_slow_plugin_drops_events_but_not_throughput(fresh_target: Target, tmp_path: Path) -> None:
    """The same run with and without a plugin that sleeps 0.5 s per event, side by side on the same target.

    Throughput is compared per CPU-second of each process (from `os.wait4`), not per second: the two runs share two
    cores, and how the scheduler splits them is not what is tested.
    """

    def start(name: str, *extra: str) -> subprocess.Popen[str]:
        (tmp_path / name).mkdir()
        args = ["run", "-f", FAST, "-H", fresh_target.url, "-u", "4", "-r", "100", "-t", "3s", "--only-summary",
                "--stats-interval", "0.5", "--journal", "run.jsonl",
                "--summary-json", "summary.json", *extra]  # fmt: skip
        with (tmp_path / name / "stderr.txt").open("w") as err:
            return subprocess.Popen(
                [sys.executable, "-m", "horde", *args], cwd=tmp_path / name, env={**os.environ, **ENV},
                stdout=subprocess.DEVNULL, stderr=err, text=True,
            )  # fmt: skip

    plain = start("plain")
    slow = start("slow", "--plugin", f"{SAMPLES}:Slow")
    cpu: dict[str, float] = {}
    for name, process in (("plain", plain), ("slow", slow)):
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        assert process.returncode == 0, (tmp_path / name / "stderr.txt").read_text()
        cpu[name] = usage.ru_utime + usage.ru_stime
    requests = {
        name: json.loads((tmp_path / name / "summary.json").read_text())["aggregated"]["num_requests"]
        for name in ("plain", "slow")
    }
    assert requests["plain"] > 100, requests
    per_cpu = {name: requests[name] / cpu[name] for name in requests}
    # One-sided and wide: a run that waited 0.5 s for the plugin at each of its events would fall far below half.
    assert per_cpu["slow"] >= 0.5 * per_cpu["plain"], (requests, cpu)
    records = _assert_intact(tmp_path / "slow" / "run.jsonl")
    dropped = [_data(r) for r in records if r.type == "plugin.slow.dropped"]
    assert dropped and dropped[-1]["total"] == sum(d["dropped"] for d in dropped) > 0
    assert dropped[-1]["queue_size"] == 3


def test_prometheus_serves_the_counters_during_the_run(fresh_target: Target, tmp_path: Path) -> None:
    # The test ends the run (SIGTERM) once it has read the counters: they are served while the run runs.
    process = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", "-f", FAST, "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "60s",
         "--only-summary", "--stats-interval", "0.5", "--plugin", "prometheus", "--plugin-opt", "prometheus.port=0"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"serving (http://127\.0\.0\.1:\d+/metrics)", line)
        assert match, line

        def metrics() -> str:
            assert process.poll() is None, "the run ended before its counters were served"
            with urllib.request.urlopen(match.group(1), timeout=5) as response:
                assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
                return str(response.read().decode())

        def counted() -> str | None:
            text = metrics()
            return text if re.search(r'horde_requests_total\{method="GET",name="/"\} [1-9]', text) else None

        text = wait_until(counted, interval=0.25, message="a counted request on /metrics")
        assert re.search(r'horde_requests_total\{method="GET",name="/"\} [1-9]\d*', text), text
        assert 'horde_failures_total{method="GET",name="/"} 0' in text
        assert re.search(r'horde_response_time_ms_bucket\{method="GET",name="/",le="\+Inf"\} [1-9]', text)
        assert re.search(r'horde_response_time_ms_bucket\{method="GET",name="/",le="1000"\} \d+', text)
        assert 'horde_users{user_class="Fast"} 2' in text
        assert 'horde_workers{state="running"} 1' in text
        assert "# TYPE horde_response_time_ms histogram" in text
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # a normal stop, as Ctrl-C would be
        process.communicate(timeout=30)
    assert process.returncode == 0


def test_the_failure_guard_stops_a_failing_run(tmp_path: Path) -> None:
    started = time.monotonic()
    result = horde(
        "run", "-f", FAST, "-H", "http://127.0.0.1:1", "-u", "2", "-r", "10", "-t", "60s", "--only-summary",
        "--stats-interval", "0.5", "--journal", "run.jsonl", "--plugin", "failure_guard",
        "--plugin-opt", "failure_guard.window=2", "failure_guard.max_ratio=0.5", "failure_guard.min_requests=5",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # requests failed: --exit-code-on-error
    assert time.monotonic() - started < 20
    records = _assert_intact(tmp_path / "run.jsonl")
    (stopping,) = [r for r in records if r.type == "run.state_changed" and r.event.state == "stopping"]  # type: ignore[union-attr]
    assert stopping.cause == "plugin:failure_guard"
    assert stopping.event.reason.startswith("plugin failure_guard: failure ratio 100.0%")  # type: ignore[union-attr]
    (tripped,) = [_data(r) for r in records if r.type == "plugin.failure_guard.tripped"]
    assert tripped["ratio"] == 1.0 and tripped["requests"] >= 5


def test_thresholds_pass_and_fail_with_exit_codes_and_journaled_results(fresh_target: Target, tmp_path: Path) -> None:
    common = ["run", "-f", FAST, "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "1s", "--only-summary"]
    passing = horde(
        *common, "--journal", "pass.jsonl", "--threshold", "p95<10000", "--threshold", "fail_ratio<0.01",
        "--threshold", "requests{GET /}>0", "--html", "report.html", cwd=tmp_path,
    )  # fmt: skip
    assert passing.returncode == 0, passing.stderr
    assert "3 of 3 threshold(s) passed" in passing.stdout
    results = [_data(r) for r in read_journal(tmp_path / "pass.jsonl").records if r.type == "plugin.thresholds.result"]
    assert [r["passed"] for r in results] == [True, True, True]
    report = (tmp_path / "report.html").read_text()
    assert "<svg" in report and "<polyline" in report and '<table id="requests">' in report and "Aggregated" in report
    assert "<script" not in report and "<link" not in report
    failing = horde(*common, "--journal", "fail.jsonl", "--threshold", "p50<0.0001", cwd=tmp_path)
    assert failing.returncode == 3, failing.stderr
    assert "FAIL  p50<0.0001" in failing.stdout
    (result,) = [
        _data(r) for r in read_journal(tmp_path / "fail.jsonl").records if r.type == "plugin.thresholds.result"
    ]
    assert result["passed"] is False and result["value"] > 0.0001
