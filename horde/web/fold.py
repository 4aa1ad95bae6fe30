"""The page's fold of a run's journal: replay's own fold, plus what the page marks on top of it.

`PageFold` feeds every record to `horde.actors.replay.Replay` (so every panel shows exactly the state replay
rebuilds) and keeps two things replay has no use for: the notable events, as markers for the charts' time axis,
and each worker's joins and silences, so the workers panel can mark a missing worker and one that rejoined. Live
and post-mortem pages use it alike; only who feeds it and when differ.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import msgspec

from horde.actors.replay import Replay, ReplayState
from horde.protocol.events import EVENT_NAMES, EVENT_VERSIONS, WorkerJoined, WorkerMissing
from horde.protocol.journal import Record
from horde.web import view


class Notable(Protocol):
    """What a timeline entry offers: `horde replay --timeline`'s sentences, handed in by the command line."""

    @property
    def seq(self) -> int: ...
    @property
    def text(self) -> str: ...


Timeline = Callable[[Iterable[Record]], Iterator[Notable]]
"""Picks the notable events of some records (`horde.protocol.timeline.timeline`)."""

MAX_MARKERS = 2_000
"""A page shows at most this many markers; a run with more keeps the first ones (the ramp, the first errors)."""


@dataclass(frozen=True, slots=True)
class Marker:
    seq: int
    mono_ns: int
    wall_ns: int
    type: str
    text: str

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "t": self.wall_ns / 1e9, "type": self.type, "text": self.text}


def record_of(seq: int, item: Any) -> Record:
    """A record as the journal wrote it, from the `Append` its subscriber was handed."""
    type_name = getattr(item, "type_name", "") or EVENT_NAMES.get(type(item.event), type(item.event).__name__)
    return Record(
        seq,
        EVENT_VERSIONS.get(type_name, 1),
        item.mono_ns,
        item.wall_ns,
        item.source,
        item.cause,
        type_name,
        item.event,
    )


class PageFold:
    """Replay's fold plus the markers and the workers' story."""

    def __init__(self, timeline: Timeline | None) -> None:
        self.replay = Replay()
        self._timeline = timeline
        self.markers: list[Marker] = []
        self._said: set[str] = set()
        self.joins: dict[str, list[int]] = {}
        """Each worker's joins (mono_ns), the first included: more than one is a rejoin."""
        self.silences: dict[str, list[int]] = {}
        """When each worker was judged missing (mono_ns)."""
        self._story: dict[str, dict[str, Any]] = {}
        """`story()` up to now, kept as events come (a live page asks for it every second)."""
        self.hosts: list[tuple[int, str]] = []
        """Hosts the page set (`web.swarm`), with when (mono_ns): the run's configured host until the first."""

    def feed(self, record: Record) -> Marker | None:
        """Fold one record; the marker it made, if it is notable."""
        self.replay.feed(record)
        event = record.event
        if isinstance(event, WorkerJoined):
            joins = self.joins.setdefault(event.worker_id, [])
            joins.append(record.mono_ns)
            told = self._story.setdefault(event.worker_id, {"rejoined": False, "missed": 0})
            told["rejoined"] = len(joins) > 1
        elif isinstance(event, WorkerMissing):
            self.silences.setdefault(event.worker_id, []).append(record.mono_ns)
            told = self._story.setdefault(event.worker_id, {"rejoined": False, "missed": 0})
            told["missed"] += 1
        elif record.type == "web.swarm" and isinstance(event, msgspec.Raw):
            host = msgspec.json.decode(bytes(event)).get("host")
            if isinstance(host, str) and host:
                self.hosts.append((record.mono_ns, host))
        if self._timeline is None or (isinstance(event, msgspec.Raw) and not record.type.startswith("plugin.")):
            return None
        made = None
        for entry in self._timeline([record]):
            if entry.text in self._said or len(self.markers) >= MAX_MARKERS:
                continue  # a first error is said once, whichever report carried it
            if record.type in ("stats.reported", "stats.merged"):
                self._said.add(entry.text)
            made = Marker(record.seq, record.mono_ns, record.wall_ns, record.type, entry.text)
            self.markers.append(made)
        return made

    def state(self) -> ReplayState:
        return self.replay.state()

    def host(self, until_mono_ns: int | None = None) -> str | None:
        """The host the page last set, up to a moment (None: now); None if it never set one."""
        chosen = [host for at, host in self.hosts if until_mono_ns is None or at <= until_mono_ns]
        return chosen[-1] if chosen else None

    def story(self, until_mono_ns: int | None = None) -> dict[str, dict[str, Any]]:
        """Per worker, up to a moment (None: now): how often it went missing and whether it joined again."""
        if until_mono_ns is None:
            return self._story
        story: dict[str, dict[str, Any]] = {}
        for worker_id, joins in self.joins.items():
            seen = [t for t in joins if until_mono_ns is None or t <= until_mono_ns]
            missed = [t for t in self.silences.get(worker_id, []) if until_mono_ns is None or t <= until_mono_ns]
            story[worker_id] = {"rejoined": len(seen) > 1, "missed": len(missed)}
        return story


def page_view(
    state: ReplayState,
    now: float,
    story: dict[str, dict[str, Any]],
    mono_now: float | None = None,
    host: str | None = None,
) -> dict[str, Any]:
    """The stats view with each worker's story added (missing count, rejoined), and the host the page set."""
    shown = view.stats_view(state, now, mono_now)
    if host is not None:
        shown["host"] = host
    for row in shown["workers"]:
        told = story.get(row["id"], {})
        row["rejoined"] = bool(told.get("rejoined"))
        row["missed"] = int(told.get("missed", 0))
    return shown
