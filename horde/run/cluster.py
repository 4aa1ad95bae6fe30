"""Where a run's users live and how its master reaches them: the one thing a local and a distributed run differ in.

A `Cluster` gives the `Run` a master transport and brings the workers: `LocalCluster` starts one Worker in this
process over an `InProcessLink`; `ZmqCluster` binds a ZeroMQ socket and waits for worker processes to connect.
Everything else (journal, actors, plugins, start, stop, summary) is the `Run`'s, the same for both. `--processes`
is a `ZmqCluster` whose worker processes the run starts itself.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Protocol

import gevent
import pykka
import structlog

from horde.actors.runners import LocalRunner, MasterRunner, MessageHandlers, Runner
from horde.actors.worker import MasterClock, QuitRequest, Worker, WorkerOutcome, WorkerSettings
from horde.protocol.dispatcher_vocabulary import LOCAL_WORKER_ID
from horde.protocol.errors import RPCError
from horde.protocol.keys import (
    KeyFileError,
    MasterKeys,
    WorkerKeys,
    generate,
    keys_from_token,
    master_keys,
    read_public_key,
    worker_keys,
    write_public_key,
)
from horde.protocol.messages import MasterMessageType, MasterQuit
from horde.protocol.states import RunState
from horde.protocol.transport import InProcessLink, MasterTransport, WorkerTransport
from horde.protocol.zmq_transport import ZmqMasterTransport
from horde.run.spec import ClusterSpec, Role, RunSpec
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
        "",  # the token never travels: both sides derive their CURVE keys from it (ADR 0024)
    )


LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


def master_keys_of(cluster: ClusterSpec) -> MasterKeys | None:
    """The master's CURVE keys: from its key files, derived from the auth token, or None (an open master)."""
    try:
        if cluster.master_secret_key and cluster.worker_public_keys:
            return master_keys(cluster.master_secret_key, cluster.worker_public_keys)
    except KeyFileError as exc:
        raise ClusterError(str(exc)) from None
    return keys_from_token(cluster.auth_token)[0] if cluster.auth_token else None


