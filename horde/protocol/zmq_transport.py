"""The ZeroMQ transports of a distributed run: a ROUTER on the master, a DEALER per worker (zmq.green).

A peer that dies or misbehaves must never block or crash the master: sends never block (a full queue or an
unknown peer is an `RPCSendError`), queues are bounded, an oversized message is dropped by libzmq itself
(MAXMSGSIZE), and every frame that does not decode is handed to `on_bad_frame` and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence

import gevent
import structlog
import zmq as plain_zmq
import zmq.green as zmq

from horde.protocol import codec
from horde.protocol.errors import RPCError, RPCSendError
from horde.protocol.messages import MasterHeartbeat, MasterMessageType, WorkerMessageType
from horde.protocol.transport import (
    MasterBadFrameHandler,
    MasterHandler,
    WorkerBadFrameHandler,
    WorkerHandler,
    deliver_from_master,
    deliver_from_worker,
)

log = structlog.get_logger("horde.transport")

HIGH_WATER_MARK = 10_000
MAX_MESSAGE_BYTES = codec.MAX_FRAME_BYTES + 1024
MAX_IDENTITY_BYTES = 255
CLOSE_LINGER_MS = 500
RECEIVE_BURST = 100
"""Messages the master takes off its socket in a row before letting the actors run."""
GATHER_SECONDS = 0.010
"""How long a busy master lets messages gather once its queue is empty, before waiting through zmq.green: a wake
costs it more than a message, and 10 ms is nothing to a heartbeat a second or a report every 2 s (ADR 0012)."""


_NO_ACKS = MasterHeartbeat({})
_EMPTY_BEAT = codec.encode(_NO_ACKS)
"""Most of a second's heartbeats to a thousand workers acknowledge nothing: encoded once (ADR 0028)."""


def _tune(socket: zmq.Socket[bytes]) -> None:
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SNDHWM, HIGH_WATER_MARK)
    socket.setsockopt(zmq.RCVHWM, HIGH_WATER_MARK)
    socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    socket.setsockopt(zmq.TCP_KEEPALIVE, 1)
    socket.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 30)


class ZmqMasterTransport:
    """The master's ROUTER: routes replies by the worker's identity, which is its node id."""

    def __init__(self, bind_host: str, bind_port: int) -> None:
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.ROUTER)
        _tune(self._socket)
        self._socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self._socket.setsockopt(zmq.ROUTER_HANDOVER, 1)
        host = "*" if bind_host in ("*", "0.0.0.0", "") else bind_host
        try:
            if bind_port == 0:
                self.port = self._socket.bind_to_random_port(f"tcp://{host}")
            else:
                self._socket.bind(f"tcp://{host}:{bind_port}")
                self.port = bind_port
        except zmq.ZMQError as exc:
            self._socket.close()
            raise RPCError(f"cannot bind the master to {host}:{bind_port}: {exc.strerror}") from None
        # The same socket without zmq.green's wrapping, to take what is already queued: a busy master receives
        # thousands of messages a second, and the wrapping costs more than the call (ADR 0010). The receiving
        # greenlet waits through zmq.green whenever nothing is queued; `send_many` checks zmq.green's events
        # after its plain sends (ADR 0012).
        self._plain: plain_zmq.Socket[bytes] = plain_zmq.Socket.shadow(self._socket.underlying)
        self._receiver: gevent.Greenlet | None = None
        self.frames_rejected = 0

    def start(self, handler: MasterHandler, on_bad_frame: MasterBadFrameHandler) -> None:
        self._receiver = gevent.spawn(self._receive_loop, handler, on_bad_frame)

    def _receive_loop(self, handler: MasterHandler, on_bad_frame: MasterBadFrameHandler) -> None:
        taken = 0
        while True:
            try:
                try:
                    frames = self._plain.recv_multipart(plain_zmq.NOBLOCK)
                except plain_zmq.Again:
                    if taken:  # busy: gather what arrives over a moment instead of waking once per message
                        taken = 0
                        gevent.sleep(GATHER_SECONDS)
                        continue
                    frames = self._socket.recv_multipart()  # idle: wait as a greenlet
                taken += 1
                if taken % RECEIVE_BURST == 0:
                    gevent.sleep(0)
            except zmq.ZMQError as exc:
                if exc.errno == zmq.ETERM or self._socket.closed:
                    return
                log.warning("master receive failed", error=str(exc))
                continue
            identity, payload = frames[0], frames[1:]
            peer = identity[:MAX_IDENTITY_BYTES].decode("utf-8", "replace")
            if not deliver_from_worker(peer, payload, handler, on_bad_frame):
                self.frames_rejected += 1

    def send(self, worker_id: str, message: MasterMessageType) -> None:
        try:
            # zmq.green's send, not the plain one: its check of the socket's events afterwards is what wakes the
            # receiving greenlet for a message whose signal this send consumed.
            self._socket.send_multipart([worker_id.encode(), *codec.encode(message)], flags=zmq.NOBLOCK)
        except zmq.Again:
            raise RPCSendError(f"queue to worker {worker_id!r} is full") from None
        except zmq.ZMQError as exc:
            raise RPCSendError(f"cannot send to worker {worker_id!r}: {exc.strerror}") from None

    def send_many(self, messages: Sequence[tuple[str, MasterMessageType]]) -> list[tuple[str, str]]:
        """A heartbeat to each of a thousand workers: plain sends, then zmq.green's check of the socket's events
        once, as its own send does after each one (ADR 0010), instead of a thousand times."""
        failed = []
        try:
            for worker_id, message in messages:
                frames = _EMPTY_BEAT if message == _NO_ACKS else codec.encode(message)
                try:
                    self._plain.send_multipart([worker_id.encode(), *frames], flags=plain_zmq.NOBLOCK)
                except plain_zmq.Again:
                    failed.append((worker_id, "its queue is full"))
                except plain_zmq.ZMQError as exc:
                    failed.append((worker_id, exc.strerror))
        finally:
            self._socket.get(zmq.EVENTS)  # wakes the receiving greenlet if a send consumed its readable signal
        return failed

    def close(self) -> None:
        if self._receiver is not None:
            self._receiver.kill(timeout=1)
        self._socket.close(linger=0)
        self._context.term()


