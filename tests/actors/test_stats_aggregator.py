"""Each (worker, incarnation, seq) is merged once; the merged state is the fold of the journaled deltas."""

from __future__ import annotations

from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from horde.actors import stats_aggregator as sa
from horde.protocol.messages import StatsReport
from horde.stats.recorder import StatsRecorder


def delta(requests: int) -> object:
    clock = iter(range(1000, 2000))
    recorder = StatsRecorder(clock=lambda: float(next(clock)))
    for i in range(requests):
        recorder.record("GET", f"/{i % 3}", float(i), 10, None if i % 4 else "boom")
    return recorder.take_delta()


def receive(state: sa.AggregatorState, worker: str, incarnation: str, seq: int, d: object) -> list:
    """A report alone: dropped, or accepted and merged at once (an interval that had only this report)."""
    report = StatsReport(incarnation, seq, d, 0.0)  # type: ignore[arg-type]
    return sa.decide(state, sa.ReportReceived(worker, report)) or sa.decide(state, sa.MergeWaiting(((worker, report),)))


def test_a_repeated_seq_is_merged_once() -> None:
    state = sa.AggregatorState()
    d = delta(10)
    state = reduce(sa.apply, receive(state, "w1", "i1", 1, d), state)
    events = receive(state, "w1", "i1", 1, d)
    assert [type(e).__name__ for e in events] == ["StatsReportDropped"]
    state = reduce(sa.apply, events, state)
    assert state.stats.total.num_requests == 10 and state.reports_dropped == 1
    # A new incarnation of the same worker starts its seqs afresh.
    state = reduce(sa.apply, receive(state, "w1", "i2", 1, d), state)
    assert state.stats.total.num_requests == 20


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["w1", "w2"]), st.integers(1, 6), st.integers(0, 20)), max_size=25))
def test_replaying_the_events_rebuilds_equal_stats(reports: list[tuple[str, int, int]]) -> None:
    live = sa.AggregatorState()
    journal = []
    for worker, seq, requests in reports:
        events = receive(live, worker, "i", seq, delta(requests))
        journal += events
        live = reduce(sa.apply, events, live)
    replayed = reduce(sa.apply, journal, sa.AggregatorState())
    assert replayed.stats == live.stats
    assert replayed.last_seq == live.last_seq


def test_the_aggregator_decides_the_drop_of_a_report_from_a_peer_it_does_not_count() -> None:
    state = sa.AggregatorState()
    report = StatsReport("i9", 1, delta(5), 0.0)  # type: ignore[arg-type]
    events = sa.decide(state, sa.ReportReceived("stranger", report, admitted=False, known_worker=False))
    assert [(type(e).__name__, e.reason) for e in events] == [("StatsReportDropped", "not an admitted worker")]
    state = reduce(sa.apply, events, state)
    assert state.stats.total.num_requests == 0 and state.reports_dropped == 1 and state.last_seq == {}


def test_only_reports_of_known_workers_are_acknowledged() -> None:
    """An admitted worker's report of an old incarnation is acknowledged (lost, never resent); a stranger's not."""
    acknowledged: list[tuple[str, str, int]] = []
    actor = sa.StatsAggregator.start(lambda _append: None, None, lambda *ack: acknowledged.append(ack))
    try:
        report = StatsReport("old", 3, delta(2), 0.0)  # type: ignore[arg-type]
        actor.ask(sa.ReportReceived("w1", report, admitted=False, known_worker=True))
        actor.ask(sa.ReportReceived("stranger", report, admitted=False, known_worker=False))
        stats = actor.ask(sa.GetStats())
        assert acknowledged == [("w1", "old", 3)]
        assert stats.total.num_requests == 0
    finally:
        actor.stop()


def test_the_statistics_handed_out_are_a_copy_that_later_reports_do_not_change() -> None:
    actor = sa.StatsAggregator.start(lambda _append: None)
    try:
        actor.ask(sa.ReportReceived("w1", StatsReport("i1", 1, delta(4), 0.0)))  # type: ignore[arg-type]
        before = actor.ask(sa.GetStats())
        actor.ask(sa.ReportReceived("w1", StatsReport("i1", 2, delta(6), 0.0)))  # type: ignore[arg-type]
        after = actor.ask(sa.GetStats())
        assert before.total.num_requests == 4 and after.total.num_requests == 10
        assert before is not after
    finally:
        actor.stop()


def test_a_reset_starts_the_numbers_afresh_and_keeps_the_seqs() -> None:
    """`--reset-stats` (ADR 0020): a report merged before the reset is not merged again if it comes back after it."""
    state = sa.AggregatorState()
    first = delta(10)
    state = reduce(sa.apply, receive(state, "w1", "i1", 1, first), state)
    events = sa.decide(state, sa.ResetStats(12.5, "ramp finished at step 2"))
    assert [type(e).__name__ for e in events] == ["StatsReset"]
    state = reduce(sa.apply, events, state)
    assert state.stats.total.num_requests == 0 and state.stats.sorted_entries() == []
    assert state.reports_merged == 1 and state.last_seq == {"w1/i1": 1}
    assert [type(e).__name__ for e in receive(state, "w1", "i1", 1, first)] == ["StatsReportDropped"]
    state = reduce(sa.apply, receive(state, "w1", "i1", 2, delta(4)), state)
    assert state.stats.total.num_requests == 4
    # The snapshot of a reset state restores to an equal one, as a checkpoint after a reset must.
    assert sa.restore(sa.snapshot_of(state)).stats == state.stats
