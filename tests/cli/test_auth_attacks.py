"""The attacks of issue #14 against a real keyed master, from raw ZeroMQ peers a test opens itself (ADR 0024).

One master admits two keys: a real worker's (`member`) and an insider's (`insider`, a raw DEALER that holds an
authorised key but pretends to be the real worker). While the real worker runs, raw peers try each attack: fetch
the locustfile with no key and with a stranger's key, send Quit, a stop request and a forged million requests under
the real worker's routing id, and flood the master with connections that have no key. The siege runs once (a
module fixture, about 15 s: the run lasts long enough for a 10 s rejection window to be summarised) and each test
checks one promise: nothing was served or acted upon, the run and its counts are the real worker's, refusals are
journaled within the budget.

The secrets tests run short local runs with the auth token and a locustfile's secret argument in every spelling.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import zmq.green as zmq

from horde.actors.rejections import JOURNALED_PER_WINDOW
from horde.protocol import codec
from horde.protocol.events import FrameRejected, RejectionsSummarised, WorkerJoined
from horde.protocol.journal import Record
from horde.protocol.keys import generate, worker_keys
from horde.protocol.messages import (
    AskToStopRun,
    LocustfileRequest,
    MasterMessageType,
    StatsReport,
    WorkerMessage,
    WorkerQuit,
)
from horde.protocol.stats import Buckets, EntryDelta, StatsDelta
from horde.protocol.zmq_transport import secure_client
from tests.support.processes import LOCUSTFILES, Cluster, Target, horde
from tests.support.waiting import wait_for_event

RUN_SECONDS = 13
USERS = 2
FLOOD_PEERS = 300
FORGED_REQUESTS = 1_000_000


@dataclass
class Siege:
    master_code: int
    master_stderr: str
    worker_code: int
    worker_stderr: str
    worker_id: str
    records: list[Record]
    summary: dict
    served: dict[str, int]
    replies: dict[str, list[MasterMessageType]]
    started: float
    ended: float

    def rejected(self, peer: str) -> list[FrameRejected]:
        return [r.event for r in self.records if isinstance(r.event, FrameRejected) and r.event.peer == peer]


class RawPeers:
    """Plain DEALER sockets, with or without a CURVE key, sending whatever a test gives them."""

    def __init__(self, port: int) -> None:
        self.address = f"tcp://127.0.0.1:{port}"
        self.context = zmq.Context()
        self.sockets: list[zmq.Socket] = []

    def dealer(self, identity: str, keys_of: tuple[Path, str] | None = None) -> zmq.Socket:
        sock = self.context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)
        sock.setsockopt(zmq.IDENTITY, identity.encode())
        if keys_of is not None:
            folder, name = keys_of
            secure_client(sock, worker_keys(str(folder / f"{name}.key_secret"), str(folder / "master.key")))
        sock.connect(self.address)
        self.sockets.append(sock)
        return sock

    def close(self) -> None:
        for sock in self.sockets:
            sock.close(linger=0)
        self.context.term()


def _send(sock: zmq.Socket, message: WorkerMessage) -> None:
    sock.send_multipart(codec.encode(message))


def _replies(sock: zmq.Socket, timeout: float) -> list[MasterMessageType]:
    got, wait_ms = [], int(timeout * 1000)
    while sock.poll(wait_ms):
        got.append(codec.decode_from_master(sock.recv_multipart()))
        wait_ms = 100
    return got


def _forged_report(incarnation: str) -> StatsReport:
    entry = EntryDelta("GET", "/", FORGED_REQUESTS, 0, 0, 1.0e6, 1.0, 1.0, 0, Buckets.of({0: FORGED_REQUESTS}), {}, {})
    return StatsReport(incarnation, 10**6, StatsDelta(entries=(entry,)), time.time())


@pytest.fixture(scope="module")
def siege(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Siege]:
    cwd = tmp_path_factory.mktemp("attacks")
    target.reset()
    keys = cwd / "keys"
    generate(str(keys), ["master", "member", "insider", "stranger"])
    admitted = cwd / "admitted"
    admitted.mkdir()
    for name in ("member", "insider"):
        (admitted / f"{name}.key").write_bytes((keys / f"{name}.key").read_bytes())
    cluster = Cluster(cwd, str(LOCUSTFILES / "two_classes.py"))
    peers: RawPeers | None = None
    try:
        master = cluster.start_master(
            "-H", target.url, "-u", str(USERS), "-r", "100", "-t", f"{RUN_SECONDS}s", "-s", "5",
            "--master-secret-key", str(keys / "master.key_secret"), "--worker-public-keys", str(admitted),
        )  # fmt: skip
        worker = cluster.start_worker(
            "--worker-secret-key", str(keys / "member.key_secret"), "--master-public-key", str(keys / "master.key")
        )
        joined = wait_for_event(cluster.watch, "worker.joined", alive=[master])[0].event
        assert isinstance(joined, WorkerJoined)
        started = time.monotonic()
        peers = RawPeers(cluster.port)
        replies: dict[str, list[MasterMessageType]] = {}
        # 1. The locustfile, asked for without a key and with a key the master does not admit.
        for name, keys_of in (("no-key", None), ("stranger", (keys, "stranger"))):
            sock = peers.dealer(f"{name}_locustfile", keys_of)
            _send(sock, LocustfileRequest())
            replies[name] = _replies(sock, timeout=2)
        # 2. The insider, under the real worker's routing id: quit, stop the run, a forged million requests.
        spoofer = peers.dealer(joined.worker_id, (keys, "insider"))
        for message in (WorkerQuit("spoofed"), AskToStopRun("spoofed"), _forged_report(joined.incarnation)):
            _send(spoofer, message)
        replies["spoofer"] = _replies(spoofer, timeout=1)
        spoofer.close(linger=0)
        # 3. A flood of connections without a key: each one a refused handshake, again and again.
        # Sent without waiting: a peer whose handshake was already refused has no connection left to queue it on,
        # and a DEALER without one blocks its sender for good.
        for n in range(FLOOD_PEERS):
            with contextlib.suppress(zmq.Again):
                peers.dealer(f"flood-{n}").send_multipart(codec.encode(LocustfileRequest()), flags=zmq.NOBLOCK)
        code = master.wait(timeout=RUN_SECONDS + 40)
        ended = time.monotonic()
        worker.wait(timeout=20)
        _, master_err = master.communicate(timeout=10)
        _, worker_err = worker.communicate(timeout=10)
        yield Siege(
            master_code=code,
            master_stderr=master_err,
            worker_code=worker.popen.returncode,
            worker_stderr=worker_err,
            worker_id=joined.worker_id,
            records=cluster.journal(),
            summary=cluster.summary(),
            served=target.counts(),
            replies=replies,
            started=started,
            ended=ended,
        )
    finally:
        if peers is not None:
            peers.close()
        cluster.close()


def test_no_locustfile_without_an_admitted_key(siege: Siege) -> None:
    assert siege.replies["no-key"] == [] and siege.replies["stranger"] == []


def test_the_insiders_frames_under_the_real_workers_id_are_never_acted_upon(siege: Siege) -> None:
    """No Quit, no stop, no forged statistics: the run ends at its run time with the real worker's counts."""
    assert siege.master_code in (0, 1), siege.master_stderr[-3000:]
    assert siege.worker_code == 0, siege.worker_stderr[-3000:]
    stops = [r.event for r in siege.records if r.type == "run.state_changed" and r.event.state == "stopping"]
    assert [e.reason for e in stops] == ["run time reached"]
    assert not [r for r in siege.records if r.type == "worker.left" and "spoofed" in r.event.reason]
    assert siege.ended - siege.started >= RUN_SECONDS - 1
    assert len([r for r in siege.records if r.type == "worker.joined"]) == 1, "the real worker never had to rejoin"
    served = sum(siege.served.values())
    assert siege.summary["aggregated"]["num_requests"] == served > 0, siege.served
    assert served < FORGED_REQUESTS


