"""What a worker decides, apart from what it does: `decide(state, message) -> events`, `apply(state, event) -> state`.

The Worker actor (horde/actors/worker.py) is the shell around these two functions: it feeds them every message,
folds the events into its `WorkerActorState` and performs what each event calls for (a frame to the master, users
started or stopped, an environment event fired, a reconnection, the actor stopped). Keeping the decisions here,
free of sockets, greenlets and clocks, lets every path of the state machine be tested with plain values.

Unlike the master's events, these are not journaled: a worker has no journal, and what it did reaches the master
as messages (Spawning, StatsReport, Stopped, ...) that the master journals as its own facts. The events are small
frozen dataclasses local to the worker for that reason, not `horde.protocol.events` records.

`decide` is deterministic: whatever it cannot know comes in the message. The shell draws the id of a new
incarnation (`RejoinAsked`, `MasterLost`) and takes the recorder's delta and the wall time for a report
(`ReportDue`); the reports themselves stay in the shell, this state keeps only their keys (see
`WorkerActorState.unacknowledged`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from horde.protocol.messages import (
    Accept,
    MasterCustom,
    MasterHeartbeat,
    MasterMessageType,
    MasterQuit,
    Reject,
    Spawn,
    StatsAck,
    Stop,
)
from horde.protocol.states import WorkerState
from horde.protocol.stats import StatsDelta

MAX_UNACKED_REPORTS = 1_000

ReportKey = tuple[str, int]
"""(incarnation, seq): what names a report to the master, and what it acknowledges."""

REPORTING_STATES = frozenset((WorkerState.SPAWNING, WorkerState.RUNNING, WorkerState.STOPPING))
"""The states in which the periodic report loop sends what the users measured (final reports go out regardless)."""

_IDLE_STATES = (WorkerState.CONNECTING, WorkerState.READY, WorkerState.STOPPED)


@dataclass(frozen=True, slots=True)
class WorkerActorState:
    """Everything the worker's decisions depend on; replaced by `apply`, never mutated.

    `unacknowledged` holds the keys of the reports kept until the master acknowledges them, oldest first, and not
    the reports: decisions only need to know which reports exist (to forget, resend or give up the oldest), while a
    report's body is a StatsDelta with histograms per endpoint, built by the shell from the recorder and only ever
    sent. Keeping bodies out keeps this value small, cheap to compare and easy to generate in property tests.

    `quit_when_master_lost` is configuration rather than state (no event changes it): it is here so that `decide`
    needs nothing but the state and the message.
    """

    incarnation: str
    state: WorkerState = WorkerState.CONNECTING
    worker_index: int = -1
    last_step: int = 0
    seq: int = 0
    stop_timeout: float = 0.0
    outcome_reason: str = ""
    exit_code: int = 0
    unacknowledged: tuple[ReportKey, ...] = ()
    quit_when_master_lost: bool = False


# --- commands: what the shell asks of the worker besides the master's messages ------------------------------------


@dataclass(frozen=True, slots=True)
class QuitRequest:
    """This process was asked to quit (Ctrl-C, SIGTERM): stop, report, say goodbye to the master."""

    reason: str


@dataclass(frozen=True, slots=True)
class RejoinAsked:
    """The master's `Rejoin`, with the id of the incarnation to introduce next (drawn by the shell)."""

    reason: str
    new_incarnation: str


@dataclass(frozen=True, slots=True)
class MasterLost:
    """The heartbeat loop's finding, for the incarnation it was made for: a later one has a master already."""

    silent_for: float
    incarnation: str
    new_incarnation: str


@dataclass(frozen=True, slots=True)
class ReportDue:
    """A report of what the recorder saw since the previous one; `final` ones are sent even when empty."""

    final: bool
    delta: StatsDelta
    worker_time: float


WorkerCommand = MasterMessageType | QuitRequest | RejoinAsked | MasterLost | ReportDue
"""Everything `decide` takes. A raw `Rejoin` decides nothing: the shell turns it into `RejoinAsked` first."""


# --- events: what the worker decided, in the order the shell carries it out -------------------------------------


