"""The master's ROUTER with real sockets on 127.0.0.1: many sends in one go, and a receiver that still wakes."""

from __future__ import annotations

import time
from collections.abc import Iterator

import gevent
import gevent.event
import gevent.queue
import pytest

from horde.protocol.messages import Heartbeat, MasterHeartbeat, MasterMessageType, WorkerMessageType
from horde.protocol.zmq_transport import ZmqMasterTransport, ZmqWorkerTransport
from tests.support.waiting import wait_until

WORKERS = 5


@pytest.fixture
def master() -> Iterator[tuple[ZmqMasterTransport, gevent.queue.Queue[tuple[str, WorkerMessageType]]]]:
    transport = ZmqMasterTransport("127.0.0.1", 0)
    received: gevent.queue.Queue[tuple[str, WorkerMessageType]] = gevent.queue.Queue()
    transport.start(lambda peer, message: received.put((peer, message)), lambda *_: None)
    yield transport, received
    transport.close()


def _worker(port: int, name: str) -> tuple[ZmqWorkerTransport, gevent.queue.Queue[MasterMessageType]]:
    transport = ZmqWorkerTransport("127.0.0.1", port, name)
    inbox: gevent.queue.Queue[MasterMessageType] = gevent.queue.Queue()
    transport.start(inbox.put, lambda *_: None)
    return transport, inbox


def test_send_many_reaches_every_worker_and_reports_the_unknown_one(
    master: tuple[ZmqMasterTransport, gevent.queue.Queue[tuple[str, WorkerMessageType]]],
) -> None:
    transport, received = master
    workers = {f"w{n}": _worker(transport.port, f"w{n}") for n in range(WORKERS)}
    try:
        for worker, _ in workers.values():  # a first message makes each DEALER known to the ROUTER
            worker.send(Heartbeat("ready", 1.0, 1, 0, 0.0))
        assert sorted(received.get(timeout=5)[0] for _ in workers) == sorted(workers)

        beats: list[tuple[str, MasterMessageType]] = [
            (name, MasterHeartbeat({name: n})) for n, name in enumerate(workers)
        ]
        failed = transport.send_many([*beats, ("nobody", MasterHeartbeat({}))])

        assert [worker_id for worker_id, _ in failed] == ["nobody"]
        for n, (_, inbox) in enumerate(workers.values()):
            message = inbox.get(timeout=5)
            assert isinstance(message, MasterHeartbeat) and message.acks == {f"w{n}": n}
    finally:
        for worker, _ in workers.values():
            worker.close()


def test_the_receiver_wakes_for_messages_that_arrive_around_a_burst_of_sends(
    master: tuple[ZmqMasterTransport, gevent.queue.Queue[tuple[str, WorkerMessageType]]],
) -> None:
    """The plain sends may consume the socket's readable edge; the check after them must wake the receiver."""
    transport, received = master
    worker, _ = _worker(transport.port, "w0")
    try:
        worker.send(Heartbeat("ready", 1.0, 1, 0, 0.0))
        received.get(timeout=5)
        for round_ in range(50):
            worker.send(Heartbeat("running", 1.0, 1, round_, 0.0))
            transport.send_many([("w0", MasterHeartbeat({})) for _ in range(20)])
            peer, message = received.get(timeout=2)  # far below zmq.green's 11.6 s safety poll
            assert peer == "w0" and isinstance(message, Heartbeat) and message.user_count == round_
    finally:
        worker.close()


def test_caught_up_at_stands_still_while_the_master_has_not_read_what_was_sent() -> None:
    """Silence is judged up to `caught_up_at` (ADR 0031): now while the master waits on an empty socket, and no
    later than the last time it found the socket empty while its receiving is held up."""
    transport = ZmqMasterTransport("127.0.0.1", 0)
    release = gevent.event.Event()
    handled: list[WorkerMessageType] = []

    def slow_handler(peer: str, message: WorkerMessageType) -> None:
        handled.append(message)
        release.wait()  # the master busy with this message: nothing more is read meanwhile

    transport.start(slow_handler, lambda *_: None)
    worker, _ = _worker(transport.port, "w0")
    try:
        before = time.monotonic()
        wait_until(lambda: transport.caught_up_at() >= before, timeout=10, message="an idle master has read all")
        worker.send(Heartbeat("ready", 1.0, 1, 0, 0.0))
        wait_until(lambda: len(handled) == 1, timeout=10)
        stuck = transport.caught_up_at()
        worker.send(Heartbeat("ready", 1.0, 1, 0, 1.0))
        wait_until(lambda: time.monotonic() > stuck + 0.2, timeout=10)

        assert transport.caught_up_at() == stuck < time.monotonic() - 0.2

        release.set()
        wait_until(lambda: len(handled) == 2, timeout=10)
        wait_until(lambda: transport.caught_up_at() > stuck + 0.2, timeout=10)
    finally:
        release.set()
        worker.close()
        transport.close()
