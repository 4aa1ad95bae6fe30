"""Locust's reading API over merged statistics: built from known deltas, it agrees with the raw numbers."""

from __future__ import annotations

import io
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.stats import RequestStats, StatsEntry, StatsError, print_stats
from horde.stats.histogram import RELATIVE_ERROR, nearest_rank
from horde.stats.recorder import StatsRecorder
from horde.stats.run_stats import RunStats

T0 = 1_700_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def merged(recorder: StatsRecorder, stats: RunStats | None = None) -> RunStats:
    stats = stats if stats is not None else RunStats()
    stats.merge(recorder.take_delta(), "w1")
    return stats


def copy_of(stats: RunStats) -> RunStats:
    return RunStats.from_image(stats.image())


def test_entries_are_keyed_by_name_then_method_and_add_up_to_the_total() -> None:
    clock = Clock()
    recorder = StatsRecorder(clock)
    for ms in (10.0, 20.0, 30.0):
        recorder.record("GET", "/a", ms, 100, None)
    recorder.record("POST", "/b", 50.0, 10, ValueError("boom"))
    stats = RequestStats(merged(recorder), clock=clock)

    assert set(stats.entries) == {("/a", "GET"), ("/b", "POST")}
    a = stats.entries[("/a", "GET")]
    assert isinstance(a, StatsEntry)
    assert (a.name, a.method, a.num_requests, a.num_failures) == ("/a", "GET", 3, 0)
    assert (a.min_response_time, a.max_response_time, a.avg_response_time) == (10.0, 30.0, 20.0)
    assert a.avg_content_length == 100
    assert stats.get("/a", "GET").num_requests == 3
    assert stats.get("/nowhere", "GET").num_requests == 0
    assert (stats.num_requests, stats.num_failures) == (4, 1)
    assert stats.total.fail_ratio == 0.25
    assert stats.total.name == "Aggregated"
    [error] = stats.errors.values()
    assert isinstance(error, StatsError)
    assert (error.method, error.name, error.occurrences) == ("POST", "/b", 1)
    assert "boom" in error.error
    assert stats.errors == {StatsError.create_key("POST", "/b", error.error): error}


def test_an_empty_run_reads_as_locust_reads_one() -> None:
    stats = RequestStats(RunStats())
    total = stats.total
    assert (total.num_requests, total.fail_ratio, total.avg_response_time) == (0, 0.0, 0.0)
    assert (total.min_response_time, total.max_response_time, total.median_response_time) == (None, 0.0, 0.0)
    assert total.get_response_time_percentile(0.95) == 0.0
    assert (total.current_rps, total.total_rps) == (0.0, 0.0)
    assert stats.entries == {} and stats.errors == {}


@settings(max_examples=60, deadline=None)
@given(
    times=st.lists(st.floats(min_value=0.5, max_value=60_000, allow_nan=False), min_size=1, max_size=200),
    failures=st.integers(min_value=0, max_value=50),
    p=st.sampled_from([0.5, 0.66, 0.75, 0.9, 0.95, 0.99, 1.0]),
)
def test_percentiles_and_ratios_agree_with_the_raw_numbers(times: list[float], failures: int, p: float) -> None:
    clock = Clock()
    recorder = StatsRecorder(clock)
    failures = min(failures, len(times))
    for index, ms in enumerate(times):
        recorder.record("GET", "/x", ms, 7, RuntimeError("no") if index < failures else None)
    total = RequestStats(merged(recorder), clock=clock).total

    assert total.num_requests == len(times)
    assert total.fail_ratio == failures / len(times)
    assert math.isclose(total.avg_response_time, sum(times) / len(times), rel_tol=1e-9)
    assert (total.min_response_time, total.max_response_time) == (min(times), max(times))
    exact = sorted(times)[nearest_rank(p, len(times)) - 1]
    assert abs(total.get_response_time_percentile(p) - exact) <= exact * RELATIVE_ERROR
    median = sorted(times)[nearest_rank(0.5, len(times)) - 1]
    assert abs(total.median_response_time - median) <= median * RELATIVE_ERROR


def test_rates_read_the_per_second_tallies() -> None:
    clock = Clock()
    recorder = StatsRecorder(clock)
    for second in range(20):
        clock.now = T0 + second
        for _ in range(3):
            recorder.record("GET", "/x", 5.0, 0, None)
        recorder.record("GET", "/x", 5.0, 0, ValueError("x"))
    clock.now = T0 + 20
    entry = RequestStats(merged(recorder), clock=clock).entries[("/x", "GET")]
    assert entry.current_rps == 4.0
    assert entry.current_fail_per_sec == 1.0
    assert entry.total_rps == 4.0 and entry.total_fail_per_sec == 1.0
    assert entry.num_reqs_per_sec == {int(T0) + s: 4 for s in range(20)}
    assert entry.start_time == int(T0)


