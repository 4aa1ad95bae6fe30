"""The WorkerProxy: the master's view of one worker, one actor per admitted worker.

It owns everything the master knows about that worker (state, last heartbeat, CPU, memory, users per class) and
decides when the worker is missing, so a thousand workers are a thousand small independent states rather than one
big table in the master.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from horde.actors.base import EventSourcedActor, JournalSink, Query
from horde.protocol.events import (
    Event,
    WorkerCpuWarning,
    WorkerHeartbeat,
    WorkerJoined,
    WorkerLeft,
    WorkerMissing,
    WorkerStateChanged,
    WorkerUsersReported,
)
from horde.protocol.messages import Heartbeat, Spawning, SpawningComplete, Stopped
from horde.protocol.states import GONE_STATES, WorkerState

CPU_WARNING_PERCENT = 90.0


@dataclass(frozen=True, slots=True)
class WorkerProxyState:
    worker_id: str
    incarnation: str
    index: int
    hostname: str
    state: WorkerState = WorkerState.READY
    last_heard_at: float = 0.0
    cpu_percent: float = 0.0
    memory_bytes: int = 0
    user_count: int = 0
    user_counts: dict[str, int] = field(default_factory=dict)
    cpu_warned: bool = False


@dataclass(frozen=True, slots=True)
class FromWorker:
    now: float
    message: Heartbeat | Spawning | SpawningComplete | Stopped
    cause: str = "worker"


@dataclass(frozen=True, slots=True)
class LivenessTick:
    now: float
    silence_limit: float
    heard_at: float = -math.inf
    """The worker's latest message as the master's liveness table saw it: later than the proxy's own when the
    heartbeats since were not news (ADR 0028)."""
    cause: str = "liveness_tick"


class GetWorker(Query):
    __slots__ = ()


LIVE_STATES = frozenset(
    (WorkerState.READY, WorkerState.SPAWNING, WorkerState.RUNNING, WorkerState.STOPPING, WorkerState.STOPPED)
)
"""The states of a worker's heartbeat that the proxy takes over (a connecting or quitting worker's are not)."""


def initial_state(joined: WorkerJoined) -> WorkerProxyState:
    return WorkerProxyState(
        joined.worker_id, joined.incarnation, joined.index, joined.hostname, last_heard_at=joined.at
    )


def _state_change(state: WorkerProxyState, new: WorkerState, now: float) -> list[Event]:
    if new == state.state:
        return []
    return [WorkerStateChanged(state.worker_id, new, state.state, now)]


def decide(state: WorkerProxyState, message: FromWorker | LivenessTick) -> list[Event]:
    if state.state in GONE_STATES:
        return []
    if isinstance(message, LivenessTick):
        silent_for = message.now - max(state.last_heard_at, message.heard_at)
        if silent_for > message.silence_limit:
            return [WorkerMissing(state.worker_id, round(silent_for, 3), message.now)]
        return []
    now, msg = message.now, message.message
    if isinstance(msg, Heartbeat):
        events: list[Event] = [
            WorkerHeartbeat(
                state.worker_id,
                msg.state,
                msg.cpu_percent,
                msg.memory_bytes,
                msg.user_count,
                msg.worker_time,
                now,
            )
        ]
        if msg.cpu_percent > CPU_WARNING_PERCENT and not state.cpu_warned:
            events.append(WorkerCpuWarning(state.worker_id, msg.cpu_percent))
        if msg.state in LIVE_STATES:
            events += _state_change(state, WorkerState(msg.state), now)
        return events
    if isinstance(msg, Spawning):
        return _state_change(state, WorkerState.SPAWNING, now)
    if isinstance(msg, SpawningComplete):
        return [
            WorkerUsersReported(state.worker_id, msg.step, dict(msg.user_counts)),
            *_state_change(state, WorkerState.RUNNING, now),
        ]
    return _state_change(state, WorkerState.STOPPED, now)


def apply(state: WorkerProxyState, event: Event) -> WorkerProxyState:
    if isinstance(event, WorkerHeartbeat):
        return replace(
            state,
            last_heard_at=event.at,
            cpu_percent=event.cpu_percent,
            memory_bytes=event.memory_bytes,
            user_count=event.user_count,
        )
    if isinstance(event, WorkerStateChanged):
        return replace(state, state=event.state, last_heard_at=max(state.last_heard_at, event.at))
    if isinstance(event, WorkerUsersReported):
        return replace(state, user_counts=event.user_counts, user_count=sum(event.user_counts.values()))
    if isinstance(event, WorkerCpuWarning):
        return replace(state, cpu_warned=True)
    if isinstance(event, WorkerMissing):
        return replace(state, state=WorkerState.MISSING, user_counts={}, user_count=0)
    if isinstance(event, WorkerLeft):
        return replace(state, state=WorkerState.LEFT, user_counts={}, user_count=0)
    return state


class WorkerProxy(EventSourcedActor[WorkerProxyState]):
    def __init__(
        self,
        joined: WorkerJoined | WorkerProxyState,
        journal: JournalSink,
        notify_master: Callable[[Event], None],
    ) -> None:
        """From a `worker.joined` event, or from a replayed state when a master resumes."""
        state = initial_state(joined) if isinstance(joined, WorkerJoined) else joined
        super().__init__(state, journal)
        self.source = f"worker:{state.worker_id}"
        self._notify_master = notify_master

    def decide(self, state: WorkerProxyState, message: FromWorker | LivenessTick) -> list[Event]:
        return decide(state, message)

    def apply(self, state: WorkerProxyState, event: Event) -> WorkerProxyState:
        return apply(state, event)

    def react(self, event: Event, message: object) -> None:
        if isinstance(event, WorkerStateChanged | WorkerMissing | WorkerCpuWarning):
            self._notify_master(event)

    def answer(self, query: Query) -> WorkerProxyState:
        return self.state
