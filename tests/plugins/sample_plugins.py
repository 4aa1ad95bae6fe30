"""Plugins the tests load with `--plugin tests.plugins.sample_plugins:NAME`: good, failing, slow, too new."""

from __future__ import annotations

import time
from typing import Any

from horde.plugin import EventRecord, Plugin, PluginError, RunEnd


class Recorder(Plugin):
    """Counts what it sees and says so in the journal, with a note at start: the API's happy path."""

    name = "recorder"

    def configure(self, options: dict[str, Any]) -> None:
        if "label" not in options:
            raise PluginError("needs label=")
        self.label = options["label"]
        self.seqs: list[int] = []
        self.types: set[str] = set()

    def on_started(self) -> None:
        self.context.note(f"recorder {self.label} started")

    def on_event(self, record: EventRecord) -> None:
        self.seqs.append(record.seq)
        self.types.add(record.type)

    def on_run_end(self, result: RunEnd) -> int | None:
        self.context.emit(
            "seen",
            {"label": self.label, "seqs": self.seqs, "types": sorted(self.types),
             "requests": result.stats.total.num_requests},
        )  # fmt: skip
        return None


class Exploding(Plugin):
    """Raises on every event: must be restarted, then disabled, and never hurt the run."""

    name = "exploding"
    max_restarts = 2

    def on_event(self, record: EventRecord) -> None:
        raise RuntimeError(f"boom at {record.seq}")


class Slow(Plugin):
    """Sleeps in its handler far longer than events arrive: it must drop events, not slow the run."""

    name = "slow"
    queue_size = 3

    def configure(self, options: dict[str, Any]) -> None:
        self.delay = float(options.get("delay", 0.5))

    def on_event(self, record: EventRecord) -> None:
        time.sleep(self.delay)


class Stuck(Plugin):
    """Hangs in its handler: the handler timeout turns that into a failure, so it is restarted, then disabled."""

    name = "stuck"
    handler_timeout = 0.2
    max_restarts = 1

    def on_event(self, record: EventRecord) -> None:
        time.sleep(30)


class FromTheFuture(Plugin):
    name = "future"
    api_version = 99