@dataclass(frozen=True, slots=True)
class StateChanged:
    """The worker's own state moved on (reported in its heartbeats)."""

    state: WorkerState


@dataclass(frozen=True, slots=True)
class Accepted:
    """The master admitted this incarnation; the reports it has not acknowledged are sent again, oldest first."""

    worker_index: int
    resend: tuple[ReportKey, ...]


@dataclass(frozen=True, slots=True)
class Rejected:
    """The master refused this worker (bad token, unknown user classes, another version): it quits with code 2."""

    reason: str


@dataclass(frozen=True, slots=True)
class StepStarted:
    """A new step of the master's dispatch; the worker says it is spawning (`Spawning`)."""

    step: int


@dataclass(frozen=True, slots=True)
class StopTimeoutChanged:
    """The master's --stop-timeout rules the whole cluster, as in Locust."""

    stop_timeout: float


@dataclass(frozen=True, slots=True)
class OptionsReceived:
    """The master's custom arguments, set on this worker's `parsed_options` before its users run (ADR 0017)."""

    options: dict[str, Any]


@dataclass(frozen=True, slots=True)
class LoadTestStarted:
    """The first step after ready or stopped: host and tag filters set, the `test_start` event fired."""

    host: str | None


@dataclass(frozen=True, slots=True)
class UsersSpawned:
    """The pool is brought to these counts, and the counts it reached are reported (`SpawningComplete`)."""

    step: int
    user_counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class LoadTestStopping:
    """The `test_stopping` event is fired before the users are stopped."""


@dataclass(frozen=True, slots=True)
class UsersStopped:
    """Every user is stopped, on_stop given at most `stop_timeout`."""

    stop_timeout: float


@dataclass(frozen=True, slots=True)
class FinalReportRequested:
    """A final report is to go out now; numbered only when it is sent (the report loop may have sent one since)."""


@dataclass(frozen=True, slots=True)
class ReportSent:
    """A report is numbered and kept until acknowledged."""

    incarnation: str
    seq: int
    final: bool


@dataclass(frozen=True, slots=True)
class ReportGivenUp:
    """Too many reports wait for an acknowledgement: the oldest is no longer kept for resending."""

    key: ReportKey


@dataclass(frozen=True, slots=True)
class ReportsAcknowledged:
    """The master recorded these reports: they need never be sent again."""

    keys: tuple[ReportKey, ...]


@dataclass(frozen=True, slots=True)
class StopConfirmed:
    """The master is told this worker has stopped (`Stopped`)."""


@dataclass(frozen=True, slots=True)
class LoadTestStopped:
    """The `test_stop` event is fired once the users are stopped and reported."""


@dataclass(frozen=True, slots=True)
class AskedToRejoin:
    """The master asked this worker to rejoin (it did not know the incarnation, or lost it)."""

    reason: str


@dataclass(frozen=True, slots=True)
class MasterSilent:
    """Nothing was heard from the master for longer than the liveness limit."""

    silent_for: float


@dataclass(frozen=True, slots=True)
class Reconnected:
    """The transport is rebuilt, in case the silence was a broken connection rather than a dead master."""


@dataclass(frozen=True, slots=True)
class IncarnationStarted:
    """A new incarnation: steps and report numbers start again, and it introduces itself to the master (`Ready`)."""

    incarnation: str


@dataclass(frozen=True, slots=True)
class CustomMessageReceived:
    """A custom message from the master, for the listeners the locustfile registered."""

    kind: str
    data: object


@dataclass(frozen=True, slots=True)
class QuitDecided:
    """Why the worker quits; `exit_code` None leaves the process's own code (it may have found the reason itself)."""

    reason: str
    exit_code: int | None = None


@dataclass(frozen=True, slots=True)
class GoodbyeSaid:
    """The master is told this worker is quitting (`WorkerQuit`)."""

    reason: str


@dataclass(frozen=True, slots=True)
class Left:
    """The worker is done: the actor stops (the process fires `quitting` once, as it shuts down)."""


