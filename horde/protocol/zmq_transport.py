"""The ZeroMQ transports of a distributed run: a ROUTER on the master, a DEALER per worker (zmq.green).

A peer that dies or misbehaves must never block or crash the master: sends never block (a full queue or an
unknown peer is an `RPCSendError`), queues are bounded, an oversized message is dropped by libzmq itself
(MAXMSGSIZE), and every frame that does not decode is handed to `on_bad_frame` and dropped.

With keys (ADR 0024) every connection is CURVE: encrypted, and admitted by the master's ZAP handler before its
first frame is delivered. A second connection under a routing id in use is refused (no handover), and each routing
id is bound to the key that first used it, so a peer that reuses an admitted worker's id under another key is
never heard as that worker: refused while the worker is connected, a bad frame once it is gone. A key removed
from the master's folder while its worker is connected is revoked within a key check (ADR 0039).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence

import gevent
import structlog
import zmq as plain_zmq
import zmq.green as zmq
from zmq.utils.monitor import recv_monitor_message

from horde.protocol import codec
from horde.protocol.errors import RPCError, RPCSendError
from horde.protocol.keys import MasterKeys, WorkerKeys
from horde.protocol.messages import NO_ACKS, MasterMessageType, Reject, WorkerMessageType
from horde.protocol.revocation import KeyRevocation, revoked_reason
from horde.protocol.transport import (
    MasterBadFrameHandler,
    MasterHandler,
    MasterRevokedHandler,
    WorkerBadFrameHandler,
    WorkerHandler,
    deliver_from_master,
    deliver_from_worker,
)
from horde.protocol.zap import ZAP_DOMAIN, ZapResponder

log = structlog.get_logger("horde.transport")

HIGH_WATER_MARK = 10_000
MASTER_RECEIVE_HIGH_WATER_MARK = 32
"""Messages the master's socket queues per worker before it stops reading that worker's connection: a master that
falls behind leaves the rest in the network and the worker's own queue, not in its memory (at 5,000 workers,
10,000 per worker let it reach gigabytes; a worker sends about 3 messages a second, so 32 are 10 s of them).
Nothing is dropped here: the worker's further sends wait in its own queue (ADR 0031)."""
MAX_MESSAGE_BYTES = codec.MAX_FRAME_BYTES + 1024
MAX_IDENTITY_BYTES = 255
CLOSE_LINGER_MS = 500
RECEIVE_BURST = 100
"""Messages the master takes off its socket in a row before letting the actors run."""
ZMTP_HEARTBEAT_MS = 1000
ZMTP_HEARTBEAT_TIMEOUT_MS = 4000
"""With keys, a connection that answers no ZMTP ping for this long is closed, so a worker that reconnects under
its routing id gets it back within seconds (there is no handover then)."""
MAX_BOUND_IDENTITIES = 100_000
"""Routing ids bound to a key; only peers holding an authorised key get one, so this is never reached in practice."""
HANDSHAKE_EVENTS = (
    zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
)
UNCLEAR_HANDSHAKES = 3
"""A handshake that fails without a reason (the master's public key is wrong, or the network cut it) this many
times in a row, and never succeeded, is taken as a refusal."""
IDLE_POLL_MS = 100
"""The longest an idle master waits on its socket before looking again. ZeroMQ signals "readable" on an edge that
any send on the same socket may consume; zmq.green re-checks it for its own receivers but not for a poll, so a
Spawn sent while the receiver polled could leave a worker's answer unread until the next edge (about a second in
a test where a removal's Spawns went out then). Looking again every 100 ms bounds that, at no cost to speak of."""
KEY_CHECK_SECONDS = 1.0
"""How often a master with a key folder looks at it again for revoked keys (the CLI passes the heartbeat
interval): a revoked worker is cut off within this long (ADR 0039)."""
GATHER_SECONDS = 0.010
"""How long a busy master lets messages gather once its queue is empty, before waiting through zmq.green: a wake
costs it more than a message, and 10 ms is nothing to a heartbeat a second or a report every 2 s (ADR 0012)."""


_EMPTY_BEAT = codec.encode(NO_ACKS)
"""Most of a second's heartbeats to a thousand workers acknowledge nothing: encoded once (ADR 0028)."""


def _tune(socket: zmq.Socket[bytes]) -> None:
    socket.setsockopt(zmq.LINGER, 0)
    socket.setsockopt(zmq.SNDHWM, HIGH_WATER_MARK)
    socket.setsockopt(zmq.RCVHWM, HIGH_WATER_MARK)
    socket.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
    socket.setsockopt(zmq.TCP_KEEPALIVE, 1)
    socket.setsockopt(zmq.TCP_KEEPALIVE_IDLE, 30)


