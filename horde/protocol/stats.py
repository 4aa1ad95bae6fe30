"""The statistics a worker reports: the delta of its StatsRecorder since its previous report.

A delta is additive: the master folds deltas into its RunStats by adding counts and histogram buckets, taking
the min of minima and the max of maxima, so merging is exact and independent of how requests were split across
workers and reports. Response times are float milliseconds; histogram buckets are the indices defined by
`horde.runtime.histogram` (ADR 0004). Seconds are integer Unix epoch seconds of the recording process's clock.

Integer dict keys survive JSON too: msgspec writes them as strings and turns them back into ints when decoding
into these types.
"""

from __future__ import annotations

import msgspec


class EntryDelta(msgspec.Struct, frozen=True):
    """Requests of one (method, name) since the previous report.

    `num_requests` counts every request, failed ones and ones without a response time included; the timing
    fields (`total_response_time`, min, max, `buckets`) cover only the `num_requests - num_none_requests`
    requests that had one. min and max are None when there were none.
    """

    method: str
    name: str
    num_requests: int
    num_none_requests: int
    num_failures: int
    total_response_time: float
    min_response_time: float | None
    max_response_time: float | None
    total_content_length: int
    buckets: dict[int, int]
    requests_per_second: dict[int, int]
    failures_per_second: dict[int, int]


class SecondDelta(msgspec.Struct, frozen=True):
    """All requests of one epoch second, every (method, name) together.

    This is what lets the master give the aggregated row's cumulative percentiles, average, min and max at
    every second of the run (the stats history) from merged state alone, without snapshots taken on a timer.
    """

    second: int
    num_requests: int
    num_none_requests: int
    num_failures: int
    total_response_time: float
    min_response_time: float | None
    max_response_time: float | None
    total_content_length: int
    buckets: dict[int, int]


class ErrorDelta(msgspec.Struct, frozen=True):
    """Failures of one (method, name) with one normalised error string; seen times are float epoch seconds."""

    method: str
    name: str
    error: str
    occurrences: int
    first_seen: float
    last_seen: float


class ExceptionDelta(msgspec.Struct, frozen=True):
    """Exceptions raised by user code (not request failures), counted per (message, traceback)."""

    message: str
    traceback: str
    count: int


class StatsDelta(msgspec.Struct, frozen=True):
    """Everything a StatsRecorder saw since its previous delta; each request is in exactly one delta."""

    entries: tuple[EntryDelta, ...] = ()
    errors: tuple[ErrorDelta, ...] = ()
    exceptions: tuple[ExceptionDelta, ...] = ()
    seconds: tuple[SecondDelta, ...] = ()

    def is_empty(self) -> bool:
        return not (self.entries or self.errors or self.exceptions or self.seconds)


class ExceptionImage(msgspec.Struct, frozen=True):
    """A merged user-code exception, with the workers that raised it."""

    message: str
    traceback: str
    count: int
    nodes: tuple[str, ...]


class StatsImage(msgspec.Struct, frozen=True):
    """A whole merged RunStats, as a journal checkpoint carries it (ADR 0009).

    It reuses the delta types because a merged entry has exactly a delta's fields; `total` is the "Aggregated"
    row, kept whole rather than re-added from `seconds` so that restoring gives back the same float sums.
    """

    entries: tuple[EntryDelta, ...]
    total: EntryDelta
    seconds: tuple[SecondDelta, ...]
    errors: tuple[ErrorDelta, ...]
    exceptions: tuple[ExceptionImage, ...]
    first_second: int | None
    last_second: int | None