class ZmqWorkerTransport:
    """A worker's DEALER, connected to the master under the worker's node id."""

    def __init__(self, master_host: str, master_port: int, identity: str) -> None:
        self._address = f"tcp://{master_host}:{master_port}"
        self._identity = identity
        self._context = zmq.Context()
        self._socket = self._connect()
        self._closing = False
        self._receiver: gevent.Greenlet | None = None
        self._handler: WorkerHandler | None = None
        self._on_bad_frame: WorkerBadFrameHandler | None = None

    def _connect(self) -> zmq.Socket[bytes]:
        socket = self._context.socket(zmq.DEALER)
        _tune(socket)
        socket.setsockopt(zmq.IDENTITY, self._identity.encode())
        socket.connect(self._address)
        return socket

    def start(self, handler: WorkerHandler, on_bad_frame: WorkerBadFrameHandler) -> None:
        self._handler = handler
        self._on_bad_frame = on_bad_frame
        self._receiver = gevent.spawn(self._receive_loop)

    def _receive_loop(self) -> None:
        assert self._handler is not None and self._on_bad_frame is not None
        while True:
            socket = self._socket
            try:
                frames = socket.recv_multipart()
            except zmq.ZMQError as exc:
                if self._closing or exc.errno == zmq.ETERM:
                    return
                if not socket.closed:
                    log.warning("worker receive failed", error=str(exc))
                continue
            deliver_from_master(frames, self._handler, self._on_bad_frame)

    def send(self, message: WorkerMessageType) -> None:
        try:
            self._socket.send_multipart(codec.encode(message), flags=zmq.NOBLOCK)
        except zmq.Again:
            raise RPCSendError("queue to the master is full (is it gone?)") from None
        except zmq.ZMQError as exc:
            raise RPCSendError(f"cannot send to the master: {exc.strerror}") from None

    def reconnect(self) -> None:
        """A fresh connection: a master that is gone, or a route taken over by another peer with our identity
        (ROUTER_HANDOVER), leaves the old one deaf. Unacknowledged reports are resent by the Worker."""
        old = self._socket
        self._socket = self._connect()
        old.close(linger=0)

    def close(self) -> None:
        self._closing = True
        if self._receiver is not None:
            self._receiver.kill(timeout=1)
        self._socket.close(linger=CLOSE_LINGER_MS)  # let a goodbye reach the master
        self._context.term()
