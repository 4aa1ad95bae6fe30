"""Bad input on the wire against a real master: it logs, counts, journals and drops, and keeps serving its workers.

One real master and one real worker run a short load test against the demo target while raw DEALER sockets, which
anyone who can reach the master's port could open, send it every kind of bad frame: random bytes, truncated
msgpack, a valid frame of an unknown type, frames over the size limit, wrong field types, forged statistics, a peer
of another protocol version, then 5,000 Ready messages from one identity and 5,000 garbage frames. The siege runs
once (a module fixture, about 25 s: the floods' rejections are summarised once a 10 s window ends) and each test
checks one promise against what it recorded: the master's exit code and stderr, its journal, its JSON summary
against the target's own counts, and its RSS.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import psutil
import pytest
import zmq.green as zmq

from horde.actors.rejections import JOURNALED_PER_WINDOW
from horde.protocol import codec
from horde.protocol.events import FrameRejected, RejectionsSummarised, StatsReportDropped, WorkerJoined, WorkerRejected
from horde.protocol.journal import Record, decode_record, read_journal
from horde.protocol.messages import PROTOCOL_VERSION, MasterMessageType, Ready, Reject, StatsReport
from horde.protocol.stats import Buckets, EntryDelta, StatsDelta
from horde.protocol.zmq_transport import MAX_MESSAGE_BYTES
from tests.support.processes import LOCUSTFILES, Target

SHOP = str(LOCUSTFILES / "shop.py")
RUN_SECONDS_CAP = 60  # the test stops the run itself once the floods are decided
READY_SPAM = 5_000
GARBAGE_SPAM = 5_000
RSS_GROWTH_LIMIT = 50 * 1024 * 1024
FORGED_REQUESTS = 1_000_000
WRONG_TYPES = {"type": "heartbeat", "state": 1, "cpu_percent": "hot", "memory_bytes": -0.5, "user_count": []}


@dataclass
class Siege:
    """Everything the siege left behind for the tests to check."""

    master_code: int
    master_stderr: str
    worker_stderr: str
    worker_id: str
    incarnation: str
    records: list[Record]
    summary: dict[str, Any]
    served: dict[str, int]
    rss_before: int
    rss_peak: int
    replies: dict[str, list[MasterMessageType]] = field(default_factory=dict)

    def rejected(self, peer: str) -> list[FrameRejected]:
        return [r.event for r in self.records if isinstance(r.event, FrameRejected) and r.event.peer == peer]

    def summarised(self, peer: str) -> int:
        """The rejections of `peer` the master counted instead of journaling one by one."""
        return sum(r.event.by_peer.get(peer, 0) for r in self.records if isinstance(r.event, RejectionsSummarised))


def _ready(incarnation: str, protocol_version: int = PROTOCOL_VERSION) -> Ready:
    return Ready("intruder", incarnation, "0.0.0", protocol_version, "nowhere", 1, 1, ("Shopper",))


def _forged_delta() -> StatsDelta:
    """A million requests nobody made: if the master merged this, the summary would disagree with the target."""
    entry = EntryDelta("GET", "/", FORGED_REQUESTS, 0, 0, 1.0e6, 1.0, 1.0, 0, Buckets.of({0: FORGED_REQUESTS}), {}, {})
    return StatsDelta(entries=(entry,))


def _pack(value: object) -> bytes:
    return msgspec.msgpack.encode(value)


class JournalTail:
    """Reads the lines the master appended since the last call: cheap enough to poll while the master is busy."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def new_lines(self) -> list[bytes]:
        if not self.path.exists():
            return []
        with self.path.open("rb") as f:
            f.seek(self.offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        self.offset += len(complete)
        return complete.splitlines()


def _wait_for_worker(tail: JournalTail, master: subprocess.Popen[str], timeout: float = 20) -> WorkerJoined:
    """The real worker's id and incarnation, from the journal (flushed at least every second) once it runs users."""
    joined: WorkerJoined | None = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert master.poll() is None, "the master died before its worker joined"
        for line in tail.new_lines():
            if b'"type":"worker.joined"' in line:
                event = decode_record(line).event
                assert isinstance(event, WorkerJoined)
                joined = event
            elif joined is not None and b'"type":"worker.users_reported"' in line:
                return joined
        time.sleep(0.1)
    raise AssertionError("the real worker did not join and start running users in time")


GARBAGE_SAMPLED = 100 + GARBAGE_SPAM // 1000
"""The garbage frames the master decides to journal (the first 100 of a peer, then one in 1,000), before the
rejection budget leaves some of those to a summary."""


def _wait_for_the_floods(tail: JournalTail, master: subprocess.Popen[str], worker_id: str, timeout: float = 60) -> int:
    """Waits until the master decided every flooded message (journaled or summarised), then merged a report of the
    real worker after them.

    Returns the master's peak RSS meanwhile. Ending the run on these facts rather than on a fixed run time keeps the
    test short on a fast machine and correct on a slow one.
    """
    process = psutil.Process(master.pid)
    ready_decided, garbage_decided, served_after = 0, 0, False
    peak = 0
    deadline = time.monotonic() + timeout
    worker_report = f'["{worker_id}",'.encode()  # its identity in a stats.merged (ADR 0027)
    while not served_after and time.monotonic() < deadline:
        assert master.poll() is None, "the master died under the floods"
        peak = max(peak, process.memory_info().rss)
        for line in tail.new_lines():
            if b'"worker_id":"ready-spammer"' in line and (
                b'"type":"worker.joined"' in line or b'"type":"worker.rejected"' in line
            ):
                ready_decided += 1
            elif b'"peer":"garbage-spammer"' in line and b'"type":"protocol.frame_rejected"' in line:
                garbage_decided += 1
            elif b'"type":"protocol.rejections_summarised"' in line:
                event = decode_record(line).event
                assert isinstance(event, RejectionsSummarised)
                ready_decided += event.by_peer.get("ready-spammer", 0)
                garbage_decided += event.by_peer.get("garbage-spammer", 0)
            elif (
                ready_decided == READY_SPAM
                and garbage_decided == GARBAGE_SAMPLED
                and worker_report in line
                and b"stats.merged" in line
            ):
                served_after = True
        time.sleep(0.2)
    assert served_after, f"after {timeout} s: {ready_decided} Ready, {garbage_decided} garbage frames decided"
    return peak


class Intruders:
    """Raw DEALER sockets, one per identity, that send whatever they are given to the master."""

    def __init__(self, port: int) -> None:
        self.address = f"tcp://127.0.0.1:{port}"
        self.context = zmq.Context()
        self.sockets: dict[str, zmq.Socket] = {}

    def socket(self, identity: str) -> zmq.Socket:
        if identity not in self.sockets:
            sock = self.context.socket(zmq.DEALER)
            sock.setsockopt(zmq.LINGER, 0)
            sock.setsockopt(zmq.SNDHWM, 0)  # no limit: a flood must reach the master, not block here
            sock.setsockopt(zmq.IDENTITY, identity.encode())
            sock.connect(self.address)
            self.sockets[identity] = sock
        return self.sockets[identity]

    def send(self, identity: str, frames: list[bytes]) -> None:
        self.socket(identity).send_multipart(frames)

    def replies(self, identity: str, timeout: float) -> list[MasterMessageType]:
        """What the master sent back to `identity`, waiting up to `timeout` for the first reply."""
        sock, got = self.socket(identity), []
        wait_ms = int(timeout * 1000)
        while sock.poll(wait_ms):
            got.append(codec.decode_from_master(sock.recv_multipart()))
            wait_ms = 100
        return got

    def close(self) -> None:
        for sock in self.sockets.values():
            sock.close(linger=0)
        self.context.term()


def _one_off_frames(intruders: Intruders, worker: WorkerJoined) -> None:
    """One bad frame of each kind, each from its own identity so each is journaled (the first 100 per peer are)."""
    ready = codec.encode(_ready("one"))[1]
    frames: dict[str, list[bytes]] = {
        "random-one-frame": [os.urandom(64)],
        "random-payload": [codec.VERSION_FRAME, b"\xc1" + os.urandom(63)],  # 0xc1: never valid msgpack
        "truncated": [codec.VERSION_FRAME, ready[: len(ready) // 2]],
        "unknown-type": [codec.VERSION_FRAME, _pack({"type": "launch_missiles", "target": "everything"})],
        "wrong-types": [codec.VERSION_FRAME, _pack(WRONG_TYPES)],
        "over-limit": [codec.VERSION_FRAME, b"\0" * (codec.MAX_FRAME_BYTES + 1)],
        # Over libzmq's MAXMSGSIZE: libzmq drops the connection before horde ever sees a byte of it.
        "far-over-limit": [codec.VERSION_FRAME, b"\0" * (MAX_MESSAGE_BYTES + 1024 * 1024)],
        "other-version": [b"99", _pack({"type": "ready", "anything": "goes"})],
        "other-version-ready": codec.encode(_ready("old", protocol_version=99)),
        # A report under a made-up identity, claiming the real worker's incarnation and a far-ahead seq.
        "forger": codec.encode(StatsReport(worker.incarnation, 10**9, _forged_delta(), time.time())),
    }
    for identity, payload in frames.items():
        intruders.send(identity, payload)


def _floods(intruders: Intruders) -> None:
    """Thousands of Ready from one identity (a new incarnation each: a crash-looping worker), then garbage."""
    for n in range(READY_SPAM):
        intruders.send("ready-spammer", codec.encode(_ready(f"inc-{n}")))
    for _ in range(GARBAGE_SPAM):
        intruders.send("garbage-spammer", [codec.VERSION_FRAME, os.urandom(32)])


def _kill(process: subprocess.Popen[str] | None) -> None:
    if process is not None and process.poll() is None:
        process.kill()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def siege(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Siege]:
    cwd = tmp_path_factory.mktemp("hostile")
    target.reset()
    master_err, worker_err = (cwd / "master.err").open("w"), (cwd / "worker.err").open("w")
    master = worker = None
    intruders: Intruders | None = None
    try:
        master = subprocess.Popen(
            [sys.executable, "-m", "horde", "run", "-f", SHOP, "-H", target.url, "--master",
             "--master-bind-host", "127.0.0.1", "--master-bind-port", "0", "--expect-workers", "1",
             "-u", "2", "-r", "100", "-t", f"{RUN_SECONDS_CAP}s", "--journal", "run.jsonl",
             "--summary-json", "summary.json", "--only-summary"],
            cwd=cwd, stdout=subprocess.PIPE, stderr=master_err, text=True,
        )  # fmt: skip
        assert master.stdout is not None
        line = master.stdout.readline()
        assert "listening on port" in line, line
        port = int(line.split("listening on port ")[1].split(",")[0])
        worker = subprocess.Popen(
            [sys.executable, "-m", "horde", "run", "-f", SHOP, "--worker", "--master-port", str(port),
             "--stats-interval", "0.5"],  # its report after the floods comes soon, not up to 2 s later
            cwd=cwd, stdout=subprocess.DEVNULL, stderr=worker_err, text=True,
        )  # fmt: skip
        tail = JournalTail(cwd / "run.jsonl")
        joined = _wait_for_worker(tail, master)
        intruders = Intruders(port)
        _one_off_frames(intruders, joined)
        replies = {
            identity: intruders.replies(identity, timeout=5) for identity in ("other-version", "other-version-ready")
        }
        replies["forger"] = intruders.replies("forger", timeout=0.5)  # expected silence: the others came first
        time.sleep(0.5)  # let the 16 MB frame's buffers go back before the baseline
        rss_before = psutil.Process(master.pid).memory_info().rss
        _floods(intruders)
        rss_peak = max(rss_before, _wait_for_the_floods(tail, master, joined.worker_id))
        master.send_signal(signal.SIGTERM)  # a normal stop: the workers report their last requests
        master.communicate(timeout=30)
        worker.wait(timeout=15)
        summary = json.loads((cwd / "summary.json").read_text())
        yield Siege(
            master_code=master.returncode,
            master_stderr=(cwd / "master.err").read_text(),
            worker_stderr=(cwd / "worker.err").read_text(),
            worker_id=joined.worker_id,
            incarnation=joined.incarnation,
            records=read_journal(cwd / "run.jsonl").records,
            summary=summary,
            served=target.counts(),
            rss_before=rss_before,
            rss_peak=rss_peak,
            replies=replies,
        )
    finally:
        if intruders is not None:
            intruders.close()
        _kill(worker)
        _kill(master)
        master_err.close()
        worker_err.close()


def test_the_master_finishes_its_run_normally(siege: Siege) -> None:
    assert siege.master_code in (0, 1), siege.master_stderr[-3000:]
    assert "Traceback" not in siege.master_stderr, siege.master_stderr[-3000:]
    assert "quit: the master said: the run is over" in siege.worker_stderr, siege.worker_stderr[-3000:]


def test_every_request_of_the_real_worker_is_counted(siege: Siege) -> None:
    """The summary matches the target's own counts, and the forged million requests are nowhere.

    Each time a rebalance stops one of the worker's users, a request it had in flight may have been served but
    never recorded: at most one per user started, which is one login each.
    """
    served = sum(siege.served.values())
    reported = siege.summary["aggregated"]["num_requests"]
    in_flight = siege.served.get("POST /login", 0)
    assert served > 100
    assert served - in_flight <= reported <= served, (reported, siege.served)
    assert not any(r.type == "worker.missing" and r.event.worker_id == siege.worker_id for r in siege.records)
    merged = [r for r in siege.records if r.type == "stats.merged"]
    assert merged and {ref.worker_id for r in merged for ref in r.event.reports} == {siege.worker_id}


@pytest.mark.parametrize(
    ("peer", "reason"),
    [
        ("random-one-frame", "expected 2 frames"),
        ("random-payload", "malformed worker message"),
        ("truncated", "malformed worker message"),
        ("unknown-type", "launch_missiles"),
        ("wrong-types", "malformed worker message"),
        ("over-limit", "over the"),
        ("other-version", "protocol version"),
    ],
)
def test_each_bad_frame_is_journaled_once(siege: Siege, peer: str, reason: str) -> None:
    rejected = siege.rejected(peer)
    assert len(rejected) == 1 and rejected[0].count == 1, rejected
    assert reason in rejected[0].reason


def test_a_frame_over_libzmqs_limit_never_reaches_horde(siege: Siege) -> None:
    """libzmq (MAXMSGSIZE) drops the connection itself: nothing to journal, and the master carries on."""
    assert siege.rejected("far-over-limit") == []


def test_a_peer_of_another_protocol_version_is_rejected(siege: Siege) -> None:
    for peer in ("other-version", "other-version-ready"):
        assert any(isinstance(m, Reject) for m in siege.replies[peer]), siege.replies[peer]
    rejected = [r.event for r in siege.records if isinstance(r.event, WorkerRejected)]
    assert [e.worker_id for e in rejected if "protocol version 99" in e.reason] == ["other-version-ready"]


def test_a_forged_stats_report_is_dropped_and_journaled(siege: Siege) -> None:
    """Statistics from a peer never admitted are a rejection like a bad frame: counted, journaled, never merged."""
    dropped = [r.event for r in siege.records if isinstance(r.event, StatsReportDropped)]
    assert [e for e in dropped if e.worker_id == "forger"] == []
    forged = siege.rejected("forger")
    assert len(forged) == 1 and "not an admitted worker" in forged[0].reason, forged
    assert siege.replies["forger"] == []
    assert siege.summary["aggregated"]["num_requests"] < FORGED_REQUESTS


def test_a_flood_of_garbage_is_counted_and_sampled(siege: Siege) -> None:
    """The first 100 frames of a peer are chosen for the journal, then every 1000th, each with the running count;
    those the rejection budget leaves out are in a summary instead."""
    counts = [e.count for e in siege.rejected("garbage-spammer")]
    sampled = [*range(1, 101), *range(1000, GARBAGE_SPAM + 1, 1000)]
    assert counts == sorted(counts) and set(counts) <= set(sampled)
    assert len(counts) + siege.summarised("garbage-spammer") == len(sampled)


def test_thousands_of_ready_from_one_identity_are_each_decided(siege: Siege) -> None:
    """Each new incarnation replaces the previous one (a crash-looping worker); none is lost or doubled, and the
    refusals beyond the budget are counted in summaries."""
    joined = [r for r in siege.records if r.type == "worker.joined" and r.event.worker_id == "ready-spammer"]
    refused = [r for r in siege.records if r.type == "worker.rejected" and r.event.worker_id == "ready-spammer"]
    assert len(joined) + len(refused) + siege.summarised("ready-spammer") == READY_SPAM
    assert len({r.event.incarnation for r in joined}) == len(joined)


def test_the_floods_cost_the_journal_a_bounded_number_of_lines(siege: Siege) -> None:
    """At most 50 rejections are journaled between two summaries, however fast they come (ADR 0024)."""
    since_summary, most = 0, 0
    for record in siege.records:
        if isinstance(record.event, RejectionsSummarised):
            since_summary = 0
        elif isinstance(record.event, FrameRejected | WorkerRejected):
            since_summary += 1
            most = max(most, since_summary)
    assert any(isinstance(r.event, RejectionsSummarised) for r in siege.records)
    assert most <= JOURNALED_PER_WINDOW


def test_the_masters_memory_stays_bounded(siege: Siege) -> None:
    growth = siege.rss_peak - siege.rss_before
    assert growth < RSS_GROWTH_LIMIT, f"RSS grew by {growth / 1e6:.1f} MB under the floods"