WorkerEvent = (
    StateChanged
    | Accepted
    | OptionsReceived
    | Rejected
    | StepStarted
    | StopTimeoutChanged
    | LoadTestStarted
    | UsersSpawned
    | LoadTestStopping
    | UsersStopped
    | FinalReportRequested
    | ReportSent
    | ReportGivenUp
    | ReportsAcknowledged
    | StopConfirmed
    | LoadTestStopped
    | AskedToRejoin
    | MasterSilent
    | Reconnected
    | IncarnationStarted
    | CustomMessageReceived
    | QuitDecided
    | GoodbyeSaid
    | Left
)


def initial_state(incarnation: str, stop_timeout: float = 0.0, quit_when_master_lost: bool = False) -> WorkerActorState:
    return WorkerActorState(incarnation, stop_timeout=stop_timeout, quit_when_master_lost=quit_when_master_lost)


# --- decide -------------------------------------------------------------------------------------------------------


def decide(state: WorkerActorState, message: WorkerCommand) -> list[WorkerEvent]:
    """The events `message` calls for in `state`, in the order the shell must carry them out.

    Messages still queued when the worker quits are decided too, as they always were (the actor stops only once it
    reaches the stop request behind them); in QUIT nothing starts users, rejoins or changes the incarnation.
    """
    if isinstance(message, ReportDue):
        return _report(state, message)
    if isinstance(message, MasterLost):
        return _master_lost(state, message)
    if isinstance(message, QuitRequest):
        stop: list[WorkerEvent] = []
        if state.state not in _IDLE_STATES:
            stop = [UsersStopped(state.stop_timeout), FinalReportRequested()]
        return [QuitDecided(message.reason), *stop, GoodbyeSaid(message.reason), Left()]
    if isinstance(message, Accept):
        if state.state != WorkerState.CONNECTING or message.incarnation not in ("", state.incarnation):
            return []  # late: the acceptance of an incarnation this worker has already replaced
        return [Accepted(message.worker_index, state.unacknowledged)]
    if isinstance(message, StatsAck):
        return _acknowledged(state, {message.incarnation: message.seq})
    if isinstance(message, MasterHeartbeat):
        return _acknowledged(state, message.acks)
    if isinstance(message, RejoinAsked):
        if state.state in (WorkerState.CONNECTING, WorkerState.QUIT):
            return []
        return [AskedToRejoin(message.reason), *_rejoin(state, message.new_incarnation, reconnect=False)]
    if isinstance(message, Reject):
        return [Rejected(message.reason), QuitDecided(f"rejected by master: {message.reason}", 2), Left()]
    if isinstance(message, Spawn):
        return _spawn(state, message)
    if isinstance(message, Stop):
        if state.state == WorkerState.CONNECTING:
            # Meant for an earlier incarnation (a resumed master stopping the run): this one, not admitted yet,
            # waits for its Accept, which is how its unacknowledged reports get sent again.
            return []
        return _stop_users(state)
    if isinstance(message, MasterQuit):
        return [QuitDecided(f"the master said: {message.reason}"), *_stop_users(state), Left()]
    if isinstance(message, MasterCustom):
        return [CustomMessageReceived(message.kind, message.data)]
    return []  # LocustfileReply belongs to start-up, a raw Rejoin to the shell


def _spawn(state: WorkerActorState, message: Spawn) -> list[WorkerEvent]:
    if state.state in (WorkerState.CONNECTING, WorkerState.STOPPING, WorkerState.QUIT):
        return []  # CONNECTING: meant for an earlier incarnation, this one is not admitted yet
    if message.step <= state.last_step:
        return []  # a duplicate or a step overtaken by a later one
    events: list[WorkerEvent] = [StepStarted(message.step)]
    if message.options:
        events.append(OptionsReceived(dict(message.options)))
    if message.stop_timeout is not None:
        events.append(StopTimeoutChanged(message.stop_timeout))
    if state.state in (WorkerState.READY, WorkerState.STOPPED):
        events.append(LoadTestStarted(message.host))
    return [
        *events,
        StateChanged(WorkerState.SPAWNING),
        UsersSpawned(message.step, dict(message.user_counts)),
        StateChanged(WorkerState.RUNNING),
    ]


