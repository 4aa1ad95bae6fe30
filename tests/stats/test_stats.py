"""Recording, delta taking and exact merging of request statistics."""

from __future__ import annotations

import json
import math
from fractions import Fraction

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.protocol.stats import StatsDelta, StatsImage
from horde.runtime.exceptions import CatchResponseError
from horde.stats.histogram import RELATIVE_ERROR, bucket_of
from horde.stats.recorder import StatsRecorder, describe_error
from horde.stats.run_stats import REPORTED_PERCENTILES, RunStats
from horde.stats.summary import summary_dict

T0 = 1_700_000_000.0


class FakeClock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def merged(*deltas: StatsDelta) -> RunStats:
    stats = RunStats()
    for delta in deltas:
        stats.merge(delta)
    return stats


# --- the recorder -------------------------------------------------------------------------------------------


def test_a_delta_holds_what_was_recorded_and_the_next_starts_empty() -> None:
    clock = FakeClock()
    recorder = StatsRecorder(clock)
    recorder.record("GET", "/a", 10.0, 100, None)
    clock.now += 1.5
    recorder.record("GET", "/a", 30.0, 300, ValueError("bad"))
    recorder.record("GET", "/a", None, 0, None)
    recorder.record("POST", "/b", 5.0, 1, None)

    delta = recorder.take_delta()

    entry = next(e for e in delta.entries if e.name == "/a")
    assert (entry.num_requests, entry.num_none_requests, entry.num_failures) == (3, 1, 1)
    assert (entry.min_response_time, entry.max_response_time, entry.total_response_time) == (10.0, 30.0, 40.0)
    assert entry.total_content_length == 400
    assert sum(count for _, count in entry.buckets.pairs()) == 2
    assert entry.requests_per_second == {int(T0): 1, int(T0) + 1: 2}
    assert entry.failures_per_second == {int(T0) + 1: 1}
    assert [(s.second, s.num_requests) for s in delta.seconds] == [(int(T0), 1), (int(T0) + 1, 3)]
    assert [(e.method, e.name, e.error, e.occurrences) for e in delta.errors] == [("GET", "/a", "ValueError('bad')", 1)]
    assert recorder.take_delta().is_empty()


@settings(deadline=None, max_examples=50)
@given(st.lists(st.one_of(st.integers(-5, 100_000), st.floats(-1.0, 1e9)), min_size=1, max_size=50))
def test_recording_files_each_time_under_the_histograms_bucket(values: list[float]) -> None:
    recorder = StatsRecorder(FakeClock())
    for value in values:
        recorder.record("GET", "/", value, 0, None)
    (entry,) = recorder.take_delta().entries
    expected: dict[int, int] = {}
    for value in values:
        expected[bucket_of(value)] = expected.get(bucket_of(value), 0) + 1
    assert entry.buckets.as_dict() == expected


def test_a_request_without_response_time_counts_but_has_no_timing() -> None:
    recorder = StatsRecorder(FakeClock())
    recorder.record("GET", "/async", None, 0, None)
    (entry,) = recorder.take_delta().entries
    assert (entry.num_requests, entry.min_response_time, entry.max_response_time, entry.buckets.as_dict()) == (
        1,
        None,
        None,
        {},
    )
    stats = merged(StatsDelta(entries=(entry,)))
    assert stats.entries[("GET", "/async")].avg_response_time == 0.0
    assert stats.entries[("GET", "/async")].median_response_time == 0.0


def test_negative_and_nan_times_count_as_instant_responses() -> None:
    recorder = StatsRecorder(FakeClock())
    recorder.record("GET", "/", -3.0, 0, None)
    recorder.record("GET", "/", math.nan, 0, None)
    recorder.record("GET", "/", 4.0, 0, None)
    (entry,) = recorder.take_delta().entries
    assert (entry.min_response_time, entry.max_response_time, entry.total_response_time) == (0.0, 4.0, 4.0)


