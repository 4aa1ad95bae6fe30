"""The statistics a worker reports: the delta of its StatsRecorder since its previous report.

A delta is additive: the master folds deltas into its RunStats by adding counts and histogram buckets, taking
the min of minima and the max of maxima, so merging is exact and independent of how requests were split across
workers and reports. Response times are float milliseconds; histogram buckets are the indices defined by
`horde.stats.histogram` (ADR 0004). Seconds are integer Unix epoch seconds of the recording process's clock.

Histograms travel as `Buckets`, two packed arrays rather than a map (ADR 0012): a master merging 500 reports a
second decodes them as two byte strings each instead of building a dict of a hundred ints. Integer dict keys (the
per-second counts) survive JSON too: msgspec writes them as strings and turns them back into ints when decoding
into these types.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterator, Mapping
from itertools import accumulate, pairwise
from typing import TYPE_CHECKING, Annotated, Any

import msgspec


class _Numpy:
    """numpy, imported on the first attribute read; each attribute is then kept, so a read costs what a module's
    does. Not `importlib.util.LazyLoader`: gevent's monkey-patching inspects every object alive (`isinstance`)
    and that alone would load a lazy module."""

    def __getattr__(self, name: str) -> Any:
        import numpy

        value = getattr(numpy, name)
        setattr(self, name, value)
        return value


if TYPE_CHECKING:
    import numpy as np
else:
    np = _Numpy()
    """Only a master merges histograms with numpy (ADR 0012); a worker packs its deltas in plain Python and never
    pays for numpy's import (about 17 MB of memory and a tenth of a second)."""


BUCKET_INDEX = "<i4"
COUNT_TYPES: dict[int, str] = {1: "u1", 2: "<u2", 4: "<u4", 8: "<u8"}
"""Bytes per count -> its numpy type: the narrowest unsigned integer that holds a histogram's largest count."""
WIDE_COUNT = COUNT_TYPES[8]
_ARRAY_CODES = {array(code).itemsize: code for code in "QLIHB"}
"""Bytes per count -> the `array` type code of that size, for packing without numpy."""
LOWEST_BUCKET = -(1 << 20)
"""`histogram.ZERO_BUCKET`: no float's bucket is lower; restated here so that the protocol imports no runtime."""
HIGHEST_BUCKET = 64 * 1024 + 127
"""The bucket of the largest float (frexp exponent 1024); a higher index comes from a broken or hostile peer."""


def count_width(largest: int) -> int:
    """Bytes per count for counts up to `largest`, the fewest of 1, 2, 4 or 8."""
    for size in (1, 2, 4):
        if largest < 1 << (8 * size):
            return size
    return 8


def count_type(largest: int) -> str:
    """The narrowest count type for counts up to `largest`, as `Buckets` packs them."""
    return COUNT_TYPES[count_width(largest)]


FLOAT_LIMIT = 1e300
Finite = Annotated[float, msgspec.Meta(ge=-FLOAT_LIMIT, le=FLOAT_LIMIT)]
"""A float a peer may send: NaN and the infinities are refused when decoding, since the journal (JSON) would
write them as null and could not be read back, and a sum that met one would never recover."""


class Buckets(msgspec.Struct, frozen=True, forbid_unknown_fields=True, gc=False):
    """A sparse histogram: `keys` are bucket indices (ADR 0004) as little-endian int32, strictly ascending;
    `counts` are their counts as little-endian unsigned integers of 1, 2, 4 or 8 bytes, the fewest that hold the
    largest count (a worker's delta rarely needs more than one or two; a merged image's may need eight).

    The lengths say the width: `len(counts) / (len(keys) / 4)` bytes per count. `check_buckets`, run on every
    delta and image decoded, checks the lengths, the order and the range of all their histograms in one pass: not
    here, where a Python call per histogram made up a fifth of what a master spent decoding a report.
    Untracked by the cyclic garbage collector (`gc=False`), as are the deltas: plain data that cannot hold a
    cycle, thousands of them decoded a second on a master, which the collector would otherwise keep walking.
    """

    keys: bytes = b""
    counts: bytes = b""

    @classmethod
    def of(cls, counts: Mapping[int, int]) -> Buckets:
        """The packed form of a `{bucket: count}` map; zero counts are left out."""
        keys = sorted(key for key, count in counts.items() if count)
        values = [counts[key] for key in keys]
        packed_keys, packed_counts = array("i", keys), array(_ARRAY_CODES[count_width(max(values, default=0))], values)
        if sys.byteorder == "big":
            packed_keys.byteswap()
            packed_counts.byteswap()
        return cls(packed_keys.tobytes(), packed_counts.tobytes())

    def __len__(self) -> int:
        return len(self.keys) // 4

    def count_width(self) -> int:
        return 4 * len(self.counts) // len(self.keys) if self.keys else 4

    def key_array(self) -> np.ndarray:
        return np.frombuffer(self.keys, BUCKET_INDEX)

    def count_array(self) -> np.ndarray:
        return np.frombuffer(self.counts, COUNT_TYPES[self.count_width()])

    def pairs(self) -> Iterator[tuple[int, int]]:
        """`(bucket, count)` in bucket order."""
        return zip(self.key_array().tolist(), self.count_array().tolist(), strict=True)

    def as_dict(self) -> dict[int, int]:
        return dict(self.pairs())


