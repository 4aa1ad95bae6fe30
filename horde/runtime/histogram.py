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

import numpy as np

from horde.protocol.stats import BUCKET_INDEX, NARROW_COUNT, WIDE_COUNT, Buckets

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


class Histogram:
    """A merged histogram: counts in a numpy array over a window of buckets that widens when a delta needs it.

    The master merges every report's histograms into these; adding a packed `Buckets` is one numpy call instead
    of a Python loop over its buckets, which made merging the master's largest cost (ADR 0012). The zero bucket
    is kept apart, as it lies far below every other. Equality is by content, whatever the windows.
    """

    __slots__ = ("_counts", "_lo", "_zeros")

    def __init__(self) -> None:
        self._zeros = 0
        self._lo = 0
        self._counts = _NO_COUNTS

    @classmethod
    def of(cls, buckets: Buckets | Mapping[int, int]) -> Histogram:
        histogram = cls()
        histogram.add(buckets if isinstance(buckets, Buckets) else Buckets.of(buckets))
        return histogram

    def add(self, other: Buckets | Histogram) -> None:
        if isinstance(other, Histogram):
            self._add_histogram(other)
            return
        if not other.keys:
            return
        keys = np.frombuffer(other.keys, BUCKET_INDEX)
        counts = other.count_array()
        if other.keys[:4] == _ZERO_KEY:  # keys ascend, so the zero bucket can only come first
            self._zeros += int(counts[0])
            keys, counts = keys[1:], counts[1:]
            if not len(keys):
                return
        first, last = int(keys[0]), int(keys[-1])
        if first < self._lo or last >= self._lo + len(self._counts):
            self._widen(first, last)
        self._counts[keys - self._lo] += counts if counts.dtype != WIDE_COUNT else counts.astype(np.int64)

    def _add_histogram(self, other: Histogram) -> None:
        self._zeros += other._zeros
        if not len(other._counts):
            return
        first, last = other._lo, other._lo + len(other._counts) - 1
        if not len(self._counts) or first < self._lo or last >= self._lo + len(self._counts):
            self._widen(first, last)
        start = first - self._lo
        self._counts[start : start + len(other._counts)] += other._counts

    def _widen(self, first: int, last: int) -> None:
        """Reallocate with an octave to spare on each side, so a run widens its windows a few times at most."""
        if len(self._counts):
            first, last = min(first, self._lo), max(last, self._lo + len(self._counts) - 1)
        lo = (first // SUB_BUCKETS - 1) * SUB_BUCKETS
        hi = (last // SUB_BUCKETS + 2) * SUB_BUCKETS
        counts = np.zeros(hi - lo, np.int64)
        if len(self._counts):
            counts[self._lo - lo : self._lo - lo + len(self._counts)] = self._counts
        self._lo, self._counts = lo, counts

    def total(self) -> int:
        return self._zeros + int(self._counts.sum())

    def __bool__(self) -> bool:
        return bool(self._zeros) or bool(self._counts.any())

    def pairs(self) -> list[tuple[int, int]]:
        """`(bucket, count)` of every non-empty bucket, in bucket order."""
        occupied = np.flatnonzero(self._counts)
        pairs = list(zip((occupied + self._lo).tolist(), self._counts[occupied].tolist(), strict=True))
        return [(ZERO_BUCKET, self._zeros), *pairs] if self._zeros else pairs

    def to_buckets(self) -> Buckets:
        """The packed form, for the wire, the journal and the seconds the run has left behind (ADR 0011)."""
        occupied = np.flatnonzero(self._counts)
        keys = (occupied + self._lo).astype(BUCKET_INDEX)
        counts = self._counts[occupied]
        if self._zeros:
            keys = np.concatenate((np.array([ZERO_BUCKET], BUCKET_INDEX), keys))
            counts = np.concatenate((np.array([self._zeros], np.int64), counts))
        wide = len(counts) and int(counts.max()) >= 1 << 32
        return Buckets(keys.tobytes(), counts.astype(WIDE_COUNT if wide else NARROW_COUNT).tobytes())

    def percentiles(self, total: int, ps: Sequence[float]) -> list[float]:
        """Nearest-rank percentiles (`ps` in any order) of `total` samples, as `percentiles` gives for a dict."""
        if total <= 0:
            return [0.0] * len(ps)
        ranks = [nearest_rank(p, total) - self._zeros for p in ps]
        if not len(self._counts):
            return [0.0] * len(ps)
        cumulative = np.cumsum(self._counts)
        ceiling = int(cumulative[-1])
        positions = np.searchsorted(cumulative, [min(rank, ceiling) for rank in ranks]).tolist()
        return [
            0.0 if rank <= 0 or ceiling == 0 else value_of(self._lo + position)
            for rank, position in zip(ranks, positions, strict=True)
        ]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Histogram):
            return NotImplemented
        return self.pairs() == other.pairs()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Histogram({dict(self.pairs())})"


_NO_COUNTS = np.zeros(0, np.int64)
_NO_COUNTS.flags.writeable = False
_ZERO_KEY = ZERO_BUCKET.to_bytes(4, "little", signed=True)


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
