"""How messages move between a master and its workers, seen from each side: one interface, two implementations.

The master's actors only ever see a `MasterTransport` and a worker only a `WorkerTransport`. A distributed run plugs
in ZeroMQ sockets (`horde.protocol.zmq_transport`); a local run plugs in an `InProcessLink`, whose two ends have
exactly the same methods and carry the same encoded frames through the same codec (ADR 0013). So a local run
validates every message exactly as a distributed one does, and a bug in the wire format cannot hide behind a
local run's tests.

Receiving is push-style: `start(handler, on_bad_frame)` gives the transport what to call with each decoded
message, and with each frame that did not decode. An exception from a handler is logged, never raised into the
sender: on ZeroMQ the sender is another process, and the in-process link behaves the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

import structlog

from horde.protocol import codec
from horde.protocol.errors import RPCReceiveError, RPCSendError
from horde.protocol.messages import MasterMessageType, WorkerMessageType

log = structlog.get_logger("horde.transport")

MasterHandler = Callable[[str, WorkerMessageType], None]
"""The master's receiver: `(worker_id, message)`."""
MasterBadFrameHandler = Callable[[str, str, bool], None]
"""`(peer, reason, version_mismatch)` for a frame from a peer that did not decode."""
MasterRevokedHandler = Callable[[str, str], None]
"""`(worker_id, reason)` for a connected worker the transport cut off: its key was revoked (ADR 0039)."""
WorkerHandler = Callable[[MasterMessageType], None]
WorkerBadFrameHandler = Callable[[str, bool], None]
"""`(reason, version_mismatch)` for a frame from the master that did not decode."""


class MasterTransport(Protocol):
    def start(
        self,
        handler: MasterHandler,
        on_bad_frame: MasterBadFrameHandler,
        on_revoked: MasterRevokedHandler | None = None,
    ) -> None:
        """`on_revoked` hears of a worker the transport stopped hearing because its key was revoked."""
        ...

    def send(self, worker_id: str, message: MasterMessageType) -> None:
        """Never blocks; a full queue or an unknown worker is an `RPCSendError`."""
        ...

    def caught_up_at(self) -> float:
        """The latest monotonic time by which everything workers had sent was taken off the wire: silence is
        judged up to then, never up to now, so a master behind on its reading does not blame its workers (ADR
        0031)."""
        ...

    def send_many(self, messages: Sequence[tuple[str, MasterMessageType]]) -> list[tuple[str, str]]:
        """Each `(worker_id, message)` in turn; what could not be sent, as `(worker_id, why)`, instead of raising."""
        ...

    def close(self) -> None: ...


class WorkerTransport(Protocol):
    def start(self, handler: WorkerHandler, on_bad_frame: WorkerBadFrameHandler) -> None: ...

    def send(self, message: WorkerMessageType) -> None: ...

    def reconnect(self) -> None: ...

    def close(self) -> None: ...


def deliver_from_worker(
    peer: str, frames: list[bytes], handler: MasterHandler, on_bad_frame: MasterBadFrameHandler
) -> bool:
    """Decode (validate) one frame pair a worker sent and hand the message to the master's handler; False if it
    did not decode. Every master transport receives through this, so all of them treat a frame alike."""
    try:
        message = codec.decode_from_worker(frames)
    except RPCReceiveError as exc:
        on_bad_frame(peer, str(exc), exc.version_mismatch)
        return False
    try:
        handler(peer, message)
    except Exception as exc:  # a bug in the master's handler is not the sender's, and must not stop the listening
        log.exception("handling a worker message failed", peer=peer, error=repr(exc))
    return True


def deliver_from_master(frames: list[bytes], handler: WorkerHandler, on_bad_frame: WorkerBadFrameHandler) -> None:
    """`deliver_from_worker`'s twin on a worker: decode one frame pair from the master and hand the message over."""
    try:
        message = codec.decode_from_master(frames)
    except RPCReceiveError as exc:
        on_bad_frame(str(exc), exc.version_mismatch)
        return
    try:
        handler(message)
    except Exception as exc:
        log.exception("handling a master message failed", error=repr(exc))


class InProcessLink:
    """One master and one worker in the same process, joined by a function call that carries encoded frames.

    A message is encoded by the sender's end and decoded (validated) by the receiver's, synchronously, in the
    sender's greenlet: the same bytes ZeroMQ would carry, without a socket.
    """

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self.master_side = InProcessMasterEnd(self)
        self.worker_side = InProcessWorkerEnd(self)


class InProcessMasterEnd:
    """The master's end of an `InProcessLink`: a `MasterTransport` with one worker."""

    def __init__(self, link: InProcessLink) -> None:
        self._link = link
        self._handler: MasterHandler | None = None
        self._on_bad_frame: MasterBadFrameHandler | None = None

    def start(
        self,
        handler: MasterHandler,
        on_bad_frame: MasterBadFrameHandler,
        on_revoked: MasterRevokedHandler | None = None,
    ) -> None:
        """Nothing is revoked in a process: `on_revoked` is never called."""
        self._handler, self._on_bad_frame = handler, on_bad_frame

    def send(self, worker_id: str, message: MasterMessageType) -> None:
        if worker_id != self._link.worker_id:
            raise RPCSendError(f"no worker {worker_id!r} on this link")
        self._link.worker_side.receive(codec.encode(message))

    def send_many(self, messages: Sequence[tuple[str, MasterMessageType]]) -> list[tuple[str, str]]:
        failed = []
        for worker_id, message in messages:
            try:
                self.send(worker_id, message)
            except RPCSendError as exc:
                failed.append((worker_id, str(exc)))
        return failed

    def caught_up_at(self) -> float:
        """Always now: a frame is handled the moment the worker's end hands it over."""
        return time.monotonic()

    def receive(self, frames: list[bytes]) -> None:
        """A frame pair from the worker's end, handled as the ZeroMQ master's receive loop handles one."""
        if self._handler is None or self._on_bad_frame is None:
            raise RPCSendError("no master is listening")
        deliver_from_worker(self._link.worker_id, frames, self._handler, self._on_bad_frame)

    def close(self) -> None:
        self._handler = self._on_bad_frame = None


class InProcessWorkerEnd:
    """The worker's end of an `InProcessLink`: a `WorkerTransport` whose master is in the same process."""

    def __init__(self, link: InProcessLink) -> None:
        self._link = link
        self._handler: WorkerHandler | None = None
        self._on_bad_frame: WorkerBadFrameHandler | None = None

    def start(self, handler: WorkerHandler, on_bad_frame: WorkerBadFrameHandler) -> None:
        self._handler, self._on_bad_frame = handler, on_bad_frame

    def send(self, message: WorkerMessageType) -> None:
        self._link.master_side.receive(codec.encode(message))

    def receive(self, frames: list[bytes]) -> None:
        if self._handler is None or self._on_bad_frame is None:
            raise RPCSendError(f"no worker {self._link.worker_id!r} is listening")
        deliver_from_master(frames, self._handler, self._on_bad_frame)

    def reconnect(self) -> None:
        """Nothing to re-establish within one process."""

    def close(self) -> None:
        self._handler = self._on_bad_frame = None
