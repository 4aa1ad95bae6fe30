"""`--processes N`: one load test on every core, its worker processes started and ended by the run itself."""

from __future__ import annotations

import json
from pathlib import Path

import psutil

from horde.protocol.journal import read_journal
from tests.support.processes import LOCUSTFILES, Cluster, Target, horde

SHOP = str(LOCUSTFILES / "shop.py")


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_local_run_with_processes_is_a_master_of_that_many_local_workers(
    fresh_target: Target, tmp_path: Path
) -> None:
    result = horde(
        "run", "-f", SHOP, "-H", fresh_target.url, "-u", "6", "-r", "50", "-t", "1s", "--processes", "2",
        "--journal", "run.jsonl", "--summary-json", "summary.json", "--only-summary", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr  # the shop fails some requests on purpose
    records = read_journal(tmp_path / "run.jsonl").records
    assert records[0].event.expect_workers == 2
    joined = [r.event for r in records if r.type == "worker.joined"]
    assert len(joined) == 2 and len({j.pid for j in joined}) == 2
    users = [r.event for r in records if r.type == "dispatch.step"][-1]
    assert users.total == 6
    summary = json.loads((tmp_path / "summary.json").read_text())
    served = fresh_target.served()
    # Every request the target served is counted once; users stopped mid-request may leave one each uncounted.
    assert served - 6 <= summary["aggregated"]["num_requests"] <= served
    assert all(_gone(j.pid) for j in joined), "a worker process outlived its run"
    assert "listening on port" not in result.stdout  # its workers are its own: nothing to announce


def test_a_worker_with_processes_starts_that_many_workers_of_one_master(cluster: Cluster, fresh_target: Target) -> None:
    cluster.start_master("-H", fresh_target.url, "--expect-workers", "3", "-u", "6", "-r", "50", "-t", "1s")
    workers = cluster.start_worker("--processes", "3")
    assert cluster.wait_master(timeout=60) in (0, 1)
    assert workers.wait(timeout=30) == 0
    joined = [r.event for r in cluster.journal() if r.type == "worker.joined"]
    assert len({j.pid for j in joined}) == 3
    assert all(_gone(j.pid) for j in joined)


def test_a_bad_processes_value_is_one_line(tmp_path: Path) -> None:
    result = horde("run", "-f", SHOP, "--processes", "-2", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == "horde: error: --processes must be -1 (one per core), 0 or more, got -2"
