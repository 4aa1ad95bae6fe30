"""The Master: owns the run (its state, target and clock) and which workers belong to it.

Everything arrives as a message carrying the time (`now`, monotonic seconds): the master never reads a clock in
its decisions, so a replay of its journal reaches exactly the same states. Worker facts decided by the WorkerProxy
actors reach it as `Observed(event)`: the master folds them with the same `apply` that replay uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import gevent.event
import pykka
import structlog

from horde.actors.base import EventSourcedActor, JournalSink, Query
from horde.actors.dispatcher_actor import Halt
from horde.actors.rejections import RejectionBudget
from horde.actors.worker_proxy import WorkerProxy
from horde.protocol import dispatcher_vocabulary as dsp
from horde.protocol.errors import RPCError
from horde.protocol.events import (
    Event,
    FrameRejected,
    RejectionsSummarised,
    RunConfigured,
    RunStateChanged,
    RunTargetChanged,
    ShapeTicked,
    WorkerJoined,
    WorkerLeft,
    WorkerMissing,
    WorkerRejected,
    WorkerStateChanged,
)
from horde.protocol.messages import PROTOCOL_VERSION, Accept, MasterMessageType, Ready, Reject, Stop
from horde.protocol.states import GONE_STATES, RunState, WorkerState
from horde.protocol.transport import MasterTransport

log = structlog.get_logger("horde.master")

STOP_GRACE = 10.0
STOP_BEHIND_LIMIT = 60.0
"""How long past the stop's deadline a master still behind in its reading waits to catch up before it gives up on
the workers that have not confirmed (ADR 0037): a backstop for a master that never catches up."""
REJOIN_MIN_INTERVAL = 1.0
RETURN_WINDOWS = 3
"""A run whose every worker is missing waits this many liveness windows (9 s by default) for one to come back
before it ends: a stall (SIGSTOP, a long GC, a CPU-bound task) is not a death (ADR 0025)."""
MAX_MEMBERS = 10_000


@dataclass(frozen=True, slots=True)
class Member:
    incarnation: str
    index: int
    state: WorkerState = WorkerState.READY
    joined_at: float = 0.0
    missing_at: float | None = None


@dataclass(frozen=True, slots=True)
class MasterState:
    run_state: RunState = RunState.READY
    config: RunConfigured | None = None
    target_users: int | None = None
    spawn_rate: float = 1.0
    user_classes: tuple[str, ...] | None = None
    members: dict[str, Member] = field(default_factory=dict)
    next_index: int = 0
    started_at: float | None = None
    stopping_since: float | None = None
    stop_reason: str = ""

    def active_workers(self) -> list[str]:
        return sorted(w for w, m in self.members.items() if m.state not in GONE_STATES)

    def has_active_workers(self) -> bool:
        """Asked ten times a second: stops at the first active worker instead of sorting thousands."""
        return any(m.state not in GONE_STATES for m in self.members.values())


# --- commands -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Configure:
    now: float
    config: RunConfigured
    cause: str = "cli"


@dataclass(frozen=True, slots=True)
class Start:
    """Ask for a user count; the run starts spawning once enough workers are there."""

    now: float
    user_count: int
    spawn_rate: float
    user_classes: tuple[str, ...] | None = None
    cause: str = "cli"


@dataclass(frozen=True, slots=True)
class StartNewTest:
    """Make a stopped run ready for another test in the same process (the web UI's Start after Stop, ADR 0034):
    the statistics start afresh and the Dispatcher from no users; the next `Start` sets the new test's target."""

    now: float
    reason: str
    cause: str = "new_test"


@dataclass(frozen=True, slots=True)
class Admit:
    """A worker introduces itself. `authorised` is the shell's verdict on the peer, which must never reach the
    journal, so the decision gets only its outcome; with keys the CURVE handshake settles it before any frame
    arrives (ADR 0024), and a peer that reaches this far is authorised."""

    now: float
    worker_id: str
    ready: Ready
    authorised: bool = True
    cause: str = "worker_ready"


@dataclass(frozen=True, slots=True)
class RejectFrame:
    """A frame from `peer` did not decode; `count` is how many that peer has sent so far (the shell counts them:
    a flood must cost the master one counter, not one state change each)."""

    now: float
    peer: str
    reason: str
    version_mismatch: bool
    count: int
    cause: str = "network"


@dataclass(frozen=True, slots=True)
class WorkerGone:
    now: float
    worker_id: str
    reason: str
    cause: str = "worker_quit"


@dataclass(frozen=True, slots=True)
class RampFinished:
    """The Dispatcher reached `target`; only a ramp to the master's current target ends spawning."""

    now: float
    step: int
    target: int
    cause: str = "dispatch"


@dataclass(frozen=True, slots=True)
class ClockTick:
    """The master's clock, delivered as a message: checks the run time against `now`, and the stop timeout
    against `read_up_to`, the moment up to which the master had read everything its workers sent (None: now).
    A master behind in its reading has not yet heard the `Stopped` its workers sent in time (ADR 0037)."""

    now: float
    read_up_to: float | None = None
    cause: str = "tick"


@dataclass(frozen=True, slots=True)
class ShapeTick:
    """A LoadTestShape's answer, computed by the shell (user code is not pure); None means stop."""

    now: float
    result: tuple[int, float, tuple[str, ...] | None] | None
    cause: str = "shape_tick"


@dataclass(frozen=True, slots=True)
class RequestStop:
    now: float
    reason: str
    cause: str = "stop_request"


@dataclass(frozen=True, slots=True)
class SummariseRejections:
    """The rejections the shell counted instead of journaling over the last window (ADR 0024)."""

    now: float
    count: int
    by_peer: dict[str, int]
    other_peers: int
    seconds: float
    cause: str = "rejections"


@dataclass(frozen=True, slots=True)
class Observed:
    """A fact another actor journaled that the master folds into its own view."""

    now: float
    event: Event
    cause: str = "observed"


Command = (
    Configure
    | Start
    | StartNewTest
    | Admit
    | RejectFrame
    | WorkerGone
    | RampFinished
    | ClockTick
    | ShapeTick
    | RequestStop
    | SummariseRejections
    | Observed
)

BAD_FRAMES_JOURNALED = 100
"""A peer's first bad frames are each journaled; after that one in `BAD_FRAMES_SAMPLE`, so spam cannot fill the
disk while a post-mortem still sees that it went on."""
BAD_FRAMES_SAMPLE = 1000


# --- decide -------------------------------------------------------------------------------------------------------


def _to(state: MasterState, new: RunState, reason: str, now: float) -> list[Event]:
    return [] if state.run_state == new else [RunStateChanged(new, state.run_state, reason, now)]


def _maybe_start(state: MasterState, now: float) -> list[Event]:
    """Spawning begins once a target is set and the expected workers are there."""
    if state.run_state != RunState.READY or state.config is None or state.target_users is None:
        return []
    active = sum(1 for member in state.members.values() if member.state not in GONE_STATES)  # no sort: every join
    if active < max(1, state.config.expect_workers):
        return []
    return _to(state, RunState.SPAWNING, "workers ready", now)


def _all_stopped(state: MasterState) -> bool:
    return all(m.state == WorkerState.STOPPED or m.state in GONE_STATES for m in state.members.values())


def decide(state: MasterState, command: Command) -> list[Event]:
    if isinstance(command, Configure):
        return [command.config] if state.config is None else []

    if isinstance(command, Start):
        if state.run_state in (RunState.STOPPING, RunState.STOPPED):
            return []
        target = RunTargetChanged(command.user_count, command.spawn_rate, command.user_classes)
        events: list[Event] = [target]
        if state.run_state == RunState.RUNNING:
            events += _to(state, RunState.SPAWNING, "new target", command.now)
        elif state.run_state == RunState.READY:
            events += _maybe_start(apply(state, target), command.now)
        return events

    if isinstance(command, StartNewTest):
        return _to(state, RunState.READY, command.reason, command.now) if state.run_state == RunState.STOPPED else []

    if isinstance(command, Admit):
        ready = command.ready
        if not command.authorised:
            return [WorkerRejected(command.worker_id[:64], "not authorised: wrong or missing --auth-token")]
        if ready.protocol_version != PROTOCOL_VERSION:
            return [
                WorkerRejected(
                    command.worker_id,
                    f"protocol version {ready.protocol_version} != master's {PROTOCOL_VERSION}",
                )
            ]
        member = state.members.get(command.worker_id)
        if member is not None and member.incarnation == ready.incarnation and member.state not in GONE_STATES:
            return []  # the same process back (a resumed master, a reconnect): its unacknowledged reports still count
        if (state.run_state == RunState.STOPPING and member is None) or (
            state.run_state == RunState.STOPPED and member is not None and member.incarnation == ready.incarnation
        ):
            return [WorkerRejected(command.worker_id, "the run is over")]
        # A known worker back while the run stops (a resumed master past its run time) is admitted to hand in the
        # reports it still holds; the shell gives it no users, only the stop (ADR 0035). Once the run stopped, a
        # new worker, or a known worker's new incarnation, is admitted without users, as Locust's master admits
        # workers between tests, so the web UI's next test runs on it; a headless master quits it with the others
        # (ADR 0036, 0040). The shell stops counting the reports of that worker's earlier incarnations: they belong
        # to a test whose statistics were read at STOPPED. The incarnation that was there is refused then.
        unable = _cannot_run(state.config, ready)
        if unable:
            return [WorkerRejected(command.worker_id, unable)]
        if member is not None and member.state not in GONE_STATES:
            if command.now - member.joined_at < REJOIN_MIN_INTERVAL:
                # A restart loop (or a hostile peer) must not reshuffle every user; a real worker tries again.
                return [WorkerRejected(command.worker_id, "a new incarnation less than 1 s after the last", retry=True)]
        elif member is None and len(state.members) >= MAX_MEMBERS:
            return [WorkerRejected(command.worker_id, f"this master already knows {MAX_MEMBERS} workers")]
        events = []
        if member is not None and member.state not in GONE_STATES:
            events.append(WorkerLeft(command.worker_id, "replaced by a new incarnation"))
        joined = WorkerJoined(
            worker_id=command.worker_id,
            incarnation=ready.incarnation,
            index=member.index if member is not None else state.next_index,
            hostname=ready.hostname,
            pid=ready.pid,
            cpu_count=ready.cpu_count,
            horde_version=ready.horde_version,
            user_classes=ready.user_classes,
            at=command.now,
        )
        events.append(joined)
        after = state
        for event in events:
            after = apply(after, event)
        return events + _maybe_start(after, command.now)

    if isinstance(command, RejectFrame):
        if command.count <= BAD_FRAMES_JOURNALED or command.count % BAD_FRAMES_SAMPLE == 0:
            return [FrameRejected(command.peer[:64], command.reason[:300], command.count)]
        return []

    if isinstance(command, WorkerGone):
        member = state.members.get(command.worker_id)
        if member is None or member.state == WorkerState.LEFT:
            return []
        events = [WorkerLeft(command.worker_id, command.reason)]
        return events + _after_membership_change(apply(state, events[0]), command.now)

    if isinstance(command, RampFinished):
        if state.run_state != RunState.SPAWNING or command.target != state.target_users:
            return []
        return _to(state, RunState.RUNNING, f"ramp finished at step {command.step}", command.now)

    if isinstance(command, ClockTick):
        return _on_tick(state, command.now, command.now if command.read_up_to is None else command.read_up_to)

    if isinstance(command, ShapeTick):
        if state.run_state not in (RunState.READY, RunState.SPAWNING, RunState.RUNNING):
            return []
        if command.result is None:
            if state.run_state == RunState.READY:
                return []
            return _to(state, RunState.STOPPING, "shape finished", command.now)
        users, rate, classes = command.result
        if (users, rate, classes) == (state.target_users, state.spawn_rate, state.user_classes):
            return []
        return [ShapeTicked(users, rate, classes), *decide(state, Start(command.now, users, rate, classes))]

    if isinstance(command, SummariseRejections):
        if command.count <= 0:
            return []
        return [
            RejectionsSummarised(
                command.count, command.by_peer, command.other_peers, round(command.seconds, 3), command.now
            )
        ]

    if isinstance(command, RequestStop):
        if state.run_state in (RunState.SPAWNING, RunState.RUNNING):
            return _to(state, RunState.STOPPING, command.reason, command.now)
        if state.run_state in (RunState.READY, RunState.STOPPING):
            return _to(state, RunState.STOPPED, command.reason, command.now)
        return []

    # Observed: the proxy's event is already folded by the shell before decide runs.
    event = command.event
    if isinstance(event, WorkerMissing):
        return _after_membership_change(state, command.now)
    if isinstance(event, WorkerStateChanged) and state.run_state == RunState.STOPPING and _all_stopped(state):
        return _to(state, RunState.STOPPED, "all workers stopped", command.now)
    return []


def _cannot_run(config: RunConfigured | None, ready: Ready) -> str:
    """Why a worker could not run the master's user classes, or empty: admitted, it would make no request and
    crash every user it started (ADR 0025)."""
    if config is None:
        return ""
    missing = sorted(set(config.user_classes) - set(ready.user_classes))
    if missing:
        return f"its locustfile lacks the master's user class(es) {', '.join(missing)}"
    hostless = sorted(set(ready.hostless) & set(config.user_classes))
    if hostless and not config.host:
        return f"no host for {', '.join(hostless)}: give the master -H/--host, or the class a host"
    return ""


def _after_membership_change(state: MasterState, now: float) -> list[Event]:
    if state.run_state in (RunState.SPAWNING, RunState.RUNNING) and not state.has_active_workers():
        if _last_missing_at(state) is not None:
            return []  # a missing worker may be stalled, not dead: the clock gives it its return window
        return _to(state, RunState.STOPPING, "no worker left", now)
    if state.run_state == RunState.STOPPING and _all_stopped(state):
        return _to(state, RunState.STOPPED, "all workers stopped", now)
    return []


def _last_missing_at(state: MasterState) -> float | None:
    """When the most recent of the missing workers went missing; None if none is missing."""
    times = [m.missing_at or 0.0 for m in state.members.values() if m.state == WorkerState.MISSING]
    return max(times) if times else None


def return_window(config: RunConfigured) -> float:
    return RETURN_WINDOWS * config.heartbeat_interval * config.heartbeat_liveness


def _on_tick(state: MasterState, now: float, read_up_to: float) -> list[Event]:
    config = state.config
    if config is None:
        return []
    if state.run_state in (RunState.SPAWNING, RunState.RUNNING) and not state.has_active_workers():
        missing_at = _last_missing_at(state)
        if missing_at is not None and now - missing_at >= return_window(config):
            reason = f"no worker left: the missing workers did not return within {return_window(config):g} s"
            return _to(state, RunState.STOPPING, reason, now)
    if (
        state.run_state in (RunState.SPAWNING, RunState.RUNNING)
        and config.run_time is not None
        and state.started_at is not None
    ) and now - state.started_at >= config.run_time:
        return _to(state, RunState.STOPPING, "run time reached", now)
    if state.run_state == RunState.STOPPING and _all_stopped(state):  # e.g. it began while every worker was missing
        return _to(state, RunState.STOPPED, "all workers stopped", now)
    stop_deadline = None if state.stopping_since is None else state.stopping_since + config.stop_timeout + STOP_GRACE
    if state.run_state == RunState.STOPPING and stop_deadline is not None:
        # What a worker sent before the deadline may still wait unread in the master's own queue: the deadline
        # is judged on what was read, so a master that is behind does not end the run without its workers'
        # final reports (ADR 0037).
        if read_up_to > stop_deadline:
            return _to(state, RunState.STOPPED, "workers did not confirm the stop in time", now)
        if now > stop_deadline + STOP_BEHIND_LIMIT:
            reason = f"workers did not confirm the stop in time (the master was {now - read_up_to:.0f} s behind)"
            return _to(state, RunState.STOPPED, reason, now)
    return []


# --- apply --------------------------------------------------------------------------------------------------------


def apply(state: MasterState, event: Event) -> MasterState:
    if isinstance(event, RunConfigured):
        return replace(state, config=event)
    if isinstance(event, RunTargetChanged):
        return replace(
            state, target_users=event.user_count, spawn_rate=event.spawn_rate, user_classes=event.user_classes
        )
    if isinstance(event, RunStateChanged):
        return _apply_run_state(state, event)
    if isinstance(event, WorkerJoined):
        members = dict(state.members)
        members[event.worker_id] = Member(event.incarnation, event.index, joined_at=event.at)
        return replace(state, members=members, next_index=max(state.next_index, event.index + 1))
    if isinstance(event, WorkerLeft | WorkerMissing | WorkerStateChanged):
        member = state.members.get(event.worker_id)
        if member is None:
            return state
        new_state = {WorkerLeft: WorkerState.LEFT, WorkerMissing: WorkerState.MISSING}.get(type(event))
        if isinstance(event, WorkerStateChanged):
            new_state = event.state
        members = dict(state.members)
        member = replace(member, state=new_state or member.state)
        if isinstance(event, WorkerMissing):
            member = replace(member, missing_at=event.at)
        members[event.worker_id] = member
        return replace(state, members=members)
    return state


def _apply_run_state(state: MasterState, event: RunStateChanged) -> MasterState:
    if event.previous == RunState.STOPPED and event.state == RunState.READY:  # a new test: its own target, clock, stop
        state = replace(
            state, target_users=None, user_classes=None, started_at=None, stopping_since=None, stop_reason=""
        )
    state = replace(state, run_state=event.state)
    if event.state == RunState.SPAWNING and state.started_at is None:
        state = replace(state, started_at=event.at)
    if event.state == RunState.STOPPING:
        state = replace(state, stopping_since=event.at, stop_reason=event.reason)
    return state


# --- the shell ----------------------------------------------------------------------------------------------------


class Master(EventSourcedActor[MasterState]):
    """Performs what the master's events call for: admit and retire workers, tell the Dispatcher, stop workers."""

    source = "master"

    def __init__(self, journal: JournalSink, links: MasterLinks, state: MasterState | None = None) -> None:
        super().__init__(state or MasterState(), journal)
        self._links = links
        self._rejections = RejectionBudget()

    def journaled(self, event: Event, message: Any) -> bool:
        """A window's first rejections are journaled, the rest counted for its summary: a flood of refused peers
        costs the disk a bounded amount (ADR 0024). Rejections change no state, so replay is the same."""
        if isinstance(event, WorkerRejected):
            return self._rejections.take(message.now, event.worker_id)
        if isinstance(event, FrameRejected):
            return self._rejections.take(message.now, event.peer)
        return True

    def decide(self, state: MasterState, message: Command) -> list[Event]:
        return decide(state, message)

    def apply(self, state: MasterState, event: Event) -> MasterState:
        return apply(state, event)

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, ClockTick):
            counted = self._rejections.due(message.now)
            if counted is not None:
                super().on_receive(SummariseRejections(message.now, *counted))
        if isinstance(message, Observed):
            self.state = apply(self.state, message.event)
            if isinstance(message.event, WorkerMissing):
                # Its users go to the others at once, whatever the run decides next.
                self._links.retire(message.event.worker_id)
                remove = dsp.RemoveWorker(
                    now=message.now, worker_id=message.event.worker_id, reason=WorkerState.MISSING
                )
                self._links.dispatcher.tell(remove)
        return super().on_receive(message)

    def answer(self, query: Query) -> MasterState:
        return self.state

    def react(self, event: Event, message: Any) -> None:
        links, now = self._links, getattr(message, "now", 0.0)
        if isinstance(event, WorkerJoined):
            # After STOPPED, what the worker's earlier incarnations still send belongs to the test that ended
            # (ADR 0040): dropped, and acknowledged so it is not resent.
            links.admit(event, only_this_incarnation=self.state.run_state == RunState.STOPPED)
            if self.state.run_state == RunState.STOPPING:
                links.send(event.worker_id, Stop())  # back only for its last reports: no users, the stop at once
            else:
                links.dispatcher.tell(dsp.AddWorker(now=now, worker_id=event.worker_id))
        elif isinstance(event, WorkerRejected) and not event.retry:
            if message.authorised:  # an unauthorised peer may flood: it is journaled (sampled), not logged
                log.warning("worker refused", worker=message.worker_id, reason=event.reason)
            links.send(message.worker_id, Reject(event.reason))  # the event's id may be cut short for the journal
        elif isinstance(event, FrameRejected) and event.count == 1:
            log.warning("invalid frame dropped", peer=message.peer, reason=message.reason)
            if message.version_mismatch:  # a peer of another protocol version hears why, once
                links.send(message.peer, Reject(message.reason))
        elif isinstance(event, WorkerLeft):
            links.retire(event.worker_id)
            if self.state.run_state != RunState.STOPPING:  # stopping, the users it had go to no one
                links.dispatcher.tell(dsp.RemoveWorker(now=now, worker_id=event.worker_id, reason=WorkerState.LEFT))
        elif isinstance(event, RunTargetChanged) and self.state.run_state in (RunState.SPAWNING, RunState.RUNNING):
            links.dispatcher.tell(self._ramp_to_target(now))
        elif isinstance(event, RunStateChanged):
            self._on_run_state(event, now)

    def _ramp_to_target(self, now: float) -> dsp.RampTo:
        state = self.state
        return dsp.RampTo(
            now=now,
            user_count=state.target_users or 0,
            spawn_rate=state.spawn_rate,
            user_classes=state.user_classes,
        )

    def _on_run_state(self, event: RunStateChanged, now: float) -> None:
        log.info("run state", state=event.state, reason=event.reason)
        if event.state == RunState.READY and event.previous == RunState.STOPPED:
            self._links.new_test(now, event.reason)
        elif event.state == RunState.SPAWNING and event.previous == RunState.READY:
            self._links.dispatcher.tell(self._ramp_to_target(now))
        elif event.state == RunState.RUNNING and event.previous == RunState.SPAWNING:
            config = self.state.config
            if config is not None and config.reset_stats:
                # Locust resets at each spawning_complete: every completed ramp, a shape's stages included.
                log.info("resetting stats", reason=event.reason)
                self._links.reset_stats(now, event.reason)
        elif event.state == RunState.STOPPING:
            self._links.dispatcher.tell(Halt())
            for worker_id in self.state.active_workers():
                self._links.send(worker_id, Stop())
        elif event.state == RunState.STOPPED:
            self._links.dispatcher.tell(Halt())
            self._links.stopped.set()


