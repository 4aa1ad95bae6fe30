"""Locust's current percentiles: over what the cumulative histogram gained since the copy of about 10 s ago."""

from __future__ import annotations

from horde.stats import histogram
from horde.stats.current_window import ResponseTimeWindow
from horde.stats.run_stats import Timings


def timings(*times_ms: float) -> Timings:
    counts: dict[int, int] = {}
    for value in times_ms:
        bucket = histogram.bucket_of(value)
        counts[bucket] = counts.get(bucket, 0) + 1
    return Timings(num_requests=len(times_ms), buckets=histogram.Histogram.of(counts))


def test_the_window_reads_only_the_requests_since_the_copy_of_ten_seconds_ago() -> None:
    window = ResponseTimeWindow()
    early = [1000.0] * 50
    window.remember(100, timings(*early))
    later = timings(*early, *[10.0] * 10)
    assert window.percentiles(101, later, [0.5]) is None  # no copy within 8 s of 91: Locust answers nothing
    (median,) = window.percentiles(110, later, [0.5]) or [0.0]
    assert abs(median - 10.0) < 0.1  # the slow early requests are out of the window
    (median,) = window.percentiles(117, later, [0.5]) or [0.0]  # 107 is 3 s from 100: within Locust's 8 s
    assert abs(median - 10.0) < 0.1
    assert window.percentiles(119, later, [0.5]) is None  # 109 is 9 s from 100


def test_the_first_copy_of_a_second_is_kept() -> None:
    window = ResponseTimeWindow()
    window.remember(100, timings(5.0))
    window.remember(100, timings(5.0, 7.0, 7.0))
    assert window.percentiles(110, timings(5.0, 7.0, 7.0), [1.0]) is not None
    (top,) = window.percentiles(110, timings(5.0, 7.0, 7.0), [1.0]) or [0.0]
    assert abs(top - 7.0) < 0.1