class HandshakeWatch:
    """Calls `on_event(event)` for each CURVE handshake on `socket`, from a greenlet reading its monitor."""

    def __init__(self, socket: zmq.Socket[bytes], on_event: Callable[[int], None]) -> None:
        self._socket = socket
        self._monitor = socket.get_monitor_socket(HANDSHAKE_EVENTS | zmq.EVENT_HANDSHAKE_SUCCEEDED)
        self._on_event = on_event
        self._greenlet = gevent.spawn(self._watch)

    def _watch(self) -> None:
        while True:
            try:
                event = recv_monitor_message(self._monitor)["event"]
            except zmq.ZMQError:
                return
            self._on_event(event)

    def stop(self) -> None:
        """Before the socket closes: a monitor left open keeps the context from terminating."""
        self._greenlet.kill(timeout=1)
        if not self._socket.closed:
            self._socket.disable_monitor()
        self._monitor.close(linger=0)


def secure_client(socket: zmq.Socket[bytes], keys: WorkerKeys | None) -> None:
    """A worker's socket speaks CURVE to a master whose public key it holds (nothing, without keys)."""
    if keys is not None:
        socket.setsockopt(zmq.CURVE_PUBLICKEY, keys.pair.public)
        socket.setsockopt(zmq.CURVE_SECRETKEY, keys.pair.secret)
        socket.setsockopt(zmq.CURVE_SERVERKEY, keys.master_public)


def refusal_reason(event: int, secured: bool) -> str:
    if event == zmq.EVENT_HANDSHAKE_FAILED_AUTH:
        return "not authorised: the master refused this worker's key (see --worker-secret-key, --auth-token)"
    if event == zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL:
        if secured:
            return "not authorised: the master does not speak CURVE (it was started without keys)"
        return "not authorised: the master needs a key (--worker-secret-key and --master-public-key, or --auth-token)"
    if secured:
        return "not authorised: the handshake with the master failed (is --master-public-key the master's key?)"
    return (
        "not authorised: the handshake with the master failed (perhaps the master needs a key: --worker-secret-key "
        "and --master-public-key, or --auth-token)"
    )


class HandshakeFailures:
    """Decides, from a socket's handshake events, when the master has refused this worker for good."""

    def __init__(self, secured: bool) -> None:
        self.secured = secured
        self._unclear = 0
        self._succeeded = False

    def refused(self, event: int) -> str | None:
        """The reason the master refused this worker, or None while it may still be the network."""
        if event == zmq.EVENT_HANDSHAKE_SUCCEEDED:
            self._succeeded, self._unclear = True, 0
            return None
        if event in (zmq.EVENT_HANDSHAKE_FAILED_AUTH, zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL):
            return refusal_reason(event, self.secured)
        self._unclear += 1
        if not self._succeeded and self._unclear >= UNCLEAR_HANDSHAKES:
            return refusal_reason(event, self.secured)
        return None