class MasterLinks:
    """What the Master's shell acts on: the transport, the Dispatcher, and the registry of WorkerProxy actors.

    The registry is shared with the inbound router, which must know the proxy of each admitted worker.
    """

    def __init__(
        self,
        transport: MasterTransport,
        dispatcher: pykka.ActorRef[Any],
        journal: JournalSink,
        notify_master: Callable[[Event], None],
        reset_stats: Callable[[float, str], None] | None = None,
    ) -> None:
        """`reset_stats(now, reason)` asks the StatsAggregator for fresh statistics (`--reset-stats`)."""
        self.transport = transport
        self._reset_stats = reset_stats
        self.dispatcher = dispatcher
        self.journal = journal
        self.notify_master = notify_master
        self.proxies: dict[str, tuple[str, pykka.ActorRef[Any]]] = {}
        self.incarnations: dict[str, set[str]] = {}
        self.stopped = gevent.event.Event()

    def reset_stats(self, now: float, reason: str) -> None:
        if self._reset_stats is not None:
            self._reset_stats(now, reason)

    def new_test(self, now: float, reason: str) -> None:
        """A stopped run made ready again: the Dispatcher starts from no users (the workers run none) and, as
        in Locust, the statistics start afresh (ADR 0034)."""
        self.stopped.clear()
        self.dispatcher.tell(dsp.StartOver(now=now))
        self.reset_stats(now, reason)

    def send(self, worker_id: str, message: MasterMessageType) -> None:
        try:
            self.transport.send(worker_id, message)
        except RPCError as exc:
            log.warning("could not send to worker", worker=worker_id, message=type(message).__name__, error=str(exc))

    def send_many(self, messages: Sequence[tuple[str, MasterMessageType]]) -> None:
        for worker_id, error in self.transport.send_many(messages):
            log.warning("could not send to worker", worker=worker_id, error=error)

    def knows(self, worker_id: str, incarnation: str) -> bool:
        """Statistics of any incarnation ever admitted are real requests: they count, once each (seq)."""
        return incarnation in self.incarnations.get(worker_id, ())

    def admit(self, joined: WorkerJoined, only_this_incarnation: bool = False) -> None:
        """`only_this_incarnation` forgets the worker's earlier incarnations: their statistics no longer count."""
        self.retire(joined.worker_id)
        proxy = WorkerProxy.start(joined, self.journal, self.notify_master)
        self.proxies[joined.worker_id] = (joined.incarnation, proxy)
        known = self.incarnations.setdefault(joined.worker_id, set())
        if only_this_incarnation:
            known.clear()
        known.add(joined.incarnation)
        self.send(joined.worker_id, Accept(joined.index, joined.incarnation))

    def retire(self, worker_id: str) -> None:
        entry = self.proxies.pop(worker_id, None)
        if entry is not None:
            entry[1].stop(block=False)
