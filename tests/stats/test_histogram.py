"""The histogram's promises: <= 1 % relative error, exact merging, monotone percentiles (ADR 0004)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.protocol.stats import Buckets
from horde.stats.histogram import (
    RELATIVE_ERROR,
    ZERO_BUCKET,
    Histogram,
    HistogramTable,
    bucket_of,
    merge_into,
    percentile,
    percentiles,
    value_of,
)

# Zero, sub-microsecond, typical and hours-long response times, in float milliseconds.
response_times = st.one_of(
    st.just(0.0),
    st.floats(min_value=1e-6, max_value=10.0),
    st.floats(min_value=10.0, max_value=10_000.0),
    st.floats(min_value=10_000.0, max_value=24 * 3600 * 1000.0),
    st.integers(min_value=0, max_value=100_000).map(float),
)
samples = st.lists(response_times, min_size=1, max_size=300)
fractions_of_one = st.one_of(
    st.sampled_from([0.0, 0.5, 0.66, 0.75, 0.8, 0.9, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0]),
    st.floats(min_value=0.0, max_value=1.0),
)
examples = settings(deadline=None, max_examples=200)


def histogram_of(values: list[float]) -> dict[int, int]:
    return dict(Counter(bucket_of(value) for value in values))


def exact_nearest_rank(values: list[float], p: float) -> float:
    rank = max(1, math.ceil(Fraction(repr(p)) * len(values)))
    return sorted(values)[rank - 1]


def test_the_stated_bound_is_within_one_percent() -> None:
    assert RELATIVE_ERROR <= 0.01


@examples
@given(st.floats(min_value=1e-300, max_value=1e300))
def test_every_value_reads_back_within_the_bound(value: float) -> None:
    assert abs(value_of(bucket_of(value)) - value) <= RELATIVE_ERROR * value


def test_zero_and_negative_times_read_back_as_zero() -> None:
    assert bucket_of(0.0) == bucket_of(-3.0) == ZERO_BUCKET
    assert value_of(ZERO_BUCKET) == 0.0
    assert bucket_of(5e-324) > ZERO_BUCKET


@examples
@given(st.floats(min_value=0.0, max_value=1e12), st.floats(min_value=0.0, max_value=1e12))
def test_buckets_preserve_order(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert bucket_of(low) <= bucket_of(high)
    assert value_of(bucket_of(low)) <= value_of(bucket_of(high))


@examples
@given(samples, fractions_of_one)
def test_any_percentile_is_within_one_percent_of_the_exact_nearest_rank(values: list[float], p: float) -> None:
    exact = exact_nearest_rank(values, p)
    estimate = percentile(histogram_of(values), len(values), p)
    assert abs(estimate - exact) <= RELATIVE_ERROR * exact


@examples
@given(samples, st.lists(st.integers(min_value=0, max_value=300), max_size=4))
def test_merging_histograms_of_a_split_equals_the_histogram_of_all(values: list[float], cuts: list[int]) -> None:
    bounds = [0, *sorted(cut % (len(values) + 1) for cut in cuts), len(values)]
    merged: dict[int, int] = {}
    for start, end in itertools.pairwise(bounds):
        merge_into(merged, histogram_of(values[start:end]))
    assert merged == histogram_of(values)


@examples
@given(samples, fractions_of_one, fractions_of_one)
def test_percentile_is_monotone_in_p(values: list[float], p: float, q: float) -> None:
    low, high = sorted((p, q))
    buckets = histogram_of(values)
    assert percentile(buckets, len(values), low) <= percentile(buckets, len(values), high)


@examples
@given(samples, st.lists(fractions_of_one, min_size=1, max_size=12))
def test_percentiles_in_one_walk_equal_one_at_a_time(values: list[float], ps: list[float]) -> None:
    buckets = histogram_of(values)
    assert percentiles(buckets, len(values), ps) == [percentile(buckets, len(values), p) for p in ps]


def test_median_of_an_even_count_is_the_lower_middle_sample() -> None:
    buckets = histogram_of([10.0, 20.0, 30.0, 40.0])
    assert percentile(buckets, 4, 0.5) == value_of(bucket_of(20.0))
    assert percentile(buckets, 4, 0.0) == value_of(bucket_of(10.0))
    assert percentile(buckets, 4, 1.0) == value_of(bucket_of(40.0))


def test_decimal_percentiles_are_not_rounded_up_by_binary_floats() -> None:
    values = [float(v) for v in range(1, 101)]
    # 0.07 * 100 is 7.000000000000001 in binary floating point; the 7th value is meant.
    assert percentile(histogram_of(values), 100, 0.07) == value_of(bucket_of(7.0))


def test_an_empty_histogram_reads_zero_and_a_bad_p_is_refused() -> None:
    assert percentile({}, 0, 0.5) == 0.0
    assert percentiles({}, 0, [0.5, 0.99]) == [0.0, 0.0]
    with pytest.raises(ValueError):
        percentile({64: 1}, 1, 50)


# --- the master's Histogram: the same answers as the plain dict, whatever the order of merging (ADR 0012) -----


@examples
@given(st.lists(samples, min_size=1, max_size=6), st.lists(fractions_of_one, min_size=1, max_size=12))
def test_a_histogram_merged_from_packed_deltas_equals_the_merged_dicts(
    parts: list[list[float]], ps: list[float]
) -> None:
    merged: dict[int, int] = {}
    histogram = Histogram()
    for values in parts:
        delta = histogram_of(values)
        merge_into(merged, delta)
        histogram.add(Buckets.of(delta))
    total = sum(len(values) for values in parts)
    assert histogram.pairs() == sorted(merged.items())
    assert histogram.total() == total and bool(histogram)
    assert histogram.percentiles(total, ps) == percentiles(merged, total, ps)
    assert Histogram.of(histogram.to_buckets()) == histogram
    assert histogram.to_buckets().as_dict() == merged


@examples
@given(samples, samples)
def test_adding_a_histogram_equals_adding_its_buckets(first: list[float], second: list[float]) -> None:
    by_histogram, by_buckets = Histogram.of(histogram_of(first)), Histogram.of(histogram_of(first))
    by_histogram.add(Histogram.of(histogram_of(second)))
    by_buckets.add(Buckets.of(histogram_of(second)))
    assert by_histogram == by_buckets
    assert by_histogram.pairs() == sorted((Counter(histogram_of(first)) + Counter(histogram_of(second))).items())


def test_extreme_buckets_and_counts_over_32_bits_survive_packing() -> None:
    source = {bucket_of(250.0): 3, ZERO_BUCKET: 1, bucket_of(1e-300): 2, bucket_of(1e300): 2**40}
    histogram = Histogram.of(source)
    assert dict(histogram.pairs()) == source and histogram.total() == 2**40 + 6
    packed = histogram.to_buckets()
    assert len(packed.counts) == 2 * len(packed.keys) and packed.as_dict() == source
    histogram.add(packed)
    assert dict(histogram.pairs()) == {bucket: 2 * count for bucket, count in source.items()}


def test_an_empty_histogram_is_falsy_and_reads_zero() -> None:
    empty = Histogram()
    assert not empty and empty.total() == 0 and empty.pairs() == []
    assert empty.percentiles(0, [0.5]) == [0.0] and empty.percentiles(3, [0.5, 1.0]) == [0.0, 0.0]
    assert empty.to_buckets() == Buckets() and Histogram.of(Buckets()) == empty
    assert Histogram.of({ZERO_BUCKET: 2}).percentiles(2, [1.0]) == [0.0]


# One report's deltas for some rows of a table: row indices may repeat, as a hostile delta's entries could.
table_deltas = st.lists(st.lists(st.tuples(st.integers(0, 4), samples), max_size=5), min_size=1, max_size=5)


@examples
@given(table_deltas)
def test_a_table_merges_a_batch_as_each_row_would_alone(reports: list[list[tuple[int, list[float]]]]) -> None:
    """Zero and out-of-range response times, rows repeated within a batch and windows that widen mid-run
    all give what plain dict merging gives, row by row."""
    table = HistogramTable()
    rows = [table.histogram() for _ in range(5)]
    expected: list[dict[int, int]] = [{} for _ in rows]
    for report in reports:
        table.add([rows[row] for row, _ in report], [Buckets.of(histogram_of(values)) for _, values in report])
        for row, values in report:
            merge_into(expected[row], histogram_of(values))
    assert [histogram.pairs() for histogram in rows] == [sorted(counts.items()) for counts in expected]
    for histogram, counts in zip(rows, expected, strict=True):
        total = sum(counts.values())
        assert histogram.percentiles(total, [0.5, 0.99, 1.0]) == percentiles(counts, total, [0.5, 0.99, 1.0])


def test_a_table_row_widened_on_its_own_stays_in_the_table() -> None:
    table = HistogramTable()
    first, second = table.histogram(), table.histogram()
    first.add(Buckets.of({bucket_of(1.0): 1}))
    second.add(Buckets.of({bucket_of(1e9): 2}))  # widens the whole table through the row
    table.add([first, second], [Buckets.of({bucket_of(1e-5): 3}), Buckets.of({bucket_of(1.0): 4})])
    assert first.pairs() == [(bucket_of(1e-5), 3), (bucket_of(1.0), 1)]
    assert second.pairs() == [(bucket_of(1.0), 4), (bucket_of(1e9), 2)]
    third = table.histogram()
    assert not third and third.pairs() == []


def test_a_batch_of_mixed_count_widths_merges_each_width_exactly() -> None:
    table = HistogramTable()
    rows = [table.histogram() for _ in range(4)]
    deltas = [{500: 1}, {500: 300, 501: 1}, {400: 70_000}, {600: 1 << 33}]
    table.add(rows[:3], [Buckets.of(delta) for delta in deltas[:3]])  # one, two and four bytes a count
    table.add(rows, [Buckets.of(delta) for delta in deltas])  # and eight
    assert [dict(row.pairs()) for row in rows] == [{k: 2 * v for k, v in delta.items()} for delta in deltas[:3]] + [
        deltas[3]
    ]


def test_a_released_row_comes_back_empty_to_the_next_histogram() -> None:
    table = HistogramTable()
    kept, released = table.histogram(), table.histogram()
    table.add([kept, released], [Buckets.of({300: 1}), Buckets.of({310: 5})])
    table.release(released)
    reused = table.histogram()
    assert not reused and kept.pairs() == [(300, 1)]
    table.add([reused, kept], [Buckets.of({320: 2}), Buckets.of({300: 1})])
    assert reused.pairs() == [(320, 2)] and kept.pairs() == [(300, 2)]
