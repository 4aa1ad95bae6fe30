"""The file reporters: Locust's CSV files (`--csv PREFIX`), the JSON summary (`--json-file PATH`) and Locust's
JSON statistics on stdout (`--json`), an HTML report.

Each writes at the run's end from the final merged statistics handed to `on_run_end` (the StatsAggregator's
fold of every `stats.merged`, exactly what the journal replays to), so the files are the same as before
reporters were plugins. The CSV history's user counts are the one thing folded from events: the workers'
heartbeats and spawn reports, second by second.
"""

from __future__ import annotations

import html
import json
import time
from typing import Any

from horde.plugin import EventRecord, Plugin, PluginError, RunEnd, option
from horde.protocol.events import (
    StatsMerged,
    StatsReported,
    StatsReset,
    WorkerHeartbeat,
    WorkerLeft,
    WorkerMissing,
    WorkerUsersReported,
)
from horde.runtime.reports import write_csv
from horde.stats.current_window import ResponseTimeWindow
from horde.stats.histogram import value_of
from horde.stats.run_stats import REPORTED_PERCENTILES, RunStats
from horde.stats.summary import summary_dict


def _required(options: dict[str, Any], key: str, plugin: str) -> str:
    value = options.get(key)
    if not value:
        raise PluginError(f"needs {key}= (--plugin-opt {plugin}.{key}=...)")
    return str(value)


class CsvPlugin(Plugin):
    """`prefix`: Locust's CSV files; `full_history` (Locust's `--csv-full-history`): the history gets a row per
    endpoint as well as the Aggregated one, written for each second in which statistics were merged (ADR 0020)."""

    name = "csv"
    event_types = (
        "worker.heartbeat",
        "worker.users_reported",
        "worker.missing",
        "worker.left",
        "stats.reported",
        "stats.merged",
        "stats.reset",
    )

    def configure(self, options: dict[str, Any]) -> None:
        self._prefix = _required(options, "prefix", self.name)
        self._full_history = option(options, "full_history", _flag, False)
        self._users: dict[str, int] = {}
        self.user_counts: dict[int, int] = {}
        self._history = FullHistory() if self._full_history else None

    def on_event(self, record: EventRecord) -> None:
        event = record.data
        if isinstance(event, StatsMerged | StatsReported | StatsReset):
            if self._history is not None:
                self._history.fold(record.wall_ns // 1_000_000_000, event, sum(self._users.values()))
            return
        if isinstance(event, WorkerHeartbeat):
            self._users[event.worker_id] = event.user_count
        elif isinstance(event, WorkerUsersReported):
            self._users[event.worker_id] = sum(event.user_counts.values())
        elif isinstance(event, WorkerMissing | WorkerLeft):
            self._users.pop(event.worker_id, None)
        else:
            return
        self.user_counts[record.wall_ns // 1_000_000_000] = sum(self._users.values())

    def on_run_end(self, result: RunEnd) -> int | None:
        self.user_counts.setdefault(int(time.time()), sum(self._users.values()))
        history = self._history.finish(sum(self._users.values())) if self._history is not None else None
        write_csv(self._prefix, result.stats, self.user_counts, history)
        return None


class FullHistory:
    """Locust's full history, folded from the journal's statistics events as they come.

    The per-second histograms horde keeps are the whole run's, not each endpoint's, so the rows per endpoint
    cannot be rebuilt at the end: this fold merges each `stats.merged` into statistics of its own (equal to the
    StatsAggregator's, as it folds the same events) and writes the rows of a second once a later second begins.
    Counts, averages, min and max are cumulative; percentiles are current (about the last 10 s), as Locust's.
    """

    def __init__(self) -> None:
        self._stats = RunStats()
        self._windows: dict[tuple[str, str], ResponseTimeWindow] = {}
        self._second: int | None = None
        self._users = 0
        self.rows: list[list[str | int | float]] = []

    def fold(self, second: int, event: StatsMerged | StatsReported | StatsReset, users: int) -> None:
        if self._second is not None and second != self._second:
            self._write(self._second)
        if isinstance(event, StatsMerged):
            self._stats.merge(event.delta)
        elif isinstance(event, StatsReported):
            self._stats.merge(event.delta, event.worker_id)
        else:
            self._stats = RunStats()
            self._windows.clear()
        self._second, self._users = second, users

    def finish(self, users: int) -> list[list[str | int | float]]:
        if self._second is not None:
            self._users = users
            self._write(self._second)
            self._second = None
        return self.rows

    def _write(self, second: int) -> None:
        now = float(second + 1)
        for entry in [*self._stats.sorted_entries(), self._stats.total]:
            window = self._windows.setdefault((entry.method, entry.name), ResponseTimeWindow())
            if entry.num_requests:
                current = window.percentiles(second, entry, REPORTED_PERCENTILES)
                percentiles: list[str | int] = [round(p) for p in current or [0.0] * len(REPORTED_PERCENTILES)]
            else:
                percentiles = ["N/A"] * len(REPORTED_PERCENTILES)
            window.remember(second, entry)
            self.rows.append(
                [
                    second,
                    self._users,
                    entry.method,
                    entry.name,
                    f"{entry.current_rps(now):2f}",
                    f"{entry.current_fail_per_sec(now):2f}",
                    *percentiles,
                    entry.num_requests,
                    entry.num_failures,
                    round(entry.median_response_time),
                    entry.avg_response_time,
                    entry.min_response_time or 0,
                    entry.max_response_time or 0,
                    entry.avg_content_length,
                ]
            )


class JsonPlugin(Plugin):
    """`path`: horde's summary to that file (`.json` added if missing, as Locust's --json-file; `-`: stdout);
    `stdout`: Locust's `--json`, the final statistics entries as Locust serialises them, on stdout."""

    name = "json"
    event_types = ("-",)  # nothing: the summary is the final statistics

    def configure(self, options: dict[str, Any]) -> None:
        self._stdout = option(options, "stdout", _flag, False)
        path = str(options.get("path") or "")
        if not path and not self._stdout:
            raise PluginError(f"needs path= or stdout=true (--plugin-opt {self.name}.path=...)")
        self._path = path if not path or path == "-" or path.endswith(".json") else path + ".json"

    def on_run_end(self, result: RunEnd) -> int | None:
        if self._path:
            text = json.dumps(summary_dict(result.stats), indent=2, sort_keys=True)
            if self._path == "-":
                print(text, flush=True)
            else:
                with open(self._path, "w", encoding="utf-8") as f:
                    f.write(text + "\n")
        if self._stdout:
            print(json.dumps(locust_entries(result.stats), indent=4), flush=True)
        return None


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def locust_entries(stats: RunStats) -> list[dict[str, Any]]:
    """The final statistics as Locust's `--json` prints them: one object per request name that saw a request,
    with Locust's keys; `response_times` maps a rounded response time (ms) to its count, from the histogram."""
    entries = []
    for entry in stats.sorted_entries():
        if entry.num_requests == 0 and entry.num_failures == 0:
            continue
        response_times: dict[int, int] = {}
        for bucket, count in entry.buckets.pairs():
            key = round(value_of(bucket))
            response_times[key] = response_times.get(key, 0) + count
        seconds = sorted(entry.requests_per_second) or [0]
        entries.append(
            {
                "name": entry.name,
                "method": entry.method,
                "last_request_timestamp": seconds[-1],
                "start_time": seconds[0],
                "num_requests": entry.num_requests,
                "num_none_requests": entry.num_none_requests,
                "num_failures": entry.num_failures,
                "total_response_time": entry.total_response_time,
                "max_response_time": entry.max_response_time or 0,
                "min_response_time": entry.min_response_time,
                "total_content_length": entry.total_content_length,
                "response_times": response_times,
                "num_reqs_per_sec": dict(sorted(entry.requests_per_second.items())),
                "num_fail_per_sec": dict(sorted(entry.failures_per_second.items())),
            }
        )
    return entries


class HtmlPlugin(Plugin):
    name = "html"
    event_types = ("-",)

    def configure(self, options: dict[str, Any]) -> None:
        self._path = _required(options, "path", self.name)

    def on_run_end(self, result: RunEnd) -> int | None:
        with open(self._path, "w", encoding="utf-8") as f:
            f.write(render_html(result.stats, result.journal_path))
        return None


_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse}"
    "th,td{padding:.3em .7em;border-bottom:1px solid #ddd;text-align:right}th:nth-child(-n+2),td:nth-child(-n+2)"
    "{text-align:left}tr.total td{font-weight:bold}svg{background:#fafafa;border:1px solid #ddd}"
)