class ZmqMasterTransport:
    """The master's ROUTER: routes replies by the worker's identity, which is its node id."""

    def __init__(
        self, bind_host: str, bind_port: int, keys: MasterKeys | None = None, key_check: float = KEY_CHECK_SECONDS
    ) -> None:
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.ROUTER)
        _tune(self._socket)
        self._socket.setsockopt(zmq.RCVHWM, MASTER_RECEIVE_HIGH_WATER_MARK)
        self._socket.setsockopt(zmq.ROUTER_MANDATORY, 1)
        self.secured = keys is not None
        # Without keys a reconnecting worker takes its route back from a stale connection (handover). With keys,
        # handover would let any holder of an admitted key take another worker's route; instead a second
        # connection under a routing id in use is refused, and ZMTP heartbeats close a dead one within seconds.
        self._socket.setsockopt(zmq.ROUTER_HANDOVER, 0 if self.secured else 1)
        if self.secured:
            self._socket.setsockopt(zmq.HEARTBEAT_IVL, ZMTP_HEARTBEAT_MS)
            self._socket.setsockopt(zmq.HEARTBEAT_TIMEOUT, ZMTP_HEARTBEAT_TIMEOUT_MS)
        self._receiver: gevent.Greenlet | None = None
        self._on_bad_frame: MasterBadFrameHandler | None = None
        self._on_revoked: MasterRevokedHandler | None = None
        self._bound: dict[bytes, bytes] = {}
        self._zap: ZapResponder | None = None
        self._key_check = key_check
        self._key_watch: gevent.Greenlet | None = None
        self._revocation: KeyRevocation | None = None
        if keys is not None and keys.authorised_path is not None:
            self._revocation = KeyRevocation(keys)
        self._watch: HandshakeWatch | None = None
        if keys is not None:
            # The ZAP handler first: a CURVE socket with none to ask would let every key in.
            self._zap = ZapResponder(self._context, keys, self._refused)
            self._socket.setsockopt(zmq.CURVE_SERVER, 1)
            self._socket.setsockopt(zmq.CURVE_SECRETKEY, keys.pair.secret)
            self._socket.setsockopt(zmq.ZAP_DOMAIN, ZAP_DOMAIN)
            self._socket.setsockopt(zmq.ZAP_ENFORCE_DOMAIN, 1)
            self._watch = HandshakeWatch(self._socket, self._handshake_failed)
        host = "*" if bind_host in ("*", "0.0.0.0", "") else bind_host
        try:
            if bind_port == 0:
                self.port = self._socket.bind_to_random_port(f"tcp://{host}")
            else:
                self._socket.bind(f"tcp://{host}:{bind_port}")
                self.port = bind_port
        except zmq.ZMQError as exc:
            self.close()
            raise RPCError(f"cannot bind the master to {host}:{bind_port}: {exc.strerror}") from None
        # The same socket without zmq.green's wrapping, to take what is already queued: a busy master receives
        # thousands of messages a second, and the wrapping costs more than the call (ADR 0010). The receiving
        # greenlet waits through zmq.green whenever nothing is queued; `send_many` checks zmq.green's events
        # after its plain sends (ADR 0012).
        self._plain: plain_zmq.Socket[bytes] = plain_zmq.Socket.shadow(self._socket.underlying)
        self.frames_rejected = 0
        self._caught_up_at = time.monotonic()
        self._waiting = False

    def caught_up_at(self) -> float:
        """Now while the receiving greenlet waits on an empty socket; else when it last found the socket empty:
        everything sent before was read by then. A master busy, or holding back its reading while its actors
        catch up, stops this clock (ADR 0031)."""
        return time.monotonic() if self._waiting else self._caught_up_at

    def start(
        self,
        handler: MasterHandler,
        on_bad_frame: MasterBadFrameHandler,
        on_revoked: MasterRevokedHandler | None = None,
    ) -> None:
        self._on_bad_frame = on_bad_frame
        self._on_revoked = on_revoked
        self._receiver = gevent.spawn(self._receive_loop, handler, on_bad_frame)
        if self._revocation is not None:
            self._key_watch = gevent.spawn(self._watch_keys)

    def _watch_keys(self) -> None:
        while True:
            gevent.sleep(self._key_check)
            self.check_keys()

    def check_keys(self) -> None:
        """Reads the key folder again if it changed, and cuts off every connected worker whose key is gone."""
        if self._revocation is None or not self._revocation.refresh():
            return
        for identity, key in self._revocation.revoked(self._bound):
            self._cut_off(identity, key)

    def _cut_off(self, identity: bytes, key: bytes) -> None:
        """Tells the worker it is refused and the master that it is gone: a worker that is not heard any more
        must not hold users either (ADR 0039)."""
        reason = revoked_reason(key)
        peer = identity[:MAX_IDENTITY_BYTES].decode("utf-8", "replace")
        log.warning("worker key revoked", worker=peer, key=key.decode(errors="replace")[:8])
        with contextlib.suppress(zmq.ZMQError):  # already gone: nobody to tell
            self._socket.send_multipart([identity, *codec.encode(Reject(reason))], flags=zmq.NOBLOCK)
        if self._on_revoked is not None:
            self._on_revoked(peer, reason)

    def _refused(self, peer: str, reason: str) -> None:
        """A peer the ZAP handler refused: a bad frame of that peer's, counted and journaled like one."""
        if self._on_bad_frame is not None:
            self._on_bad_frame(peer, reason, False)
        else:
            log.warning("peer refused before the master listens", peer=peer, reason=reason)

    def _handshake_failed(self, event: int) -> None:
        """Refusals by key are the ZAP handler's to report; these never reached it (no key, or not for us)."""
        if event in (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL, zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL):
            self._refused("handshake", "not authorised: a peer without a CURVE key, or not using this master's key")

    def _recv(self) -> list[bytes] | None:
        """One message: the frames, or None if its peer's routing id is bound to another key (reported)."""
        if not self.secured:
            return self._plain.recv_multipart(plain_zmq.NOBLOCK)
        parts = self._plain.recv_multipart(plain_zmq.NOBLOCK, copy=False)
        frames = [part.bytes for part in parts]
        key = str(parts[-1].get("User-Id")).encode()
        identity = frames[0]
        bound = self._bound.get(identity)
        if bound is None and len(self._bound) < MAX_BOUND_IDENTITIES:
            self._bound[identity] = bound = key
        if bound != key:
            assert self._on_bad_frame is not None
            peer = identity[:MAX_IDENTITY_BYTES].decode("utf-8", "replace")
            reason = f"routing id bound to another CURVE key: ignored a frame signed by {key.decode()[:8]}..."
            self._on_bad_frame(peer, reason, False)
            return None
        if self._revocation is not None and not self._revocation.allows(key):
            assert self._on_bad_frame is not None
            peer = identity[:MAX_IDENTITY_BYTES].decode("utf-8", "replace")
            self._on_bad_frame(peer, f"ignored a frame signed by a revoked CURVE key {key.decode()[:8]}...", False)
            if self._revocation.cut_off(identity):
                self._cut_off(identity, key)
            return None
        return frames

    def _receive_loop(self, handler: MasterHandler, on_bad_frame: MasterBadFrameHandler) -> None:
        taken = 0
        while True:
            try:
                try:
                    received = self._recv()
                except plain_zmq.Again:
                    self._caught_up_at = time.monotonic()
                    if taken:  # busy: gather what arrives over a moment instead of waking once per message
                        taken = 0
                        gevent.sleep(GATHER_SECONDS)
                        continue
                    self._waiting = True
                    try:
                        self._socket.poll(IDLE_POLL_MS)  # idle: wait as a greenlet
                    finally:
                        self._waiting = False
                        self._caught_up_at = time.monotonic()
                    continue
                taken += 1
                if taken % RECEIVE_BURST == 0:
                    gevent.sleep(0)
            except zmq.ZMQError as exc:
                if exc.errno == zmq.ETERM or self._socket.closed:
                    return
                log.warning("master receive failed", error=str(exc))
                continue
            if received is None:
                continue
            identity, payload = received[0], received[1:]
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
                frames = _EMPTY_BEAT if message is NO_ACKS else codec.encode(message)
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
        if self._key_watch is not None:
            self._key_watch.kill(timeout=1)
        if self._watch is not None:
            self._watch.stop()
        if self._zap is not None:
            self._zap.close()
        self._socket.close(linger=0)
        self._context.term()


