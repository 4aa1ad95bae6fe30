"""The one actor shape every horde actor shares (docs/architecture.md, ADR 0002).

`decide(state, message) -> events` says what happened, `apply(state, event) -> state` is the only place state
changes, and the shell in between journals each event before folding it and then performs its side effects.
Replay is the same `apply` folded over the journal, so a live actor and a replayed one cannot disagree.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import pykka
import structlog

from horde.protocol.events import Event

S = TypeVar("S")

log = structlog.get_logger("horde")


class HordeActor(pykka.ThreadingActor):
    """Every horde actor derives from this, so the actor runtime can be swapped in one place.

    Under full gevent patching pykka's threads and queues are greenlets, so all actors and all virtual users share
    one hub (tests/actors/test_base.py proves it). Daemon "threads" so that an actor left running never keeps a
    finished process alive.
    """

    use_daemon_thread = True


class Query:
    """Marker base for read-only asks: answered from the state, never journaled."""

    __slots__ = ()


class GetState(Query):
    """Ask an actor for its current state (a snapshot: states are replaced, never mutated, except RunStats)."""

    __slots__ = ()


class Append:
    """A request to the journal; mono_ns and wall_ns are taken where the event happened, not where it is written."""

    __slots__ = ("cause", "event", "mono_ns", "source", "wall_ns")

    def __init__(self, source: str, cause: str, event: Event) -> None:
        self.source = source
        self.cause = cause
        self.event = event
        self.mono_ns = time.monotonic_ns()
        self.wall_ns = time.time_ns()


JournalSink = Callable[[Append], None]


class EventSourcedActor(HordeActor, Generic[S]):
    """Shell of an event-sourced actor: subclasses give `decide`, `apply` and `react`, nothing else mutates."""

    source: str = "actor"

    def __init__(self, state: S, journal: JournalSink) -> None:
        super().__init__()
        self.state = state
        self._journal = journal

    def decide(self, state: S, message: Any) -> list[Event]:
        raise NotImplementedError

    def apply(self, state: S, event: Event) -> S:
        raise NotImplementedError

    def journaled(self, event: Event, message: Any) -> bool:
        """Whether this event goes to the journal; a shell may leave out repeats of a flood, never a fact that
        changes state (the Master's rejections, ADR 0024)."""
        return True

    def react(self, event: Event, message: Any) -> None:
        """Side effects an event calls for (send a frame, notify another actor); the state is already updated."""

    def answer(self, query: Query) -> Any:
        raise NotImplementedError(type(query).__name__)

    def cause_of(self, message: Any) -> str:
        return str(getattr(message, "cause", "") or type(message).__name__)

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Query):
            return self.answer(message)
        events = self.decide(self.state, message)
        if events:
            cause = self.cause_of(message)
            for event in events:
                if self.journaled(event, message):
                    self._journal(Append(self.source, cause, event))
                self.state = self.apply(self.state, event)
                self.react(event, message)
        return None

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        log.error("actor crashed", actor=self.source, error=repr(exception_value))
