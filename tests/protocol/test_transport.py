"""The in-process link: the same interface as ZeroMQ's, and every message through the same codec."""

from __future__ import annotations

import pytest

from horde.protocol import codec
from horde.protocol.errors import RPCSendError
from horde.protocol.messages import Heartbeat, MasterHeartbeat, MasterMessageType, Stop, WorkerMessageType
from horde.protocol.transport import InProcessLink, MasterTransport, WorkerTransport


def started_link() -> tuple[InProcessLink, list[tuple[str, object]], list[object], list[tuple[object, ...]]]:
    link = InProcessLink("local")
    to_master: list[tuple[str, WorkerMessageType]] = []
    to_worker: list[MasterMessageType] = []
    bad: list[tuple[object, ...]] = []
    link.master_side.start(lambda peer, message: to_master.append((peer, message)), lambda *why: bad.append(why))
    link.worker_side.start(to_worker.append, lambda *why: bad.append(why))
    return link, to_master, to_worker, bad  # type: ignore[return-value]


def test_both_ends_have_the_transport_interfaces_of_zeromq() -> None:
    link = InProcessLink("local")
    master_end: MasterTransport = link.master_side
    worker_end: WorkerTransport = link.worker_side
    assert callable(master_end.send_many) and callable(worker_end.reconnect)


def test_messages_cross_as_encoded_frames_and_arrive_decoded() -> None:
    link, to_master, to_worker, bad = started_link()
    heartbeat = Heartbeat("running", 12.5, 1024, 3, 1.0)
    link.worker_side.send(heartbeat)
    link.master_side.send("local", Stop())
    ((peer, received),), (delivered,) = to_master, to_worker
    assert peer == "local" and received == heartbeat and received is not heartbeat  # decoded, not handed over
    assert delivered == Stop() and bad == []


def test_a_frame_that_does_not_decode_is_handed_to_on_bad_frame_as_over_zeromq() -> None:
    link, to_master, to_worker, bad = started_link()
    link.master_side.receive([b"999", b"\x80"])
    link.worker_side.receive([codec.VERSION_FRAME, b"\xc1 not msgpack"])
    assert to_master == [] and to_worker == []
    (peer, reason, mismatch), (worker_reason, worker_mismatch) = bad
    assert peer == "local" and "protocol version" in str(reason) and mismatch is True
    assert "malformed master message" in str(worker_reason) and worker_mismatch is False


def test_a_failing_handler_is_logged_not_raised_into_the_sender() -> None:
    link = InProcessLink("local")

    def broken(peer: str, message: WorkerMessageType) -> None:
        raise RuntimeError("a bug in the master")

    link.master_side.start(broken, lambda *_: None)
    link.worker_side.send(Heartbeat("ready", 0.0, 0, 0, 0.0))  # does not raise


def test_an_unknown_worker_or_a_closed_end_is_a_send_error() -> None:
    link, _, _, _ = started_link()
    with pytest.raises(RPCSendError):
        link.master_side.send("someone-else", Stop())
    assert link.master_side.send_many([("local", MasterHeartbeat({})), ("other", MasterHeartbeat({}))]) == [
        ("other", "no worker 'other' on this link")
    ]
    link.master_side.close()
    with pytest.raises(RPCSendError):
        link.worker_side.send(Heartbeat("ready", 0.0, 0, 0, 0.0))
