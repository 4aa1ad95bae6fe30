"""Locust's `locust.stats` reading API (RequestStats, StatsEntry, StatsError) over a run's merged statistics.

A locustfile or a script that reads `environment.stats.total.fail_ratio` expects Locust's objects; horde's merged
statistics are a `RunStats` that the master's StatsAggregator owns. These classes only read: they hold a copy of
the RunStats (taken from `source`, at most `max_age` seconds old) and answer in Locust's terms, so nothing here
can change what the run measured. `reset_all` does not touch the merged statistics either: it remembers the copy
of that moment and reads everything since (ADR 0016).
"""

from __future__ import annotations

import hashlib
import sys
import time
from collections.abc import Callable
from typing import Any, TextIO

from horde.stats import histogram
from horde.stats.current_window import ResponseTimeWindow
from horde.stats.run_stats import (
    REPORTED_PERCENTILES,
    EntryStats,
    ErrorStats,
    RunSpan,
    RunStats,
)

CONSOLE_STATS_INTERVAL_SEC = 2.0
"""How often `stats_printer` prints the table, as Locust."""
HISTORY_STATS_INTERVAL_SEC = 5.0
"""How often `stats_history` appends a row, as Locust."""
PERCENTILES_TO_CHART = (0.5, 0.95)

StatsSource = Callable[[], RunStats]


class StatsEntry:
    """One row (a name and method, or the "Aggregated" total) under Locust's attribute names.

    Response times are milliseconds; percentiles come from horde's histogram (within 0.79 %, ADR 0004), clamped
    to the exact min and max. Rates follow horde's definitions: `current_rps` is the mean over the 10 whole
    seconds ending 2 s before now, `total_rps` counts over the run's seconds.
    """

    def __init__(
        self,
        entry: EntryStats,
        clock: Callable[[], float] = time.time,
        window: ResponseTimeWindow | None = None,
        raw: EntryStats | None = None,
    ) -> None:
        """`window`: the copies of this row's cumulative histogram kept as the statistics were read, for
        `get_current_response_time_percentile`; `raw` is the row as merged (before any `reset_all` baseline)."""
        self._entry = entry
        self._clock = clock
        self._window = window
        self._raw = raw if raw is not None else entry

    @property
    def name(self) -> str:
        return self._entry.name

    @property
    def method(self) -> str:
        return self._entry.method

    @property
    def num_requests(self) -> int:
        return self._entry.num_requests

    @property
    def num_none_requests(self) -> int:
        return self._entry.num_none_requests

    @property
    def num_failures(self) -> int:
        return self._entry.num_failures

    @property
    def total_response_time(self) -> float:
        return self._entry.total_response_time

    @property
    def total_content_length(self) -> int:
        return self._entry.total_content_length

    @property
    def min_response_time(self) -> float | None:
        """None until a timed request, as Locust."""
        return self._entry.min_response_time

    @property
    def max_response_time(self) -> float:
        """0 until a timed request, as Locust."""
        return self._entry.max_response_time or 0.0

    @property
    def fail_ratio(self) -> float:
        return self._entry.fail_ratio

    @property
    def avg_response_time(self) -> float:
        return self._entry.avg_response_time

    @property
    def median_response_time(self) -> float:
        return self._entry.median_response_time if self._entry.num_timed_requests else 0.0

    @property
    def avg_content_length(self) -> float:
        return self._entry.avg_content_length

    def get_response_time_percentile(self, percent: float) -> float:
        """The response time below which `percent` (a fraction, 0.95 for the 95th) of the requests fall."""
        if not self._entry.num_timed_requests:
            return 0.0
        return self._entry.percentile(percent)

    def get_current_response_time_percentile(self, percent: float) -> float | None:
        """As Locust: the `percent` percentile of about the last 10 s of requests, from the copy of this row read
        about 10 s ago (now - 10, then - 11, - 9, ... up to 8 s either way); None without such a copy. Copies are
        taken as the statistics are read (at most once a second), so a script that reads them rarely gets None
        more often than Locust, which copies as requests come."""
        if self._window is None:
            return None
        current = self._window.percentiles(int(self._clock()), self._raw, (percent,))
        return None if current is None else current[0]

    @property
    def current_rps(self) -> float:
        return self._entry.current_rps(self._clock())

    @property
    def current_fail_per_sec(self) -> float:
        return self._entry.current_fail_per_sec(self._clock())

    @property
    def total_rps(self) -> float:
        return self._entry.total_rps

    @property
    def total_fail_per_sec(self) -> float:
        return self._entry.total_fail_per_sec

    @property
    def num_reqs_per_sec(self) -> dict[int, int]:
        """Requests per epoch second (a copy)."""
        return dict(self._entry.requests_per_second)

    @property
    def num_fail_per_sec(self) -> dict[int, int]:
        return dict(self._entry.failures_per_second)

    @property
    def response_times(self) -> dict[float, int]:
        """Counts per response time, each time the midpoint of its histogram bucket."""
        return {histogram.value_of(bucket): count for bucket, count in self._entry.buckets.pairs()}

    @property
    def start_time(self) -> float:
        """The first second with a request (epoch seconds), 0 before any."""
        return float(self._entry.span.first_second or 0)

    @property
    def last_request_timestamp(self) -> float | None:
        last = self._entry.span.last_second
        return None if last is None else float(last)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "num_requests": self.num_requests,
            "num_none_requests": self.num_none_requests,
            "num_failures": self.num_failures,
            "avg_response_time": self.avg_response_time,
            "min_response_time": self.min_response_time or 0.0,
            "max_response_time": self.max_response_time,
            "median_response_time": self.median_response_time,
            "current_rps": self.current_rps,
            "current_fail_per_sec": self.current_fail_per_sec,
            "avg_content_length": self.avg_content_length,
            "response_time_percentile_0.95": self.get_response_time_percentile(0.95),
            "response_time_percentile_0.99": self.get_response_time_percentile(0.99),
        }

    def __repr__(self) -> str:
        return f"<StatsEntry {self.method} {self.name}: {self.num_requests} requests, {self.num_failures} failures>"


