"""Human and machine reports of a RunStats: Locust's console tables and Locust's four CSV files.

Column names and file names are Locust's, byte for byte, because dashboards and scripts already parse them.
Tables show times under 10 ms with one decimal, where Locust's integer columns print 0 for fast services.
"""

from __future__ import annotations

import bisect
import csv
from collections.abc import Iterable, Mapping, Sequence
from typing import IO

from horde.runtime.output_files import write_atomically
from horde.stats.run_stats import AGGREGATED_NAME, REPORTED_PERCENTILES, EntryStats, RunStats, percentile_label

TYPE_WIDTH = 8
MAX_NAME_WIDTH = 80

PERCENTILE_COLUMNS = [f"{percentile_label(p)}%" for p in REPORTED_PERCENTILES]
STATS_COLUMNS = [
    "Type",
    "Name",
    "Request Count",
    "Failure Count",
    "Median Response Time",
    "Average Response Time",
    "Min Response Time",
    "Max Response Time",
    "Average Content Size",
    "Requests/s",
    "Failures/s",
    *PERCENTILE_COLUMNS,
]
STATS_HISTORY_COLUMNS = [
    "Timestamp",
    "User Count",
    "Type",
    "Name",
    "Requests/s",
    "Failures/s",
    *PERCENTILE_COLUMNS,
    "Total Request Count",
    "Total Failure Count",
    "Total Median Response Time",
    "Total Average Response Time",
    "Total Min Response Time",
    "Total Max Response Time",
    "Total Average Content Size",
]
CSV_SUFFIXES = ("_stats.csv", "_stats_history.csv", "_failures.csv", "_exceptions.csv")
"""The files of `--csv PREFIX`, in the order they are written."""

FAILURES_COLUMNS = ["Method", "Name", "Error", "Occurrences"]
EXCEPTIONS_COLUMNS = ["Count", "Message", "Traceback", "Nodes"]


# --- console tables -----------------------------------------------------------------------------------------


def format_stats_table(stats: RunStats, now: float, *, current: bool = True, name_width: int | None = None) -> str:
    """Locust's periodic table: `current` rates are the rolling window at `now`, else the whole run's."""
    width = name_width or _name_width(stats)
    row_format = f"%-{TYPE_WIDTH}s %-{width}s %7s %12s |%7s %7s %7s%7s | %7s %11s"
    separator = "|".join("-" * n for n in (TYPE_WIDTH, width, 7, 13, 7, 7, 7, 7, 8, 11))
    lines = [
        row_format % ("Type", "Name", "# reqs", "# fails", "Avg", "Min", "Max", "Med", "req/s", "failures/s"),
        separator,
    ]

    def row(entry: EntryStats) -> str:
        if current:
            rps, fail_per_sec = entry.current_rps(now), entry.current_fail_per_sec(now)
        else:
            rps, fail_per_sec = entry.total_rps, entry.total_fail_per_sec
        return row_format % (
            entry.method,
            entry.name,
            entry.num_requests,
            f"{entry.num_failures}({entry.fail_ratio * 100:.2f}%)",
            _ms(entry.avg_response_time),
            _ms(entry.min_response_time or 0.0),
            _ms(entry.max_response_time or 0.0),
            _ms(entry.median_response_time),
            f"{rps:.2f}",
            f"{fail_per_sec:.2f}",
        )

    lines.extend(row(entry) for entry in stats.sorted_entries())
    lines.append(separator)
    lines.append(row(stats.total))
    return "\n".join(lines)


def format_percentiles_table(stats: RunStats, *, name_width: int | None = None) -> str:
    """The final "Response time percentiles (approximated)" table, for entries with timed requests."""
    width = name_width or _name_width(stats)
    count = len(REPORTED_PERCENTILES)
    row_format = f"%-{TYPE_WIDTH}s %-{width}s " + " ".join(["%6s"] * count) + " %8s"
    separator = "|".join(["-" * TYPE_WIDTH, "-" * width, *(["-" * 6] * count), "-" * 8])
    lines = [
        "Response time percentiles (approximated)",
        row_format % ("Type", "Name", *PERCENTILE_COLUMNS, "# reqs"),
        separator,
    ]

    def row(entry: EntryStats) -> str:
        return row_format % (entry.method, entry.name, *map(_ms, entry.percentiles()), entry.num_requests)

    lines.extend(row(entry) for entry in stats.sorted_entries() if entry.num_timed_requests)
    lines.append(separator)
    if stats.total.num_timed_requests:
        lines.append(row(stats.total))
    return "\n".join(lines)


