"""The end-of-run summary: a run's merged statistics as plain JSON data (`horde replay --json`, the json plugin).

It reads a RunStats and nothing else, so a live run and a replay of its journal print the same summary.
"""

from __future__ import annotations

from typing import Any

from horde.stats.run_stats import REPORTED_PERCENTILES, EntryStats, RunStats, percentile_label


def summary_dict(stats: RunStats) -> dict[str, Any]:
    """The run's statistics as plain JSON data, sorted, so equal statistics always serialise the same way."""
    return {
        "entries": [_entry_summary(entry) for entry in stats.sorted_entries()],
        "aggregated": _entry_summary(stats.total),
        "errors": errors_summary(stats),
        "exceptions": [
            {
                "count": exception.count,
                "message": exception.message,
                "traceback": exception.traceback,
                "nodes": sorted(exception.nodes),
            }
            for exception in stats.sorted_exceptions()
        ],
        "first_second": stats.span.first_second,
        "last_second": stats.span.last_second,
    }


def errors_summary(stats: RunStats) -> list[dict[str, Any]]:
    """The failures table as plain data, sorted: the summary JSON and the web UI's view show the same rows."""
    return [
        {
            "method": error.method,
            "name": error.name,
            "error": error.error,
            "occurrences": error.occurrences,
            "first_seen": error.first_seen,
            "last_seen": error.last_seen,
        }
        for error in stats.sorted_errors()
    ]


def _entry_summary(entry: EntryStats) -> dict[str, Any]:
    return {
        "method": entry.method,
        "name": entry.name,
        "num_requests": entry.num_requests,
        "num_none_requests": entry.num_none_requests,
        "num_failures": entry.num_failures,
        "fail_ratio": entry.fail_ratio,
        "min_response_time": entry.min_response_time or 0.0,
        "avg_response_time": entry.avg_response_time,
        "max_response_time": entry.max_response_time or 0.0,
        "median_response_time": entry.median_response_time,
        "percentiles": {
            f"p{percentile_label(p)}": value for p, value in zip(REPORTED_PERCENTILES, entry.percentiles(), strict=True)
        },
        "avg_content_length": entry.avg_content_length,
        "total_rps": entry.total_rps,
        "total_fail_per_sec": entry.total_fail_per_sec,
    }