class StatsError:
    """One kind of failure of one request, with how often it happened."""

    def __init__(self, method: str, name: str, error: str, occurrences: int = 0) -> None:
        self.method = method
        self.name = name
        self.error = error
        self.occurrences = occurrences

    @classmethod
    def create_key(cls, method: str, name: str, error: object) -> str:
        """A stable key for the errors map: equal method, name and error text give the same key."""
        return hashlib.sha256(f"{method}.{name}.{error}".encode()).hexdigest()

    def to_name(self) -> str:
        return f"{self.method} {self.name}: {self.error}"

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "name": self.name, "error": self.error, "occurrences": self.occurrences}

    def __repr__(self) -> str:
        return f"<StatsError {self.to_name()} x{self.occurrences}>"


class RequestStats:
    """A run's statistics as Locust's `RequestStats`: `total`, `entries` keyed (name, method), `errors`.

    `source` is a RunStats (fixed) or a function returning a fresh copy (the master's `ControlPlane.stats`); a
    copy is reused for `max_age` seconds, so a listener reading ten attributes costs one copy, not ten.
    """

    def __init__(
        self,
        source: RunStats | StatsSource,
        *,
        max_age: float = 1.0,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        recorder: Any = None,
    ) -> None:
        """`recorder`: this process's `StatsRecorder`, which `log_request` and `log_error` record into (a master
        has none: its workers record)."""
        self._recorder = recorder
        self._windows: dict[tuple[str, str], ResponseTimeWindow] = {}
        self._source: StatsSource | None = None if isinstance(source, RunStats) else source
        self._snapshot: RunStats = source if isinstance(source, RunStats) else RunStats()
        self._read_at: float | None = None
        self._max_age = max_age
        self._clock = clock
        self._monotonic = monotonic
        self._baseline: RunStats | None = None
        self._reset_second: int | None = None
        self._view: _View | None = None
        self.history: list[dict[str, Any]] = []
        """Rows appended by `stats_history`, as Locust's."""

    # --- where the numbers come from ------------------------------------------------------------------------

    def refresh(self) -> None:
        """Read the merged statistics now (a fixed source has nothing newer)."""
        if self._source is None:
            return
        try:
            stats = self._source()
        except Exception:  # the run's actors are gone: keep the last copy
            self._source = None
            return
        self._use(stats)

    def freeze(self, stats: RunStats) -> None:
        """From now on these are the statistics: the run's final copy, read once its actors are stopping."""
        self._source = None
        self._use(stats)

    def _use(self, stats: RunStats) -> None:
        self._snapshot = stats
        self._read_at = self._monotonic()
        self._view = None
        second = int(self._clock())
        for entry in [*stats.entries.values(), stats.total]:
            self._windows.setdefault((entry.method, entry.name), ResponseTimeWindow()).remember(second, entry)

    def _current(self) -> _View:
        if self._source is not None and (self._read_at is None or self._monotonic() - self._read_at >= self._max_age):
            self.refresh()
        if self._view is None:
            self._view = _View(self._snapshot, self._baseline, self._reset_second, self._clock, self._windows)
        return self._view

    # --- Locust's reading API -------------------------------------------------------------------------------

    @property
    def total(self) -> StatsEntry:
        return self._current().total

    @property
    def entries(self) -> dict[tuple[str, str], StatsEntry]:
        """Keyed (name, method), as Locust's."""
        return dict(self._current().entries)

    @property
    def errors(self) -> dict[str, StatsError]:
        return dict(self._current().errors)

    @property
    def num_requests(self) -> int:
        return self.total.num_requests

    @property
    def num_none_requests(self) -> int:
        return self.total.num_none_requests

    @property
    def num_failures(self) -> int:
        return self.total.num_failures

    @property
    def last_request_timestamp(self) -> float | None:
        return self.total.last_request_timestamp

    @property
    def start_time(self) -> float:
        return self.total.start_time

    def get(self, name: str, method: str) -> StatsEntry:
        """The entry of (name, method); one with no requests if none was made."""
        entry = self._current().entries.get((name, method))
        if entry is not None:
            return entry
        return StatsEntry(EntryStats(method=method, name=name, span=RunSpan()), self._clock)

    def log_request(self, method: str, name: str, response_time: float | None, content_length: int) -> None:
        """Locust's way for a custom client to count a request: through this process's recorder, so it reaches the
        merged statistics once, in the worker's next report, like every other request."""
        self._recording().log_request(method, name, response_time, content_length)

    def log_error(self, method: str, name: str, error: object) -> None:
        """Locust's way for a custom client to count a failure (see `log_request`)."""
        self._recording().log_error(method, name, error)

    def _recording(self) -> Any:
        if self._recorder is None:
            raise RuntimeError(
                "these statistics record no requests here: on a master the workers record them; record from "
                "the users (events.request, or environment.stats on a worker)"
            )
        return self._recorder

    def reset_all(self) -> None:
        """Read from zero from now on; the run's merged statistics (reports, journal) keep every request."""
        self.refresh()
        self._baseline = self._snapshot
        self._reset_second = int(self._clock())
        self._view = None
        self.history.clear()

    clear_all = reset_all

    def __repr__(self) -> str:
        return f"<RequestStats {self.num_requests} requests, {self.num_failures} failures>"