def test_on_request_takes_locusts_keywords() -> None:
    recorder = StatsRecorder(FakeClock())
    recorder.on_request(
        request_type="GET",
        name="/x",
        response_time=12.0,
        response_length=None,
        exception=None,
        context={"user": 1},
        response=object(),
        url="http://host/x",
        start_time=T0,
    )
    recorder.on_request("GET", "/x", 3.0, 7, exception=CatchResponseError("wrong body"))
    delta = recorder.take_delta()
    assert delta.entries[0].num_requests == 2
    assert delta.entries[0].total_content_length == 7
    assert delta.errors[0].error == "wrong body"


def test_errors_are_counted_per_method_name_and_error_with_seen_times() -> None:
    clock = FakeClock()
    recorder = StatsRecorder(clock)
    for _ in range(3):
        recorder.record("GET", "/a", 1.0, 0, ConnectionError("refused"))
        clock.now += 1
    recorder.record("POST", "/a", 1.0, 0, ConnectionError("refused"))
    errors = {(e.method, e.error): e for e in recorder.take_delta().errors}
    get = errors[("GET", "ConnectionError('refused')")]
    assert (get.occurrences, get.first_seen, get.last_seen) == (3, T0, T0 + 2)
    assert errors[("POST", "ConnectionError('refused')")].occurrences == 1


class Opaque:
    pass


@pytest.mark.parametrize(
    ("error", "described"),
    [
        ("plain message", "plain message"),
        (ValueError("x"), "ValueError('x')"),
        (CatchResponseError("Got wrong response"), "Got wrong response"),
        ("CatchResponseError('Got wrong response')", "Got wrong response"),
        ("CatchResponseError(unquoted)", "unquoted"),
    ],
)
def test_errors_are_described_readably(error: object, described: str) -> None:
    assert describe_error(error) == described


def test_object_addresses_are_normalised_so_equal_errors_share_a_row() -> None:
    first, second = Opaque(), Opaque()
    assert describe_error(RuntimeError(first)) == describe_error(RuntimeError(second))
    assert "object at 0x...." in describe_error(RuntimeError(first))


def test_exceptions_are_counted_per_message_and_traceback() -> None:
    recorder = StatsRecorder(FakeClock())
    recorder.record_exception("boom", "tb1")
    recorder.record_exception("boom", "tb1")
    recorder.record_exception("boom", "tb2")
    delta = recorder.take_delta()
    assert [(e.traceback, e.count) for e in delta.exceptions] == [("tb1", 2), ("tb2", 1)]


def test_an_exception_at_start_keeps_its_mark_through_merge_image_and_old_reports() -> None:
    recorder = StatsRecorder(FakeClock())
    recorder.record_exception("NoHost", "tb", at_start=True)
    recorder.record_exception("boom", "tb")
    delta = msgspec.json.decode(msgspec.json.encode(recorder.take_delta()), type=StatsDelta)
    merged = RunStats()
    merged.merge(delta, "w1")
    restored = RunStats.from_image(msgspec.json.decode(msgspec.json.encode(merged.image()), type=StatsImage))
    for stats in (merged, restored, merged.copy()):
        assert {e.message: e.at_start for e in stats.exceptions.values()} == {"NoHost": True, "boom": False}
    old = b'{"exceptions":[{"message":"boom","traceback":"tb","count":1}]}'  # a report from before the field
    assert msgspec.json.decode(old, type=StatsDelta).exceptions[0].at_start is False


# --- merging ------------------------------------------------------------------------------------------------

requests = st.lists(
    st.tuples(
        st.sampled_from(["GET", "POST"]),
        st.sampled_from(["/a", "/b", "/c"]),
        st.one_of(st.none(), st.integers(min_value=0, max_value=60_000).map(float)),
        st.integers(min_value=0, max_value=10_000),
        st.booleans(),
        st.integers(min_value=0, max_value=30),  # second offset
        st.integers(min_value=0, max_value=3),  # which worker
        st.booleans(),  # report after this request
    ),
    min_size=1,
    max_size=120,
)


