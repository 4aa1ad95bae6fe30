"""CURVE between the real transports on 127.0.0.1: who gets in, what each side hears, and what the wire carries.

The master's ROUTER and the workers' DEALERs are the ones a distributed run uses; the keys are real files made by
`horde.protocol.keys.generate`. A small TCP relay between a worker and the master records the bytes on the wire.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import gevent
import gevent.queue
import gevent.server
import pytest

from horde.protocol.keys import (
    KeyFileError,
    MasterKeys,
    WorkerKeys,
    generate,
    keys_from_token,
    master_keys,
    read_key_pair,
    read_public_key,
    worker_keys,
)
from horde.protocol.messages import MasterMessageType, Ready, Reject, WorkerMessageType, WorkerQuit
from horde.protocol.zmq_transport import ZmqMasterTransport, ZmqWorkerTransport
from tests.support.waiting import wait_until

MARKER = "a-hostname-nobody-else-would-send"

Received = gevent.queue.Queue[tuple[str, WorkerMessageType]]
Rejected = gevent.queue.Queue[tuple[str, str]]


def _ready(name: str) -> Ready:
    return Ready(name, "inc", "0.0.0", 1, MARKER, 1, 1, ("A",))


@pytest.fixture
def keys(tmp_path: Path) -> Path:
    """master, w1, w2 and stranger key pairs; the master admits w1 and w2 (their .key files in `admitted/`)."""
    generate(str(tmp_path), ["master", "w1", "w2", "stranger"])
    admitted = tmp_path / "admitted"
    admitted.mkdir()
    for name in ("w1", "w2"):
        (admitted / f"{name}.key").write_bytes((tmp_path / f"{name}.key").read_bytes())
    return tmp_path


def _master_keys(keys: Path) -> MasterKeys:
    return master_keys(str(keys / "master.key_secret"), str(keys / "admitted"))


def _worker_keys(keys: Path, name: str, master: str = "master") -> WorkerKeys:
    return worker_keys(str(keys / f"{name}.key_secret"), str(keys / f"{master}.key"))


class Master:
    def __init__(self, keys: MasterKeys | None, key_check: float = 0.2) -> None:
        self.transport = ZmqMasterTransport("127.0.0.1", 0, keys, key_check)
        self.received: Received = gevent.queue.Queue()
        self.rejected: Rejected = gevent.queue.Queue()
        self.revoked: Rejected = gevent.queue.Queue()
        self.transport.start(
            lambda peer, message: self.received.put((peer, message)),
            lambda peer, reason, _version: self.rejected.put((peer, reason)),
            lambda peer, reason: self.revoked.put((peer, reason)),
        )

    def rejections(self, within: float) -> list[tuple[str, str]]:
        got = []
        try:
            got.append(self.rejected.get(timeout=within))
            while True:
                got.append(self.rejected.get(timeout=0.3))
        except gevent.queue.Empty:
            return got


@pytest.fixture
def open_master() -> Iterator[Master]:
    master = Master(None)
    yield master
    master.transport.close()


@pytest.fixture
def keyed_master(keys: Path) -> Iterator[Master]:
    master = Master(_master_keys(keys))
    yield master
    master.transport.close()


class Worker:
    def __init__(self, port: int, name: str, keys: WorkerKeys | None) -> None:
        self.transport = ZmqWorkerTransport("127.0.0.1", port, name, keys)
        self.inbox: gevent.queue.Queue[MasterMessageType] = gevent.queue.Queue()
        self.transport.start(self.inbox.put, lambda *_: None)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *_: object) -> None:
        self.transport.close()

    def reject(self, timeout: float = 5) -> str:
        message = self.inbox.get(timeout=timeout)
        assert isinstance(message, Reject), message
        return message.reason


def test_generated_keys_are_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    written = generate(str(tmp_path / "k"), ["master"])
    assert [os.path.basename(p) for p in written[0]] == ["master.key", "master.key_secret"]
    for path in written[0]:
        assert os.stat(path).st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "k").st_mode & 0o777 == 0o700
    before = (tmp_path / "k" / "master.key_secret").read_bytes()
    with pytest.raises(KeyFileError, match="already exists"):
        generate(str(tmp_path / "k"), ["master"])
    assert (tmp_path / "k" / "master.key_secret").read_bytes() == before
    pair = read_key_pair(written[0][1])
    assert pair.public == read_public_key(written[0][0]) and len(pair.secret) == 40


def test_bad_key_files_are_one_line_errors(keys: Path) -> None:
    os.chmod(keys / "w1.key_secret", 0o644)
    with pytest.raises(KeyFileError, match="readable by others"):
        read_key_pair(str(keys / "w1.key_secret"))
    with pytest.raises(KeyFileError, match="holds no secret key"):
        read_key_pair(str(keys / "w2.key"))
    (keys / "junk.key").write_text("public-key = 'short'\n")
    with pytest.raises(KeyFileError, match="40 characters"):
        read_public_key(str(keys / "junk.key"))
    with pytest.raises(KeyFileError, match="not a readable key file"):
        read_public_key(str(keys / "nowhere.key"))
    empty = keys / "empty"
    empty.mkdir()
    with pytest.raises(KeyFileError, match="no worker could join"):
        master_keys(str(keys / "master.key_secret"), str(empty))


def test_a_worker_with_an_authorised_key_is_heard(keys: Path, keyed_master: Master) -> None:
    with Worker(keyed_master.transport.port, "w1-node", _worker_keys(keys, "w1")) as worker:
        worker.transport.send(_ready("w1-node"))
        peer, message = keyed_master.received.get(timeout=5)
        assert peer == "w1-node" and isinstance(message, Ready)
        keyed_master.transport.send("w1-node", Reject("just checking the way back"))
        assert worker.reject() == "just checking the way back"
    assert keyed_master.rejected.empty()


@pytest.mark.parametrize(
    ("worker_key", "master_key", "worker_hears", "master_journals"),
    [
        ("stranger", "master", "refused this worker's key", "is not among the master's worker keys"),
        (None, None, "the master needs a key", "a peer without a CURVE key"),
        ("w1", "stranger", "is --master-public-key the master's key?", "a peer without a CURVE key"),
    ],
    ids=["wrong-key", "no-key", "wrong-master-key"],
)
def test_a_worker_the_master_does_not_admit_is_refused_on_both_sides(
    keys: Path,
    keyed_master: Master,
    worker_key: str | None,
    master_key: str | None,
    worker_hears: str,
    master_journals: str,
) -> None:
    worker_side = _worker_keys(keys, worker_key, master_key or "master") if worker_key else None
    with Worker(keyed_master.transport.port, "intruder", worker_side) as worker:
        worker.transport.send(_ready("intruder"))
        reason = worker.reject(timeout=10)
        assert reason.startswith("not authorised") and worker_hears in reason, reason
    rejections = keyed_master.rejections(within=5)  # the worker is gone: its last retries come in, then nothing
    assert rejections and all(master_journals in why for _, why in rejections), rejections
    assert keyed_master.received.empty(), "nothing the peer sent may reach the master's handler"


def test_a_key_removed_from_the_folder_is_refused_from_the_next_connection(keys: Path, keyed_master: Master) -> None:
    with Worker(keyed_master.transport.port, "w2-node", _worker_keys(keys, "w2")) as worker:
        worker.transport.send(_ready("w2-node"))
        assert keyed_master.received.get(timeout=5)[0] == "w2-node"
    (keys / "admitted" / "w2.key").unlink()  # revoked
    with Worker(keyed_master.transport.port, "w2-again", _worker_keys(keys, "w2")) as worker:
        worker.transport.send(_ready("w2-again"))
        assert "refused this worker's key" in worker.reject(timeout=10)
    assert keyed_master.received.empty()


def test_a_connected_worker_whose_key_is_removed_is_cut_off_within_a_key_check(
    keys: Path, keyed_master: Master
) -> None:
    """ADR 0039: the worker hears a Reject naming the revocation, the master hears it is gone (once), and what the
    worker sends afterwards is a bad frame, never a message; w1, still admitted, is heard throughout."""
    port = keyed_master.transport.port
    with (
        Worker(port, "w1-node", _worker_keys(keys, "w1")) as kept,
        Worker(port, "w2-node", _worker_keys(keys, "w2")) as revoked,
    ):
        for worker, name in ((kept, "w1-node"), (revoked, "w2-node")):
            worker.transport.send(_ready(name))
            assert keyed_master.received.get(timeout=5)[0] == name
        (keys / "admitted" / "w2.key").unlink()
        reason = revoked.reject(timeout=10)
        assert reason.startswith("not authorised: this worker's CURVE key") and "was revoked" in reason, reason
        assert keyed_master.revoked.get(timeout=5) == ("w2-node", reason)
        revoked.transport.send(WorkerQuit("after the revocation"))
        peer, why = keyed_master.rejected.get(timeout=5)
        assert peer == "w2-node" and why.startswith("ignored a frame signed by a revoked CURVE key"), why
        kept.transport.send(WorkerQuit("still here"))
        assert keyed_master.received.get(timeout=5) == ("w1-node", WorkerQuit("still here"))
    assert keyed_master.received.empty() and keyed_master.revoked.empty()  # told once, and nothing of w2's heard


def test_a_key_folder_that_cannot_be_read_revokes_nobody(keys: Path, keyed_master: Master) -> None:
    """A half-written key file must not cut off every worker: the keys read last stand until the folder reads."""
    with Worker(keyed_master.transport.port, "w1-node", _worker_keys(keys, "w1")) as worker:
        worker.transport.send(_ready("w1-node"))
        assert keyed_master.received.get(timeout=5)[0] == "w1-node"
        (keys / "admitted" / "half-written.key").write_text('curve\n    public-key = "short"\n')
        keyed_master.transport.check_keys()
        worker.transport.send(WorkerQuit("heard"))
        assert keyed_master.received.get(timeout=5) == ("w1-node", WorkerQuit("heard"))
        assert keyed_master.revoked.empty() and keyed_master.rejected.empty()


def test_a_peer_reusing_an_admitted_workers_routing_id_is_never_heard_as_that_worker(
    keys: Path, keyed_master: Master
) -> None:
    """w2 holds an admitted key too. While `w1-node` is connected its second connection is refused (no handover),
    so the real worker keeps its route; once w1 is gone, the id is still bound to w1's key: w2's Quit is a bad
    frame, never w1's."""
    port = keyed_master.transport.port
    real = Worker(port, "w1-node", _worker_keys(keys, "w1"))
    real.transport.send(_ready("w1-node"))
    assert keyed_master.received.get(timeout=5)[0] == "w1-node"
    with Worker(port, "w1-node", _worker_keys(keys, "w2")) as spoofer:
        spoofer.transport.send(WorkerQuit("spoofed"))
        with pytest.raises(gevent.queue.Empty):
            keyed_master.received.get(timeout=1)
        keyed_master.transport.send("w1-node", Reject("the route is still yours"))
        assert real.reject() == "the route is still yours"
    real.transport.close()
    gevent.sleep(0.5)  # the master closes the real worker's connection
    with Worker(port, "w1-node", _worker_keys(keys, "w2")) as late:
        late.transport.send(WorkerQuit("spoofed"))
        peer, reason = keyed_master.rejected.get(timeout=5)
    assert peer == "w1-node" and reason.startswith("routing id bound to another CURVE key"), reason
    assert keyed_master.received.empty(), "the spoofed Quit must not reach the master's handler"


