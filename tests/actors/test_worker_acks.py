"""A worker forgets its reports once the master's heartbeats say they are recorded (ADR 0010)."""

from __future__ import annotations

from pathlib import Path

import gevent

from horde.actors.control_plane import ControlPlane
from horde.actors.journal import journal_header, open_journal_file
from horde.actors.stats_aggregator import MERGE_INTERVAL
from horde.actors.worker import WorkerSettings
from horde.protocol.dispatcher_vocabulary import LOCAL_WORKER_ID
from horde.protocol.events import StatsMerged
from horde.protocol.journal import read_journal
from horde.protocol.messages import MasterQuit
from horde.protocol.transport import InProcessLink
from horde.run.cluster import start_worker
from horde.run.lifecycle import class_specs, run_configuration
from horde.run.spec import LoadSpec, RunSpec
from horde.runtime.environment import Environment
from horde.runtime.locustfile import load_locustfile, select_user_classes
from horde.stats.recorder import StatsRecorder
from tests.support.waiting import wait_until

SHOP = Path(__file__).resolve().parents[1] / "locustfiles" / "shop.py"


def test_reports_are_forgotten_once_a_master_heartbeat_acknowledges_them(tmp_path: Path) -> None:
    spec = RunSpec(str(SHOP), load=LoadSpec(users=1, spawn_rate=10.0, host="http://127.0.0.1:9"))
    classes = select_user_classes(load_locustfile(str(SHOP)), [])
    recorder = StatsRecorder()
    environment = Environment(user_classes=list(classes.values()), host=spec.load.host, stats=recorder)
    link = InProcessLink(LOCAL_WORKER_ID)
    control = ControlPlane(
        run_configuration(spec, classes),
        class_specs(classes),
        open_journal_file(str(tmp_path / "run.jsonl")),
        journal_header("acks", ["test"], {}, 0, "0.1.0"),
        link.master_side,
    )
    control.listen()
    worker, _ = start_worker(LOCAL_WORKER_ID, link.worker_side, environment, recorder, WorkerSettings(0.5, 0.1, 0.0))
    try:
        control.start(spec.load.users, spec.load.spawn_rate)
        counts = []
        for _ in range(12):
            gevent.sleep(0.25)
            counts.append(worker.proxy().unacknowledged_reports.get())
        merged = [r.event for r in read_journal(tmp_path / "run.jsonl").records if isinstance(r.event, StatsMerged)]
        reported = [ref for event in merged for ref in event.reports]
        # About 30 reports were sent, one every 0.1 s; at most the ones of the merge interval they wait in (ADR
        # 0027) and of the beat after it are still kept.
        kept = round((MERGE_INTERVAL + 0.5) / 0.1) + 2
        assert len(reported) >= 15
        assert max(counts) <= kept and counts[-1] < len(reported)
        assert min(counts) <= kept // 2
    finally:
        if worker.is_alive():
            worker.tell(MasterQuit("the test is over"))
        control.request_stop("test over")
        control.wait_stopped(10)
        control.shutdown()
        environment.detach_stats()


def test_a_worker_ignores_the_acceptance_of_an_incarnation_it_replaced_and_spawns_only_once_admitted() -> None:
    """The race behind a resumed run's lost reports: a worker rejoins again just as the master accepts it."""
    from horde.protocol.messages import Accept, Ready, Spawn

    classes = select_user_classes(load_locustfile(str(SHOP)), [])
    recorder = StatsRecorder()
    environment = Environment(user_classes=list(classes.values()), host="http://127.0.0.1:9", stats=recorder)
    link = InProcessLink(LOCAL_WORKER_ID)
    heard: list[object] = []
    link.master_side.start(lambda _worker, message: heard.append(message), lambda *_: None)
    worker, _ = start_worker(LOCAL_WORKER_ID, link.worker_side, environment, recorder, WorkerSettings(0.2, 10.0, 0.0))
    try:
        first = wait_until(lambda: next((m for m in heard if isinstance(m, Ready)), None), message="a Ready")
        link.master_side.send(LOCAL_WORKER_ID, Accept(0, "an-incarnation-it-no-longer-is"))
        link.master_side.send(LOCAL_WORKER_ID, Spawn(1, {"Shopper": 2}, "http://127.0.0.1:9", 0.0))
        asked = sum(isinstance(m, Ready) for m in heard)
        wait_until(lambda: sum(isinstance(m, Ready) for m in heard) >= asked + 2, message="two Readies more")
        readies = [m for m in heard if isinstance(m, Ready)]
        assert worker.proxy().state.get() == "connecting"  # it still asks after the Spawn: that was not taken
        assert worker.proxy().pool.get().user_count == 0
        assert {m.incarnation for m in readies} == {first.incarnation}  # still asking
        link.master_side.send(LOCAL_WORKER_ID, Accept(0, first.incarnation))
        link.master_side.send(LOCAL_WORKER_ID, Spawn(1, {"Shopper": 2}, "http://127.0.0.1:9", 0.0))
        wait_until(lambda: worker.proxy().state.get() == "running", message="the worker running")
        wait_until(lambda: worker.proxy().pool.get().user_count == 2, message="its 2 users")
    finally:
        if worker.is_alive():
            worker.tell(MasterQuit("the test is over"))
        environment.detach_stats()