@settings(deadline=None, max_examples=100)
@given(requests)
def test_merging_worker_deltas_equals_one_process_seeing_everything(
    batch: list[tuple[str, str, float | None, int, bool, int, int, bool]],
) -> None:
    # Integer response times keep float sums exact whatever the grouping.
    clock = FakeClock()
    single = StatsRecorder(clock)
    workers = [StatsRecorder(clock) for _ in range(4)]
    worker_stats = RunStats()
    for method, name, response_time, length, failed, offset, worker, report in sorted(batch, key=lambda r: r[5]):
        clock.now = T0 + offset + 0.5
        error = ValueError(name) if failed else None
        single.record(method, name, response_time, length, error)
        workers[worker].record(method, name, response_time, length, error)
        if report:
            worker_stats.merge(workers[worker].take_delta())
    for recorder in workers:
        worker_stats.merge(recorder.take_delta())
    single_stats = merged(single.take_delta())

    assert worker_stats.span == single_stats.span
    assert worker_stats.entries == single_stats.entries
    assert worker_stats.total == single_stats.total
    assert worker_stats.second_totals() == single_stats.second_totals()
    assert {k: e.occurrences for k, e in worker_stats.errors.items()} == {
        k: e.occurrences for k, e in single_stats.errors.items()
    }
    assert worker_stats.total.num_requests == len(batch)
    assert sum(e.num_requests for e in worker_stats.entries.values()) == len(batch)


@settings(deadline=None, max_examples=100)
@given(st.lists(st.floats(min_value=0.0, max_value=3_600_000.0), min_size=1, max_size=200))
def test_merged_percentiles_are_within_the_bound_and_never_beyond_min_or_max(values: list[float]) -> None:
    clock = FakeClock()
    recorders = [StatsRecorder(clock), StatsRecorder(clock)]
    for index, value in enumerate(values):
        recorders[index % 2].record("GET", "/", value, 0, None)
    stats = merged(*(recorder.take_delta() for recorder in recorders))
    ordered = sorted(values)
    for entry in (stats.entries[("GET", "/")], stats.total):
        for p, estimate in zip(REPORTED_PERCENTILES, entry.percentiles(), strict=True):
            exact = ordered[max(1, math.ceil(Fraction(repr(p)) * len(values))) - 1]
            assert abs(estimate - exact) <= RELATIVE_ERROR * exact
            assert min(values) <= estimate <= max(values)
        assert entry.percentile(1.0) == max(values)
        assert entry.percentile(0.0) == min(values)
        assert entry.median_response_time == entry.percentile(0.5)


def test_replaying_the_same_deltas_compares_equal_and_different_ones_do_not() -> None:
    clock = FakeClock()
    recorder = StatsRecorder(clock)
    deltas = []
    for step in range(5):
        clock.now = T0 + step
        recorder.record("GET", "/a", 10.0 + step, 10, ValueError("e") if step % 2 else None)
        recorder.record_exception("boom", "tb")
        deltas.append(recorder.take_delta())
    live, replayed = merged(*deltas), merged(*deltas)
    assert live == replayed
    assert live != merged(*deltas[:-1])
    assert live != "not stats"


@settings(deadline=None, max_examples=60)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["/a", "/b", "/c"]),
            st.one_of(st.none(), st.floats(min_value=-1.0, max_value=1e6, allow_nan=False)),
            st.sampled_from([None, "timeout", "HTTP 500"]),
            st.integers(min_value=0, max_value=20),  # second offset
            st.integers(min_value=0, max_value=2),  # which worker
            st.booleans(),  # a user-code exception too
        ),
        max_size=80,
    )
)
def test_an_image_through_json_restores_an_equal_run_stats(
    batch: list[tuple[str, float | None, str | None, int, int, bool]],
) -> None:
    clock = FakeClock()
    recorders = [StatsRecorder(clock) for _ in range(3)]
    stats = RunStats()
    for name, response_time, error, offset, worker, raised in sorted(batch, key=lambda r: r[3]):
        clock.now = T0 + offset + 0.25
        recorders[worker].record("GET", name, response_time, 7, error)
        if raised:
            recorders[worker].record_exception(f"boom on {name}", "tb")
        if offset % 3 == 0:
            stats.merge(recorders[worker].take_delta(), f"w{worker}")
    for worker, recorder in enumerate(recorders):
        stats.merge(recorder.take_delta(), f"w{worker}")

    image = msgspec.json.decode(msgspec.json.encode(stats.image()), type=StatsImage)
    restored = RunStats.from_image(image)

    assert restored == stats
    assert summary_dict(restored) == summary_dict(stats)
    assert restored.history() == stats.history()
    assert restored.total.span is restored.span and all(e.span is restored.span for e in restored.entries.values())


