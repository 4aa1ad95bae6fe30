"""Bounded fuzzing: hypothesis drives the codec, then a live master's socket while a real worker runs.

The codec must turn any frames into a message or an `RPCReceiveError`, nothing else. The live master (open, no
keys: the widest surface) gets frames hypothesis makes (random bytes, msgpack maps of every message type with
fields of any type, well-typed messages with any values) from a pool of identities, and raw bytes on its TCP
port, for `HORDE_FUZZ_SECONDS` (30 by default; longer in a soak run): it must never crash or hang, its memory
must stay bounded, and the real worker's reports must still be merged afterwards.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import psutil
import pytest
import zmq.green as zmq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from horde.protocol import codec
from horde.protocol.errors import RPCReceiveError
from horde.protocol.events import WorkerJoined
from horde.protocol.messages import (
    Heartbeat,
    LocustfileRequest,
    Ready,
    Spawning,
    SpawningComplete,
    Stopped,
    WorkerCustom,
    WorkerQuit,
)
from tests.support.processes import LOCUSTFILES, Cluster, HordeProcess, Target
from tests.support.waiting import wait_for_event, wait_until

FUZZ_SECONDS = float(os.environ.get("HORDE_FUZZ_SECONDS", "15"))
"""The live fuzzing's time: short enough for every run of the suite; `HORDE_FUZZ_SECONDS=600` for a long hunt."""
RSS_GROWTH_LIMIT = 100 * 1024 * 1024
IDENTITIES = [f"fuzz-{n}" for n in range(20)]
TAGS = ["ready", "spawning", "spawning_complete", "heartbeat", "stats", "stopped", "quit", "custom", "nonsense"]
"""Every worker message type but `stop_run`: a peer this open master admitted may stop the run, as it should."""

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats()
    | st.text(max_size=20)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_maps = st.builds(
    lambda tag, fields: {**fields, "type": tag},
    st.sampled_from(TAGS),
    st.dictionaries(st.text(max_size=16), _values, max_size=6),
)
_typed = st.one_of(
    *(
        st.builds(cls)
        for cls in (Ready, Spawning, SpawningComplete, Heartbeat, Stopped, WorkerQuit, LocustfileRequest, WorkerCustom)
    )
)


def _encoded(message: Any) -> list[bytes]:
    """A message as the wire carries it; one whose ints msgpack cannot hold is sent as what a peer could send."""
    try:
        return codec.encode(message)
    except OverflowError:
        return [codec.VERSION_FRAME, b"\xcf" + b"\xff" * 9]


_frames = st.one_of(
    st.lists(st.binary(max_size=64), max_size=4),
    _maps.map(lambda value: [codec.VERSION_FRAME, msgspec.msgpack.encode(value)]),
    _typed.map(_encoded),
    st.tuples(st.binary(max_size=4), _maps).map(lambda t: [t[0], msgspec.msgpack.encode(t[1])]),
)


@settings(max_examples=300, deadline=None, database=None)
@given(frames=_frames)
def test_the_codec_decodes_any_frames_or_says_why(frames: list[bytes]) -> None:
    try:
        message = codec.decode_from_worker(frames)
    except RPCReceiveError as exc:
        assert str(exc)
    else:
        assert codec.encode(codec.decode_from_worker(codec.encode(message))) == codec.encode(message)


@settings(max_examples=200, deadline=None, database=None)
@given(message=_typed)
def test_every_well_typed_message_survives_the_round_trip(message: Any) -> None:
    frames = _encoded(message)
    try:
        decoded = codec.decode_from_worker(frames)
    except RPCReceiveError:
        return  # an int beyond msgpack's range, sent as a peer would: refused
    assert codec.encode(decoded) == frames


@dataclass
class LiveMaster:
    cluster: Cluster
    master: HordeProcess
    worker_id: str
    process: psutil.Process


@pytest.fixture(scope="module")
def live_master(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveMaster]:
    cwd: Path = tmp_path_factory.mktemp("fuzz")
    cluster = Cluster(cwd, str(LOCUSTFILES / "two_classes.py"))
    try:
        master = cluster.start_master("-H", target.url, "-u", "2", "-r", "100", "-t", f"{int(FUZZ_SECONDS) + 60}s")
        cluster.start_worker("--stats-interval", "0.5")  # a report soon after the fuzzing, not up to 2 s later
        joined = wait_for_event(cluster.watch, "worker.joined", alive=[master])[0].event
        assert isinstance(joined, WorkerJoined)
        yield LiveMaster(cluster, master, joined.worker_id, psutil.Process(master.pid))
    finally:
        cluster.close()


def _merged_after(live_master: LiveMaster, offset: int) -> bool:
    """Whether the journal, past `offset`, merged a report of the real worker (one event per report, or per
    second of reports, whichever the journal's format writes)."""
    with (live_master.cluster.cwd / "run.jsonl").open("rb") as f:
        f.seek(offset)
        lines = f.read().splitlines()
    worker = live_master.worker_id.encode()
    return any(worker in line and (b'"stats.reported"' in line or b'"stats.merged"' in line) for line in lines)


def test_a_live_master_survives_fuzzing_and_keeps_serving_its_worker(live_master: LiveMaster) -> None:
    context = zmq.Context()
    sockets = {}
    for identity in IDENTITIES:
        sock = context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IDENTITY, identity.encode())
        sock.connect(f"tcp://127.0.0.1:{live_master.cluster.port}")
        sockets[identity] = sock
    rss_before = peak = live_master.process.memory_info().rss
    journal = live_master.cluster.cwd / "run.jsonl"
    deadline = time.monotonic() + FUZZ_SECONDS
    sent = {"frames": 0}

    @settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(batch=st.lists(st.tuples(st.sampled_from(IDENTITIES), _frames), min_size=1, max_size=20))
    def fuzz(batch: list[tuple[str, list[bytes]]]) -> None:
        for identity, frames in batch:
            sockets[identity].send_multipart(frames or [b""], flags=zmq.NOBLOCK)
            sent["frames"] += 1

    @settings(max_examples=10, deadline=None, database=None)
    @given(garbage=st.binary(min_size=1, max_size=256))
    def raw_tcp(garbage: bytes) -> None:
        """Bytes that are not even ZMTP: libzmq drops the connection; the master carries on."""
        with socket.create_connection(("127.0.0.1", live_master.cluster.port), timeout=2) as raw:
            raw.sendall(garbage)

    try:
        while time.monotonic() < deadline:
            fuzz()
            raw_tcp()
            assert live_master.master.poll() is None, live_master.master.describe()
            peak = max(peak, live_master.process.memory_info().rss)
    finally:
        for sock in sockets.values():
            sock.close(linger=0)
        context.term()
    assert sent["frames"] > 1000
    offset = journal.stat().st_size
    wait_until(
        lambda: _merged_after(live_master, offset) or live_master.master.poll() is not None,
        timeout=30,
        message="a report of the real worker merged after the fuzzing",
    )
    assert live_master.master.poll() is None, live_master.master.describe()
    assert peak - rss_before < RSS_GROWTH_LIMIT, f"RSS grew by {(peak - rss_before) / 1e6:.1f} MB"
    live_master.master.send_signal(signal.SIGTERM)
    code = live_master.master.wait(timeout=60)
    _, err = live_master.master.communicate(timeout=10)
    assert code in (0, 1), err[-3000:]
    assert "Traceback" not in err, err[-3000:]
