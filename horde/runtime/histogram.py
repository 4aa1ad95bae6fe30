"""A mergeable log-linear histogram of response times with a relative error of at most 1/128 (0.79 %).

Every positive response time v (float milliseconds) is written v = m * 2**e with 0.5 <= m < 1 (`math.frexp`).
Each power of two is split into SUB_BUCKETS = 64 equal-width sub-buckets, so

    bucket_of(v) = 64 * e + floor(128 * m)        (floor(128 * m) = j is in [64, 128); ZERO_BUCKET for v <= 0)

and bucket b = 64 * e + j covers [j * 2**(e - 7), (j + 1) * 2**(e - 7)). Its representative value is the
midpoint (2j + 1) * 2**(e - 8); the half-width over the lower bound is 1 / (2j) <= 1/128, which bounds the
relative error of every value read back, for any normal positive float, with no configured range (subnormals,
below 2.2e-308 ms, lose precision to rounding). Zero is its own bucket and reads back as exactly 0. A
histogram is a sparse `{bucket: count}` mapping, so merging is adding counts key by key, and a percentile of
merged histograms is the percentile of all samples to within the same bound (ADR 0004).

Percentiles use the nearest-rank convention, the one convention for the median and p50: the p-quantile of n
samples is the ceil(p * n)-th smallest (at least the first), with p a fraction in [0, 1].
"""

from __future__ import annotations

import functools
import math
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction

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


class PackedHistogram(Mapping[int, int]):
    """A histogram that has stopped changing, in two arrays of machine integers: about a fifth of a dict's memory.

    The master keeps a histogram for every second of a run (for the history); packing those the run has left
    behind keeps a day-long soak test in tens of megabytes instead of gigabytes (ADR 0011).
    """

    __slots__ = ("_buckets", "_counts")

    def __init__(self, buckets: Mapping[int, int]) -> None:
        ordered = sorted(buckets.items())
        counts = [count for _, count in ordered]
        self._buckets = array("i", [bucket for bucket, _ in ordered])  # every bucket of a float fits in 32 bits
        self._counts = array("I" if max(counts, default=0) < 1 << 32 else "Q", counts)

    def __getitem__(self, bucket: int) -> int:
        index = bisect_left(self._buckets, bucket)
        if index < len(self._buckets) and self._buckets[index] == bucket:
            return self._counts[index]
        raise KeyError(bucket)

    def __iter__(self) -> Iterator[int]:
        return iter(self._buckets)

    def __len__(self) -> int:
        return len(self._buckets)

    def pairs(self) -> Iterator[tuple[int, int]]:
        """`(bucket, count)` in bucket order, without a lookup per bucket."""
        return zip(self._buckets, self._counts, strict=True)


def merge_into(target: dict[int, int], source: Mapping[int, int]) -> None:
    """Add `source`'s counts to `target`, the whole of merging two histograms.

    The master runs this for every bucket of every report, so it is written for speed: a merged histogram
    already holds most buckets of the next delta, and `+=` with a rare KeyError beats `get` on every bucket
    (measured on a real 20-endpoint report's entries: about 7 % faster; ADR 0010).
    """
    pairs = source.pairs() if isinstance(source, PackedHistogram) else source.items()
    if not target:
        target.update(pairs)
        return
    for bucket, count in pairs:
        try:
            target[bucket] += count
        except KeyError:
            target[bucket] = count
