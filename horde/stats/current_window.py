"""Locust's *current* response-time percentiles: over the requests of about the last 10 seconds.

Locust keeps, once per new second, a copy of each entry's cumulative response-time histogram, and answers a
current percentile from what the live histogram gained since the copy nearest to 10 s ago (it looks at now - 10,
then - 11, - 9, - 12, - 8, ... up to 8 s either way; none found: no answer). Anything that holds cumulative
statistics as they grow (the CSV plugin folding the journal, `environment.stats` reading copies) keeps one
`ResponseTimeWindow` per entry and gives it each copy, so both read the window the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from horde.stats import histogram
from horde.stats.run_stats import Timings

WINDOW_SECONDS = 10
"""Locust's `CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW`."""
SEARCH_SECONDS = 8
"""How far either side of `now - WINDOW_SECONDS` a copy is looked for, as Locust."""


class ResponseTimeWindow:
    """Copies of one entry's cumulative histogram, at most one per second, the last 20 seconds' worth."""

    __slots__ = ("_copies",)

    def __init__(self) -> None:
        self._copies: dict[int, tuple[int, dict[int, int]]] = {}

    def remember(self, second: int, timings: Timings) -> None:
        """Keep the entry as it stands at `second`, unless a copy of that second is kept already (Locust keeps the
        first of each second)."""
        if second in self._copies:
            return
        self._copies[second] = (timings.num_timed_requests, dict(timings.buckets.pairs()))
        for old in [s for s in self._copies if s < second - WINDOW_SECONDS - SEARCH_SECONDS - 2]:
            del self._copies[old]

    def percentiles(self, second: int, timings: Timings, ps: Sequence[float]) -> list[float] | None:
        """Percentiles (fractions in [0, 1]) of the requests since the copy nearest to `second - 10`; None
        without such a copy. The requests counted are the difference: exact per bucket, as the histograms add."""
        copy = self._nearest(second - WINDOW_SECONDS)
        if copy is None:
            return None
        before_total, before = copy
        counts: dict[int, int] = {}
        for bucket, count in timings.buckets.pairs():
            gained = count - before.get(bucket, 0)
            if gained > 0:
                counts[bucket] = gained
        return histogram.percentiles(counts, timings.num_timed_requests - before_total, ps)

    def _nearest(self, wanted: int) -> tuple[int, dict[int, int]] | None:
        for distance in range(SEARCH_SECONDS + 1):
            for candidate in (wanted - distance, wanted + distance) if distance else (wanted,):
                copy = self._copies.get(candidate)
                if copy is not None:
                    return copy
        return None
