"""Replay's pure fold and check, on journals made by the actors' own decide/apply run by hand (no actors, no clock)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec
import pytest

from horde.actors import dispatcher_logic as d
from horde.actors import master as m
from horde.actors import replay as r
from horde.actors import stats_aggregator as sa
from horde.actors import worker_proxy as wp
from horde.protocol import dispatcher_vocabulary as dsp
from horde.protocol import events as ev
from horde.protocol.journal import (
    FORMAT_NAME,
    FORMAT_VERSION,
    LINES_FORMAT_VERSION,
    Header,
    JournalError,
    Record,
    encode_header,
)
from horde.protocol.journal import encode_record as encode
from horde.protocol.messages import PROTOCOL_VERSION, Heartbeat, Ready, SpawningComplete, StatsReport
from horde.protocol.timeline import timeline
from horde.stats.recorder import StatsRecorder

CONFIG = ev.RunConfigured(
    user_classes={"B": (3.0, 0), "A": (1.0, 0)},
    expect_workers=2,
    run_time=60.0,
    stop_timeout=0.0,
    heartbeat_interval=1.0,
    heartbeat_liveness=3,
    host="http://127.0.0.1:1",
)


class Live:
    """The control plane's shells reduced to their folds: decide, journal, apply, in the order the actors do."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.master = m.MasterState()
        self.proxies: dict[str, wp.WorkerProxyState] = {}
        self.dispatch = d.initial_state(r.class_specs(CONFIG))
        self.aggregator = sa.AggregatorState()

    def journal(self, source: str, cause: str, event: Any, now: float, type_name: str = "") -> None:
        seq = len(self.records) + 1
        line = encode(seq, int(now * 1e9), 10**18 + seq, source, cause, event, type_name)
        self.records.append(r.decode_line(line))

    def to_master(self, command: Any) -> list[Any]:
        events = m.decide(self.master, command)
        for event in events:
            self.journal("master", command.cause, event, command.now)
            self.master = m.apply(self.master, event)
            if isinstance(event, ev.WorkerJoined):
                self.proxies[event.worker_id] = wp.initial_state(event)
            elif isinstance(event, ev.WorkerLeft):
                self.proxies.pop(event.worker_id, None)
        return events

    def to_proxy(self, worker: str, message: wp.FromWorker | wp.LivenessTick) -> list[Any]:
        events = wp.decide(self.proxies[worker], message)
        for event in events:
            self.journal(f"worker:{worker}", message.cause, event, message.now)
            self.proxies[worker] = wp.apply(self.proxies[worker], event)
        for event in events:
            if isinstance(event, ev.WorkerStateChanged | ev.WorkerMissing | ev.WorkerCpuWarning):
                self.master = m.apply(self.master, event)
                self.to_master(m.Observed(message.now, event))
        return events

    def to_dispatcher(self, command: dsp.DispatchCommand) -> list[dsp.DispatchStep]:
        steps = d.decide(self.dispatch, command)
        for step in steps:
            self.journal("dispatcher", command.cause, step, command.now)
            self.dispatch = d.apply(self.dispatch, step)
        return steps

    def to_aggregator(self, worker: str, report: StatsReport, now: float, admitted: bool = True) -> None:
        received = sa.ReportReceived(worker, report, admitted, admitted)
        # Accepted, a report waits for the next merge; here each is merged at once, as one of a quiet interval.
        merged = sa.MergeWaiting(((worker, report),))
        for event in sa.decide(self.aggregator, received) or sa.decide(self.aggregator, merged):
            self.journal("stats", "stats", event, now)
            self.aggregator = sa.apply(self.aggregator, event)


def ready(worker: str) -> Ready:
    return Ready(worker, f"{worker}-i1", "0.1.0", PROTOCOL_VERSION, "host", 1, 2, ("A", "B"))


def delta(requests: int, fail: bool = False) -> Any:
    clock = iter(range(1000, 2000))
    recorder = StatsRecorder(clock=lambda: float(next(clock)))
    for i in range(requests):
        recorder.record("GET", f"/{i % 3}", float(i), 10, "boom" if fail and i == 0 else None)
    return recorder.take_delta()