class ZmqWorkerTransport:
    """A worker's DEALER, connected to the master under the worker's node id.

    With keys, a master that refuses this worker's key (or speaks no CURVE) is heard as a `Reject`: the worker
    quits with one line instead of retrying a handshake that cannot succeed.
    """

    def __init__(self, master_host: str, master_port: int, identity: str, keys: WorkerKeys | None = None) -> None:
        self._address = f"tcp://{master_host}:{master_port}"
        self._identity = identity
        self._keys = keys
        self._context = zmq.Context()
        self._watch: HandshakeWatch | None = None
        self._failures = HandshakeFailures(keys is not None)
        self._refused = False
        #: a refusal heard before `start`: libzmq may not try that handshake again, so it is kept for `start`
        self._early_refusal: str | None = None
        self._closing = False
        self._receiver: gevent.Greenlet | None = None
        self._handler: WorkerHandler | None = None
        self._on_bad_frame: WorkerBadFrameHandler | None = None
        self._socket = self._connect()

    def _connect(self) -> zmq.Socket[bytes]:
        socket = self._context.socket(zmq.DEALER)
        _tune(socket)
        socket.setsockopt(zmq.IDENTITY, self._identity.encode())
        secure_client(socket, self._keys)
        if self._watch is not None:
            self._watch.stop()
        self._watch = HandshakeWatch(socket, self._handshake_event)
        socket.connect(self._address)
        return socket

    def _handshake_event(self, event: int) -> None:
        reason = self._failures.refused(event)
        if reason is None or self._refused:
            return
        if self._handler is None:
            self._early_refusal = self._early_refusal or reason
            return
        self._refuse(reason)

    def _refuse(self, reason: str) -> None:
        assert self._handler is not None
        self._refused = True
        deliver_from_master(codec.encode(Reject(reason)), self._handler, self._on_bad_frame or _ignore)

    def start(self, handler: WorkerHandler, on_bad_frame: WorkerBadFrameHandler) -> None:
        self._handler = handler
        self._on_bad_frame = on_bad_frame
        self._receiver = gevent.spawn(self._receive_loop)
        if self._early_refusal is not None and not self._refused:
            self._refuse(self._early_refusal)

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
        if self._watch is not None:
            self._watch.stop()
        self._socket.close(linger=CLOSE_LINGER_MS)  # let a goodbye reach the master
        self._context.term()


def _ignore(reason: str, version_mismatch: bool) -> None:
    """A frame of our own making cannot be bad."""