def render_html(stats: RunStats, journal_path: str) -> str:
    """One self-contained page: the statistics table and an inline SVG of requests/s over time (no JS, no CSS file)."""
    rows = []
    for entry in [*stats.sorted_entries(), stats.total]:
        p50, p95, p99 = entry.percentiles((0.5, 0.95, 0.99)) if entry.num_timed_requests else (0.0, 0.0, 0.0)
        cells = [
            entry.method,
            entry.name,
            entry.num_requests,
            entry.num_failures,
            *(f"{value:.1f}" for value in (p50, p95, p99, entry.avg_response_time)),
            f"{entry.total_rps:.2f}",
        ]
        cls = ' class="total"' if entry is stats.total else ""
        rows.append(f"<tr{cls}>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    header = ["Type", "Name", "Requests", "Failures", "p50 ms", "p95 ms", "p99 ms", "Avg ms", "req/s"]
    table = "<table><tr>" + "".join(f"<th>{h}</th>" for h in header) + "</tr>" + "".join(rows) + "</table>"
    return (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>horde report</title>'
        f"<style>{_CSS}</style></head><body>\n<h1>horde report</h1>\n"
        f"<p>Journal: <code>{html.escape(journal_path)}</code></p>\n<h2>Requests per second</h2>\n"
        f"{_rps_chart(stats)}\n<h2>Statistics</h2>\n{table}\n</body></html>\n"
    )


def _rps_chart(stats: RunStats, width: int = 720, height: int = 200, pad: int = 30) -> str:
    history = stats.history()
    if not history:
        return "<p>No requests.</p>"
    first = history[0].second
    span = max(history[-1].second - first, 1)
    peak = max(max(row.requests for row in history), 1)

    def point(second: int, value: int) -> str:
        x = pad + (second - first) * (width - 2 * pad) / span
        y = height - pad - value * (height - 2 * pad) / peak
        return f"{x:.1f},{y:.1f}"

    requests = " ".join(point(row.second, row.requests) for row in history)
    failures = " ".join(point(row.second, row.failures) for row in history)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img"'
        ' aria-label="requests per second">'
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" stroke="#999"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#999"/>'
        f'<text x="{pad + 4}" y="{pad - 8}" font-size="11">{peak} req/s</text>'
        f'<text x="{width - pad}" y="{height - 8}" font-size="11" text-anchor="end">{span} s</text>'
        f'<polyline fill="none" stroke="#2a6fdb" stroke-width="2" points="{requests}"/>'
        f'<polyline fill="none" stroke="#d33" stroke-width="1.5" points="{failures}"/>'
        "</svg>"
    )