@settings(deadline=None, max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=400),  # second of the request
            st.floats(min_value=0.1, max_value=1e4, allow_nan=False),
            st.integers(min_value=0, max_value=3),  # which worker, each reporting on its own schedule
        ),
        min_size=1,
        max_size=150,
    )
)
def test_packing_the_seconds_left_behind_changes_nothing_but_memory(batch: list[tuple[int, float, int]]) -> None:
    """Reports in any order, late ones for long-packed seconds included, give what never packing gives."""
    from unittest import mock

    from horde.stats import run_stats as stats_module

    deltas = []
    for worker in range(4):
        clock = FakeClock()
        recorder = StatsRecorder(clock)
        for second, response_time, _ in sorted(r for r in batch if r[2] == worker):
            clock.now = T0 + second + 0.5
            recorder.record("GET", f"/w{worker}", response_time, 1, None)
            if second % (worker + 2) == 0:
                deltas.append(recorder.take_delta())
        deltas.append(recorder.take_delta())
    deltas.sort(key=lambda d: -len(d.seconds))  # workers out of step: some reports arrive long after their seconds

    packed = merged(*deltas)
    with mock.patch.object(stats_module, "PACK_AFTER_SECONDS", 10**9):
        unpacked = merged(*deltas)

    assert not unpacked._packed
    assert packed == unpacked
    assert packed.history() == unpacked.history()
    assert packed.image() == unpacked.image()
    assert summary_dict(packed) == summary_dict(unpacked)
    if max(second for second, _, _ in batch) - min(second for second, _, _ in batch) > 130:
        assert packed._packed  # something was far enough behind to be packed


def test_errors_and_exceptions_merge_across_workers() -> None:
    clock = FakeClock()
    first, second = StatsRecorder(clock), StatsRecorder(clock)
    first.record("GET", "/a", 1.0, 0, "timeout")
    first.record_exception("boom", "tb")
    clock.now += 5
    second.record("GET", "/a", 1.0, 0, "timeout")
    second.record_exception("boom", "tb")
    stats = RunStats()
    stats.merge(first.take_delta(), node="worker-1")
    stats.merge(second.take_delta(), node="worker-2")
    (error,) = stats.errors.values()
    assert (error.occurrences, error.first_seen, error.last_seen) == (2, T0, T0 + 5)
    (exception,) = stats.exceptions.values()
    assert (exception.count, exception.nodes) == (2, {"worker-1", "worker-2"})


# --- reading ------------------------------------------------------------------------------------------------


def steady_run(seconds: int, per_second: int, failures_per_second: int = 0) -> RunStats:
    clock = FakeClock()
    recorder = StatsRecorder(clock)
    for second in range(seconds):
        for index in range(per_second):
            clock.now = T0 + second + index / per_second
            error = "bad" if index < failures_per_second else None
            recorder.record("GET", "/a", float(index + 1), 10, error)
    return merged(recorder.take_delta())


def test_total_rates_divide_by_the_seconds_the_run_touched() -> None:
    stats = steady_run(seconds=10, per_second=20, failures_per_second=2)
    assert stats.total.total_rps == 20.0
    assert stats.total.total_fail_per_sec == 2.0
    assert stats.entries[("GET", "/a")].total_rps == 20.0
    assert RunStats().total.total_rps == 0.0


def test_current_rate_averages_ten_whole_seconds_ending_two_before_now() -> None:
    stats = steady_run(seconds=30, per_second=20, failures_per_second=5)
    assert stats.total.current_rps(T0 + 29.5) == 20.0
    assert stats.total.current_fail_per_sec(T0 + 29.5) == 5.0
    # Requests stopped at T0 + 30: five seconds later half the window is empty.
    assert stats.total.current_rps(T0 + 37) == 10.0
    assert stats.total.current_rps(T0 + 60) == 0.0
    # Early on the window starts at the run's first second, and is empty before two seconds have passed.
    assert stats.total.current_rps(T0 + 4) == 20.0
    assert stats.total.current_rps(T0 + 1) == 0.0