def test_the_auth_token_derives_matching_keys_and_never_travels() -> None:
    master_side, worker_side = keys_from_token("s3cret-token")
    assert master_side.is_authorised(worker_side.pair.public)
    assert worker_side.master_public == master_side.pair.public
    other_master, other_worker = keys_from_token("another-token")
    assert not master_side.is_authorised(other_worker.pair.public)
    assert other_master.pair.public != master_side.pair.public


class Relay:
    """A TCP relay from a local port to the master's, recording every byte the worker sends."""

    def __init__(self, port: int) -> None:
        self.seen = bytearray()
        self._target = port
        self._server = gevent.server.StreamServer(("127.0.0.1", 0), self._handle)
        self._server.start()
        self.port = self._server.server_port

    def _handle(self, client: socket.socket, _address: object) -> None:
        upstream = socket.create_connection(("127.0.0.1", self._target))

        def pump(source: socket.socket, sink: socket.socket, record: bool) -> None:
            try:
                while data := source.recv(65536):
                    if record:
                        self.seen += data
                    sink.sendall(data)
            except OSError:
                pass

        back = gevent.spawn(pump, upstream, client, False)
        pump(client, upstream, True)
        back.kill()
        upstream.close()

    def close(self) -> None:
        self._server.stop(timeout=1)