def test_a_live_source_is_read_again_once_the_copy_is_older_than_max_age() -> None:
    clock, monotonic = Clock(), Clock(0.0)
    recorder = StatsRecorder(clock)
    live = RunStats()
    reads = []

    def source() -> RunStats:
        reads.append(1)
        return copy_of(live)

    stats = RequestStats(source, max_age=1.0, clock=clock, monotonic=monotonic)
    assert stats.total.num_requests == 0
    recorder.record("GET", "/x", 5.0, 0, None)
    merged(recorder, live)
    assert stats.total.num_requests == 0  # the copy is fresh enough
    monotonic.now = 1.0
    assert stats.total.num_requests == 1
    assert len(reads) == 2
    stats.freeze(RunStats())
    monotonic.now = 5.0
    assert stats.total.num_requests == 0 and len(reads) == 2


def test_a_source_that_fails_leaves_the_last_copy() -> None:
    clock = Clock()
    recorder = StatsRecorder(clock)
    recorder.record("GET", "/x", 5.0, 0, None)
    copies = [merged(recorder)]

    def source() -> RunStats:
        if copies:
            return copies.pop()
        raise RuntimeError("the aggregator is gone")

    monotonic = Clock(0.0)
    stats = RequestStats(source, max_age=0.0, clock=clock, monotonic=monotonic)
    assert stats.num_requests == 1
    assert stats.num_requests == 1


def test_reset_all_reads_from_zero_and_leaves_the_merged_statistics_alone() -> None:
    clock = Clock()
    recorder = StatsRecorder(clock)
    live = RunStats()
    for _ in range(5):
        recorder.record("GET", "/x", 1000.0, 0, ValueError("early"))
    merged(recorder, live)
    stats = RequestStats(lambda: copy_of(live), max_age=0.0, clock=clock)
    stats.history.append({"row": 1})

    clock.now = T0 + 5
    stats.reset_all()
    assert (stats.num_requests, stats.num_failures, stats.errors, stats.history) == (0, 0, {}, [])

    for ms in (10.0, 20.0, 30.0):
        recorder.record("GET", "/x", ms, 0, None)
    merged(recorder, live)
    entry = stats.get("/x", "GET")
    assert (entry.num_requests, entry.num_failures, entry.avg_response_time) == (3, 0, 20.0)
    assert abs(entry.get_response_time_percentile(1.0) - 30.0) <= 30.0 * RELATIVE_ERROR
    assert abs(entry.min_response_time - 10.0) <= 10.0 * RELATIVE_ERROR  # type: ignore[operator]
    assert entry.num_reqs_per_sec == {int(T0) + 5: 3}
    assert live.total.num_requests == 8  # the run still counts every request


def test_the_console_table_has_a_row_per_entry_and_the_aggregate() -> None:
    clock = Clock()
    recorder = StatsRecorder(clock)
    recorder.record("GET", "/a", 10.0, 0, None)
    recorder.record("GET", "/b", 10.0, 0, ValueError("x"))
    out = io.StringIO()
    print_stats(RequestStats(merged(recorder), clock=clock), file=out)
    lines = out.getvalue().splitlines()
    assert any(line.startswith("GET") and "/a" in line for line in lines)
    assert any("Aggregated" in line and "1(50.00%)" in line for line in lines)


def test_current_percentiles_read_the_requests_since_the_copy_of_ten_seconds_ago() -> None:
    """As Locust's `get_current_response_time_percentile`: a copy read ~10 s ago is the window's start."""
    clock, mono = Clock(), Clock(0.0)
    recorder = StatsRecorder(clock)
    live = RunStats()
    stats = RequestStats(lambda: copy_of(live), clock=clock, monotonic=mono)
    for _ in range(50):
        recorder.record("GET", "/", 1000.0, 0, None)
    merged(recorder, live)
    assert stats.get("/", "GET").get_current_response_time_percentile(0.5) is None  # no copy of ~10 s ago
    clock.now += 10
    mono.now += 10
    for _ in range(10):
        recorder.record("GET", "/", 10.0, 0, None)
    merged(recorder, live)
    for entry in (stats.get("/", "GET"), stats.total):
        current = entry.get_current_response_time_percentile(0.5)
        assert current is not None and math.isclose(current, 10.0, rel_tol=RELATIVE_ERROR)
        assert entry.get_response_time_percentile(0.5) > 900  # the whole run's median is the slow one


def test_log_request_and_log_error_record_through_the_recorder() -> None:
    recorder = StatsRecorder(Clock())
    stats = RequestStats(RunStats(), recorder=recorder)
    stats.log_request("RPC", "call", 12.0, 3)
    stats.log_error("RPC", "call", "refused")
    merged_stats = merged(recorder)
    (entry,) = merged_stats.sorted_entries()
    assert (entry.num_requests, entry.num_failures, entry.total_content_length) == (1, 1, 3)
    assert [(e.error, e.occurrences) for e in merged_stats.sorted_errors()] == [("refused", 1)]
    with pytest.raises(RuntimeError, match="workers record them"):
        RequestStats(RunStats()).log_request("RPC", "call", 1.0, 0)  # a master's statistics record nothing
