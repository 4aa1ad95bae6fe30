"""The Worker actor: runs the users a master assigns and reports what they measure.

Heartbeats and statistics reports are sent from greenlets of their own rather than through this actor's inbox,
so a long spawn or stop (on_stop running under `--stop-timeout`) never delays them. Requests are recorded by the
StatsRecorder with plain calls; this actor only takes the recorder's delta every reporting interval.

What the worker decides lives in horde/actors/worker_logic.py (`decide`, `apply`, over a `WorkerActorState`);
this module is the shell that performs what those decisions call for.
"""

from __future__ import annotations

import argparse
import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.event
import psutil
import structlog

from horde._version import __version__
from horde.actors.base import HordeActor
from horde.actors.runners import MessageHandlers, WorkerRunner
from horde.actors.worker_logic import (
    MAX_UNACKED_REPORTS,
    REPORTING_STATES,
    Accepted,
    AskedToRejoin,
    CustomMessageReceived,
    FinalReportRequested,
    GoodbyeSaid,
    IncarnationStarted,
    Left,
    LoadTestStarted,
    LoadTestStopped,
    LoadTestStopping,
    MasterLost,
    MasterSilent,
    OptionsReceived,
    QuitDecided,
    QuitRequest,
    Reconnected,
    Rejected,
    RejoinAsked,
    ReportDue,
    ReportGivenUp,
    ReportKey,
    ReportsAcknowledged,
    ReportSent,
    StepStarted,
    StopConfirmed,
    StopTimeoutChanged,
    UsersSpawned,
    UsersStopped,
    WorkerActorState,
    WorkerCommand,
    WorkerEvent,
    apply,
    decide,
    initial_state,
)
from horde.protocol.errors import RPCError
from horde.protocol.messages import (
    MAX_LOG_LINE_CHARS,
    MAX_LOG_LINES,
    PROTOCOL_VERSION,
    AskToStopRun,
    Heartbeat,
    MasterMessageType,
    Ready,
    Rejoin,
    Spawning,
    SpawningComplete,
    StatsReport,
    Stopped,
    WorkerQuit,
)
from horde.protocol.states import WorkerState
from horde.protocol.transport import WorkerTransport
from horde.runtime.environment import Environment
from horde.runtime.hosts import hostless_classes
from horde.runtime.memory_guard import capped, users_that_fit
from horde.runtime.process import RECENT
from horde.runtime.user_pool import UserPool
from horde.stats.recorder import StatsRecorder

__all__ = [
    "MAX_UNACKED_REPORTS",
    "MasterClock",
    "QuitRequest",
    "Worker",
    "WorkerActorState",
    "WorkerOutcome",
    "WorkerSettings",
]

log = structlog.get_logger("horde.worker")


@dataclass(frozen=True, slots=True)
class ResumeSpawning:
    """The rest of a step's users, placed after the messages that interrupted the placing."""

    step: int
    user_counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    heartbeat_interval: float = 1.0
    stats_interval: float = 2.0
    stop_timeout: float = 0.0
    heartbeat_liveness: int = 3
    quit_when_master_lost: bool = False
    auth_token: str = ""
    declare_hostless: bool = True
    """Say in `Ready` which classes lack a host; not for a local run's worker, whose classes are the master's."""
    send_logs: bool = False
    """Send this process's new log lines with each heartbeat, for the master's web UI (ADR 0038): a worker
    process's, not a local run's worker, whose lines are the master's own."""


class MasterClock:
    """When the master was last heard of, stamped by the transport as each message arrives.

    Stamped on arrival rather than when the actor gets to the message, so a long stop (on_stop under
    --stop-timeout) does not look like a silent master.
    """

    __slots__ = ("heard_at",)

    def __init__(self) -> None:
        self.heard_at = time.monotonic()

    def heard(self) -> None:
        self.heard_at = time.monotonic()


@dataclass(slots=True)
class WorkerOutcome:
    """Why the worker quit and with which exit code; read by the process after the actor is gone."""

    reason: str = ""
    exit_code: int = 0


