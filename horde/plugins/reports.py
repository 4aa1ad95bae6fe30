"""The file reporters: Locust's CSV files (`--csv PREFIX`), Locust's JSON statistics (`--json` on stdout,
`--json-file PATH`), horde's JSON summary (`--summary-json PATH`), the HTML report (`--html PATH`).

Each writes at the run's end from the final merged statistics handed to `on_run_end` (the StatsAggregator's
fold of every `stats.merged`, exactly what the journal replays to), so the files are the same as before
reporters were plugins. The CSV history's user counts are the one thing folded from events: the workers'
heartbeats and spawn reports, second by second.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, cast

import msgspec

from horde._version import __version__
from horde.plugin import EventRecord, Plugin, PluginError, RunEnd, option
from horde.plugins.html_report import render_html
from horde.plugins.report_story import STORY_EVENT_TYPES, RunStory
from horde.protocol.events import (
    Event,
    StatsMerged,
    StatsReported,
    StatsReset,
    WorkerHeartbeat,
    WorkerLeft,
    WorkerMissing,
    WorkerUsersReported,
)
from horde.protocol.journal import Record
from horde.runtime.output_files import OutputUnwritable, check_writable, describe, write_atomically
from horde.runtime.reports import CSV_SUFFIXES, write_csv
from horde.runtime.task_ratio import task_ratio_report, user_distribution
from horde.stats.current_window import ResponseTimeWindow
from horde.stats.histogram import value_of
from horde.stats.run_stats import REPORTED_PERCENTILES, RunStats
from horde.stats.summary import summary_dict


def _writable(path: str) -> str:
    """`path`, if a file can be written there: checked when the plugin is configured, before any load."""
    try:
        check_writable(path)
    except OutputUnwritable as exc:
        raise PluginError(str(exc)) from None
    return path


def _not_written(result: RunEnd, path: str, exc: OSError) -> int:
    """A report that could not be written at the end: said on stderr, named in the summary, exit code 1."""
    result.unwritten[path] = describe(exc)
    print(f"horde: error: {path} was not written: {describe(exc)}", file=sys.stderr, flush=True)
    return 1


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
        _writable(self._prefix + CSV_SUFFIXES[0])
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
        try:
            write_csv(self._prefix, result.stats, self.user_counts, history)
        except OSError as exc:
            return _not_written(result, f"{self._prefix}_*.csv", exc)
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
    """Locust's JSON outputs and horde's summary (ADR 0030).

    `path` (Locust's `--json-file`): the final statistics entries as Locust serialises them, to that file;
    `stdout` (Locust's `--json`): the same on stdout; `summary` (`--summary-json`): horde's summary, with the
    percentiles, errors and exceptions Locust's entries lack. A file name gets `.json` if it lacks it; `-` is stdout.
    """

    name = "json"
    event_types = ("-",)  # nothing: the outputs are the final statistics

    def configure(self, options: dict[str, Any]) -> None:
        self._stdout = option(options, "stdout", _flag, False)
        self._path = _json_name(str(options.get("path") or ""))
        self._summary = _json_name(str(options.get("summary") or ""))
        if not (self._path or self._summary or self._stdout):
            raise PluginError(f"needs path=, summary= or stdout=true (--plugin-opt {self.name}.path=...)")
        for path in (self._path, self._summary):
            if path and path != "-":
                _writable(path)

    def on_run_end(self, result: RunEnd) -> int | None:
        code = None
        if self._summary:
            code = _write_json(result, self._summary, json.dumps(summary_dict(result.stats), indent=2, sort_keys=True))
        if self._path or self._stdout:
            text = json.dumps(locust_entries(result.stats), indent=4)
            if self._path:
                code = _write_json(result, self._path, text) or code
            if self._stdout and self._path != "-":
                print(text, flush=True)
        return code


def _json_name(path: str) -> str:
    return path if not path or path == "-" or path.endswith(".json") else path + ".json"


def _write_json(result: RunEnd, path: str, text: str) -> int | None:
    if path == "-":
        print(text, flush=True)
        return None
    try:
        write_atomically(path, lambda f: f.write(text + "\n"))
    except OSError as exc:
        return _not_written(result, path, exc)
    return None


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


def locust_response_time_key(value_ms: float) -> int:
    """Locust's rounding of a response time to a `response_times` key: about two significant digits, so
    147 -> 150 and 3432 -> 3400 (its `bucket_response_time`); below 100 ms, to the millisecond."""
    if value_ms < 100:
        return round(value_ms)
    digits = -1 if value_ms < 1000 else -2 if value_ms < 10000 else -3
    return int(round(value_ms, digits))


def locust_entries(stats: RunStats) -> list[dict[str, Any]]:
    """The final statistics as Locust's `--json` and `--json-file` write them: one object per request name that
    saw a request, with Locust's keys in Locust's order; `response_times` maps a response time rounded as
    Locust rounds it (ms) to its count, read from the histogram, and the timestamps are whole seconds."""
    entries = []
    for entry in stats.sorted_entries():
        if entry.num_requests == 0 and entry.num_failures == 0:
            continue
        response_times: dict[int, int] = {}
        for bucket, count in entry.buckets.pairs():
            key = locust_response_time_key(value_of(bucket))
            response_times[key] = response_times.get(key, 0) + count
        seconds = sorted({*entry.requests_per_second, *entry.failures_per_second}) or [0]
        entries.append(
            {
                "name": entry.name,
                "method": entry.method,
                "last_request_timestamp": float(seconds[-1]),
                "start_time": float(seconds[0]),
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
    """`path`: the HTML report (`--html`), written at the run's end; the journal's events it tells beside the
    statistics are folded as they come, so nothing is read back from the file."""

    name = "html"
    event_types = STORY_EVENT_TYPES

    def configure(self, options: dict[str, Any]) -> None:
        self._path = _writable(_required(options, "path", self.name))
        self._story = RunStory(config=dict(self.context.settings), horde_version=__version__)

    def on_event(self, record: EventRecord) -> None:
        data = record.data
        event = cast(Event, data) if isinstance(data, msgspec.Struct) else msgspec.Raw(msgspec.json.encode(data))
        self._story.fold(
            Record(record.seq, 1, record.mono_ns, record.wall_ns, record.source, record.cause, record.type, event)
        )

    def on_run_end(self, result: RunEnd) -> int | None:
        self._story.stop_reason = self._story.stop_reason or result.stop_reason
        self._story.read_header_of(result.journal_path)
        ratios = None
        if result.user_classes:
            counts = self._story.peak_users() or user_distribution(result.user_classes, self._story.config.get("users"))
            ratios = task_ratio_report(result.user_classes, counts)
        page = render_html(result.stats, result.journal_path, self._story, ratios)
        try:
            write_atomically(self._path, lambda f: f.write(page))
        except OSError as exc:
            return _not_written(result, self._path, exc)
        return None