def format_errors_table(stats: RunStats) -> str:
    """Locust's "Error report", most frequent first; empty when nothing failed, so callers can skip it."""
    if not stats.errors:
        return ""
    separator = f"{'-' * 18}|{'-' * 80}"
    lines = ["Error report", f"{'# occurrences':<18} Error", separator]
    lines.extend(
        f"{error.occurrences:<18d} {error.method} {error.name}: {error.error}" for error in stats.sorted_errors()
    )
    lines.append(separator)
    return "\n".join(lines)


def _name_width(stats: RunStats) -> int:
    longest = max((len(entry.name) for entry in stats.entries.values()), default=0)
    return min(max(longest, len(AGGREGATED_NAME), len("Name")), MAX_NAME_WIDTH)


def _ms(value: float) -> str:
    return f"{value:.1f}" if value < 10 else f"{value:.0f}"


# --- CSV files ----------------------------------------------------------------------------------------------


def write_csv(
    prefix: str, stats: RunStats, user_counts: Mapping[int, int], history: Iterable[Row] | None = None
) -> None:
    """Write PREFIX_stats.csv, PREFIX_stats_history.csv, PREFIX_failures.csv and PREFIX_exceptions.csv.

    `history` replaces the aggregated history rows built from `stats` (Locust's `--csv-full-history` rows, which
    the CSV plugin folds as the run goes).

    Each file is written whole and renamed into place, so a reader polling it during the run never sees half
    of one. `user_counts` maps epoch seconds to the user count from then on. Percentile and median columns are
    whole milliseconds, as in Locust; averages, min and max keep their fractions, as in Locust.
    """
    _write_rows(f"{prefix}_stats.csv", STATS_COLUMNS, _stats_rows(stats))
    rows = _history_rows(stats, user_counts) if history is None else history
    _write_rows(f"{prefix}_stats_history.csv", STATS_HISTORY_COLUMNS, rows)
    _write_rows(
        f"{prefix}_failures.csv",
        FAILURES_COLUMNS,
        ([e.method, e.name, e.error, e.occurrences] for e in stats.sorted_errors()),
    )
    _write_rows(
        f"{prefix}_exceptions.csv",
        EXCEPTIONS_COLUMNS,
        ([e.count, e.message, e.traceback, ", ".join(sorted(e.nodes))] for e in stats.sorted_exceptions()),
    )


Row = Sequence[str | int | float]


def _write_rows(path: str, header: list[str], rows: Iterable[Row]) -> None:
    def write(file: IO[str]) -> None:
        writer = csv.writer(file)
        writer.writerow(header)
        writer.writerows(rows)

    write_atomically(path, write, newline="")


def _stats_rows(stats: RunStats) -> Iterable[Row]:
    for entry in [*stats.sorted_entries(), stats.total]:
        percentiles: list[str | int] = (
            [round(value) for value in entry.percentiles()]
            if entry.num_requests
            else ["N/A"] * len(REPORTED_PERCENTILES)
        )
        yield [
            entry.method,
            entry.name,
            entry.num_requests,
            entry.num_failures,
            round(entry.median_response_time),
            entry.avg_response_time,
            entry.min_response_time or 0,
            entry.max_response_time or 0,
            entry.avg_content_length,
            entry.total_rps,
            entry.total_fail_per_sec,
            *percentiles,
        ]


def _history_rows(stats: RunStats, user_counts: Mapping[int, int]) -> Iterable[Row]:
    """One aggregated row per second: that second's request and failure counts, cumulative figures so far."""
    count_seconds = sorted(user_counts)
    for row in stats.history():
        position = bisect.bisect_right(count_seconds, row.second)
        user_count = user_counts[count_seconds[position - 1]] if position else 0
        yield [
            row.second,
            user_count,
            "",
            AGGREGATED_NAME,
            f"{row.requests:.6f}",
            f"{row.failures:.6f}",
            *(round(value) for value in row.percentiles),
            row.num_requests,
            row.num_failures,
            round(row.median_response_time),
            row.avg_response_time,
            row.min_response_time or 0,
            row.max_response_time or 0,
            row.avg_content_length,
        ]
