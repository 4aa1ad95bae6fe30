"""How messages move between a master and its workers, seen from each side.

The master's actors only ever see `MasterTransport` and the worker only `WorkerTransport`; a local run plugs both
into an `InProcessLink`, a distributed run into ZeroMQ sockets. Receiving is push-style: the transport calls the
handler it was given with each decoded message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from horde.protocol.errors import RPCSendError
from horde.protocol.messages import MasterMessageType, WorkerMessageType

MasterHandler = Callable[[str, WorkerMessageType], None]
WorkerHandler = Callable[[MasterMessageType], None]


class MasterTransport(Protocol):
    def send(self, worker_id: str, message: MasterMessageType) -> None: ...

    def send_many(self, messages: Sequence[tuple[str, MasterMessageType]]) -> list[tuple[str, str]]:
        """Each `(worker_id, message)` in turn; what could not be sent, as `(worker_id, why)`, instead of raising."""
        ...

    def close(self) -> None: ...


class WorkerTransport(Protocol):
    def send(self, message: WorkerMessageType) -> None: ...

    def reconnect(self) -> None: ...

    def close(self) -> None: ...


class InProcessLink:
    """One master and one worker in the same process: the typed messages are handed over without encoding.

    Messages are frozen, so passing the object itself is as safe as passing its bytes.
    """

    def __init__(self, worker_id: str) -> None:
        self.worker_id = worker_id
        self._to_master: MasterHandler | None = None
        self._to_worker: WorkerHandler | None = None
        self.master_side = _MasterEnd(self)
        self.worker_side = _WorkerEnd(self)

    def on_master_receive(self, handler: MasterHandler) -> None:
        self._to_master = handler

    def on_worker_receive(self, handler: WorkerHandler) -> None:
        self._to_worker = handler

    def _deliver_to_master(self, message: WorkerMessageType) -> None:
        if self._to_master is None:
            raise RPCSendError("no master is listening")
        self._to_master(self.worker_id, message)

    def _deliver_to_worker(self, worker_id: str, message: MasterMessageType) -> None:
        if worker_id != self.worker_id or self._to_worker is None:
            raise RPCSendError(f"no worker {worker_id!r} on this link")
        self._to_worker(message)


class _MasterEnd:
    def __init__(self, link: InProcessLink) -> None:
        self._link = link

    def send(self, worker_id: str, message: MasterMessageType) -> None:
        self._link._deliver_to_worker(worker_id, message)

    def send_many(self, messages: Sequence[tuple[str, MasterMessageType]]) -> list[tuple[str, str]]:
        failed = []
        for worker_id, message in messages:
            try:
                self.send(worker_id, message)
            except RPCSendError as exc:
                failed.append((worker_id, str(exc)))
        return failed

    def close(self) -> None:
        self._link._to_master = None


class _WorkerEnd:
    def __init__(self, link: InProcessLink) -> None:
        self._link = link

    def send(self, message: WorkerMessageType) -> None:
        self._link._deliver_to_master(message)

    def reconnect(self) -> None:
        """Nothing to re-establish within one process."""

    def close(self) -> None:
        self._link._to_worker = None
