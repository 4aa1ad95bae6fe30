"""Example plugin: stop the run when the failure ratio over the last N seconds passes a limit.

`--plugin failure_guard --plugin-opt failure_guard.window=10 failure_guard.max_ratio=0.2` (and `min_requests`,
20 by default, so a handful of early errors does not end a run). It folds the `stats.merged` events itself (the
per-second request and failure counts every delta carries; `stats.reported` in journals before ADR 0027), keeping
only the seconds inside its window, and asks the Master to stop with the reason, which the journal records in
`run.state_changed` and `plugin.failure_guard.tripped`.
"""

from __future__ import annotations

from typing import Any

from horde.plugin import EventRecord, Plugin, PluginError, option
from horde.protocol.events import StatsMerged, StatsReported


class FailureGuardPlugin(Plugin):
    name = "failure_guard"
    event_types = ("stats.reported", "stats.merged")

    def configure(self, options: dict[str, Any]) -> None:
        self.window = option(options, "window", float, 10.0)
        self.max_ratio = option(options, "max_ratio", float, 0.2)
        self.min_requests = option(options, "min_requests", int, 20)
        if self.window <= 0 or not 0 <= self.max_ratio < 1 or self.min_requests < 1:
            raise PluginError("window must be > 0, max_ratio in [0, 1), min_requests >= 1")
        self._seconds: dict[int, list[int]] = {}
        self.tripped = False

    def on_event(self, record: EventRecord) -> None:
        event = record.data
        if self.tripped or not isinstance(event, StatsMerged | StatsReported):
            return
        for delta in event.delta.seconds:
            counts = self._seconds.setdefault(delta.second, [0, 0])
            counts[0] += delta.num_requests
            counts[1] += delta.num_failures
        if not self._seconds:
            return
        newest = max(self._seconds)
        oldest = newest - self.window
        for second in [s for s in self._seconds if s <= oldest]:
            del self._seconds[second]
        requests = sum(c[0] for c in self._seconds.values())
        failures = sum(c[1] for c in self._seconds.values())
        if requests >= self.min_requests and failures / requests > self.max_ratio:
            self.tripped = True
            ratio = failures / requests
            reason = f"failure ratio {ratio:.1%} over the last {self.window:g} s is above {self.max_ratio:.1%}"
            self.context.emit(
                "tripped", {"ratio": ratio, "requests": requests, "failures": failures, "window": self.window}
            )
            self.context.stop_run(reason)
