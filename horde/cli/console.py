"""What a person sees in the terminal during and after a run, and the report files written at the end."""

from __future__ import annotations

import json
import sys
import time

import gevent

from horde.actors.control_plane import ControlPlane
from horde.cli.options import RunOptions
from horde.runtime.reports import format_errors_table, format_percentiles_table, format_stats_table, write_csv
from horde.runtime.stats import RunStats, summary_dict

TABLE_INTERVAL = 2.0


class ConsoleReporter:
    """Prints the live table every couple of seconds and samples the user count for the stats history."""

    def __init__(self, control: ControlPlane, options: RunOptions) -> None:
        self._control = control
        self._options = options
        self._greenlet: gevent.Greenlet | None = None
        self.user_counts: dict[int, int] = {}
        self._started = time.monotonic()

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._loop)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()
        self._sample()

    def _sample(self) -> tuple[str, int, int]:
        state = self._control.master_state()
        workers = self._control.workers()
        users = sum(w.user_count for w in workers.values())
        self.user_counts[int(time.time())] = users
        return state.run_state, users, len(state.active_workers())

    def _loop(self) -> None:
        next_table = time.monotonic() + TABLE_INTERVAL
        while True:
            gevent.sleep(1.0)
            run_state, users, workers = self._sample()
            if self._options.only_summary or time.monotonic() < next_table:
                continue
            next_table = time.monotonic() + TABLE_INTERVAL
            stats = self._control.stats()
            target = self._control.master_state().target_users or 0
            elapsed = time.monotonic() - self._started
            line = f"[{elapsed:5.0f}s] {run_state}: {users}/{target} users on {workers} worker(s)"
            print(f"{line}\n{format_stats_table(stats, time.time())}\n", flush=True)


def print_summary(stats: RunStats, options: RunOptions, journal_path: str) -> None:
    out = sys.stdout
    print("\n=== Summary ===", file=out)
    print(format_stats_table(stats, time.time(), current=False), file=out)
    print(format_percentiles_table(stats), file=out)
    if stats.errors:
        print(format_errors_table(stats), file=out)
    print(f"\nJournal: {journal_path}", file=out)
    if options.csv:
        print(f"CSV: {options.csv}_stats.csv, _stats_history.csv, _failures.csv, _exceptions.csv", file=out)
    if options.json and options.json != "-":
        print(f"JSON summary: {options.json}", file=out)
    out.flush()


def write_outputs(options: RunOptions, stats: RunStats, user_counts: dict[int, int]) -> None:
    if options.csv:
        write_csv(options.csv, stats, user_counts)
    if options.json:
        text = json.dumps(summary_dict(stats), indent=2, sort_keys=True)
        if options.json == "-":
            print(text, flush=True)
        else:
            with open(options.json, "w", encoding="utf-8") as f:
                f.write(text + "\n")