def new_incarnation() -> str:
    """A fresh incarnation id: drawn by the shell, so that `decide` stays deterministic."""
    return uuid.uuid4().hex[:12]


class Worker(HordeActor):
    """The shell: feeds every message to `decide`, folds the events with `apply` and does what they call for.

    The report loop folds its `ReportDue` through the same functions from its own greenlet: each decide and apply
    runs without yielding, and every event is applied to the state as it is then, so the loop and the actor never
    number two reports alike even while a stop waits for on_stop.
    """

    def __init__(
        self,
        node_id: str,
        environment: Environment,
        recorder: StatsRecorder,
        transport: WorkerTransport,
        settings: WorkerSettings,
        clock: MasterClock | None = None,
        outcome: WorkerOutcome | None = None,
        handlers: MessageHandlers | None = None,
    ) -> None:
        super().__init__()
        self.clock = clock or MasterClock()
        self.outcome = outcome or WorkerOutcome()
        self._reports: dict[ReportKey, StatsReport] = {}
        self.node_id = node_id
        self.actor_state = initial_state(new_incarnation(), settings.stop_timeout, settings.quit_when_master_lost)
        self.environment = environment
        self.recorder = recorder
        self.transport = transport
        self.settings = settings
        self.pool = UserPool(environment, on_stop_test=lambda _user: self.send(AskToStopRun("a user raised StopTest")))
        self.finished = gevent.event.Event()
        self._process = psutil.Process()
        self._process.cpu_percent()
        self._greenlets: list[gevent.Greenlet] = []
        self._capped = False
        """Told once that the users asked for did not fit in memory."""
        self._user_settings: tuple[Any, bool] | None = None
        """The master's user class settings last applied (`_configure_user_classes`)."""
        self.handlers = handlers or MessageHandlers()
        self.runner = WorkerRunner(self, self.handlers)
        environment.runner = self.runner
        self._logs_sent = RECENT.total
        """The number of the first log line not yet sent: lines from before this worker (a forked parent's) stay."""

    # --- lifecycle --------------------------------------------------------------------------------------------

    def on_start(self) -> None:
        self.send(self.ready_message())
        self._greenlets = [gevent.spawn(self._heartbeat_loop), gevent.spawn(self._report_loop)]

    def on_stop(self) -> None:
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self.finished.set()

    # --- the state, as the rest of horde reads it -------------------------------------------------------------

    @property
    def state(self) -> WorkerState:
        return self.actor_state.state

    @property
    def incarnation(self) -> str:
        return self.actor_state.incarnation

    @property
    def worker_index(self) -> int:
        return self.actor_state.worker_index

    @property
    def last_step(self) -> int:
        return self.actor_state.last_step

    @property
    def stop_timeout(self) -> float:
        return self.actor_state.stop_timeout

    @property
    def unacknowledged_reports(self) -> int:
        """Reports kept for resending until the master says it recorded them."""
        return len(self._reports)

    def ready_message(self) -> Ready:
        return Ready(
            node_id=self.node_id,
            incarnation=self.incarnation,
            horde_version=__version__,
            protocol_version=PROTOCOL_VERSION,
            hostname=socket.gethostname(),
            pid=os.getpid(),
            cpu_count=os.cpu_count() or 1,
            user_classes=tuple(sorted(self.environment.user_classes_by_name)),
            auth_token=self.settings.auth_token,
            hostless=(
                hostless_classes(self.environment.user_classes_by_name, self.environment.host)
                if self.settings.declare_hostless
                else ()
            ),
        )

    def send(self, message: Any) -> None:
        try:
            self.transport.send(message)
        except RPCError as exc:
            log.warning("could not send to master", message=type(message).__name__, error=str(exc))

    # --- decide, apply, react ---------------------------------------------------------------------------------

    def on_receive(self, message: MasterMessageType | MasterLost | QuitRequest | ResumeSpawning) -> None:
        """Never raises: pykka stops an actor whose on_receive raises, and a worker that is gone without a word
        leaves the master waiting for its stop. User code runs in the users' own greenlets and listeners are
        guarded by their hook, so this is the last line, for a fault of horde's own."""
        try:
            if isinstance(message, ResumeSpawning):
                state = self.actor_state
                if state.last_step == message.step and state.state in (WorkerState.SPAWNING, WorkerState.RUNNING):
                    self._place_users(message.step, message.user_counts)  # else overtaken: stopped, or a newer step
            elif isinstance(message, Rejoin):
                self._handle(RejoinAsked(message.reason, new_incarnation()))
            else:
                self._handle(message)
        except Exception:
            log.exception("handling a master message failed; the worker goes on", message=type(message).__name__)

    def _handle(self, message: WorkerCommand) -> None:
        for event in decide(self.actor_state, message):
            before = self.actor_state.state
            self.actor_state = apply(self.actor_state, event)
            if self.actor_state.state != before:
                log.debug("worker state", node=self.node_id, state=self.actor_state.state, previous=before)
            self._react(event, message)

    def _react(self, event: WorkerEvent, message: WorkerCommand) -> None:
        """The side effects of one event, with the state already updated."""
        environment = self.environment
        if isinstance(event, Accepted):
            for key in event.resend:
                report = self._reports.get(key)  # the report loop may give one up while these are sent
                if report is not None:
                    self.send(report)  # merged once if the master knows them (seq), else journaled as dropped
        elif isinstance(event, ReportSent):
            assert isinstance(message, ReportDue)
            report = StatsReport(event.incarnation, event.seq, message.delta, message.worker_time, event.final)
            self._reports[(event.incarnation, event.seq)] = report
            self.send(report)
        elif isinstance(event, ReportGivenUp):
            self._reports.pop(event.key, None)
            log.warning(
                "too many unacknowledged reports; the oldest is given up", incarnation=event.key[0], seq=event.key[1]
            )
        elif isinstance(event, ReportsAcknowledged):
            for key in event.keys:
                self._reports.pop(key, None)
        elif isinstance(event, StepStarted):
            self.send(Spawning(event.step))
        elif isinstance(event, StopTimeoutChanged):
            environment.stop_timeout = event.stop_timeout
        elif isinstance(event, OptionsReceived):
            if environment.parsed_options is None:
                environment.parsed_options = argparse.Namespace()
            for name, value in event.options.items():
                setattr(environment.parsed_options, name, value)
            self._configure_user_classes(event.options)
        elif isinstance(event, LoadTestStarted):
            if event.host:
                environment.host = event.host
            environment.apply_tag_filters()
            environment.events.test_start.fire(environment=environment)
        elif isinstance(event, UsersSpawned):
            self._place_users(event.step, event.user_counts)
        elif isinstance(event, LoadTestStopping):
            environment.events.test_stopping.fire(environment=environment)
        elif isinstance(event, UsersStopped):
            self.pool.stop_all(event.stop_timeout)
        elif isinstance(event, FinalReportRequested):
            self._send_report(final=True)
        elif isinstance(event, StopConfirmed):
            self.send(Stopped())
        elif isinstance(event, LoadTestStopped):
            environment.events.test_stop.fire(environment=environment)
        elif isinstance(event, AskedToRejoin):
            log.warning("master asked this worker to rejoin", reason=event.reason)
        elif isinstance(event, MasterSilent):
            log.warning("the master is silent; stopping users and reconnecting", silent_for=round(event.silent_for, 1))
        elif isinstance(event, Reconnected):
            self.transport.reconnect()
        elif isinstance(event, IncarnationStarted):
            self.send(self.ready_message())
        elif isinstance(event, CustomMessageReceived):
            self.handlers.dispatch(environment, event.kind, event.data, self.node_id)
        elif isinstance(event, Rejected):  # the process's one line says it: "quit: rejected by master: ..."
            log.debug("master rejected this worker", reason=event.reason)
        elif isinstance(event, QuitDecided):
            self.outcome.reason = event.reason
            if event.exit_code is not None:
                self.outcome.exit_code = event.exit_code
        elif isinstance(event, GoodbyeSaid):
            self.send(WorkerQuit(event.reason))
        elif isinstance(event, Left):
            self.stop()  # the `quitting` event is the process's to fire, once, as it shuts down (not this actor's)

    def _configure_user_classes(self, options: dict[str, Any]) -> None:
        """The master's `--config-users` and `--equal-weights`, before the first step's users run. Each spawn
        carries them; they are applied again only if they changed, so the tag filters the first step applies to
        the tasks are kept."""
        configs = options.get("config_users") or []
        equal_weights = bool(options.get("equal_weights"))
        if (not configs and not equal_weights) or (configs, equal_weights) == self._user_settings:
            return
        self._user_settings = (configs, equal_weights)
        try:
            self.environment.configure_user_classes(configs, equal_weights)
        except (ValueError, TypeError) as exc:
            log.warning("the master's user class settings do not fit this worker's classes", error=str(exc))

    def _place_users(self, step: int, user_counts: dict[str, int]) -> None:
        """Bring the pool to a step's counts, giving way to any message that comes meanwhile (a stop, a newer
        step): the rest is placed by a `ResumeSpawning` queued behind that message (ADR 0025)."""
        fit = users_that_fit(self.pool.user_count)
        if sum(user_counts.values()) > fit:
            if not self._capped:
                log.warning("not enough memory for the users asked; capped", asked=sum(user_counts.values()), fit=fit)
            self._capped = True
            user_counts = capped(user_counts, fit)
        if not self.pool.set_counts(user_counts, interrupted=self._mail_waiting):
            self.actor_ref.tell(ResumeSpawning(step, user_counts))
            return
        counts = self.pool.counts()
        self.send(SpawningComplete(step, counts))
        self.environment.events.spawning_complete.fire(user_count=sum(counts.values()))

    def _mail_waiting(self) -> bool:
        return not self.actor_inbox.empty()

    # --- the two clocks of a worker ---------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        interval = self.settings.heartbeat_interval
        silence_limit = interval * self.settings.heartbeat_liveness
        previous = time.monotonic()
        while self.state != WorkerState.QUIT:
            gevent.sleep(interval)
            now = time.monotonic()
            held_up = now - previous > 2 * interval  # this process stalled: the master's beats may be queued
            previous = now
            if self.state == WorkerState.CONNECTING:
                self.send(self.ready_message())
                continue
            silent_for = now - self.clock.heard_at
            if silent_for > silence_limit and not held_up:
                self.actor_ref.tell(MasterLost(silent_for, self.incarnation, new_incarnation()))
                continue
            self.send(
                Heartbeat(
                    state=self.state,
                    cpu_percent=self._process.cpu_percent(),
                    memory_bytes=self._process.memory_info().rss,
                    user_count=self.pool.user_count,
                    worker_time=time.time(),
                    logs=self._new_log_lines() if self.settings.send_logs else (),
                )
            )

    def _new_log_lines(self) -> tuple[str, ...]:
        """The next log lines for the master, at most `MAX_LOG_LINES` a beat: a burst goes over a few beats, and
        what was logged faster than that for longer than the process keeps is said to be missing, in one line."""
        lines, skipped, self._logs_sent = RECENT.since(self._logs_sent, MAX_LOG_LINES - 1)
        if skipped:
            lines.insert(0, f"[{skipped} log lines of this worker were not sent; its own log has them]")
        return tuple(line[:MAX_LOG_LINE_CHARS] for line in lines)

    def _report_loop(self) -> None:
        while True:
            gevent.sleep(self.settings.stats_interval)
            if self.state in REPORTING_STATES:
                self._send_report(final=False)

    def _send_report(self, final: bool) -> None:
        """Numbered by `decide` only now, with the delta in hand: a final report waits for on_stop to finish."""
        self._handle(ReportDue(final, self.recorder.take_delta(), time.time()))
