"""The HTML report's time series, read from the merged statistics' per-second tallies (ADR 0011, 0030).

RunStats keeps every second's counts and response-time histogram for the whole run, so the charts are exact
rather than sampled: requests and failures per second, and percentiles of the requests of each point's seconds.
A long run is drawn in bins of several seconds (at most MAX_POINTS points), whose histograms are merged, so a
bin's p95 is the p95 of its requests, not an average of per-second ones.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from horde.plugins.report_story import RunStory
from horde.plugins.svg_chart import Series
from horde.stats.run_stats import RunStats, Timings

MAX_POINTS = 600
CHARTED_PERCENTILES = (0.5, 0.95, 0.99)


@dataclass(frozen=True, slots=True)
class RunSeries:
    bin_seconds: int
    requests: Series
    failures: Series
    percentiles: tuple[Series, ...]
    average: Series


def bin_seconds(first: int, last: int) -> int:
    """Seconds per point: 1 up to MAX_POINTS seconds, then the fewest that keep the points within it."""
    return max(1, math.ceil((last - first + 1) / MAX_POINTS))


def run_series(stats: RunStats) -> RunSeries | None:
    """Requests/s, failures/s and the response-time lines, one point per bin; None before any request."""
    first, last = stats.span.first_second, stats.span.last_second
    if first is None or last is None:
        return None
    size = bin_seconds(first, last)
    requests: list[tuple[float, float]] = []
    failures: list[tuple[float, float]] = []
    lines: list[list[tuple[float, float]]] = [[] for _ in CHARTED_PERCENTILES]
    average: list[tuple[float, float]] = []
    for start in range(first, last + 1, size):
        seconds = min(size, last + 1 - start)
        tally = Timings()
        for second in range(start, start + seconds):
            timings = stats.seconds.get(second)
            if timings is not None:
                tally.add_counts(timings)
                tally.buckets.add(stats.second_buckets(second))
        requests.append((start, tally.num_requests / seconds))
        failures.append((start, tally.num_failures / seconds))
        if tally.num_timed_requests:
            for line, value in zip(lines, tally.percentiles(CHARTED_PERCENTILES), strict=True):
                line.append((start, round(value, 1)))
            average.append((start, round(tally.avg_response_time, 1)))
    return RunSeries(
        size,
        Series("requests/s", requests, "#2a6fdb"),
        Series("failures/s", failures, "#d33"),
        tuple(
            Series(f"p{round(p * 100)}", line, color)
            for p, line, color in zip(CHARTED_PERCENTILES, lines, ("#2b9a48", "#e08a00", "#d33"), strict=True)
        ),
        Series("average", average, "#7b45c2"),
    )


def user_series(story: RunStory) -> list[Series]:
    """Users after each dispatch step: the total, and each class when there are several."""
    if not story.users:
        return []
    classes = sorted({name for _, counts in story.users for name in counts})
    total = Series("users", [(at, float(sum(counts.values()))) for at, counts in story.users], "#2a6fdb", step=True)
    if len(classes) < 2:
        return [total]
    return [
        total,
        *(
            Series(name, [(at, float(counts.get(name, 0))) for at, counts in story.users], step=True)
            for name in classes
        ),
    ]
