"""The Worker actor: runs the users a master assigns and reports what they measure.

Heartbeats and statistics reports are sent from greenlets of their own rather than through this actor's inbox,
so a long spawn or stop (on_stop running under `--stop-timeout`) never delays them. Requests are recorded by the
StatsRecorder with plain calls; this actor only takes the recorder's delta every reporting interval.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from dataclasses import dataclass
from typing import Any

import gevent
import gevent.event
import psutil
import pykka
import structlog

from horde import __version__
from horde.actors.base import HordeActor
from horde.actors.runners import MessageHandlers, WorkerRunner
from horde.protocol.errors import RPCError
from horde.protocol.messages import (
    PROTOCOL_VERSION,
    Accept,
    Heartbeat,
    MasterCustom,
    MasterHeartbeat,
    MasterMessageType,
    MasterQuit,
    Ready,
    Reject,
    Rejoin,
    Spawn,
    Spawning,
    SpawningComplete,
    StatsAck,
    StatsReport,
    Stop,
    Stopped,
    StopRun,
    WorkerQuit,
)
from horde.protocol.transport import InProcessLink, WorkerTransport
from horde.runtime.environment import Environment
from horde.runtime.user_pool import UserPool
from horde.stats.recorder import StatsRecorder

log = structlog.get_logger("horde.worker")

MAX_UNACKED_REPORTS = 1_000

CONNECTING, READY, SPAWNING, RUNNING, STOPPING, STOPPED, QUIT = (
    "connecting",
    "ready",
    "spawning",
    "running",
    "stopping",
    "stopped",
    "quit",
)


@dataclass(frozen=True, slots=True)
class WorkerSettings:
    heartbeat_interval: float = 1.0
    stats_interval: float = 2.0
    stop_timeout: float = 0.0
    heartbeat_liveness: int = 3
    quit_when_master_lost: bool = False
    auth_token: str = ""


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


class QuitRequest:
    """This process was asked to quit (Ctrl-C, SIGTERM): stop, report, say goodbye to the master."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class _MasterLost:
    """The heartbeat loop's finding, for the incarnation it was made for: a later one has a master already."""

    __slots__ = ("incarnation", "silent_for")

    def __init__(self, silent_for: float, incarnation: str) -> None:
        self.silent_for = silent_for
        self.incarnation = incarnation