def run_scenario() -> Live:
    """Two workers join, a ramp to 8 users, heartbeats, stats, a repeated report, one worker goes missing."""
    live = Live()
    live.to_master(m.Configure(0.0, CONFIG))
    live.to_master(m.Start(0.0, 8, 4.0))
    for now, worker in ((1.0, "w1"), (1.5, "w2")):
        for event in live.to_master(m.Admit(now, worker, ready(worker))):
            if isinstance(event, ev.WorkerJoined):
                live.to_dispatcher(dsp.AddWorker(now=now, worker_id=worker))
    live.to_dispatcher(dsp.RampTo(now=1.5, user_count=8, spawn_rate=4.0))
    for step in live.to_dispatcher(dsp.RampTick(now=2.5)):
        for worker, counts in step.changed.items():
            live.to_proxy(worker, wp.FromWorker(2.6, SpawningComplete(step.step, counts)))
        assert step.ramp_done
        live.to_master(m.RampFinished(2.6, step.step, step.target))
    live.to_proxy("w1", wp.FromWorker(3.0, Heartbeat("running", 12.0, 1000, 4, 99.0)))
    live.to_proxy("w2", wp.FromWorker(3.1, Heartbeat("running", 95.0, 2000, 4, 99.1)))
    report = StatsReport("w1-i1", 1, delta(10, fail=True), 99.2)
    live.to_aggregator("w1", report, 3.2)
    live.to_aggregator("w1", report, 3.3)  # repeated: dropped
    # A report from a worker that was never admitted, as masters before ADR 0013 journaled it: by the router,
    # under the peer's name as cause, unseen by the aggregator. Replay reads it as it was written.
    live.journal("stats", "worker:w9", ev.StatsReportDropped("w9", "x", 1, "not an admitted worker"), 3.4)
    # The same today: the aggregator decides the drop, and counts it.
    live.to_aggregator("w8", StatsReport("y", 1, delta(3), 99.25), 3.45, admitted=False)
    live.journal("plugin", "x", msgspec.Raw(b'{"passed":true}'), 3.5, type_name="threshold.result")
    live.to_aggregator("w2", StatsReport("w2-i1", 1, delta(5), 99.3), 3.6)
    for event in live.to_proxy("w2", wp.LivenessTick(7.0, 3.0)):
        if isinstance(event, ev.WorkerMissing):
            live.to_dispatcher(dsp.RemoveWorker(now=7.0, worker_id="w2", reason="missing"))
    live.to_master(m.RequestStop(8.0, "SIGINT"))
    live.to_proxy("w1", wp.FromWorker(8.1, Heartbeat("stopped", 1.0, 1000, 0, 104.0)))
    return live


def test_the_fold_reproduces_every_actor_state() -> None:
    live = run_scenario()
    state = r.replay(live.records)
    assert state.master == live.master
    assert state.dispatch == live.dispatch
    assert state.aggregator == live.aggregator
    assert {w: state.workers[w] for w in live.proxies} == live.proxies
    assert state.seq == len(live.records) and state.opaque == {"threshold.result": 1}
    assert state.master.run_state == "stopped" and state.master.members["w2"].state == "missing"
    assert state.workers["w2"].state == "missing" and state.workers["w2"].cpu_warned
    assert state.dispatch.assignment == {"w1": {"A": 2, "B": 6}}
    assert state.aggregator.reports_merged == 2 and state.aggregator.reports_dropped == 2


def test_the_state_at_a_seq_or_a_time_is_the_fold_up_to_there() -> None:
    live = run_scenario()
    spawning_seq = next(
        rec.seq for rec in live.records if isinstance(rec.event, ev.RunStateChanged) and rec.event.state == "spawning"
    )
    mid = r.replay(live.records, until_seq=spawning_seq)
    assert mid.seq == spawning_seq and mid.master.run_state == "spawning"
    assert mid.dispatch.total == 0 and set(mid.workers) == {"w1", "w2"}
    at_2s = r.replay(live.records, until_seconds=2.0)
    assert at_2s.master.run_state == "spawning" and at_2s.dispatch.total == 4
    assert r.replay(live.records, until_seconds=0.0).seq == 2
    assert r.replay(live.records, until_seconds=1.0, started_mono_ns=10**9).dispatch.total == 4


