"""The Dispatcher actor: the shell around the pure dispatch logic of `horde.actors.dispatcher_logic`.

It adds only the clock (a `RampTick` when the ramp's next step is due), the delivery of each step (the users of
every worker whose counts changed go out as one `Spawn`, and the Master hears when the ramp is done), and the
gathering of joins and leaves: those queued behind each other are decided as one burst (`AddWorkers`,
`RemoveWorkers`), so 5,000 workers joining in a few seconds cost a few plans, not 5,000 (ADR 0031).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import gevent

from horde.actors import dispatcher_logic
from horde.actors.base import EventSourcedActor, JournalSink, Query
from horde.protocol import dispatcher_vocabulary as dsp
from horde.protocol.events import Event

SendUsers = Callable[[str, int, dict[str, int]], None]
RampDone = Callable[[int, int], None]


class Halt:
    """Stop ticking: the run is stopping and no further step may go out (until a new test's `StartOver`)."""

    __slots__ = ()


class GetAssignment(Query):
    __slots__ = ()


class _DecideBurst:
    """Sent by the shell to itself behind the first join or leave it holds: by the time it arrives, every join and
    leave queued meanwhile is held too, and they are decided together."""

    __slots__ = ()


Membership = dsp.AddWorker | dsp.RemoveWorker


class Dispatcher(EventSourcedActor[dsp.DispatchState]):
    source = "dispatcher"

    def __init__(
        self,
        classes: Sequence[dsp.UserClassSpec],
        journal: JournalSink,
        send_users: SendUsers,
        ramp_done: RampDone,
        state: dsp.DispatchState | None = None,
    ) -> None:
        super().__init__(state or dispatcher_logic.initial_state(classes), journal)
        self._send_users = send_users
        self._ramp_done = ramp_done
        self._timer: gevent.Greenlet | None = None
        self._halted = False
        self._held: list[Membership] = []

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Membership):
            if not self._held:
                self.actor_ref.tell(_DecideBurst())
            self._held.append(message)
            return None
        # Whatever comes next sees every join and leave before it decided, in the order they came.
        self._decide_held()
        if isinstance(message, _DecideBurst):
            return None
        return self._receive(message)

    def _decide_held(self) -> None:
        """Consecutive joins become one `AddWorkers`, consecutive leaves for one reason one `RemoveWorkers`."""
        held, self._held = self._held, []
        start = 0
        for end in range(1, len(held) + 1):
            if end < len(held) and _same_kind(held[start], held[end]):
                continue
            burst = held[start:end]
            first = burst[0]
            if len(burst) == 1:
                self._receive(first)
            elif isinstance(first, dsp.AddWorker):
                self._receive(dsp.AddWorkers(now=burst[-1].now, worker_ids=tuple(m.worker_id for m in burst)))
            else:
                ids = tuple(m.worker_id for m in burst)
                self._receive(dsp.RemoveWorkers(now=burst[-1].now, worker_ids=ids, reason=first.reason))
            start = end

    def _receive(self, message: Any) -> Any:
        if isinstance(message, Halt):
            self._halted = True
            self._cancel_timer()
            return None
        if isinstance(message, dsp.StartOver):
            self._halted = False  # a new test of the same run (ADR 0034)
        if self._halted and isinstance(message, dsp.RampTick | dsp.RampTo):
            return None
        result = super().on_receive(message)
        if not isinstance(message, Query):
            self._schedule_tick()
        return result

    def decide(self, state: dsp.DispatchState, message: dsp.DispatchCommand) -> list[Event]:
        return list(dispatcher_logic.decide(state, message))

    def apply(self, state: dsp.DispatchState, event: Event) -> dsp.DispatchState:
        assert isinstance(event, dsp.DispatchStep)
        return dispatcher_logic.apply(state, event)

    def react(self, event: Event, message: object) -> None:
        assert isinstance(event, dsp.DispatchStep)
        if self._halted or event.cause == dsp.DispatchCause.NEW_TEST:
            # The workers stop (or stopped) every user: a worker joining or leaving now rebalances the books, and
            # sending users would start a stopped worker again.
            return
        for worker_id in sorted(event.changed):
            self._send_users(worker_id, event.step, dict(event.changed[worker_id]))
        if event.ramp_done:
            self._ramp_done(event.step, event.target)

    def answer(self, query: Query) -> Mapping[str, Mapping[str, int]]:
        return dispatcher_logic.assignment_of(self.state)

    def on_stop(self) -> None:
        self._cancel_timer()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.kill(block=False)
            self._timer = None

    def _schedule_tick(self) -> None:
        self._cancel_timer()
        due = dispatcher_logic.next_tick_at(self.state)
        if due is None or self._halted:
            return
        delay = max(0.0, due - time.monotonic())
        ref = self.actor_ref
        self._timer = gevent.spawn_later(delay, lambda: ref.tell(dsp.RampTick(now=max(due, time.monotonic()))))


def _same_kind(first: Membership, other: Membership) -> bool:
    if isinstance(first, dsp.AddWorker):
        return isinstance(other, dsp.AddWorker)
    return isinstance(other, dsp.RemoveWorker) and other.reason == first.reason
