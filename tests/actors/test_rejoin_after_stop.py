"""A known worker's new incarnation after the run stopped, through the real control plane (ADR 0040): admitted for
the next test, while what its earlier incarnation still sends is dropped, not merged into any test's numbers,
and acknowledged, so the worker forgets it instead of resending it."""

from __future__ import annotations

from pathlib import Path

import gevent.queue

from horde.actors.control_plane import ControlPlane
from horde.actors.journal import journal_header, open_journal_file
from horde.protocol import codec
from horde.protocol.events import StatsMerged, StatsReportDropped, WorkerJoined, WorkerRejected
from horde.protocol.journal import read_journal
from horde.protocol.messages import PROTOCOL_VERSION, MasterHeartbeat, MasterMessageType, Ready, StatsReport
from horde.protocol.states import RunState
from horde.protocol.transport import InProcessLink
from horde.run.lifecycle import class_specs, run_configuration
from horde.run.spec import LoadSpec, RunSpec
from horde.runtime.locustfile import load_locustfile, select_user_classes
from horde.stats.recorder import StatsRecorder
from tests.support.waiting import wait_until

SHOP = Path(__file__).resolve().parents[1] / "locustfiles" / "shop.py"
WORKER = "w1"


def _ready(incarnation: str) -> Ready:
    return Ready(WORKER, incarnation, "0.1.0", PROTOCOL_VERSION, "host", 1, 1, ("Shopper",))


def _report(incarnation: str, requests: int) -> StatsReport:
    recorder = StatsRecorder()
    for _ in range(requests):
        recorder.record("GET", "/", 1.0, 10, None)
    return StatsReport(incarnation, 1, recorder.take_delta(), 0.0)


def test_a_known_workers_new_incarnation_joins_a_stopped_run_and_its_old_reports_are_dropped(tmp_path: Path) -> None:
    spec = RunSpec(str(SHOP), load=LoadSpec(users=1, spawn_rate=10.0, host="http://127.0.0.1:9"))
    classes = select_user_classes(load_locustfile(str(SHOP)), [])
    link = InProcessLink(WORKER)
    heard: gevent.queue.Queue[MasterMessageType] = gevent.queue.Queue()
    link.worker_side.start(heard.put, lambda *_: None)
    control = ControlPlane(
        run_configuration(spec, classes),
        class_specs(classes),
        open_journal_file(str(tmp_path / "run.jsonl")),
        journal_header("rejoin", ["test"], {}, 0, "0.1.0"),
        link.master_side,
    )
    control.listen()
    try:

        def send(message: Ready | StatsReport) -> None:
            link.master_side.receive(codec.encode(message))

        send(_ready("old"))
        wait_until(lambda: WORKER in control.master_state().members)
        control.request_stop("stopped before the next test")
        wait_until(lambda: control.master_state().run_state == RunState.STOPPED)

        # The same worker, a new incarnation: it stalled, lost the master and came back. Within a second of its
        # last join it is told to try again, as a real worker does.
        def rejoined() -> bool:
            send(_ready("new"))
            return control.master_state().members[WORKER].incarnation == "new"

        wait_until(rejoined, interval=0.2, message="the new incarnation admitted")
        send(_report("old", 7))  # resent on the new incarnation's Accept: requests of the test that ended
        send(_report("new", 3))
        wait_until(lambda: control.stats().total.num_requests == 3)
        acks: dict[str, int] = {}

        def acknowledged() -> bool:
            while not heard.empty():
                message = heard.get()
                if isinstance(message, MasterHeartbeat):
                    acks.update(message.acks)
            return acks == {"old": 1, "new": 1}

        wait_until(acknowledged, message="both reports acknowledged in the master's heartbeats")
    finally:
        control.shutdown()
    events = [r.event for r in read_journal(tmp_path / "run.jsonl").records]
    assert [e.incarnation for e in events if isinstance(e, WorkerJoined)] == ["old", "new"]
    assert all(e.retry for e in events if isinstance(e, WorkerRejected))  # only "try again": never "the run is over"
    (dropped,) = [e for e in events if isinstance(e, StatsReportDropped)]
    assert (dropped.incarnation, dropped.seq) == ("old", 1)
    assert [(ref.incarnation, ref.requests) for e in events if isinstance(e, StatsMerged) for ref in e.reports] == [
        ("new", 3)
    ]
