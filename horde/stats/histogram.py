"""A mergeable log-linear histogram of response times with a relative error of at most 1/128 (0.79 %).

Every positive response time v (float milliseconds) is written v = m * 2**e with 0.5 <= m < 1 (`math.frexp`).
Each power of two is split into SUB_BUCKETS = 64 equal-width sub-buckets, so

    bucket_of(v) = 64 * e + floor(128 * m)        (floor(128 * m) = j is in [64, 128); ZERO_BUCKET for v <= 0)

and bucket b = 64 * e + j covers [j * 2**(e - 7), (j + 1) * 2**(e - 7)). Its representative value is the
midpoint (2j + 1) * 2**(e - 8); the half-width over the lower bound is 1 / (2j) <= 1/128, which bounds the
relative error of every value read back, for any normal positive float, with no configured range (subnormals,
below 2.2e-308 ms, lose precision to rounding). Zero is its own bucket and reads back as exactly 0. Merging is
adding counts bucket by bucket, so a percentile of merged histograms is the percentile of all samples to within
the same bound (ADR 0004). A worker records into a `{bucket: count}` dict, sends it packed (`Buckets`), and the
master adds it into a numpy-backed `Histogram` (ADR 0012).

Percentiles use the nearest-rank convention, the one convention for the median and p50: the p-quantile of n
samples is the ceil(p * n)-th smallest (at least the first), with p a fraction in [0, 1].
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from horde.protocol.stats import BUCKET_INDEX, COUNT_TYPES, WIDE_COUNT, Buckets, count_type

if TYPE_CHECKING:
    import numpy as np
else:
    from horde.protocol.stats import np  # loaded on first use: a worker never merges (horde.protocol.stats)

SUB_BUCKETS = 64
RELATIVE_ERROR = 1 / (2 * SUB_BUCKETS)
ZERO_BUCKET = -(1 << 20)
"""Below the bucket of the smallest positive float (frexp exponent -1073), so zero sorts first."""

SUB_BUCKET_SCALE = 2 * SUB_BUCKETS


def bucket_of(value_ms: float) -> int:
    """The bucket holding a response time; negative times (clock steps) count as zero."""
    if value_ms <= 0:
        return ZERO_BUCKET
    mantissa, exponent = math.frexp(value_ms)
    return exponent * SUB_BUCKETS + int(mantissa * SUB_BUCKET_SCALE)


def value_of(bucket: int) -> float:
    """The midpoint of a bucket, within RELATIVE_ERROR of every value in it."""
    if bucket == ZERO_BUCKET:
        return 0.0
    exponent, sub_bucket = divmod(bucket, SUB_BUCKETS)
    return math.ldexp(2 * (SUB_BUCKETS + sub_bucket) + 1, exponent - 9)


def nearest_rank(p: float, total: int) -> int:
    """The 1-based rank of the p-quantile (p in [0, 1]) among `total` samples.

    p goes through its decimal repr so that 0.07 * 100 is 7, not the 8 that binary floating point would give.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"percentile must be a fraction in [0, 1], got {p!r}")
    return max(1, math.ceil(_decimal_fraction(p) * total))


@functools.lru_cache(maxsize=64)
def _decimal_fraction(p: float) -> Fraction:
    return Fraction(repr(p))


def percentile(buckets: Mapping[int, int], total: int, p: float) -> float:
    """The nearest-rank p-quantile of a histogram holding `total` samples; 0.0 when it is empty."""
    if total <= 0:
        return 0.0
    rank = nearest_rank(p, total)
    seen = 0
    bucket = ZERO_BUCKET
    for bucket in sorted(buckets):
        seen += buckets[bucket]
        if seen >= rank:
            break
    return value_of(bucket)


def percentiles(buckets: Mapping[int, int], total: int, ps: Sequence[float]) -> list[float]:
    """Several percentiles in one walk over the sorted buckets (`ps` in any order), as the history needs."""
    results = [0.0] * len(ps)
    if total <= 0:
        return results
    wanted = sorted((nearest_rank(p, total), index) for index, p in enumerate(ps))
    position = 0
    seen = 0
    for bucket in sorted(buckets):
        seen += buckets[bucket]
        while position < len(wanted) and wanted[position][0] <= seen:
            results[wanted[position][1]] = value_of(bucket)
            position += 1
        if position == len(wanted):
            break
    return results


DENSE_LOWEST = bucket_of(2.0**-20)
DENSE_END = bucket_of(2.0**40)
"""Buckets from about a nanosecond to 35 years are counted in numpy arrays; the zero bucket and anything outside
(a bogus response time a user fired by hand) in a small dict, so one odd value cannot make every array huge."""


