"""A long run's history has a bounded size (ADR 0029): per second for the last RECENT_SECONDS, coarse before."""

from __future__ import annotations

from dataclasses import replace
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.protocol.stats import StatsDelta
from horde.stats import run_stats as run_stats_module
from horde.stats.recorder import StatsRecorder
from horde.stats.run_stats import COARSE_SECONDS, RECENT_SECONDS, RunStats
from horde.stats.summary import summary_dict

T0 = 1_700_000_000


class FakeClock:
    def __init__(self) -> None:
        self.now = float(T0)

    def __call__(self) -> float:
        return self.now


def run_deltas(requests: list[tuple[int, float, int]], every: int) -> list[StatsDelta]:
    """Three workers' reports of `(second, response_time, worker)` requests, each worker reporting every few
    seconds and all of them out of step, so that some reports reach the master long after their seconds."""
    deltas = []
    for worker in range(3):
        clock = FakeClock()
        recorder = StatsRecorder(clock)
        for second, response_time, _ in sorted(r for r in requests if r[2] == worker):
            clock.now = T0 + second + 0.5
            recorder.record("GET", f"/w{worker}", response_time, 1, "boom" if response_time > 900 else None)
            if second % (every * (worker + 1)) == 0:
                deltas.append(recorder.take_delta())
        deltas.append(recorder.take_delta())
    return deltas


def merged(deltas: list[StatsDelta]) -> RunStats:
    stats = RunStats()
    for delta in deltas:
        stats.merge(delta)
    return stats


def counts(stats: RunStats) -> dict[int, tuple[int, int, object]]:
    return {second: (t.num_requests, t.num_failures, t.buckets) for second, t in stats.second_totals().items()}


requests = st.lists(
    st.tuples(st.integers(0, 3000), st.floats(0.5, 1000.0, allow_nan=False), st.integers(0, 2)), max_size=120
)


@settings(max_examples=25, deadline=None)
@given(requests, st.integers(1, 40))
def test_coarse_history_keeps_every_cumulative_figure_and_replays_the_same(
    batch: list[tuple[int, float, int]], every: int
) -> None:
    deltas = run_deltas(batch, every)
    coarse = merged(deltas)
    with mock.patch.object(run_stats_module, "RECENT_SECONDS", 10**9):
        exact = merged(deltas)
    assert exact._coarse_before is None

    assert summary_dict(coarse) == summary_dict(exact)  # totals, percentiles, errors: all over the whole run
    history, exact_history = coarse.history(), exact.history()
    if history:
        assert history[-1].num_requests == exact_history[-1].num_requests == coarse.total.num_requests
        assert history[-1].percentiles == exact_history[-1].percentiles
        recent = [row for row in exact_history if row.second >= exact_history[-1].second - RECENT_SECONDS + 10]
        # the last RECENT_SECONDS are per second, as they were (float sums added in another grouping: to the ulp)
        for row, exact_row in zip(history[-len(recent) :], recent, strict=True):
            assert replace(row, avg_response_time=0.0) == replace(exact_row, avg_response_time=0.0)
            assert row.avg_response_time == pytest.approx(exact_row.avg_response_time, rel=1e-12)
        assert sum(row.requests for row in history) <= coarse.total.num_requests + len(history)
    # what a replay or a checkpoint gives back is the same RunStats
    assert merged(deltas) == coarse
    assert RunStats.from_image(coarse.image()) == coarse == coarse.copy()
    # a checkpoint written before coarsening existed (every second kept) restores to the same buckets and counts;
    # float sums may differ in the last bit where late reports were added in another order
    restored = RunStats.from_image(exact.image())
    assert counts(restored) == counts(coarse)
    assert restored.entries == coarse.entries and restored.span == coarse.span


def test_history_and_per_entry_counts_stay_bounded_however_long_the_run() -> None:
    clock = FakeClock()
    recorder = StatsRecorder(clock)
    stats = RunStats()
    hours = 2
    with mock.patch.object(run_stats_module, "MAX_COARSE_BUCKETS", 16):
        for tick in range(0, hours * 3600, 2):  # a report every 2 s, a request a second on 3 endpoints
            for second in (tick, tick + 1):
                clock.now = T0 + second + 0.5
                for name in ("/a", "/b", "/c"):
                    recorder.record("GET", name, 10.0 + second % 7, 1, None)
            stats.merge(recorder.take_delta())
            if tick == 3600:
                after_an_hour = len(stats.seconds)
        assert len(stats.seconds) <= RECENT_SECONDS + COARSE_SECONDS + 16 + 2
        assert len(stats.seconds) <= after_an_hour + 16  # flat after the first hour (coarse buckets: 8 to 16)
        assert stats._coarse_width > COARSE_SECONDS  # widened to stay within 16 buckets
        for entry in stats.entries.values():
            assert len(entry.requests_per_second) <= RECENT_SECONDS + COARSE_SECONDS
        assert stats.total.num_requests == 3 * hours * 3600
        assert stats.total.current_rps(T0 + hours * 3600) == 3.0
        history = stats.history()
        assert len(history) <= RECENT_SECONDS + COARSE_SECONDS + 16 + 2
        assert history[-1].num_requests == 3 * hours * 3600
        assert all(row.requests == 3 for row in history[1:-1])  # coarse rows: the mean per second