def test_a_left_worker_is_shown_left() -> None:
    live = Live()
    live.to_master(m.Configure(0.0, CONFIG))
    live.to_master(m.Admit(1.0, "w3", ready("w3")))
    live.to_master(m.WorkerGone(1.5, "w3", "bye"))
    state = r.replay(live.records)
    assert state.workers["w3"].state == "left" and state.master.members["w3"].state == "left"


def test_check_passes_on_the_recorded_decisions() -> None:
    result = r.check(run_scenario().records)
    assert result.ok and result.steps == 5 and result.commands == 5


def _tamper(records: list[Record], step_no: int, **changes: Any) -> list[Record]:
    out = []
    for rec in records:
        if isinstance(rec.event, dsp.DispatchStep) and rec.event.step == step_no:
            rec = Record(rec.seq, rec.v, rec.mono_ns, rec.wall_ns, rec.source, rec.cause, rec.type,
                         msgspec.structs.replace(rec.event, **changes))  # fmt: skip
        out.append(rec)
    return out


def test_check_finds_a_tampered_assignment() -> None:
    records = run_scenario().records
    step = next(rec for rec in records if isinstance(rec.event, dsp.DispatchStep) and rec.event.cause == "ramp_tick")
    assert isinstance(step.event, dsp.DispatchStep)
    changed = {w: {**c, "A": c["A"] + 1} for w, c in step.event.changed.items()}
    result = r.check(_tamper(records, step.event.step, changed=changed))
    assert result.divergence is not None and result.divergence.seq == step.seq
    text = result.divergence.describe()
    assert f"seq {step.seq}" in text and "changed: expected" in text and "RampTick(now=2.5)" in text


def test_check_finds_a_step_decide_would_not_make() -> None:
    records = run_scenario().records
    last = max(rec.event.step for rec in records if isinstance(rec.event, dsp.DispatchStep))  # type: ignore[union-attr]
    # The missing worker's step recorded under another worker's name: decide has nothing to do for that one.
    result = r.check(_tamper(records, last, worker_id="w9"))
    assert result.divergence is not None and "decide makes no step for it now" in result.divergence.describe()
    assert result.divergence.recorded is not None and result.divergence.recorded.step == last


def test_a_journal_cut_inside_a_multi_step_decision_is_not_a_divergence() -> None:
    live = Live()
    live.journal("master", "cli", CONFIG, 0.0)
    live.to_dispatcher(dsp.RampTo(now=0.0, user_count=4, spawn_rate=2.0))
    steps = live.to_dispatcher(dsp.AddWorker(now=1.0, worker_id="w1"))
    assert [s.cause for s in steps] == ["worker_joined", "ramp_tick"]
    assert r.check(live.records).ok and r.check(live.records).steps == 3
    assert r.check(live.records[:-1]).ok


# --- reading ----------------------------------------------------------------------------------------------------

HEADER = Header(FORMAT_NAME, LINES_FORMAT_VERSION, "0.1.0", "run1", ["horde", "run"], {}, "h", 1, 7, 10, 0)


def _write(path: Path, live: Live, tail: bytes = b"", header: Header = HEADER) -> None:
    lines = [encode_header(header)]
    lines += [
        encode(rec.seq, rec.mono_ns, rec.wall_ns, rec.source, rec.cause, rec.event, rec.type) for rec in live.records
    ]
    path.write_bytes(b"".join(lines) + tail)