class Histogram:
    """A merged histogram: counts in a numpy array over a window of buckets that widens when a delta needs it.

    The master merges every report's histograms into these; adding a packed `Buckets` costs a few numpy calls
    instead of a Python loop over its buckets, and a `HistogramTable` adds a whole report's in one go (ADR 0012).
    Buckets outside the dense range, the zero bucket among them, go to `_outliers`. Equality is by content.
    """

    __slots__ = ("_counts", "_lo", "_outliers", "_row", "_table")

    def __init__(self) -> None:
        self._counts = _no_counts()
        self._lo = 0
        self._outliers: dict[int, int] | None = None
        self._table: HistogramTable | None = None
        self._row = 0

    @classmethod
    def of(cls, buckets: Buckets | Mapping[int, int]) -> Histogram:
        histogram = cls()
        histogram.add(buckets if isinstance(buckets, Buckets) else Buckets.of(buckets))
        return histogram

    def add(self, other: Buckets | Histogram) -> None:
        if isinstance(other, Histogram):
            self._add_histogram(other)
        else:
            self._add_buckets(other)

    def _add_buckets(self, buckets: Buckets) -> None:
        if not buckets.keys:
            return
        keys = buckets.key_array()
        counts = buckets.count_array()
        first, last = int(keys[0]), int(keys[-1])  # keys ascend (checked on decode)
        if first < DENSE_LOWEST or last >= DENSE_END:
            inside = slice(int(np.searchsorted(keys, DENSE_LOWEST)), int(np.searchsorted(keys, DENSE_END)))
            outside = np.ones(len(keys), bool)
            outside[inside] = False
            self._add_outliers(keys[outside].tolist(), counts[outside].tolist())
            keys, counts = keys[inside], counts[inside]
            if not len(keys):
                return
            first, last = int(keys[0]), int(keys[-1])
        if first < self._lo or last >= self._lo + len(self._counts):
            self._widen(first, last)
        self._counts[keys - self._lo] += counts if counts.dtype != WIDE_COUNT else counts.astype(np.int64)

    def _add_outliers(self, keys: list[int], counts: list[int]) -> None:
        if self._outliers is None:
            self._outliers = {}
        for key, count in zip(keys, counts, strict=True):
            self._outliers[key] = self._outliers.get(key, 0) + count

    def _add_histogram(self, other: Histogram) -> None:
        if other._outliers:
            self._add_outliers(list(other._outliers), list(other._outliers.values()))
        occupied = np.flatnonzero(other._counts)
        if not len(occupied):
            return
        first, last = other._lo + int(occupied[0]), other._lo + int(occupied[-1])
        if first < self._lo or last >= self._lo + len(self._counts):
            self._widen(first, last)
        start = other._lo - self._lo
        self._counts[start + int(occupied[0]) : start + int(occupied[-1]) + 1] += other._counts[
            int(occupied[0]) : int(occupied[-1]) + 1
        ]

    def _widen(self, first: int, last: int) -> None:
        if self._table is not None:
            self._table.widen(first, last)
            return
        lo, hi = _window(first, last, self._lo, len(self._counts))
        counts = np.zeros(hi - lo, np.int64)
        counts[self._lo - lo : self._lo - lo + len(self._counts)] = self._counts
        self._lo, self._counts = lo, counts

    def total(self) -> int:
        return int(self._counts.sum()) + (sum(self._outliers.values()) if self._outliers else 0)

    def __bool__(self) -> bool:
        return bool(self._counts.any()) or any(self._outliers.values() if self._outliers else ())

    def pairs(self) -> list[tuple[int, int]]:
        """`(bucket, count)` of every non-empty bucket, in bucket order."""
        occupied = np.flatnonzero(self._counts)
        pairs = list(zip((occupied + self._lo).tolist(), self._counts[occupied].tolist(), strict=True))
        if self._outliers:
            pairs = sorted(pairs + [(key, count) for key, count in self._outliers.items() if count])
        return pairs

    def to_buckets(self) -> Buckets:
        """The packed form, for the wire, the journal and the seconds the run has left behind (ADR 0011)."""
        if self._outliers:
            return Buckets.of(dict(self.pairs()))
        occupied = np.flatnonzero(self._counts)
        counts = self._counts[occupied]
        return Buckets(
            (occupied + self._lo).astype(BUCKET_INDEX).tobytes(),
            counts.astype(count_type(int(counts.max()) if len(counts) else 0)).tobytes(),
        )

    def percentiles(self, total: int, ps: Sequence[float]) -> list[float]:
        """Nearest-rank percentiles (`ps` in any order) of `total` samples, as `percentiles` gives for a dict."""
        if total <= 0 or not len(self._counts):
            return percentiles(self._outliers or {}, total, ps)
        if self._outliers:
            return percentiles(dict(self.pairs()), total, ps)
        cumulative = np.cumsum(self._counts)
        ceiling = int(cumulative[-1])
        if ceiling == 0:
            return [0.0] * len(ps)
        ranks = [min(nearest_rank(p, total), ceiling) for p in ps]
        return [value_of(self._lo + position) for position in np.searchsorted(cumulative, ranks).tolist()]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.pairs() == other.pairs()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Histogram({dict(self.pairs())})"