def _stop_users(state: WorkerActorState) -> list[WorkerEvent]:
    if state.state in (WorkerState.READY, WorkerState.CONNECTING):
        return [StopConfirmed(), StateChanged(WorkerState.STOPPED)]
    if state.state in (WorkerState.STOPPED, WorkerState.QUIT):
        return []
    return [
        StateChanged(WorkerState.STOPPING),
        LoadTestStopping(),
        UsersStopped(state.stop_timeout),
        FinalReportRequested(),
        StopConfirmed(),
        StateChanged(WorkerState.STOPPED),
        LoadTestStopped(),
    ]


def _rejoin(state: WorkerActorState, new_incarnation: str, reconnect: bool) -> list[WorkerEvent]:
    """Stop this incarnation's users and report them, then introduce a new incarnation to the master.

    Reports stay with the worker until the master acknowledges them (in its heartbeats, or a `StatsAck`), and
    the unacknowledged ones are sent again once a master accepts the new incarnation: each is then merged
    exactly once (seq) if that master knows the old incarnation, or journaled as dropped if it does not.
    Nothing is lost silently.
    """
    reconnected: list[WorkerEvent] = [Reconnected()] if reconnect else []
    return [
        UsersStopped(state.stop_timeout),
        FinalReportRequested(),
        *reconnected,
        IncarnationStarted(new_incarnation),
    ]


def _master_lost(state: WorkerActorState, message: MasterLost) -> list[WorkerEvent]:
    if message.incarnation != state.incarnation or state.state in (WorkerState.CONNECTING, WorkerState.QUIT):
        return []  # a finding about an incarnation already replaced, or one that has no master yet
    if state.quit_when_master_lost:
        reason = f"the master has been silent for {message.silent_for:.1f} s (--quit-when-master-lost)"
        return [QuitDecided(reason, 1), UsersStopped(state.stop_timeout), Left()]
    return [MasterSilent(message.silent_for), *_rejoin(state, message.new_incarnation, reconnect=True)]


def _acknowledged(state: WorkerActorState, acks: dict[str, int]) -> list[WorkerEvent]:
    keys = tuple(key for key in state.unacknowledged if key[0] in acks and key[1] <= acks[key[0]])
    return [ReportsAcknowledged(keys)] if keys else []


def _report(state: WorkerActorState, message: ReportDue) -> list[WorkerEvent]:
    if not message.final and message.delta.is_empty():
        return []
    events: list[WorkerEvent] = []
    if len(state.unacknowledged) >= MAX_UNACKED_REPORTS:
        events.append(ReportGivenUp(state.unacknowledged[0]))
    return [*events, ReportSent(state.incarnation, state.seq + 1, message.final)]


# --- apply --------------------------------------------------------------------------------------------------------


def apply(state: WorkerActorState, event: WorkerEvent) -> WorkerActorState:
    """The only place a worker's state changes; events not listed here only call for side effects."""
    if isinstance(event, StateChanged):
        return replace(state, state=event.state)
    if isinstance(event, Accepted):
        return replace(state, state=WorkerState.READY, worker_index=event.worker_index)
    if isinstance(event, StepStarted):
        return replace(state, last_step=event.step)
    if isinstance(event, StopTimeoutChanged):
        return replace(state, stop_timeout=event.stop_timeout)
    if isinstance(event, ReportSent):
        key = (event.incarnation, event.seq)
        return replace(state, seq=event.seq, unacknowledged=(*state.unacknowledged, key))
    if isinstance(event, ReportGivenUp):
        return replace(state, unacknowledged=tuple(k for k in state.unacknowledged if k != event.key))
    if isinstance(event, ReportsAcknowledged):
        gone = set(event.keys)
        return replace(state, unacknowledged=tuple(k for k in state.unacknowledged if k not in gone))
    if isinstance(event, IncarnationStarted):
        return replace(state, incarnation=event.incarnation, seq=0, last_step=0, state=WorkerState.CONNECTING)
    if isinstance(event, QuitDecided):
        exit_code = state.exit_code if event.exit_code is None else event.exit_code
        return replace(state, outcome_reason=event.reason, exit_code=exit_code)
    if isinstance(event, Left):
        return replace(state, state=WorkerState.QUIT)
    return state