class _View:
    """The Locust objects of one copy of the statistics, built once per copy."""

    def __init__(
        self,
        stats: RunStats,
        baseline: RunStats | None,
        reset_second: int | None,
        clock: Callable[[], float],
        windows: dict[tuple[str, str], ResponseTimeWindow] | None = None,
    ) -> None:
        windows = windows if windows is not None else {}
        span = stats.span
        if baseline is not None and reset_second is not None:
            first = max(reset_second, span.first_second) if span.first_second is not None else None
            span = RunSpan(first, span.last_second if first is not None else None)
        total = stats.total
        self.total = _entry(_since(total, baseline.total if baseline else None, span), total, clock, windows)
        self.entries: dict[tuple[str, str], StatsEntry] = {}
        for (method, name), entry in stats.entries.items():
            before = baseline.entries.get((method, name)) if baseline else None
            self.entries[(name, method)] = _entry(_since(entry, before, span), entry, clock, windows)
        self.errors: dict[str, StatsError] = {}
        for key, error in stats.errors.items():
            occurrences = error.occurrences - _occurrences(baseline.errors.get(key) if baseline else None)
            if occurrences > 0:
                self.errors[StatsError.create_key(error.method, error.name, error.error)] = StatsError(
                    error.method, error.name, error.error, occurrences
                )


def _entry(
    since: EntryStats, raw: EntryStats, clock: Callable[[], float], windows: dict[tuple[str, str], ResponseTimeWindow]
) -> StatsEntry:
    return StatsEntry(since, clock, windows.get((raw.method, raw.name)), raw)


def _occurrences(error: ErrorStats | None) -> int:
    return error.occurrences if error is not None else 0


