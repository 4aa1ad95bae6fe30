"""What the page shows, as plain JSON-ready data, computed from a `ReplayState`: the same for a live run and for
any moment of a past one, because both are folds of the same journal events.

Field names follow Locust's `/stats/requests` wherever Locust has the figure, so scripts that read Locust's JSON
read horde's unchanged.
"""

from __future__ import annotations

import time
from typing import Any

from horde.actors.replay import ReplayState
from horde.protocol.states import RunState
from horde.stats import histogram
from horde.stats.run_stats import CURRENT_WINDOW_SECONDS, INCOMPLETE_SECONDS, EntryStats, RunStats
from horde.stats.summary import errors_summary

MAX_ENTRIES = 500
"""As Locust: the table lists at most this many endpoints (then the total)."""

CHART_PERCENTILES = (0.5, 0.95, 0.99)

LOCUST_STATES = {
    RunState.READY: "ready",
    RunState.SPAWNING: "spawning",
    RunState.RUNNING: "running",
    RunState.STOPPING: "stopping",
    RunState.STOPPED: "stopped",
}


def entry_row(entry: EntryStats, now: float) -> dict[str, Any]:
    """One row of the table, with Locust's keys (and horde's p90 beside Locust's percentiles)."""
    timed = entry.num_timed_requests > 0
    p50, p90, p95, p99 = entry.percentiles((0.5, 0.9, 0.95, 0.99)) if timed else (0.0, 0.0, 0.0, 0.0)
    return {
        "method": entry.method,
        "name": entry.name,
        "safe_name": entry.name,
        "num_requests": entry.num_requests,
        "num_failures": entry.num_failures,
        "avg_response_time": entry.avg_response_time,
        "min_response_time": entry.min_response_time or 0,
        "max_response_time": entry.max_response_time or 0,
        "current_rps": entry.current_rps(now),
        "current_fail_per_sec": entry.current_fail_per_sec(now),
        "median_response_time": p50,
        "ninetieth_response_time": p90,
        "ninety_ninth_response_time": p99,
        "avg_content_length": entry.avg_content_length,
        "total_rps": entry.total_rps,
        "total_fail_per_sec": entry.total_fail_per_sec,
        "response_time_percentile_0.9": p90,
        "response_time_percentile_0.95": p95,
        "response_time_percentile_0.99": p99,
    }


def current_percentiles(stats: RunStats, now: float, ps: tuple[float, ...] = CHART_PERCENTILES) -> list[float]:
    """Response-time percentiles of the requests in the current window (the seconds `current_rps` averages)."""
    end = int(now) - INCOMPLETE_SECONDS
    counts: dict[int, int] = {}
    total = 0
    for second in range(end - CURRENT_WINDOW_SECONDS, end):
        tally = stats.seconds.get(second)
        if tally is None:
            continue
        total += tally.num_timed_requests
        histogram.merge_into(counts, dict(stats.second_buckets(second).pairs()))
    return histogram.percentiles(counts, total, ps) if total else [0.0 for _ in ps]


def users_per_class(state: ReplayState) -> dict[str, int]:
    """Users running per class: what the workers last said they run, else what the Dispatcher assigned (none
    once the run stopped, whatever the workers' last heartbeats said)."""
    counts: dict[str, int] = {}
    if state.master.run_state is RunState.STOPPED:
        return {name: 0 for name in sorted(state.master.config.user_classes)} if state.master.config else {}
    for worker in state.workers.values():
        if worker.state.value in ("missing", "left", "quit"):
            continue
        for name, count in worker.user_counts.items():
            counts[name] = counts.get(name, 0) + count
    if not counts:
        for assigned in state.dispatch.assignment.values():
            for name, count in assigned.items():
                counts[name] = counts.get(name, 0) + count
    return dict(sorted(counts.items()))


def workers(state: ReplayState, mono_now: float | None = None) -> list[dict[str, Any]]:
    """The workers panel: one row per worker that ever joined. `mono_now` (the master's monotonic clock at the
    moment shown) turns the last heartbeat's time into how long ago it was."""
    rows = []
    for worker_id, worker in state.workers.items():
        rows.append(
            {
                "id": worker_id,
                "index": worker.index,
                "hostname": worker.hostname,
                "state": worker.state.value,
                "user_count": worker.user_count,
                "cpu_usage": worker.cpu_percent,
                "memory_usage": worker.memory_bytes,
                "last_heard_at": worker.last_heard_at,
                "heard_ago": max(0.0, mono_now - worker.last_heard_at)
                if mono_now is not None and worker.last_heard_at
                else None,
                "incarnation": worker.incarnation,
            }
        )
    return rows


def stats_view(state: ReplayState, now: float | None = None, mono_now: float | None = None) -> dict[str, Any]:
    """Locust's `/stats/requests` JSON for `state`, plus horde's panels (workers, users per class, target).
    `now` is the wall clock's time of the moment shown, `mono_now` the master's monotonic clock's."""
    now = time.time() if now is None else now
    stats = state.aggregator.stats
    entries = stats.sorted_entries()[:MAX_ENTRIES]
    total = stats.total
    p50, p95, p99 = current_percentiles(stats, now)
    master = state.master
    user_classes = users_per_class(state)
    rows = workers(state, mono_now)
    return {
        "stats": [*(entry_row(entry, now) for entry in entries), entry_row(total, now)],
        "errors": errors_summary(stats),
        "exceptions": exceptions_view(stats),
        "total_rps": total.total_rps,
        "total_fail_per_sec": total.total_fail_per_sec,
        "current_rps": total.current_rps(now),
        "current_fail_per_sec": total.current_fail_per_sec(now),
        "fail_ratio": total.fail_ratio,
        "total_avg_response_time": total.avg_response_time,
        "current_response_time_percentiles": {
            "response_time_percentile_0.5": p50,
            "response_time_percentile_0.95": p95,
            "response_time_percentile_0.99": p99,
        },
        "state": LOCUST_STATES.get(master.run_state, str(master.run_state)),
        "user_count": sum(user_classes.values()),
        "user_classes": user_classes,
        "target_users": master.target_users,
        "spawn_rate": master.spawn_rate,
        "stop_reason": master.stop_reason,
        "host": master.config.host if master.config is not None else None,
        "workers": rows,
        "worker_count": sum(1 for row in rows if row["state"] not in ("missing", "left", "quit")),
        "seq": state.seq,
        "now": now,
    }


def exceptions_view(stats: RunStats) -> list[dict[str, Any]]:
    """Locust's `/exceptions` list: count, message, traceback and the nodes that raised it."""
    return [
        {"count": e.count, "msg": e.message, "traceback": e.traceback, "nodes": ", ".join(sorted(e.nodes))}
        for e in stats.sorted_exceptions()
    ]


def chart_point(state: ReplayState, now: float) -> dict[str, Any]:
    """One point of the charts: total and failed requests per second, response-time percentiles, users per class."""
    stats = state.aggregator.stats
    p50, p95, p99 = current_percentiles(stats, now)
    return {
        "t": now,
        "rps": stats.total.current_rps(now),
        "fps": stats.total.current_fail_per_sec(now),
        "p50": p50,
        "p95": p95,
        "p99": p99,
        "users": users_per_class(state),
    }