def test_the_insider_never_takes_the_real_workers_route(siege: Siege) -> None:
    """A second connection under an id in use is refused (no handover with keys): nothing the insider sent arrived,
    and nothing meant for the real worker reached it."""
    assert siege.replies["spoofer"] == []
    assert not [e for e in siege.rejected(siege.worker_id) if e.reason.startswith("routing id bound")]


def test_refused_peers_are_journaled_within_the_budget(siege: Siege) -> None:
    """Hundreds of refused handshakes: at most 50 journaled a window, the rest in a summary with their count."""
    refusals = [e for e in (r.event for r in siege.records) if isinstance(e, FrameRejected)]
    summaries = [r.event for r in siege.records if isinstance(r.event, RejectionsSummarised)]
    assert any("not authorised" in e.reason for e in refusals)
    assert summaries and sum(s.count for s in summaries) > 0
    windows = len(summaries) + 1
    assert len(refusals) <= JOURNALED_PER_WINDOW * windows


# --- secrets, in every spelling ------------------------------------------------------------------------------


SECRET_LOCUSTFILE = """
from horde import HttpUser, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--api-password", is_secret=True, default="", env_var="API_PASSWORD")


@events.init.add_listener
def _(environment, **_kwargs):
    print(f"api-password: {len(environment.parsed_options.api_password)} characters")


class Reader(HttpUser):
    @task
    def read(self):
        self.client.get("/items/1")
"""


