"""A worker process of a distributed run: connect to the master, run the users it assigns, quit when told.

It has no journal and no plugins: those are the master's. Its life is short to tell: (fetch the locustfile from
the master if started with `-f -`), load the user classes, start a Worker on a ZeroMQ transport, wait until the
Worker quits, fire `quitting`, exit with the Worker's outcome.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid

import pykka
import zmq.green as zmq
from zmq.utils.monitor import recv_monitor_message

from horde.actors.worker import QuitRequest, Worker, WorkerOutcome
from horde.protocol import codec
from horde.protocol.errors import RPCReceiveError
from horde.protocol.keys import WorkerKeys
from horde.protocol.messages import LocustfileReply, LocustfileRequest
from horde.protocol.zmq_transport import HANDSHAKE_EVENTS, HandshakeFailures, ZmqWorkerTransport, secure_client
from horde.run.cluster import ClusterError, settings_of, start_worker, worker_keys_of
from horde.run.lifecycle import LOCUSTFILE_MAX_BYTES, RunError, load_user_classes, make_environment
from horde.run.spec import ClusterSpec, Role, RunSpec
from horde.runtime.environment import Environment
from horde.stats.recorder import StatsRecorder

LOCUSTFILE_WAIT = 60.0


def _keys(cluster: ClusterSpec) -> WorkerKeys | None:
    try:
        return worker_keys_of(cluster)
    except ClusterError as exc:
        raise RunError(str(exc)) from None


def fetch_locustfile(cluster: ClusterSpec, node_id: str) -> str:
    """A worker started with `-f -` asks the master for its locustfile and keeps it in a temporary folder.

    With keys the request goes over CURVE like everything else: a master hands its locustfile only to a worker
    whose key it admits (ADR 0024)."""
    keys = _keys(cluster)
    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.MAXMSGSIZE, LOCUSTFILE_MAX_BYTES * 4)
    dealer.setsockopt(zmq.IDENTITY, f"{node_id}_locustfile".encode())
    secure_client(dealer, keys)
    monitor = dealer.get_monitor_socket(HANDSHAKE_EVENTS | zmq.EVENT_HANDSHAKE_SUCCEEDED)
    failures = HandshakeFailures(keys is not None)
    poller = zmq.Poller()
    poller.register(dealer, zmq.POLLIN)
    poller.register(monitor, zmq.POLLIN)
    dealer.connect(f"tcp://{cluster.master_host}:{cluster.master_port}")
    try:
        deadline = time.monotonic() + LOCUSTFILE_WAIT
        while time.monotonic() < deadline:
            dealer.send_multipart(codec.encode(LocustfileRequest()))
            answer_by = time.monotonic() + 2.0
            ready: dict[object, int] = {}
            while not ready.get(dealer) and time.monotonic() < answer_by:
                ready = dict(poller.poll(max(1, int((answer_by - time.monotonic()) * 1000))))
                if ready.get(monitor):
                    refused = failures.refused(recv_monitor_message(monitor)["event"])
                    if refused is not None:
                        raise RunError(f"cannot get the locustfile from the master: {refused}")
            if ready.get(dealer):
                try:
                    reply = codec.decode_from_master(dealer.recv_multipart())
                except RPCReceiveError as exc:
                    raise RunError(f"the master's locustfile reply is invalid: {exc}") from None
                if not isinstance(reply, LocustfileReply):
                    continue
                if reply.error:
                    raise RunError(f"cannot get the locustfile from the master: {reply.error}")
                if len(reply.contents.encode()) > LOCUSTFILE_MAX_BYTES:
                    raise RunError(f"the master's locustfile is over {LOCUSTFILE_MAX_BYTES} bytes")
                folder = tempfile.mkdtemp(prefix="horde-locustfile-")
                path = os.path.join(folder, os.path.basename(reply.filename) or "locustfile.py")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(reply.contents)
                return path
        raise RunError(
            f"no locustfile from a master at {cluster.master_host}:{cluster.master_port} within {LOCUSTFILE_WAIT:g} s"
        )
    finally:
        dealer.disable_monitor()
        monitor.close(linger=0)
        dealer.close(linger=0)
        context.term()


class WorkerProcess:
    """One worker process: `WorkerProcess.prepare(spec)` connects it, `execute()` runs it until it quits."""

    def __init__(
        self,
        spec: RunSpec,
        node_id: str,
        environment: Environment,
        transport: ZmqWorkerTransport,
        worker: pykka.ActorRef[Worker],
        outcome: WorkerOutcome,
    ) -> None:
        self.spec = spec
        self.node_id = node_id
        self.environment = environment
        self._transport = transport
        self._worker = worker
        self._outcome = outcome

    @classmethod
    def prepare(cls, spec: RunSpec, node_id: str | None = None) -> WorkerProcess:
        if spec.role is not Role.WORKER:
            raise RunError("a WorkerProcess needs a spec with the worker role")
        node_id = node_id or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
        cluster = spec.cluster
        path = fetch_locustfile(cluster, node_id) if spec.locustfile == "-" else spec.locustfile
        _, classes = load_user_classes(path, spec.load.user_classes)
        recorder = StatsRecorder()
        process = cls._connect(spec, node_id, make_environment(spec, classes, None, recorder), recorder)
        environment = process.environment
        environment.events.init.fire(environment=environment, runner=environment.runner, web_ui=None)
        return process

    @classmethod
    def prepare_loaded(cls, spec: RunSpec, environment: Environment, node_id: str | None = None) -> WorkerProcess:
        """A worker of user classes already loaded, in an Environment made by user code (Environment as a
        library); as in Locust, the script fires `init` itself."""
        if spec.role is not Role.WORKER:
            raise RunError("a WorkerProcess needs a spec with the worker role")
        if not environment.user_classes:
            raise RunError("the Environment has no user classes to run")
        recorder = StatsRecorder()
        environment.attach_stats(recorder)
        return cls._connect(spec, node_id or f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}", environment, recorder)

    @classmethod
    def _connect(cls, spec: RunSpec, node_id: str, environment: Environment, recorder: StatsRecorder) -> WorkerProcess:
        cluster = spec.cluster
        transport = ZmqWorkerTransport(cluster.master_host, cluster.master_port, node_id, _keys(cluster))
        settings = dataclasses.replace(settings_of(spec), send_logs=True)  # the master's page shows them (ADR 0038)
        worker, outcome = start_worker(node_id, transport, environment, recorder, settings)
        print(
            f"horde worker {node_id}: connecting to {cluster.master_host}:{cluster.master_port}",
            file=sys.stderr,
            flush=True,
        )
        return cls(spec, node_id, environment, transport, worker, outcome)

    def request_quit(self, reason: str) -> None:
        """Stop the users, send the last report, say goodbye to the master (Ctrl-C, SIGTERM)."""
        self._worker.tell(QuitRequest(reason))

    def execute(self) -> int:
        """Until the Worker quits (told by the master, lost it, or asked to); its exit code."""
        self._worker.actor_stopped.wait()
        self._transport.close()
        self.environment.events.quitting.fire(environment=self.environment)
        reason = self._outcome.reason or "done"
        print(f"horde worker {self.node_id}: quit: {reason}", file=sys.stderr, flush=True)
        return self._outcome.exit_code


class WorkerGroup:
    """`--worker --processes N`: N worker processes of the same command line, and their exit code, the worst of
    theirs (as Locust's parent process gives)."""

    def __init__(self, children: list[subprocess.Popen[bytes]]) -> None:
        self._children = children

    @classmethod
    def start(cls, count: int, argv: list[str]) -> WorkerGroup:
        command = [sys.executable, "-m", "horde", "run", *argv]
        # A session of their own: a Ctrl-C reaches this process only, which passes it on once (a second one
        # would make each worker exit at once).
        return cls([subprocess.Popen(command, start_new_session=True) for _ in range(count)])

    def forward(self, name: str) -> None:
        """A stop signal for this process is one for each of its workers."""
        for child in self._children:
            if child.poll() is None:
                child.send_signal(signal.SIGINT if name == "SIGINT" else signal.SIGTERM)

    def wait(self) -> int:
        codes = [child.wait() for child in self._children]
        return max(codes, default=0)
