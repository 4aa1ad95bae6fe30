"""Where a run's users live and how its master reaches them: the one thing a local and a distributed run differ in.

A `Cluster` gives the `Run` a master transport and brings the workers: `LocalCluster` starts one Worker in this
process over an `InProcessLink`; `ZmqCluster` binds a ZeroMQ socket and waits for worker processes to connect.
Everything else (journal, actors, plugins, start, stop, summary) is the `Run`'s, the same for both. `--processes`
is a `ZmqCluster` whose worker processes the run starts itself.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING, Any, Protocol

import gevent
import pykka
import structlog

from horde.actors.runners import LocalRunner, MasterRunner, MessageHandlers, Runner
from horde.actors.worker import MasterClock, QuitRequest, Worker, WorkerOutcome, WorkerSettings
from horde.protocol.dispatcher_vocabulary import LOCAL_WORKER_ID
from horde.protocol.errors import RPCError
from horde.protocol.messages import MasterMessageType, MasterQuit
from horde.protocol.states import RunState
from horde.protocol.transport import InProcessLink, MasterTransport, WorkerTransport
from horde.protocol.zmq_transport import ZmqMasterTransport
from horde.run.spec import ClusterSpec, RunSpec
from horde.runtime.environment import Environment
from horde.stats.recorder import StatsRecorder

if TYPE_CHECKING:
    from horde.actors.control_plane import ControlPlane

log = structlog.get_logger("horde")

WORKER_QUIT_TIMEOUT = 5.0
"""How long a local run waits for its worker's users to stop once the run is over."""
QUIT_GRACE = 0.5
"""How long a master lets its goodbye reach remote workers before it closes the socket."""
PROGRESS_NOTE_INTERVAL = 5.0


class ClusterError(Exception):
    """The cluster cannot be set up (a port in use): one line for the person running horde."""


class Cluster(Protocol):
    transport: MasterTransport
    recorder: StatsRecorder | None
    """The recorder of the users in this process, if any run here."""

    def join(self, control: ControlPlane, environment: Environment) -> Runner:
        """Bring the workers to the listening control plane; the runner view locustfiles see."""
        ...

    def wait_for_workers(self, control: ControlPlane) -> bool:
        """Until the run can start; False if the expected workers did not come in time."""
        ...

    def workers_connected(self, control: ControlPlane) -> int: ...

    def release(self, control: ControlPlane) -> None:
        """The run is over: tell every worker, and give it a moment to hear."""
        ...

    def close(self) -> None: ...


def settings_of(spec: RunSpec) -> WorkerSettings:
    return WorkerSettings(
        spec.liveness.heartbeat_interval,
        spec.liveness.stats_interval,
        spec.load.stop_timeout,
        spec.liveness.heartbeat_liveness,
        spec.cluster.quit_when_master_lost,
        spec.cluster.auth_token,
    )


def start_worker(
    node_id: str,
    transport: WorkerTransport,
    environment: Environment,
    recorder: StatsRecorder,
    settings: WorkerSettings,
    handlers: MessageHandlers | None = None,
) -> tuple[pykka.ActorRef[Worker], WorkerOutcome]:
    """A Worker actor listening on `transport`, local or remote alike.

    Each message stamps the master's clock as it arrives, before it waits in the actor's inbox, so a long stop is
    not mistaken for a silent master. A master of another protocol version ends the worker (exit code 2).
    """
    clock = MasterClock()
    outcome = WorkerOutcome()
    worker = Worker.start(node_id, environment, recorder, transport, settings, clock, outcome, handlers)

    def deliver(message: MasterMessageType) -> None:
        clock.heard()
        worker.tell(message)

    def bad_frame(reason: str, version_mismatch: bool) -> None:
        if version_mismatch:
            outcome.reason, outcome.exit_code = f"the master speaks another protocol: {reason}", 2
            worker.tell(QuitRequest(outcome.reason))
        else:
            log.warning("invalid frame from the master dropped", reason=reason)

    transport.start(deliver, bad_frame)
    return worker, outcome


class LocalCluster:
    """One Worker in this process, over an in-process link that carries the same frames as ZeroMQ (ADR 0013)."""

    def __init__(self, spec: RunSpec) -> None:
        self._link = InProcessLink(LOCAL_WORKER_ID)
        self.transport: MasterTransport = self._link.master_side
        self.recorder: StatsRecorder | None = StatsRecorder()
        self._settings = settings_of(spec)
        self._worker: pykka.ActorRef[Worker] | None = None

    def join(self, control: ControlPlane, environment: Environment) -> Runner:
        assert self.recorder is not None
        # The master's handlers: custom messages of both sides reach the same listeners, as in Locust.
        self._worker, _ = start_worker(
            LOCAL_WORKER_ID, self._link.worker_side, environment, self.recorder, self._settings, control.handlers
        )
        return LocalRunner(control, environment.runner)

    def wait_for_workers(self, control: ControlPlane) -> bool:
        return True

    def workers_connected(self, control: ControlPlane) -> int:
        return 1

    def release(self, control: ControlPlane) -> None:
        worker, self._worker = self._worker, None
        if worker is None:
            return
        with contextlib.suppress(pykka.ActorDeadError):
            worker.tell(MasterQuit("the run is over"))
        with contextlib.suppress(Exception):
            worker.stop(timeout=WORKER_QUIT_TIMEOUT)

    def close(self) -> None:
        self._link.worker_side.close()


class ZmqCluster:
    """Worker processes anywhere on the network, connecting to a ROUTER socket this master binds."""

    def __init__(self, spec: RunSpec, print_line: Any = print) -> None:
        self._cluster: ClusterSpec = spec.cluster
        self._print = print_line
        try:
            self._transport = ZmqMasterTransport(spec.cluster.bind_host, spec.cluster.bind_port)
        except RPCError as exc:
            raise ClusterError(str(exc)) from None
        self.transport: MasterTransport = self._transport
        self.recorder: StatsRecorder | None = None

    @property
    def port(self) -> int:
        return self._transport.port

    def join(self, control: ControlPlane, environment: Environment) -> Runner:
        self._print(
            f"horde master: listening on port {self.port}, waiting for {self._cluster.expect_workers} worker(s)",
            flush=True,
        )
        return MasterRunner(control, environment)

    def wait_for_workers(self, control: ControlPlane) -> bool:
        """False when --expect-workers-max-wait ran out before the run could start."""
        started = time.monotonic()
        next_note = started + PROGRESS_NOTE_INTERVAL
        max_wait = self._cluster.expect_workers_max_wait
        while control.master_state().run_state == RunState.READY and not control.wait_stopped(0):
            now = time.monotonic()
            if max_wait and now - started > max_wait:
                return False
            if now >= next_note:
                next_note = now + PROGRESS_NOTE_INTERVAL
                connected = len(control.master_state().active_workers())
                self._print(
                    f"horde master: {connected} of {self._cluster.expect_workers} worker(s) connected", flush=True
                )
            gevent.sleep(0.1)
        return True

    def workers_connected(self, control: ControlPlane) -> int:
        return len(control.links.incarnations)

    def release(self, control: ControlPlane) -> None:
        control.broadcast(MasterQuit("the run is over"))
        gevent.sleep(QUIT_GRACE)

    def close(self) -> None:
        self._transport.close()