class HistogramTable:
    """Histograms as the rows of one 2-D array over a shared window, so that merging all the entries of a report
    is one numpy call rather than one per entry: numpy's fixed cost per call, not the buckets, dominated (ADR 0012).
    """

    __slots__ = ("_counts", "_free", "_lo", "_members")

    def __init__(self) -> None:
        self._counts = np.zeros((0, 0), np.int64)
        self._lo = 0
        self._members: list[Histogram | None] = []
        self._free: list[int] = []

    def histogram(self) -> Histogram:
        """A new, empty histogram kept in this table; it works like any other."""
        histogram = Histogram()
        histogram._table = self
        if self._free:
            histogram._row = self._free.pop()
            self._members[histogram._row] = histogram
        else:
            histogram._row = len(self._members)
            self._members.append(histogram)
        rows, width = self._counts.shape
        if histogram._row >= rows:
            self._reshape(max(8, 2 * rows), self._lo, width)
        else:
            histogram._counts, histogram._lo = self._counts[histogram._row], self._lo
        return histogram

    def release(self, histogram: Histogram) -> None:
        """Give a histogram's row back for reuse (a second the run has packed); the histogram must not be used."""
        if histogram._table is not self:
            return
        self._counts[histogram._row] = 0
        self._members[histogram._row] = None
        self._free.append(histogram._row)
        histogram._table, histogram._counts = None, _no_counts()

    def add(self, members: Sequence[Histogram], deltas: Sequence[Buckets]) -> None:
        """`members[i].add(deltas[i])` for every i, in one numpy call when each member is a different row."""
        rows: list[int] = []
        sizes: list[int] = []
        keys: list[bytes] = []
        counts: list[bytes] = []
        widths: list[int] = []
        for histogram, buckets in zip(members, deltas, strict=True):
            key_bytes = buckets.keys
            if not key_bytes:
                continue
            if histogram._table is not self:
                histogram._add_buckets(buckets)
                continue
            size = len(key_bytes) >> 2
            rows.append(histogram._row)
            sizes.append(size)
            keys.append(key_bytes)
            counts.append(buckets.counts)
            widths.append(len(buckets.counts) // size)
        if not rows:
            return
        if len(set(rows)) < len(rows) or max(widths) == 8:  # a repeated row, or counts too wide for the sum below
            self._add_each(rows, keys, counts)
            return
        if min(widths) == max(widths):
            count_array = np.frombuffer(b"".join(counts), COUNT_TYPES[widths[0]])
        else:
            count_array = np.concatenate(
                [np.frombuffer(c, COUNT_TYPES[w]) for c, w in zip(counts, widths, strict=True)]
            )
        key_array = np.frombuffer(b"".join(keys), BUCKET_INDEX)
        first, last = int(np.minimum.reduce(key_array)), int(np.maximum.reduce(key_array))
        if first < DENSE_LOWEST or last >= DENSE_END:
            self._add_each(rows, keys, counts)
            return
        if first < self._lo or last >= self._lo + self._counts.shape[1]:
            self.widen(first, last)
        width = self._counts.shape[1]
        cells = (np.asarray(rows, np.int64) * width - self._lo).repeat(sizes) + key_array
        self._counts.reshape(-1)[cells] += count_array

    def _add_each(self, rows: list[int], keys: list[bytes], counts: list[bytes]) -> None:
        """One histogram at a time, for the batches the one-call path cannot take."""
        for row, key_bytes, count_bytes in zip(rows, keys, counts, strict=True):
            histogram = self._members[row]
            assert histogram is not None, "a released row was merged into"
            histogram._add_buckets(Buckets(key_bytes, count_bytes))

    def widen(self, first: int, last: int) -> None:
        rows, width = self._counts.shape
        lo, hi = _window(first, last, self._lo, width)
        self._reshape(rows, lo, hi - lo)

    def _reshape(self, rows: int, lo: int, width: int) -> None:
        counts = np.zeros((rows, width), np.int64)
        old_rows, old_width = self._counts.shape
        if old_rows and old_width:
            counts[:old_rows, self._lo - lo : self._lo - lo + old_width] = self._counts
        self._counts, self._lo = counts, lo
        for histogram in self._members:
            if histogram is not None:
                histogram._counts, histogram._lo = counts[histogram._row], lo


def _window(first: int, last: int, lo: int, width: int) -> tuple[int, int]:
    """A window holding `[first, last]` and the current one, with an octave to spare on each side (so a run
    widens a few times at most), within the dense range."""
    if width:
        first, last = min(first, lo), max(last, lo + width - 1)
    return (
        max(DENSE_LOWEST, (first // SUB_BUCKETS - 1) * SUB_BUCKETS),
        min(DENSE_END, (last // SUB_BUCKETS + 2) * SUB_BUCKETS),
    )


@functools.cache
def _no_counts() -> np.ndarray:
    """The empty counts every new Histogram shares: made on first use, so importing this module loads no numpy."""
    empty = np.zeros(0, np.int64)
    empty.flags.writeable = False
    return empty


def merge_into(target: dict[int, int], source: Mapping[int, int]) -> None:
    """Add `source`'s counts to `target`: a worker folding its per-second slots, a master its per-second rates.

    `+=` with a rare KeyError beats `get` on every key when most keys are already there (ADR 0010).
    """
    if not target:
        target.update(source)
        return
    for bucket, count in source.items():
        try:
            target[bucket] += count
        except KeyError:
            target[bucket] = count
