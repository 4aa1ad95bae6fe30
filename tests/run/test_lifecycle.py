"""A Run from its spec to its exit code, in this process, against the demo target on 127.0.0.1."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from horde.protocol.journal import read_journal
from horde.run import ClusterSpec, JournalSpec, LoadSpec, Role, Run, RunError, RunSpec
from tests.support.processes import LOCUSTFILES, Target

SHOP = str(LOCUSTFILES / "shop.py")


def test_a_local_run_goes_from_spec_to_exit_code_and_journals_its_whole_life(
    fresh_target: Target, tmp_path: Path
) -> None:
    journal = tmp_path / "run.jsonl"
    spec = RunSpec(
        SHOP,
        load=LoadSpec(users=2, spawn_rate=10, run_time=1.5, host=fresh_target.url),
        journal=JournalSpec(str(journal)),
    )
    code = Run.prepare(spec).execute()
    records = read_journal(journal).records
    states = [r.event.state for r in records if r.type == "run.state_changed"]
    assert states == ["spawning", "running", "stopping", "stopped"]
    reported = sum(entry.num_requests for r in records if r.type == "stats.merged" for entry in r.event.delta.entries)
    served = fresh_target.served()
    # Each request the target served is counted once; a user stopped mid-request may leave one uncounted.
    assert 0 < served - spec.load.users <= reported <= served
    assert code in (0, 1)  # the shop's checkout may fail on purpose


def test_a_missing_locustfile_is_one_line_and_leaves_no_journal(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    with pytest.raises(RunError, match=r"nope\.py"):
        Run.prepare(RunSpec(str(tmp_path / "nope.py"), journal=JournalSpec(str(journal))))
    assert not journal.exists()


def test_a_master_whose_port_is_taken_is_one_line_and_leaves_no_journal(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        spec = RunSpec(
            SHOP,
            role=Role.MASTER,
            cluster=ClusterSpec(bind_host="127.0.0.1", bind_port=port),
            journal=JournalSpec(str(journal)),
        )
        with pytest.raises(RunError, match=rf"cannot bind the master to 127\.0\.0\.1:{port}"):
            Run.prepare(spec)
    assert not journal.exists()


def test_a_journal_that_exists_already_is_refused_and_the_port_is_freed(tmp_path: Path) -> None:
    journal = tmp_path / "run.jsonl"
    journal.write_text("not mine\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cluster = ClusterSpec(bind_host="127.0.0.1", bind_port=port)
    spec = RunSpec(SHOP, role=Role.MASTER, cluster=cluster, journal=JournalSpec(str(journal)))
    with pytest.raises(RunError, match="already exists"):
        Run.prepare(spec)
    assert journal.read_text() == "not mine\n"
    with socket.socket() as again:  # the master's socket is closed: the port can be bound again
        again.bind(("127.0.0.1", port))


def test_a_worker_spec_is_not_a_run() -> None:
    with pytest.raises(RunError, match="WorkerProcess"):
        Run.prepare(RunSpec(SHOP, role=Role.WORKER))
