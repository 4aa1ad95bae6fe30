"""The merged statistics of a run: what the master's StatsAggregator holds and every report reads.

The master's RunStats adds up the workers' deltas (`horde.stats.recorder`). Because every field merges exactly
(counts and histogram buckets add, min of minima, max of maxima), the merged statistics equal those of one
process that saw every request, and replaying the same deltas rebuilds an equal RunStats.

The "Aggregated" row is merged from the per-second tallies, not recomputed from the entries, and the
per-second tallies are also what the history reads: cumulative percentiles, average, min and max at any second
come from merged state alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from horde.protocol.stats import (
    Buckets,
    EntryDelta,
    ErrorDelta,
    ExceptionImage,
    SecondDelta,
    StatsDelta,
    StatsImage,
)
from horde.stats import histogram

REPORTED_PERCENTILES: tuple[float, ...] = (0.50, 0.66, 0.75, 0.80, 0.90, 0.95, 0.98, 0.99, 0.999, 0.9999, 1.0)
AGGREGATED_NAME = "Aggregated"

CURRENT_WINDOW_SECONDS = 10
"""current_rps averages this many whole seconds ..."""
INCOMPLETE_SECONDS = 2
"""... ending this many seconds before now, which reports from workers may still be filling in (as Locust)."""

PACK_AFTER_SECONDS = 120
"""A second's histogram is packed once the run's latest second is this far past it (ADR 0011)."""

RECENT_SECONDS = 300
"""Per-second history is kept for this many seconds behind the run's latest second (ADR 0029) ..."""
COARSE_SECONDS = 10
"""... and older seconds are added up into buckets of this many seconds, aligned on the epoch, ..."""
MAX_COARSE_BUCKETS = 1024
"""... whose width doubles whenever more than this many would be needed: a run's history has a bounded size."""


def percentile_label(p: float) -> str:
    """Locust's spelling of a percentile: 0.5 -> "50", 0.999 -> "99.9", 1.0 -> "100"."""
    percent = round(p * 100, 6)
    return str(int(percent)) if percent.is_integer() else repr(percent)


@dataclass(slots=True)
class RunSpan:
    """The first and last epoch second with a request, shared by all entries of a run for their rates."""

    first_second: int | None = None
    last_second: int | None = None

    def include(self, second: int) -> None:
        if self.first_second is None or second < self.first_second:
            self.first_second = second
        if self.last_second is None or second > self.last_second:
            self.last_second = second

    @property
    def seconds(self) -> int:
        """Wall-clock seconds touched by the run, so a run from 12:00:00.0 to 12:00:09.9 lasts 10."""
        if self.first_second is None or self.last_second is None:
            return 0
        return self.last_second - self.first_second + 1


@dataclass(slots=True, kw_only=True)
class Timings:
    """Additive totals of a set of requests, with the reads every report needs."""

    num_requests: int = 0
    num_none_requests: int = 0
    num_failures: int = 0
    total_response_time: float = 0.0
    min_response_time: float | None = None
    max_response_time: float | None = None
    total_content_length: int = 0
    buckets: histogram.Histogram = field(default_factory=histogram.Histogram)

    def add_counts(self, other: EntryDelta | SecondDelta | Timings) -> None:
        """Everything but the histogram, which its owner adds: a RunStats adds a report's all in one call (ADR 0012)."""
        self.num_requests += other.num_requests
        self.num_none_requests += other.num_none_requests
        self.num_failures += other.num_failures
        self.total_response_time += other.total_response_time
        if other.min_response_time is not None and (
            self.min_response_time is None or other.min_response_time < self.min_response_time
        ):
            self.min_response_time = other.min_response_time
        if other.max_response_time is not None and (
            self.max_response_time is None or other.max_response_time > self.max_response_time
        ):
            self.max_response_time = other.max_response_time
        self.total_content_length += other.total_content_length

    @property
    def num_timed_requests(self) -> int:
        return self.num_requests - self.num_none_requests

    @property
    def fail_ratio(self) -> float:
        if self.num_requests == 0:
            return 1.0 if self.num_failures else 0.0
        return self.num_failures / self.num_requests

    @property
    def avg_response_time(self) -> float:
        timed = self.num_timed_requests
        return self.total_response_time / timed if timed else 0.0

    @property
    def avg_content_length(self) -> float:
        return self.total_content_length / self.num_requests if self.num_requests else 0.0

    def percentile(self, p: float) -> float:
        """Nearest-rank p-quantile (p in [0, 1]) within the histogram's error, never outside [min, max].

        The lowest and highest ranks are the exact min and max, so p100 is the true maximum.
        """
        return self.percentiles((p,))[0]

    def percentiles(self, ps: Sequence[float] = REPORTED_PERCENTILES) -> list[float]:
        timed = self.num_timed_requests
        estimates = self.buckets.percentiles(timed, ps)
        low, high = self.min_response_time, self.max_response_time
        if low is None or high is None:
            return estimates
        refined = []
        for p, estimate in zip(ps, estimates, strict=True):
            rank = histogram.nearest_rank(p, timed)
            refined.append(high if rank >= timed else low if rank <= 1 else min(max(estimate, low), high))
        return refined

    @property
    def median_response_time(self) -> float:
        return self.percentile(0.5)