@pytest.mark.parametrize("mode", ["open", "keys", "token"])
def test_with_keys_or_a_token_the_wire_carries_nothing_readable(keys: Path, open_master: Master, mode: str) -> None:
    token_master, token_worker = keys_from_token("s3cret-token")
    master = {"open": open_master, "keys": None, "token": None}[mode] or Master(
        _master_keys(keys) if mode == "keys" else token_master
    )
    worker_side = {"open": None, "keys": _worker_keys(keys, "w1"), "token": token_worker}[mode]
    relay = Relay(master.transport.port)
    try:
        with Worker(relay.port, "w1-node", worker_side) as worker:
            worker.transport.send(_ready("w1-node"))
            assert master.received.get(timeout=5)[0] == "w1-node"
    finally:
        relay.close()
        if master is not open_master:
            master.transport.close()
    secured = mode != "open"
    assert (MARKER.encode() in relay.seen) is not secured
    assert (b"CURVE" in relay.seen) is secured
    assert b"s3cret-token" not in relay.seen


def test_a_refusal_heard_before_the_worker_listens_is_not_lost(keyed_master: Master) -> None:
    """libzmq may fail a keyless handshake once and not try again: a worker whose refusal came before `start`
    must still hear it, or it waits for a master that will never answer (it used to, one time in two)."""
    transport = ZmqWorkerTransport("127.0.0.1", keyed_master.transport.port, "early", None)
    try:
        wait_until(lambda: transport._early_refusal is not None, timeout=10, message="the refusal, before start")
        inbox: gevent.queue.Queue[MasterMessageType] = gevent.queue.Queue()
        transport.start(inbox.put, lambda *_: None)
        message = inbox.get(timeout=5)
        assert isinstance(message, Reject) and "the master needs a key" in message.reason, message
    finally:
        transport.close()