def _since(current: EntryStats, before: EntryStats | None, span: RunSpan) -> EntryStats:
    """`current` less what `before` (the same row at a reset) had counted, on `span`.

    Counts, sums, histograms and per-second tallies subtract exactly; the min and max since the reset are read
    from the difference of the histograms (within a bucket's width), kept inside the run's exact min and max.
    """
    if before is None:
        if span is current.span:
            return current
        before = EntryStats(method=current.method, name=current.name, span=span)
    counts = dict(current.buckets.pairs())
    for bucket, count in before.buckets.pairs():
        counts[bucket] = counts.get(bucket, 0) - count
    left = {bucket: count for bucket, count in counts.items() if count > 0}
    since = EntryStats(
        method=current.method,
        name=current.name,
        span=span,
        num_requests=current.num_requests - before.num_requests,
        num_none_requests=current.num_none_requests - before.num_none_requests,
        num_failures=current.num_failures - before.num_failures,
        total_response_time=current.total_response_time - before.total_response_time,
        total_content_length=current.total_content_length - before.total_content_length,
        buckets=histogram.Histogram.of(left),
        requests_per_second=_minus(current.requests_per_second, before.requests_per_second),
        failures_per_second=_minus(current.failures_per_second, before.failures_per_second),
    )
    low, high = current.min_response_time, current.max_response_time
    if before.num_timed_requests == 0:
        since.min_response_time, since.max_response_time = low, high
    elif left and low is not None and high is not None:
        since.min_response_time = min(max(histogram.value_of(min(left)), low), high)
        since.max_response_time = min(max(histogram.value_of(max(left)), low), high)
    return since


def _minus(current: dict[int, int], before: dict[int, int]) -> dict[int, int]:
    return {second: count - before.get(second, 0) for second, count in current.items() if count > before.get(second, 0)}


# --- Locust's console and history helpers -------------------------------------------------------------------------


def print_stats(stats: RequestStats, current: bool = True, file: TextIO | None = None) -> None:
    """The console table Locust prints while a test runs: one row per entry, then the aggregated row."""
    out = file or sys.stdout
    head = f"{'Type':<8} {'Name':<40} {'# reqs':>7} {'# fails':>13} |{'Avg':>7} {'Min':>7} {'Max':>7} {'Med':>7} |"
    print(f"{head} {'req/s':>7} {'failures/s':>10}", file=out)
    print("-" * 124, file=out)
    rows = sorted(stats.entries.values(), key=lambda e: (e.name, e.method))
    for entry in [*rows, stats.total]:
        if entry is stats.total:
            print("-" * 124, file=out)
        print(_row(entry, current), file=out)
    print(file=out)


def _row(entry: StatsEntry, current: bool) -> str:
    fails = f"{entry.num_failures}({entry.fail_ratio * 100:.2f}%)"
    rps = entry.current_rps if current else entry.total_rps
    fps = entry.current_fail_per_sec if current else entry.total_fail_per_sec
    times = (
        f"{entry.avg_response_time:>7.0f} {entry.min_response_time or 0:>7.0f} {entry.max_response_time:>7.0f} "
        f"{entry.median_response_time:>7.0f}"
    )
    return (
        f"{entry.method:<8} {entry.name[:40]:<40} {entry.num_requests:>7} {fails:>13} |{times} |"
        f" {rps:>7.2f} {fps:>10.2f}"
    )


def stats_printer(stats: RequestStats) -> Callable[[], None]:
    """A function to spawn as a greenlet (`gevent.spawn(stats_printer(env.stats))`): prints the table every 2 s."""

    def print_forever() -> None:
        while True:
            print_stats(stats)
            time.sleep(CONSOLE_STATS_INTERVAL_SEC)

    return print_forever


def stats_history(runner: Any) -> None:
    """Spawn as a greenlet (`gevent.spawn(stats_history, env.runner)`): every 5 s while the run is not stopped,
    appends the current rates, chart percentiles, average and user count to `runner.stats.history`."""
    while True:
        if str(runner.state) == "stopped":
            return
        stats: RequestStats = runner.stats
        total = stats.total
        row: dict[str, Any] = {
            "time": time.strftime("%H:%M:%S", time.gmtime()),
            "current_rps": total.current_rps,
            "current_fail_per_sec": total.current_fail_per_sec,
            "total_avg_response_time": total.avg_response_time,
            "user_count": runner.user_count or 0,
        }
        for index, percent in enumerate(PERCENTILES_TO_CHART, start=1):
            row[f"response_time_percentile_{index}"] = total.get_response_time_percentile(percent)
        stats.history.append(row)
        time.sleep(HISTORY_STATS_INTERVAL_SEC)


__all__ = [
    "CONSOLE_STATS_INTERVAL_SEC",
    "HISTORY_STATS_INTERVAL_SEC",
    "PERCENTILES_TO_CHART",
    "REPORTED_PERCENTILES",
    "RequestStats",
    "StatsEntry",
    "StatsError",
    "print_stats",
    "stats_history",
    "stats_printer",
]