class Worker(HordeActor):
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
        self._unacked: dict[tuple[str, int], StatsReport] = {}
        self.node_id = node_id
        self.incarnation = uuid.uuid4().hex[:12]
        self.environment = environment
        self.recorder = recorder
        self.transport = transport
        self.settings = settings
        self.stop_timeout = settings.stop_timeout
        self.pool = UserPool(environment, on_stop_test=lambda _user: self.send(StopRun("a user raised StopTest")))
        self.state = CONNECTING
        self.worker_index = -1
        self.last_step = 0
        self.finished = gevent.event.Event()
        self._seq = 0
        self._process = psutil.Process()
        self._process.cpu_percent()
        self._greenlets: list[gevent.Greenlet] = []
        self.handlers = handlers or MessageHandlers()
        self.runner = WorkerRunner(self, self.handlers)
        environment.runner = self.runner

    # --- lifecycle --------------------------------------------------------------------------------------------

    def on_start(self) -> None:
        self.send(self.ready_message())
        self._greenlets = [gevent.spawn(self._heartbeat_loop), gevent.spawn(self._report_loop)]

    def on_stop(self) -> None:
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        self.finished.set()

    @property
    def unacknowledged_reports(self) -> int:
        """Reports kept for resending until the master says it recorded them."""
        return len(self._unacked)

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
        )

    def send(self, message: Any) -> None:
        try:
            self.transport.send(message)
        except RPCError as exc:
            log.warning("could not send to master", message=type(message).__name__, error=str(exc))

    def _transition(self, new: str) -> None:
        if new != self.state:
            log.debug("worker state", node=self.node_id, state=new, previous=self.state)
            self.state = new

    # --- messages from the master -----------------------------------------------------------------------------

    def on_receive(self, message: MasterMessageType | _MasterLost | QuitRequest) -> None:
        if isinstance(message, _MasterLost):
            if message.incarnation == self.incarnation:
                self._master_lost(message.silent_for)
        elif isinstance(message, QuitRequest):
            self.outcome.reason = message.reason
            if self.state not in (CONNECTING, READY, STOPPED):
                self.pool.stop_all(self.stop_timeout)
                self._send_report(final=True)
            self.send(WorkerQuit(message.reason))
            self._leave()
        elif isinstance(message, Accept):
            if self.state != CONNECTING or message.incarnation not in ("", self.incarnation):
                return  # late: the acceptance of an incarnation this worker has already replaced
            self.worker_index = message.worker_index
            self._transition(READY)
            for report in list(self._unacked.values()):
                self.send(report)  # merged once if the master knows them (seq), else journaled as dropped
        elif isinstance(message, StatsAck):
            self._forget_reports(message.incarnation, message.seq)
        elif isinstance(message, Rejoin):
            if self.state not in (CONNECTING, QUIT):
                log.warning("master asked this worker to rejoin", reason=message.reason)
                self._rejoin(reconnect=False)
        elif isinstance(message, Reject):
            log.error("master rejected this worker", reason=message.reason)
            self.outcome.reason = f"rejected by master: {message.reason}"
            self.outcome.exit_code = 2
            self._leave()
        elif isinstance(message, Spawn):
            if self.state != CONNECTING:  # meant for an earlier incarnation: this one is not admitted yet
                self._spawn(message)
        elif isinstance(message, Stop):
            self._stop_users()
        elif isinstance(message, MasterQuit):
            self.outcome.reason = f"the master said: {message.reason}"
            self._stop_users()
            self._leave()
        elif isinstance(message, MasterCustom):
            self._custom(message)
        elif isinstance(message, MasterHeartbeat):
            for incarnation, seq in message.acks.items():
                self._forget_reports(incarnation, seq)

    def _forget_reports(self, incarnation: str, seq: int) -> None:
        """The master recorded this incarnation's reports up to `seq`: they need never be sent again."""
        for key in [k for k in self._unacked if k[0] == incarnation and k[1] <= seq]:
            del self._unacked[key]

    def _spawn(self, message: Spawn) -> None:
        if message.step <= self.last_step or self.state in (STOPPING, QUIT):
            return
        self.last_step = message.step
        self.send(Spawning(message.step))
        if message.stop_timeout is not None:
            # The master's --stop-timeout rules the whole cluster, as in Locust.
            self.stop_timeout = self.environment.stop_timeout = message.stop_timeout
        if self.state in (READY, STOPPED, CONNECTING):
            if message.host:
                self.environment.host = message.host
            self.environment.apply_tag_filters()
            self.environment.events.test_start.fire(environment=self.environment)
        self._transition(SPAWNING)
        self.pool.set_counts(message.user_counts)
        counts = self.pool.counts()
        self.send(SpawningComplete(message.step, counts))
        self.environment.events.spawning_complete.fire(user_count=sum(counts.values()))
        self._transition(RUNNING)

    def _stop_users(self) -> None:
        if self.state in (STOPPED, QUIT, CONNECTING, READY):
            if self.state in (READY, CONNECTING):
                self.send(Stopped())
                self._transition(STOPPED)
            return
        self._transition(STOPPING)
        self.environment.events.test_stopping.fire(environment=self.environment)
        self.pool.stop_all(self.stop_timeout)
        self._send_report(final=True)
        self.send(Stopped())
        self._transition(STOPPED)
        self.environment.events.test_stop.fire(environment=self.environment)

    def _rejoin(self, reconnect: bool) -> None:
        """Stop this incarnation's users and report them, then introduce a new incarnation to the master.

        Reports stay with the worker until the master acknowledges them (in its heartbeats, or a `StatsAck`), and
        the unacknowledged ones are sent again once a master accepts the new incarnation: each is then merged
        exactly once (seq) if that master knows the old incarnation, or journaled as dropped if it does not.
        Nothing is lost silently.
        """
        self.pool.stop_all(self.stop_timeout)
        self._send_report(final=True)
        if reconnect:
            self.transport.reconnect()
        self.incarnation = uuid.uuid4().hex[:12]
        self._seq = 0
        self.last_step = 0
        self._transition(CONNECTING)
        self.send(self.ready_message())

    def _master_lost(self, silent_for: float) -> None:
        if self.state in (CONNECTING, QUIT):
            return
        if self.settings.quit_when_master_lost:
            self.outcome.reason = f"the master has been silent for {silent_for:.1f} s (--quit-when-master-lost)"
            self.outcome.exit_code = 1
            self.pool.stop_all(self.stop_timeout)
            self._leave()
            return
        log.warning("the master is silent; stopping users and reconnecting", silent_for=round(silent_for, 1))
        self._rejoin(reconnect=True)

    def _leave(self) -> None:
        """The `quitting` event is the process's to fire, once, as it shuts down (not this actor's)."""
        self._transition(QUIT)
        self.stop()

    def _custom(self, message: MasterCustom) -> None:
        self.handlers.dispatch(self.environment, message.kind, message.data, self.node_id)

    # --- the two clocks of a worker ---------------------------------------------------------------------------

    def _heartbeat_loop(self) -> None:
        interval = self.settings.heartbeat_interval
        silence_limit = interval * self.settings.heartbeat_liveness
        previous = time.monotonic()
        while self.state != QUIT:
            gevent.sleep(interval)
            now = time.monotonic()
            held_up = now - previous > 2 * interval  # this process stalled: the master's beats may be queued
            previous = now
            if self.state == CONNECTING:
                self.send(self.ready_message())
                continue
            silent_for = now - self.clock.heard_at
            if silent_for > silence_limit and not held_up:
                self.actor_ref.tell(_MasterLost(silent_for, self.incarnation))
                continue
            self.send(
                Heartbeat(
                    state=self.state,
                    cpu_percent=self._process.cpu_percent(),
                    memory_bytes=self._process.memory_info().rss,
                    user_count=self.pool.user_count,
                    worker_time=time.time(),
                )
            )

    def _report_loop(self) -> None:
        while True:
            gevent.sleep(self.settings.stats_interval)
            if self.state in (SPAWNING, RUNNING, STOPPING):
                self._send_report(final=False)

    def _send_report(self, final: bool) -> None:
        delta = self.recorder.take_delta()
        if not final and delta.is_empty():
            return
        self._seq += 1
        report = StatsReport(self.incarnation, self._seq, delta, time.time(), final)
        self._unacked[(report.incarnation, report.seq)] = report
        if len(self._unacked) > MAX_UNACKED_REPORTS:
            lost = next(iter(self._unacked))
            del self._unacked[lost]
            log.warning("too many unacknowledged reports; the oldest is given up", incarnation=lost[0], seq=lost[1])
        self.send(report)


def start_in_process(
    link: InProcessLink,
    environment: Environment,
    recorder: StatsRecorder,
    settings: WorkerSettings,
    handlers: MessageHandlers | None = None,
) -> pykka.ActorRef[Worker]:
    """The one Worker of a local run, wired to the master over `link` exactly as a remote one is over ZeroMQ.

    Passing the master's `handlers` makes custom messages of both sides reach the same listeners, as in Locust.
    """
    clock = MasterClock()
    worker = Worker.start(link.worker_id, environment, recorder, link.worker_side, settings, clock, None, handlers)

    def deliver(message: MasterMessageType) -> None:
        clock.heard()
        worker.tell(message)

    link.on_worker_receive(deliver)
    return worker