def check_buckets(histograms: list[Buckets]) -> None:
    """Raise ValueError unless every histogram's lengths fit (4 bytes a key, 1-8 a count) and its keys are
    strictly ascending and within the float buckets.

    One pass over all of them together, so checking a 20-endpoint delta costs a few numpy calls, not 20 times that:
    in the keys laid end to end, a key may only fail to rise where a new histogram starts.
    """
    for histogram in histograms:
        key_bytes, count_bytes = len(histogram.keys), len(histogram.counts)
        size = key_bytes >> 2
        if key_bytes & 3 or (count_bytes % size or count_bytes // size not in COUNT_TYPES if size else count_bytes):
            raise ValueError(
                f"histogram of {key_bytes} key bytes and {count_bytes} count bytes (want 4 per key, 1-8 per count)"
            )
    joined = b"".join(histogram.keys for histogram in histograms)
    if not joined:
        return
    if "numpy" not in sys.modules:  # a worker checking the delta it built: not worth loading numpy for
        _check_buckets_plain(histograms)
        return
    keys = np.frombuffer(joined, BUCKET_INDEX)
    if int(np.minimum.reduce(keys)) < LOWEST_BUCKET or int(np.maximum.reduce(keys)) > HIGHEST_BUCKET:
        raise ValueError("histogram bucket out of range")
    falls = (keys[1:] <= keys[:-1]).nonzero()[0]
    if len(falls) and not set((falls + 1).tolist()) <= set(accumulate(len(h.keys) >> 2 for h in histograms)):
        raise ValueError("histogram keys are not strictly ascending")


def _check_buckets_plain(histograms: list[Buckets]) -> None:
    """`check_buckets` in plain Python, one histogram at a time."""
    for histogram in histograms:
        keys = array("i")
        keys.frombytes(histogram.keys)
        if sys.byteorder == "big":
            keys.byteswap()
        if any(high <= low for low, high in pairwise(keys)):
            raise ValueError("histogram keys are not strictly ascending")
        if keys and (keys[0] < LOWEST_BUCKET or keys[-1] > HIGHEST_BUCKET):
            raise ValueError("histogram bucket out of range")


class EntryDelta(msgspec.Struct, frozen=True, gc=False):
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
    total_response_time: Finite
    min_response_time: Finite | None
    max_response_time: Finite | None
    total_content_length: int
    buckets: Buckets
    requests_per_second: dict[int, int]
    failures_per_second: dict[int, int]


class SecondDelta(msgspec.Struct, frozen=True, gc=False):
    """All requests of one epoch second, every (method, name) together.

    This is what lets the master give the aggregated row's cumulative percentiles, average, min and max at
    every second of the run (the stats history) from merged state alone, without snapshots taken on a timer.
    """

    second: int
    num_requests: int
    num_none_requests: int
    num_failures: int
    total_response_time: Finite
    min_response_time: Finite | None
    max_response_time: Finite | None
    total_content_length: int
    buckets: Buckets


class ErrorDelta(msgspec.Struct, frozen=True, gc=False):
    """Failures of one (method, name) with one normalised error string; seen times are float epoch seconds."""

    method: str
    name: str
    error: str
    occurrences: int
    first_seen: Finite
    last_seen: Finite


class ExceptionDelta(msgspec.Struct, frozen=True, gc=False):
    """Exceptions raised by user code (not request failures), counted per (message, traceback)."""

    message: str
    traceback: str
    count: int
    at_start: bool = False
    """Raised while a user was built (`User.__init__`): Locust's spawning greenlet dies of it, which makes the exit
    code 2 rather than `--exit-code-on-error` (ADR 0025). Reports from before the field read as False."""


class StatsDelta(msgspec.Struct, frozen=True, gc=False):
    """Everything a StatsRecorder saw since its previous delta; each request is in exactly one delta."""

    entries: tuple[EntryDelta, ...] = ()
    errors: tuple[ErrorDelta, ...] = ()
    exceptions: tuple[ExceptionDelta, ...] = ()
    seconds: tuple[SecondDelta, ...] = ()

    def __post_init__(self) -> None:
        """Runs on every decode too, so a hostile delta is rejected on arrival rather than met while merging."""
        check_buckets(self.histograms())

    def is_empty(self) -> bool:
        return not (self.entries or self.errors or self.exceptions or self.seconds)

    def histograms(self) -> list[Buckets]:
        return [entry.buckets for entry in self.entries] + [second.buckets for second in self.seconds]


class ExceptionImage(msgspec.Struct, frozen=True):
    """A merged user-code exception, with the workers that raised it."""

    message: str
    traceback: str
    count: int
    nodes: tuple[str, ...]
    at_start: bool = False


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

    def __post_init__(self) -> None:
        """A checkpoint's histograms are checked as a report's are (`check_buckets`), once per image decoded."""
        check_buckets(
            [entry.buckets for entry in self.entries]
            + [self.total.buckets]
            + [second.buckets for second in self.seconds]
        )
