"""Stalls are not deaths: the only worker of a run stalls for 5 s (SIGSTOP, then SIGCONT), is marked missing, and
comes back within the return window: it rejoins, the run goes on to its run time, every request counted once."""

from __future__ import annotations

import os
import signal
import time

from tests.support.processes import Cluster, Target
from tests.support.waiting import wait_for_event, wait_for_exit, wait_for_users, worker_id_of

STALL = 5.0
"""The stall under test (issue #14): longer than the liveness window (3 beats of 1 s), shorter than the 9 s
return window of ADR 0025."""


def test_a_stalled_only_worker_rejoins_and_the_run_does_not_end_early(cluster: Cluster, fresh_target: Target) -> None:
    master = cluster.start_master(
        "-H", fresh_target.url, "-u", "3", "-r", "100", "-t", "9s", "-s", "5", "--heartbeat-interval", "1"
    )
    worker = cluster.start_worker("--heartbeat-interval", "1")
    wait_for_users(cluster.watch, [3], alive=[master])
    stalled = worker_id_of(cluster.watch, worker)
    stopped_at = time.monotonic()
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        wait_for_event(cluster.watch, "worker.missing", lambda e: e.worker_id == stalled, alive=[master])
        time.sleep(max(0.0, stopped_at + STALL - time.monotonic()))  # the rest of the stall, not a wait for a state
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    (_, back) = wait_for_event(
        cluster.watch, "worker.joined", lambda e: e.worker_id == stalled, count=2, alive=[master]
    )
    wait_for_event(cluster.watch, "worker.users_reported", lambda e: e.worker_id == stalled, after=back.seq)

    assert cluster.wait_master(timeout=30) == 0
    assert wait_for_exit(worker, timeout=15) == 0, "the worker is released, never refused"
    records = cluster.journal()
    reasons = [(r.event.state, r.event.reason) for r in records if r.type == "run.state_changed"]
    assert ("stopping", "run time reached") in reasons, reasons
    assert not [r for r in records if r.type == "worker.rejected"]
    summary = cluster.summary()
    served = fresh_target.served()
    # Every request is counted once: the stalled incarnation's last report and the new one's, never both twice.
    assert summary["aggregated"]["num_requests"] == served > 0