def test_history_has_a_row_per_second_with_cumulative_figures() -> None:
    clock = FakeClock()
    recorder = StatsRecorder(clock)
    recorder.record("GET", "/a", 100.0, 10, None)
    clock.now = T0 + 3
    recorder.record("GET", "/b", 300.0, 30, "bad")
    recorder.record("GET", "/b", None, 0, None)
    stats = merged(recorder.take_delta())

    rows = stats.history()

    assert [row.second for row in rows] == [int(T0) + n for n in range(4)]
    assert [(row.requests, row.failures, row.num_requests) for row in rows] == [
        (1, 0, 1),
        (0, 0, 1),
        (0, 0, 1),
        (2, 1, 3),
    ]
    assert rows[0].max_response_time == 100.0
    assert rows[0].median_response_time == pytest.approx(100.0, rel=RELATIVE_ERROR)
    last = rows[-1]
    assert last.num_failures == 1
    assert (last.min_response_time, last.max_response_time, last.avg_response_time) == (100.0, 300.0, 200.0)
    assert last.avg_content_length == stats.total.avg_content_length
    assert list(last.percentiles) == stats.total.percentiles()
    assert RunStats().history() == []


def test_summary_is_sorted_json_with_every_percentile() -> None:
    clock = FakeClock()
    recorder = StatsRecorder(clock)
    for name in ["/z", "/a", "/m"]:
        recorder.record("GET", name, 12.0, 5, ValueError(name))
    recorder.record_exception("boom", "tb")
    stats = merged(recorder.take_delta())

    summary = summary_dict(stats)

    assert json.loads(json.dumps(summary)) == summary
    assert [entry["name"] for entry in summary["entries"]] == ["/a", "/m", "/z"]
    assert list(summary["aggregated"]["percentiles"]) == [
        "p50",
        "p66",
        "p75",
        "p80",
        "p90",
        "p95",
        "p98",
        "p99",
        "p99.9",
        "p99.99",
        "p100",
    ]
    assert summary["aggregated"]["num_requests"] == 3
    assert summary["aggregated"]["percentiles"]["p100"] == 12.0
    assert [error["error"] for error in summary["errors"]] == [
        "ValueError('/a')",
        "ValueError('/m')",
        "ValueError('/z')",
    ]
    assert summary["exceptions"] == [{"count": 1, "message": "boom", "traceback": "tb", "nodes": []}]
    assert summary_dict(merged(*[])) == summary_dict(RunStats())


@settings(deadline=None, max_examples=40)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=0, max_value=400),  # second of the request: far enough apart to pack some
            st.one_of(st.none(), st.floats(min_value=0.1, max_value=1e4, allow_nan=False)),
            st.sampled_from([None, "timeout"]),
            st.integers(min_value=0, max_value=2),  # which worker, each reporting on its own schedule
        ),
        min_size=1,
        max_size=120,
    ),
    st.integers(min_value=0, max_value=400),
)
def test_a_copy_equals_its_run_stats_and_merging_never_reaches_it(
    batch: list[tuple[int, float | None, str | None, int]], late_second: int
) -> None:
    clock = FakeClock()
    recorders = [StatsRecorder(clock) for _ in range(3)]
    stats = RunStats()
    for second, response_time, error, worker in sorted(batch, key=lambda r: r[0]):
        clock.now = T0 + second + 0.5
        recorders[worker].record("GET", f"/{worker}", response_time, 3, error)
        if second % (worker + 2) == 0:
            stats.merge(recorders[worker].take_delta(), f"w{worker}")
    for worker, recorder in enumerate(recorders):
        stats.merge(recorder.take_delta(), f"w{worker}")

    copy = stats.copy()
    assert copy == stats and copy == RunStats.from_image(stats.image())
    before = summary_dict(copy)
    clock.now = T0 + late_second + 0.5  # a late report for any second, packed or not
    recorders[0].record("GET", "/0", 5.0, 3, None)
    late = recorders[0].take_delta()
    stats.merge(late, "w0")
    assert summary_dict(copy) == before  # the copy is its own
    copy.merge(late, "w0")
    assert copy == stats  # and a working RunStats, merging as the original does
