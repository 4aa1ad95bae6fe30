"""A known worker back after Stop takes part in the web UI's next test (ADR 0040), as a worker that reconnects
between Locust's tests does: real master, real workers, the demo target. One worker is frozen (SIGSTOP) during
the first test until the master counts it missing; the test is stopped; thawed, the worker finds its master silent
and introduces a new incarnation under the same id, which the stopped run admits without users."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

from tests.support.processes import HordeProcess, Target
from tests.support.waiting import JournalWatch, wait_for_event, wait_for_exit, wait_until, worker_id_of
from tests.web.conftest import GREETING, Page, close, serve_master


def counted(page: Page) -> int:
    return sum(e["num_requests"] for e in page.json("stats/requests")["stats"] if e["name"] != "Aggregated")


def users_per_worker(page: Page) -> list[int]:
    return sorted(w["user_count"] for w in page.json("stats/requests")["workers"])


def test_a_worker_back_under_its_id_after_stop_takes_part_in_the_next_test(
    tmp_path: Path, fresh_target: Target
) -> None:
    page, worker = serve_master(GREETING, fresh_target.url, tmp_path)
    workers = [HordeProcess(worker, cwd=tmp_path, name=f"worker {n}") for n in (1, 2)]
    watch = JournalWatch(tmp_path / "run.jsonl")
    try:
        wait_until(lambda: page.json("stats/requests")["worker_count"] == 2)
        frozen = workers[1]
        frozen_id = worker_id_of(watch, frozen, alive=[page.process])
        status, body = page.post("swarm", {"user_count": "4", "spawn_rate": "50"})
        assert status == 200, body
        wait_until(lambda: users_per_worker(page) == [2, 2], message="the first test's users on both workers")
        os.kill(frozen.pid, signal.SIGSTOP)
        wait_for_event(watch, "worker.missing", lambda e: e.worker_id == frozen_id, alive=[page.process])
        assert json.loads(page.get("stop")[1])["success"] is True
        wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        os.kill(frozen.pid, signal.SIGCONT)
        (first, back) = wait_for_event(
            watch, "worker.joined", lambda e: e.worker_id == frozen_id, count=2, alive=[page.process, frozen]
        )
        assert back.event.incarnation != first.event.incarnation  # type: ignore[union-attr]
        wait_until(lambda: page.json("stats/requests")["worker_count"] == 2, message="both workers in the run")
        # Its users stopped before it introduced itself again: from here on only the next test makes requests.
        served_before = fresh_target.served()

        status, body = page.post("swarm", {"user_count": "4", "spawn_rate": "50"})
        assert status == 200, body
        wait_until(lambda: users_per_worker(page) == [2, 2], message="the next test's 4 users over both workers")
        wait_until(lambda: counted(page) >= 20)
        assert json.loads(page.get("stop")[1])["success"] is True
        wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        wait_until(lambda: counted(page) == fresh_target.served() - served_before, message="the next test counted")
        refused = watch.of_type("worker.rejected", lambda e: not e.retry)
        assert not refused, refused
        page.process.send_signal(signal.SIGINT)
        assert wait_for_exit(page.process) == 0
        for process in workers:
            assert wait_for_exit(process) == 0, process.describe()
    finally:
        for process in workers:
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.kill()
        close(page)