@dataclass(slots=True, kw_only=True)
class EntryStats(Timings):
    """Merged statistics of one (method, name), or of all of them for the "Aggregated" row."""

    method: str
    name: str
    span: RunSpan
    requests_per_second: dict[int, int] = field(default_factory=dict)
    failures_per_second: dict[int, int] = field(default_factory=dict)

    def add_seconds(self, requests_per_second: dict[int, int], failures_per_second: dict[int, int]) -> None:
        """A master calls this for every entry of every report, so the usual case (no failures) costs no call."""
        histogram.merge_into(self.requests_per_second, requests_per_second)
        if failures_per_second:
            histogram.merge_into(self.failures_per_second, failures_per_second)

    @property
    def total_rps(self) -> float:
        """Requests over the whole run's span in seconds (the run's, not this entry's, so entries add up)."""
        seconds = self.span.seconds
        return self.num_requests / seconds if seconds else 0.0

    @property
    def total_fail_per_sec(self) -> float:
        seconds = self.span.seconds
        return self.num_failures / seconds if seconds else 0.0

    def current_rps(self, now: float) -> float:
        """Mean requests per second over the 10 whole seconds ending 2 seconds before `now`.

        Like Locust's window, but ending at `now` rather than at the last request, so the rate falls to zero
        once requests stop; the window never reaches back before the run's first second.
        """
        return self._window_mean(self.requests_per_second, now)

    def current_fail_per_sec(self, now: float) -> float:
        return self._window_mean(self.failures_per_second, now)

    def _window_mean(self, per_second: dict[int, int], now: float) -> float:
        if self.span.first_second is None:
            return 0.0
        end = int(now) - INCOMPLETE_SECONDS
        start = max(end - CURRENT_WINDOW_SECONDS, self.span.first_second)
        if start >= end:
            return 0.0
        return sum(per_second.get(second, 0) for second in range(start, end)) / (end - start)


@dataclass(slots=True)
class ErrorStats:
    method: str
    name: str
    error: str
    occurrences: int
    first_seen: float
    last_seen: float


@dataclass(slots=True)
class ExceptionStats:
    message: str
    traceback: str
    count: int
    nodes: set[str] = field(default_factory=set)
    at_start: bool = False
    """Raised while a user was built (`User.__init__`), not while it ran."""


@dataclass(frozen=True, slots=True)
class HistoryRow:
    """The aggregated row at the end of one second: that second's counts, and cumulative figures up to it."""

    second: int
    requests: int
    failures: int
    num_requests: int
    num_failures: int
    avg_response_time: float
    min_response_time: float | None
    max_response_time: float | None
    avg_content_length: float
    percentiles: tuple[float, ...]
    """Cumulative, in the order of REPORTED_PERCENTILES (so the 50 % one is the median)."""

    @property
    def median_response_time(self) -> float:
        return self.percentiles[REPORTED_PERCENTILES.index(0.5)]


