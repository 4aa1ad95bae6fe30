"""Request statistics, shared by both sides of a run: workers record them, the master merges and reports them.

A worker's StatsRecorder (`recorder`) counts every request and hands over deltas; the master's RunStats
(`run_stats`) adds the deltas up exactly; `summary` turns the merged statistics into the end-of-run JSON data.
All of them count into the same log-linear buckets (`histogram`, ADR 0004).

This package sits between `horde.protocol` and the rest: it imports only the protocol (the deltas and images
that cross processes and the journal), and both `horde.runtime` (a worker's hot path, report formatting) and
`horde.actors` (the StatsAggregator, replay, plugins) import it. Neither side owns it, so neither imports the
other to reach it.
"""

from horde.stats.locust_api import (
    CONSOLE_STATS_INTERVAL_SEC,
    HISTORY_STATS_INTERVAL_SEC,
    PERCENTILES_TO_CHART,
    RequestStats,
    StatsEntry,
    StatsError,
    print_stats,
    stats_history,
    stats_printer,
)

__all__ = [
    "CONSOLE_STATS_INTERVAL_SEC",
    "HISTORY_STATS_INTERVAL_SEC",
    "PERCENTILES_TO_CHART",
    "RequestStats",
    "StatsEntry",
    "StatsError",
    "print_stats",
    "stats_history",
    "stats_printer",
]