def test_read_replays_a_file_and_a_torn_tail_is_flagged(tmp_path: Path) -> None:
    live = run_scenario()
    _write(tmp_path / "j.jsonl", live, tail=b'{"seq":999,"v":1,"mono_ns":1')
    contents = r.read(tmp_path / "j.jsonl")
    assert contents.torn_tail and contents.unknown_types == {"threshold.result": 1}
    assert r.replay_journal(contents).master == live.master


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty"),
        (b"hello\nworld\n", "not a horde journal"),
        (encode_header(msgspec.structs.replace(HEADER, format_version=FORMAT_VERSION + 1)), "newer"),
        (encode_header(HEADER) + b"{not json}\n" + encode_header(HEADER), "line 2"),
    ],
)
def test_files_that_cannot_be_replayed_are_clear_errors(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "j").write_bytes(content)
    with pytest.raises(JournalError, match=message):
        r.read(tmp_path / "j")
    with pytest.raises(JournalError, match="does not exist"):
        r.read(tmp_path / "nope")


def test_old_event_versions_are_upcast(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if worker.left were now at v2 with a `code` field nobody had in v1: v1 lines go through the upcaster."""
    line = encode(1, 1, 1, "master", "x", ev.WorkerLeft("w1", "bye"))
    monkeypatch.setitem(ev.EVENT_VERSIONS, "worker.left", 2)
    with pytest.raises(JournalError, match="no upcaster"):
        r.decode_line(line)
    monkeypatch.setitem(r.UPCASTERS, ("worker.left", 1), lambda data: {**data, "reason": data["reason"].upper()})
    assert r.decode_line(line).event == ev.WorkerLeft("w1", "BYE")
    newer = line.replace(b'"v":1', b'"v":3')
    with pytest.raises(JournalError, match="newer"):
        r.decode_line(newer)


def test_timeline_tells_the_story() -> None:
    texts = [entry.text for entry in timeline(run_scenario().records)]
    assert texts[0].startswith("configured: A (weight 1), B (weight 3)")
    assert "run ready -> spawning (workers ready)" in texts
    assert any(t.startswith("dispatch step 4 (ramp_tick): 8/8 users [A 2, B 6], ramp done") for t in texts)
    assert "worker w2 CPU at 95 % (results may be skewed)" in texts
    assert sum(t.startswith("first error on GET /0: boom") for t in texts) == 1
    assert "worker w2 missing: silent for 3.9 s" in texts
    assert any(t.startswith("threshold.result (opaque)") for t in texts)
    assert not any("heartbeat" in t for t in texts)


# --- golden journal ---------------------------------------------------------------------------------------------

GOLDEN = Path(__file__).parent / "golden"


def test_the_golden_journal_replays_to_its_recorded_output() -> None:
    """A real local run (demo locustfile, 2 users, 2 s), replayed: any change to an apply or decide that alters
    replay shows up here. The journal was written from the repository root with relative paths; its hostname
    fields were then set to "example-host". Regenerate both files only on purpose (see docs/replay.md).
    """
    from horde.cli.replay import state_dict

    contents = r.read(GOLDEN / "local-run.jsonl")
    assert not contents.torn_tail and not contents.unknown_types
    expected = json.loads((GOLDEN / "local-run.replay.json").read_text())
    assert state_dict(contents.header, r.replay_journal(contents)) == expected
    assert r.check(contents.records).ok


@pytest.mark.parametrize("name", ["local-run-v2.jsonl", "local-run-v3.journal"])
def test_the_golden_journals_of_formats_2_and_3_replay_to_their_recorded_output(name: str) -> None:
    """Real 2-second local runs (demo locustfile, 2 users) written as JSON Lines with the hash chain (format 2) and
    in compressed blocks (format 3), with `stats.merged` (ADR 0026, 0027). They were run under a UTS namespace whose
    hostname is "example-host", so the files are exactly as written and their chains intact."""
    from horde.cli.replay import state_dict

    contents = r.read(GOLDEN / name)
    assert contents.header.format_version == int(name.split("-v")[1][0])
    assert not contents.torn_tail and not contents.unknown_types and not contents.broken_links
    assert any(record.type == "stats.merged" for record in contents.records)
    expected = json.loads((GOLDEN / f"{name.rsplit('.', 1)[0]}.replay.json").read_text())
    assert state_dict(contents.header, r.replay_journal(contents)) == expected
    replayed = r.replay_file(GOLDEN / name)
    assert replayed.checkpoint_seq is not None and not replayed.problems
    assert state_dict(replayed.header, replayed.state) == expected
    assert r.check(contents.records).ok