class RunStats:
    """The merged statistics of a run: what the StatsAggregator holds and every report reads.

    Two RunStats are equal when their whole content is, so a replay that merges the same deltas in the same
    order compares equal to the live one.
    """

    __slots__ = (
        "_coarse_before",
        "_coarse_width",
        "_histograms",
        "_packed",
        "_packed_through",
        "_total",
        "_total_buckets_stale",
        "entries",
        "errors",
        "exceptions",
        "seconds",
        "span",
    )

    def __init__(self) -> None:
        self.span = RunSpan()
        self.entries: dict[tuple[str, str], EntryStats] = {}
        self._histograms = histogram.HistogramTable()
        self._total = EntryStats(method="", name=AGGREGATED_NAME, span=self.span)
        self._total_buckets_stale = False
        self.seconds: dict[int, Timings] = {}
        """Each second's tally; a second's histogram is in `_packed` instead once the run is well past it."""
        self._packed: dict[int, Buckets] = {}
        self._packed_through: int | None = None
        self.errors: dict[tuple[str, str, str], ErrorStats] = {}
        self.exceptions: dict[tuple[str, str], ExceptionStats] = {}
        self._coarse_before: int | None = None
        """Seconds before this one are kept in coarse buckets of `_coarse_width` seconds (ADR 0029)."""
        self._coarse_width = COARSE_SECONDS

    def merge(self, delta: StatsDelta, node: str = "") -> None:
        """Fold one delta in; `node`, the reporting worker's id, is kept for the exceptions it carries."""
        merged: list[histogram.Histogram] = []
        deltas: list[Buckets] = []
        for entry_delta in delta.entries:
            key = (entry_delta.method, entry_delta.name)
            entry = self.entries.get(key)
            if entry is None:
                entry = self.entries[key] = self._new_entry(entry_delta.method, entry_delta.name)
            entry.add_counts(entry_delta)
            merged.append(entry.buckets)
            deltas.append(entry_delta.buckets)
            if self._coarse_before is None:
                entry.add_seconds(entry_delta.requests_per_second, entry_delta.failures_per_second)
            else:  # a late report: its seconds before the cutoff are only in the coarse tallies (ADR 0029)
                entry.add_seconds(
                    _since(entry_delta.requests_per_second, self._coarse_before),
                    _since(entry_delta.failures_per_second, self._coarse_before),
                )
        late: list[tuple[int, Timings]] = []
        for second_delta in delta.seconds:
            second = self._slot(second_delta.second)
            tally = self.seconds.get(second)
            if tally is None:
                tally = self.seconds[second] = Timings(buckets=self._histograms.histogram())
            packed = self._packed.pop(second, None)
            if packed is not None:  # a late report for a second left behind: merged exactly, then packed again
                tally.buckets = self._histograms.histogram()
                tally.buckets.add(packed)
                late.append((second, tally))
            elif self._packed_through is not None and second <= self._packed_through:
                late.append((second, tally))
            tally.add_counts(second_delta)
            merged.append(tally.buckets)
            deltas.append(second_delta.buckets)
            self._total.add_counts(second_delta)
            self._total_buckets_stale = True
            if self._coarse_before is None or second_delta.second >= self._coarse_before:  # per second still
                self._total.add_seconds(
                    {second: second_delta.num_requests},
                    {second: second_delta.num_failures} if second_delta.num_failures else {},
                )
            self.span.include(second_delta.second)
        self._histograms.add(merged, deltas)
        for second, tally in late:
            self._pack(second, tally)
        if delta.seconds:
            self._pack_behind()
            self._coarsen_behind()
        for error_delta in delta.errors:
            self._merge_error(error_delta)
        for exception_delta in delta.exceptions:
            exception_key = (exception_delta.message, exception_delta.traceback)
            known = self.exceptions.get(exception_key)
            if known is None:
                known = self.exceptions[exception_key] = ExceptionStats(
                    exception_delta.message, exception_delta.traceback, 0
                )
            known.count += exception_delta.count
            known.at_start = known.at_start or exception_delta.at_start
            if node:
                known.nodes.add(node)

    def _new_entry(self, method: str, name: str) -> EntryStats:
        return EntryStats(method=method, name=name, span=self.span, buckets=self._histograms.histogram())

    def _pack_behind(self) -> None:
        """Packs the histograms of the seconds PACK_AFTER_SECONDS or more behind the latest, each once."""
        if self.span.first_second is None or self.span.last_second is None:
            return
        through = self.span.last_second - PACK_AFTER_SECONDS
        if self._packed_through is not None and through <= self._packed_through:
            return
        start = self.span.first_second if self._packed_through is None else self._packed_through + 1
        for second in range(start, through + 1):
            tally = self.seconds.get(second)
            if tally is not None:
                self._pack(second, tally)
        self._packed_through = through

    def _slot(self, second: int) -> int:
        """Where a second's tally is kept: its own, or the coarse bucket that holds it."""
        if self._coarse_before is not None and second < self._coarse_before:
            return second - second % self._coarse_width
        return second

    def _coarsen_behind(self) -> None:
        """Adds the seconds that fell out of the last RECENT_SECONDS into their coarse buckets, and forgets the
        entries' per-second counts there (ADR 0029).

        A function of the merged seconds and the run's span alone, done in ascending order, so that a replay, and
        `from_image` of any checkpoint, old or new, reach the same state as the live RunStats.
        """
        first, last = self.span.first_second, self.span.last_second
        if first is None or last is None:
            return
        cutoff = (last - RECENT_SECONDS) // COARSE_SECONDS * COARSE_SECONDS
        previous = self._coarse_before
        if cutoff <= first or (previous is not None and cutoff <= previous):
            return
        width = self._coarse_width
        while cutoff - (first - first % width) > MAX_COARSE_BUCKETS * width:
            width *= 2
        self._coarse_width = width
        for second in sorted(s for s in self.seconds if s < cutoff):
            bucket = second - second % width
            if bucket != second:
                self._add_into(bucket, second)
        self._coarse_before = cutoff
        for entry in (*self.entries.values(), self._total):
            for per_second in (entry.requests_per_second, entry.failures_per_second):
                for second in [s for s in per_second if s < cutoff]:
                    del per_second[second]

    def _add_into(self, bucket: int, second: int) -> None:
        """Moves one second's (or a narrower bucket's) tally into the coarse bucket that starts at `bucket`."""
        moved = self.seconds.pop(second)
        moved_packed = self._packed.pop(second, None)
        into = self.seconds.get(bucket)
        if into is None:
            self.seconds[bucket] = moved
            if moved_packed is not None:
                self._packed[bucket] = moved_packed
            return
        into.add_counts(moved)
        moved_histogram: Buckets | histogram.Histogram = moved_packed if moved_packed is not None else moved.buckets
        if self._packed_through is not None and bucket <= self._packed_through:  # kept packed, as ADR 0011 says
            both = histogram.Histogram()
            held = self._packed.get(bucket)
            if held is not None:
                both.add(held)
            both.add(moved_histogram)
            if both:
                self._packed[bucket] = both.to_buckets()
        else:
            into.buckets.add(moved_histogram)
        if moved_packed is None:
            self._histograms.release(moved.buckets)

    def _pack(self, second: int, tally: Timings) -> None:
        if tally.buckets:
            self._packed[second] = tally.buckets.to_buckets()
        self._histograms.release(tally.buckets)
        tally.buckets = histogram.Histogram()

    def second_buckets(self, second: int) -> Buckets | histogram.Histogram:
        """The histogram of one second's requests, packed or not."""
        packed = self._packed.get(second)
        return packed if packed is not None else self.seconds[second].buckets

    def second_totals(self) -> dict[int, SecondDelta]:
        """Every second's tally as plain data, histogram included wherever it is kept."""
        return {
            second: _second_image(second, tally, self.second_buckets(second)) for second, tally in self.seconds.items()
        }

    def _merge_error(self, delta: ErrorDelta) -> None:
        key = (delta.method, delta.name, delta.error)
        known = self.errors.get(key)
        if known is None:
            self.errors[key] = ErrorStats(
                delta.method, delta.name, delta.error, delta.occurrences, delta.first_seen, delta.last_seen
            )
            return
        known.occurrences += delta.occurrences
        known.first_seen = min(known.first_seen, delta.first_seen)
        known.last_seen = max(known.last_seen, delta.last_seen)

    @property
    def total(self) -> EntryStats:
        """The "Aggregated" row. Its histogram is the sum of the entries', added up when read rather than on
        every merge: a master reads it every few seconds but merges hundreds of reports a second (ADR 0010)."""
        if self._total_buckets_stale:
            buckets = histogram.Histogram()
            for entry in self.entries.values():
                buckets.add(entry.buckets)
            self._total.buckets = buckets
            self._total_buckets_stale = False
        return self._total

    def image(self) -> StatsImage:
        """Everything merged so far as plain data, so a journal checkpoint can carry it (ADR 0009).

        The maps are copies: the image is encoded later, on the Journal's thread, while merging goes on.
        """
        return StatsImage(
            entries=tuple(_entry_image(entry) for entry in self.entries.values()),
            total=_entry_image(self.total),
            seconds=tuple(self.second_totals().values()),
            errors=tuple(
                ErrorDelta(e.method, e.name, e.error, e.occurrences, e.first_seen, e.last_seen)
                for e in self.errors.values()
            ),
            exceptions=tuple(
                ExceptionImage(e.message, e.traceback, e.count, tuple(sorted(e.nodes)), e.at_start)
                for e in self.exceptions.values()
            ),
            first_second=self.span.first_second,
            last_second=self.span.last_second,
        )

    @classmethod
    def from_image(cls, image: StatsImage) -> RunStats:
        """The RunStats an image was taken of: equal to it, float sums and dict orders included."""
        stats = cls()
        stats.span.first_second, stats.span.last_second = image.first_second, image.last_second
        for entry in image.entries:
            restored = stats.entries[(entry.method, entry.name)] = stats._new_entry(entry.method, entry.name)
            _entry_from_image(restored, entry)
        stats._total = _entry_from_image(EntryStats(method="", name=AGGREGATED_NAME, span=stats.span), image.total)
        for second in image.seconds:
            stats.seconds[second.second] = _set_timings(Timings(buckets=stats._histograms.histogram()), second)
        for e in image.errors:
            stats.errors[(e.method, e.name, e.error)] = ErrorStats(
                e.method, e.name, e.error, e.occurrences, e.first_seen, e.last_seen
            )
        for x in image.exceptions:
            stats.exceptions[(x.message, x.traceback)] = ExceptionStats(
                x.message, x.traceback, x.count, set(x.nodes), x.at_start
            )
        stats._pack_behind()
        stats._coarsen_behind()
        return stats

    def copy(self) -> RunStats:
        """An independent RunStats equal to this one, for readers that merging must never reach (the
        StatsAggregator's `GetStats`). Far cheaper than `from_image(image())` on a long run: the packed seconds'
        histograms are immutable and shared, and nothing is packed again."""
        other = RunStats()
        other.span.first_second, other.span.last_second = self.span.first_second, self.span.last_second
        for key, entry in self.entries.items():
            other.entries[key] = _copy_entry(other._new_entry(entry.method, entry.name), entry)
        other._total = _copy_entry(EntryStats(method="", name=AGGREGATED_NAME, span=other.span), self._total)
        other._total_buckets_stale = self._total_buckets_stale
        packed_through = self._packed_through
        for second, tally in self.seconds.items():
            packed = packed_through is not None and second <= packed_through  # its histogram is in `_packed`
            buckets = histogram.Histogram() if packed else other._histograms.histogram()
            other.seconds[second] = _set_timings(Timings(buckets=buckets), tally)
        other._packed = dict(self._packed)
        other._packed_through = packed_through
        other._coarse_before, other._coarse_width = self._coarse_before, self._coarse_width
        other.errors = {
            key: ErrorStats(e.method, e.name, e.error, e.occurrences, e.first_seen, e.last_seen)
            for key, e in self.errors.items()
        }
        other.exceptions = {
            key: ExceptionStats(x.message, x.traceback, x.count, set(x.nodes), x.at_start)
            for key, x in self.exceptions.items()
        }
        return other

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RunStats):
            return NotImplemented
        return (
            self.span == other.span
            and self.entries == other.entries
            and self.total == other.total
            and self.second_totals() == other.second_totals()
            and self.errors == other.errors
            and self.exceptions == other.exceptions
        )

    __hash__ = None  # type: ignore[assignment]

    def sorted_entries(self) -> list[EntryStats]:
        """Entries in Locust's report order: by name, then method."""
        return sorted(self.entries.values(), key=lambda entry: (entry.name, entry.method))

    def sorted_errors(self) -> list[ErrorStats]:
        """Most frequent first, then by method, name and error, so reports are deterministic."""
        return sorted(self.errors.values(), key=lambda e: (-e.occurrences, e.method, e.name, e.error))

    def sorted_exceptions(self) -> list[ExceptionStats]:
        return sorted(self.exceptions.values(), key=lambda e: (-e.count, e.message, e.traceback))

    def history(self) -> list[HistoryRow]:
        """One aggregated row per second over the last RECENT_SECONDS of the run, gaps included, and before that
        one row per coarse bucket (ADR 0029), whose `requests` and `failures` are that bucket's mean per second.

        The cost is one walk over the cumulative histogram per row with requests; memory is what `seconds`
        already holds, which is bounded however long the run.
        """
        return list(self._iter_history())

    def _history_slots(self) -> Iterator[tuple[int, int]]:
        """`(second, seconds it stands for)`: the coarse buckets, then every second from the cutoff on."""
        first, last = self.span.first_second, self.span.last_second
        assert first is not None and last is not None
        start = first
        if self._coarse_before is not None:
            width = self._coarse_width
            for bucket in range(first - first % width, self._coarse_before, width):
                if bucket in self.seconds:
                    yield bucket, min(bucket + width, self._coarse_before) - max(bucket, first)
            start = self._coarse_before
        for second in range(start, last + 1):
            yield second, 1

    def _iter_history(self) -> Iterator[HistoryRow]:
        if self.span.first_second is None or self.span.last_second is None:
            return
        cumulative = Timings()
        percentiles = tuple(0.0 for _ in REPORTED_PERCENTILES)
        for second, seconds in self._history_slots():
            tally = self.seconds.get(second)
            if tally is not None:
                cumulative.add_counts(tally)
                cumulative.buckets.add(self.second_buckets(second))
                percentiles = tuple(cumulative.percentiles())
            yield HistoryRow(
                second=max(second, self.span.first_second),
                requests=round(tally.num_requests / seconds) if tally else 0,
                failures=round(tally.num_failures / seconds) if tally else 0,
                num_requests=cumulative.num_requests,
                num_failures=cumulative.num_failures,
                avg_response_time=cumulative.avg_response_time,
                min_response_time=cumulative.min_response_time,
                max_response_time=cumulative.max_response_time,
                avg_content_length=cumulative.avg_content_length,
                percentiles=percentiles,
            )