def _written(cwd: Path, stdout: str, stderr: str) -> str:
    texts = [stdout, stderr]
    for path in cwd.rglob("*"):
        if path.is_file() and path.suffix in (".jsonl", ".json", ".csv", ".html", ".log"):
            texts.append(path.read_text(errors="replace"))
    return "\n".join(texts)


@pytest.mark.parametrize(
    ("spelling", "args", "env", "config"),
    [
        ("--flag=value", ["--auth-token=tok-EQUALS-1", "--api-password=pw-EQUALS-1"], {}, ""),
        ("--flag value", ["--auth-token", "tok-SPACE-2", "--api-password", "pw-SPACE-2"], {}, ""),
        ("environment", [], {"HORDE_AUTH_TOKEN": "tok-ENV-3", "API_PASSWORD": "pw-ENV-3"}, ""),
        ("config file", [], {}, "auth-token = tok-CONF-4\napi-password = pw-CONF-4\n"),
    ],
)
def test_secrets_never_reach_the_journal_reports_or_logs(
    tmp_path: Path, fresh_target: Target, spelling: str, args: list[str], env: dict[str, str], config: str
) -> None:
    (tmp_path / "secretive.py").write_text(SECRET_LOCUSTFILE)
    if config:
        (tmp_path / "locust.conf").write_text(config)
    result = horde(
        "run", "-f", "secretive.py", "-H", fresh_target.url, "-u", "1", "-r", "10", "-t", "1s",
        "--journal", "run.jsonl", "--json-file", "summary.json", "--csv", "out", "--html", "report.html",
        "--logfile", "horde.log", "-L", "DEBUG", *args,
        cwd=tmp_path, env=env, timeout=60,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    written = _written(tmp_path, result.stdout, result.stderr)
    assert (tmp_path / "run.jsonl").exists() and (tmp_path / "report.html").exists()
    secrets = [
        f"{kind}-{spelling_id}" for kind in ("tok", "pw") for spelling_id in ("EQUALS-1", "SPACE-2", "ENV-3", "CONF-4")
    ]
    for secret in secrets:
        assert secret not in written, f"{spelling}: {secret!r} written"
    header = (tmp_path / "run.jsonl").read_text().splitlines()[0]
    assert "<redacted>" in header
    assert "api-password: " in result.stdout and "api-password: 0 characters" not in result.stdout  # it was read