def worker_keys_of(cluster: ClusterSpec) -> WorkerKeys | None:
    try:
        if cluster.worker_secret_key and cluster.master_public_key:
            return worker_keys(cluster.worker_secret_key, cluster.master_public_key)
    except KeyFileError as exc:
        raise ClusterError(str(exc)) from None
    return keys_from_token(cluster.auth_token)[1] if cluster.auth_token else None


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
        self._settings = replace(settings_of(spec), declare_hostless=False)
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

    def __init__(
        self,
        spec: RunSpec,
        print_line: Any = print,
        bind: tuple[str, int] | None = None,
        local_worker: bytes | None = None,
    ) -> None:
        """`bind` overrides the spec's bind address (a run whose workers are all local binds 127.0.0.1);
        `local_worker` is the public key of the worker processes this run starts, admitted beside the others."""
        self._cluster: ClusterSpec = spec.cluster
        self._expected = spec.expected_workers
        self._print = print_line
        host, port = bind or (spec.cluster.bind_host, spec.cluster.bind_port)
        keys = master_keys_of(spec.cluster)
        if keys is not None and local_worker is not None:
            keys = replace(keys, authorised=keys.authorised | {local_worker})
        self.master_public = keys.pair.public if keys is not None else None
        try:
            self._transport = ZmqMasterTransport(host, port, keys, spec.liveness.heartbeat_interval)
        except RPCError as exc:
            raise ClusterError(str(exc)) from None
        if keys is None and host not in LOOPBACK_HOSTS:
            log.warning(
                f"the master listens on {host} without keys: anyone who reaches port {self.port} can join, read the "
                "locustfile and stop the run (see horde keys generate, --master-secret-key)"
            )
        self.transport: MasterTransport = self._transport
        self.recorder: StatsRecorder | None = None

    @property
    def port(self) -> int:
        return self._transport.port

    def join(self, control: ControlPlane, environment: Environment) -> Runner:
        self._print(
            f"horde master: listening on port {self.port}, waiting for {self._expected} worker(s)",
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
            self.check_local_workers()
            if now >= next_note:
                next_note = now + PROGRESS_NOTE_INTERVAL
                connected = len(control.master_state().active_workers())
                self._print(f"horde master: {connected} of {self._expected} worker(s) connected", flush=True)
            gevent.sleep(0.1)
        return True

    def check_local_workers(self) -> None:
        """Worker processes this run started itself: none here."""

    def workers_connected(self, control: ControlPlane) -> int:
        return len(control.links.incarnations)

    def release(self, control: ControlPlane) -> None:
        control.broadcast(MasterQuit("the run is over"))
        gevent.sleep(QUIT_GRACE)

    def close(self) -> None:
        self._transport.close()


class ProcessCluster(ZmqCluster):
    """`--processes N`: N worker processes on this machine, started and ended by the run, so one load test uses
    every core (one Python process uses one). They are ordinary `horde run --worker` processes connected over
    ZeroMQ on 127.0.0.1: a local run's journal then looks like a distributed one's with N workers.
    """

    def __init__(self, spec: RunSpec, print_line: Any = print) -> None:
        local_only = spec.role is Role.LOCAL
        # A master with key files gives its own worker processes a key pair of their own, for this run only.
        self._key_folder = tempfile.mkdtemp(prefix="horde-keys-") if spec.cluster.master_secret_key else None
        local_worker = None
        if self._key_folder is not None:
            generate(self._key_folder, ["local-worker"])
            local_worker = read_public_key(os.path.join(self._key_folder, "local-worker.key"))
        try:
            super().__init__(
                spec, print_line if not local_only else _quiet, ("127.0.0.1", 0) if local_only else None, local_worker
            )
        except BaseException:
            self._remove_keys()
            raise
        self._spec = spec
        self._children: list[subprocess.Popen[bytes]] = []

    def _remove_keys(self) -> None:
        if self._key_folder is not None:
            shutil.rmtree(self._key_folder, ignore_errors=True)

    def join(self, control: ControlPlane, environment: Environment) -> Runner:
        runner = super().join(control, environment)
        command = worker_command(self._spec, self.port)
        if self._key_folder is not None and self.master_public is not None:
            master_key = os.path.join(self._key_folder, "master.key")
            write_public_key(master_key, self.master_public)
            secret = os.path.join(self._key_folder, "local-worker.key_secret")
            command += ["--worker-secret-key", secret, "--master-public-key", master_key]
        env = (
            {**os.environ, "HORDE_AUTH_TOKEN": self._spec.cluster.auth_token} if self._spec.cluster.auth_token else None
        )
        for _ in range(self._spec.cluster.processes):
            # A session of their own: a Ctrl-C stops the run through its master, which then tells them to quit.
            self._children.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True))
        return runner

    def check_local_workers(self) -> None:
        for child in self._children:
            if child.poll() is not None:
                raise ClusterError(f"a worker process exited with code {child.returncode} before the run started")

    def close(self) -> None:
        """Workers leave on the master's MasterQuit; one that does not within the grace is ended."""
        deadline = time.monotonic() + WORKER_QUIT_TIMEOUT
        for child in self._children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        super().close()
        self._remove_keys()

    @property
    def exit_codes(self) -> list[int | None]:
        return [child.returncode for child in self._children]


def worker_command(spec: RunSpec, port: int) -> list[str]:
    """The command line of one local worker process: what a worker needs of the spec, nothing a master uses.

    It quits when its master is lost, so a killed run leaves no process behind.
    """
    liveness, load = spec.liveness, spec.load
    command = [
        sys.executable, "-m", "horde", "run", "--worker", "-f", spec.locustfile,
        "--master-host", "127.0.0.1", "--master-port", str(port),
        "--heartbeat-interval", repr(liveness.heartbeat_interval),
        "--heartbeat-liveness", str(liveness.heartbeat_liveness),
        "--stats-interval", repr(liveness.stats_interval),
        "--quit-when-master-lost",
    ]  # fmt: skip
    if load.tags is not None:
        command += ["--tags", *load.tags]
    if load.exclude_tags is not None:
        command += ["--exclude-tags", *load.exclude_tags]
    return command + list(load.user_classes)


def _quiet(*_args: object, **_kwargs: object) -> None:
    """A local run with `--processes` says nothing of listening: its workers are its own."""
