"""The console reporter: the live table every couple of seconds, and the final summary.

It reads the merged statistics through its context (the StatsAggregator's fold) instead of folding
`stats.reported` itself: the live table needs the Master's state and the workers' user counts too, which only
the control plane has, and a reporter must show the exact figures even if its event queue ever overflowed.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import time
from typing import Any

import gevent

from horde.plugin import Plugin, RunEnd, option
from horde.runtime.reports import format_errors_table, format_percentiles_table, format_stats_table

TABLE_INTERVAL = 2.0


def _flag(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).strip().lower() in ("1", "true", "yes", "on")


class ConsolePlugin(Plugin):
    name = "console"
    event_types = ("run.state_changed",)

    def configure(self, options: dict[str, Any]) -> None:
        settings = self.context.settings
        self._only_summary = option(options, "only_summary", _flag, bool(settings.get("only_summary", False)))
        self._interval = option(options, "interval", float, TABLE_INTERVAL)
        self._greenlet: gevent.Greenlet | None = None
        self._started = time.monotonic()
        # with Locust's --json, stdout is the JSON alone (Locust prints its tables to stderr)
        self._out: Any = sys.stderr if _flag(settings.get("json", False)) else sys.stdout

    def on_started(self) -> None:
        self._started = time.monotonic()
        if not self._only_summary:
            self._greenlet = gevent.spawn(self._loop)

    def on_stopped(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _loop(self) -> None:
        while True:
            gevent.sleep(self._interval)
            state = self.context.master_state()
            workers = self.context.workers()
            users = sum(w.user_count for w in workers.values())
            elapsed = time.monotonic() - self._started
            line = (
                f"[{elapsed:5.0f}s] {state.run_state}: {users}/{state.target_users or 0} users"
                f" on {len(state.active_workers())} worker(s)"
            )
            if not self._write(f"{line}\n{format_stats_table(self.context.stats(), time.time())}\n\n"):
                return

    def on_run_end(self, result: RunEnd) -> int | None:
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None
        summary = io.StringIO()
        print_summary(result, self.context.settings, summary)
        self._write(summary.getvalue())
        return None

    def _write(self, text: str) -> bool:
        """Writes to the console unless its reader has gone (`horde run ... | head`): then the run goes on, silent,
        and ends with its own exit code, not a traceback. False once the reader has gone."""
        if self._out is None:
            return False
        try:
            self._out.write(text)
            self._out.flush()
        except BrokenPipeError:
            with contextlib.suppress(OSError, ValueError):
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, self._out.fileno())  # what is still buffered for the pipe goes nowhere, quietly
                os.close(devnull)
            self._out = None
            return False
        return True


def print_summary(result: RunEnd, settings: Any, out: Any = None) -> None:
    stats, out = result.stats, out or sys.stdout
    print("\n=== Summary ===", file=out)
    print(format_stats_table(stats, time.time(), current=False), file=out)
    print(format_percentiles_table(stats), file=out)
    if stats.errors:
        print(format_errors_table(stats), file=out)
    print(f"\nJournal: {result.journal_path}", file=out)
    csv_prefix, html_path = settings.get("csv"), settings.get("html")
    if csv_prefix:
        written = _unless_unwritten(result, f"{csv_prefix}_*.csv")
        print(f"CSV: {csv_prefix}_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv{written}", file=out)
    for label, path in (("JSON (Locust's)", settings.get("json_file")), ("JSON summary", settings.get("summary_json"))):
        if path and path != "-":
            path = path if path.endswith(".json") else path + ".json"
            print(f"{label}: {path}{_unless_unwritten(result, path)}", file=out)
    if html_path:
        print(f"HTML report: {html_path}{_unless_unwritten(result, html_path)}", file=out)
    out.flush()


def _unless_unwritten(result: RunEnd, path: str) -> str:
    """Nothing for a file that was written; what went wrong for one a reporter could not write."""
    reason = result.unwritten.get(path)
    return "" if reason is None else f" -- NOT WRITTEN: {reason}"