def _since(per_second: dict[int, int], cutoff: int) -> dict[int, int]:
    """The counts of the seconds from `cutoff` on (the same dict when that is all of them)."""
    if all(second >= cutoff for second in per_second):
        return per_second
    return {second: count for second, count in per_second.items() if second >= cutoff}


def _entry_image(entry: EntryStats) -> EntryDelta:
    return EntryDelta(
        entry.method,
        entry.name,
        entry.num_requests,
        entry.num_none_requests,
        entry.num_failures,
        entry.total_response_time,
        entry.min_response_time,
        entry.max_response_time,
        entry.total_content_length,
        entry.buckets.to_buckets(),
        dict(entry.requests_per_second),
        dict(entry.failures_per_second),
    )


def _second_image(second: int, tally: Timings, buckets: Buckets | histogram.Histogram) -> SecondDelta:
    return SecondDelta(
        second,
        tally.num_requests,
        tally.num_none_requests,
        tally.num_failures,
        tally.total_response_time,
        tally.min_response_time,
        tally.max_response_time,
        tally.total_content_length,
        buckets.to_buckets() if isinstance(buckets, histogram.Histogram) else buckets,
    )


def _set_timings(timings: Timings, source: Timings | EntryDelta | SecondDelta) -> Timings:
    """Fields set, not added: adding would be exact for counts but could round a float sum differently; the
    source's histogram (an image's buckets or another Timings' histogram) is added into `timings`' own."""
    timings.num_requests = source.num_requests
    timings.num_none_requests = source.num_none_requests
    timings.num_failures = source.num_failures
    timings.total_response_time = source.total_response_time
    timings.min_response_time = source.min_response_time
    timings.max_response_time = source.max_response_time
    timings.total_content_length = source.total_content_length
    timings.buckets.add(source.buckets)
    return timings


def _copy_entry(entry: EntryStats, source: EntryStats) -> EntryStats:
    entry.requests_per_second = dict(source.requests_per_second)
    entry.failures_per_second = dict(source.failures_per_second)
    _set_timings(entry, source)
    return entry


def _entry_from_image(entry: EntryStats, image: EntryDelta) -> EntryStats:
    """Fills a new, empty entry (one of a RunStats's, so its histogram stays in the RunStats's table)."""
    entry.requests_per_second = dict(image.requests_per_second)
    entry.failures_per_second = dict(image.failures_per_second)
    _set_timings(entry, image)
    return entry
