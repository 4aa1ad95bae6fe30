"""Example plugin: a Prometheus exporter serving `/metrics` on 127.0.0.1 while the run goes on.

`--plugin prometheus --plugin-opt prometheus.port=9646` (0, the default, picks a free port and prints it). The
text exposition format is written by hand, so there is no new dependency. Every scrape reads the control plane's
current state through the plugin context (the same asks the console uses); the plugin wants no events at all,
so however slow the scrapers, the journal never waits for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import structlog
from gevent.pywsgi import WSGIServer

from horde.plugin import Plugin, option
from horde.protocol.states import RunState, WorkerState
from horde.stats import histogram
from horde.stats.run_stats import EntryStats

log = structlog.get_logger("horde.plugins.prometheus")

BUCKETS_MS: tuple[float, ...] = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
RUN_STATES = tuple(RunState)
WORKER_STATES = (
    WorkerState.READY,
    WorkerState.SPAWNING,
    WorkerState.RUNNING,
    WorkerState.STOPPING,
    WorkerState.STOPPED,
    WorkerState.MISSING,
)

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class PrometheusPlugin(Plugin):
    name = "prometheus"
    event_types = ("-",)

    def configure(self, options: dict[str, Any]) -> None:
        self._port = option(options, "port", int, 0)
        self._host = str(options.get("host", "127.0.0.1"))
        self._server: WSGIServer | None = None
        self.port = 0

    def on_started(self) -> None:
        self._server = WSGIServer((self._host, self._port), self._app, log=None, error_log=None)
        self._server.start()
        self.port = self._server.server_port
        print(f"prometheus: serving http://{self._host}:{self.port}/metrics", flush=True)

    def on_stopped(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"try /metrics\n"]
        try:
            body = "".join(self.exposition()).encode()
        except Exception as exc:  # the run may be ending under the scrape
            log.warning("metrics unavailable", error=repr(exc))
            start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
            return [b"metrics unavailable\n"]
        start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8")])
        return [body]

    def exposition(self) -> Iterator[str]:
        stats = self.context.stats()
        entries = stats.sorted_entries()
        yield "# HELP horde_requests_total Requests made, per endpoint.\n# TYPE horde_requests_total counter\n"
        for e in entries:
            yield f'horde_requests_total{{method="{_label(e.method)}",name="{_label(e.name)}"}} {e.num_requests}\n'
        yield "# HELP horde_failures_total Failed requests, per endpoint.\n# TYPE horde_failures_total counter\n"
        for e in entries:
            yield f'horde_failures_total{{method="{_label(e.method)}",name="{_label(e.name)}"}} {e.num_failures}\n'
        yield "# HELP horde_response_time_ms Response times, per endpoint.\n# TYPE horde_response_time_ms histogram\n"
        for e in entries:
            yield from _histogram(e)
        workers = self.context.workers()
        users: dict[str, int] = {}
        for worker in workers.values():
            for cls, count in worker.user_counts.items():
                users[cls] = users.get(cls, 0) + count
        yield "# HELP horde_users Running users, per user class.\n# TYPE horde_users gauge\n"
        for cls, count in sorted(users.items()):
            yield f'horde_users{{user_class="{_label(cls)}"}} {count}\n'
        by_state = dict.fromkeys(WORKER_STATES, 0)
        for worker in workers.values():
            by_state[worker.state] = by_state.get(worker.state, 0) + 1
        yield "# HELP horde_workers Workers, per state.\n# TYPE horde_workers gauge\n"
        for worker_state, count in by_state.items():
            yield f'horde_workers{{state="{_label(worker_state)}"}} {count}\n'
        run_state = self.context.master_state().run_state
        yield "# HELP horde_run_state The run's state (1 for the current one).\n# TYPE horde_run_state gauge\n"
        for state in RUN_STATES:
            yield f'horde_run_state{{state="{state}"}} {int(state == run_state)}\n'


def _histogram(entry: EntryStats) -> Iterator[str]:
    """Cumulative buckets from horde's log-linear histogram (each bucket counted at its representative value)."""
    labels = f'method="{_label(entry.method)}",name="{_label(entry.name)}"'
    values = sorted((histogram.value_of(bucket), count) for bucket, count in entry.buckets.pairs())
    cumulative, index = 0, 0
    for bound in BUCKETS_MS:
        while index < len(values) and values[index][0] <= bound:
            cumulative += values[index][1]
            index += 1
        yield f'horde_response_time_ms_bucket{{{labels},le="{_number(bound)}"}} {cumulative}\n'
    timed = entry.num_timed_requests
    yield f'horde_response_time_ms_bucket{{{labels},le="+Inf"}} {timed}\n'
    yield f"horde_response_time_ms_sum{{{labels}}} {_number(entry.total_response_time)}\n"
    yield f"horde_response_time_ms_count{{{labels}}} {timed}\n"
