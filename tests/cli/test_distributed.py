"""Master and workers as real processes over ZeroMQ on 127.0.0.1: dispatch, liveness, rejoin, merged statistics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.processes import LOCUSTFILES, Cluster, Target, horde
from tests.support.waiting import (
    JournalWatch,
    last_users,
    wait_for_event,
    wait_for_exit,
    wait_for_line,
    wait_for_users,
    worker_id_of,
)


def test_three_workers_share_users_by_weight_and_totals_match_the_target(
    cluster: Cluster, fresh_target: Target
) -> None:
    cluster.start_master("-H", fresh_target.url, "--expect-workers", "3", "-u", "7", "-r", "100", "-t", "1s", "-s", "5")
    for _ in range(3):
        cluster.start_worker()
    assert cluster.wait_master() in (0, 1)
    users = last_users(cluster.journal())
    assert len(users) == 3
    totals = sorted(sum(c.values()) for c in users.values())
    assert totals == [2, 2, 3]
    per_class = {name: sorted(c.get(name, 0) for c in users.values()) for name in ("Reader", "Buyer")}
    assert sum(per_class["Reader"]) == 2 and sum(per_class["Buyer"]) == 5
    assert all(max(v) - min(v) <= 1 for v in per_class.values())
    summary = cluster.summary()
    served = fresh_target.counts()
    assert summary["aggregated"]["num_requests"] == sum(served.values()) > 0
    for entry in summary["entries"]:
        assert served[f"{entry['method']} {entry['name']}"] == entry["num_requests"]


def test_a_killed_worker_is_missing_and_its_users_move_at_once(cluster: Cluster, fresh_target: Target) -> None:
    # The test ends the run (SIGTERM) once the users have moved and the survivors run them.
    master = cluster.start_master("-H", fresh_target.url, "--expect-workers", "3", "-u", "6", "-r", "100", "-t", "60s")
    workers = [cluster.start_worker() for _ in range(3)]
    wait_for_users(cluster.watch, [2, 2, 2], alive=[master])
    killed_at = time.time()
    os.kill(workers[0].pid, signal.SIGKILL)
    (moved,) = wait_for_event(cluster.watch, "dispatch.step", lambda e: e.cause == "worker_missing", alive=[master])
    wait_for_event(cluster.watch, "worker.users_reported", after=moved.seq, count=2, alive=[master])
    master.send_signal(signal.SIGTERM)
    assert cluster.wait_master() in (0, 1)
    records = cluster.journal()
    missing = [r for r in records if r.type == "worker.missing"]
    assert len(missing) == 1
    # Liveness window: 3 beats of 0.5 s, checked every beat (the rest is room for a busy machine).
    assert missing[0].wall_ns / 1e9 - killed_at < 1.5 + 3.0
    moved = next(r for r in records if r.type == "dispatch.step" and r.event.cause == "worker_missing")
    assert moved.seq > missing[0].seq and (moved.mono_ns - missing[0].mono_ns) / 1e9 < 2.0
    reported_after = [r for r in records if r.type == "worker.users_reported" and r.seq > moved.seq]
    assert reported_after and (reported_after[-1].mono_ns - moved.mono_ns) / 1e9 < 4.0
    assert sorted(sum(c.values()) for c in last_users(records).values()) == [3, 3]
    # Everything the dead worker reported before dying is in the totals; what it had not reported yet is lost.
    assert 0 < cluster.summary()["aggregated"]["num_requests"] <= fresh_target.served()

    # The journal is a regression test of these decisions; a step whose cause was rewritten no longer passes it.
    assert horde("replay", "run.jsonl", "--check", cwd=cluster.cwd).returncode == 0
    journal = (cluster.cwd / "run.jsonl").read_bytes()
    tampered = journal.replace(b'"cause":"worker_missing"', b'"cause":"worker_left"')
    assert tampered != journal
    (cluster.cwd / "tampered.jsonl").write_bytes(tampered)
    check = horde("replay", "tampered.jsonl", "--check", cwd=cluster.cwd)
    assert check.returncode == 1 and f"DIVERGED at seq {moved.seq}" in check.stdout, check.stdout
    assert "cause worker_left, but the journal says" in check.stdout and "went missing" in check.stdout


def test_a_stopped_worker_goes_missing_then_rejoins_without_double_counting(
    cluster: Cluster, fresh_target: Target
) -> None:
    # The test ends the run (SIGTERM) once the stopped worker is back and runs its share again.
    master = cluster.start_master("-H", fresh_target.url, "--expect-workers", "2", "-u", "4", "-r", "100", "-t", "60s")
    workers = [cluster.start_worker() for _ in range(2)]
    wait_for_users(cluster.watch, [2, 2], alive=[master])
    stopped = worker_id_of(cluster.watch, workers[1])
    os.kill(workers[1].pid, signal.SIGSTOP)
    wait_for_event(cluster.watch, "worker.missing", lambda e: e.worker_id == stopped, alive=[master])
    os.kill(workers[1].pid, signal.SIGCONT)
    (_, back) = wait_for_event(
        cluster.watch, "worker.joined", lambda e: e.worker_id == stopped, count=2, alive=[master]
    )
    wait_for_event(
        cluster.watch, "worker.users_reported", lambda e: e.worker_id == stopped, after=back.seq, alive=[master]
    )
    wait_for_users(cluster.watch, [2, 2], alive=[master])
    master.send_signal(signal.SIGTERM)
    assert cluster.wait_master() in (0, 1)
    records = cluster.journal()
    missing = [r.event.worker_id for r in records if r.type == "worker.missing"]
    joined = [r.event for r in records if r.type == "worker.joined"]
    assert len(missing) == 1
    rejoined = [j for j in joined if j.worker_id == missing[0]]
    assert len(rejoined) == 2 and rejoined[0].incarnation != rejoined[1].incarnation
    assert sorted(sum(c.values()) for c in last_users(records).values()) == [2, 2]
    reported = cluster.summary()["aggregated"]["num_requests"]
    served = fresh_target.served()
    assert served - 4 <= reported <= served


def test_workers_notice_a_dead_master_and_keep_reconnecting_or_quit_when_told(
    cluster: Cluster, fresh_target: Target
) -> None:
    master = cluster.start_master("-H", fresh_target.url, "--expect-workers", "2", "-u", "2", "-r", "100", "-t", "60s")
    stays = cluster.start_worker()
    quits = cluster.start_worker("--quit-when-master-lost")
    wait_for_users(cluster.watch, [1, 1], alive=[master])
    os.kill(master.pid, signal.SIGKILL)
    started = time.monotonic()
    assert wait_for_exit(quits, timeout=10) == 1
    assert time.monotonic() - started < 1.5 + 6.0  # the 1.5 s liveness window, with room for a busy machine
    assert "silent" in quits.communicate(timeout=5)[1]
    wait_for_line(stays.err, "the master is silent", alive=[stays])
    # Keeps reconnecting: a new master on the same port gets it back.
    again = cluster.start_master(
        "-H", fresh_target.url, "-u", "1", "-t", "60s", "--journal", "again.jsonl", port=cluster.port
    )
    wait_for_users(JournalWatch(cluster.cwd / "again.jsonl"), [1], alive=[again, stays])
    assert stays.poll() is None, "a worker keeps reconnecting by default"
    stays.send_signal(signal.SIGTERM)
    _, err = stays.communicate(timeout=10)
    assert "the master is silent" in err and "quit: SIGTERM received" in err


def test_a_worker_joining_mid_run_gets_its_share(cluster: Cluster, fresh_target: Target) -> None:
    # The test ends the run (SIGTERM) once the newcomer runs its share.
    master = cluster.start_master("-H", fresh_target.url, "--expect-workers", "1", "-u", "6", "-r", "100", "-t", "60s")
    cluster.start_worker()
    wait_for_users(cluster.watch, [6], alive=[master])
    cluster.start_worker()
    wait_for_users(cluster.watch, [3, 3], alive=[master])
    master.send_signal(signal.SIGTERM)
    assert cluster.wait_master() in (0, 1)
    records = cluster.journal()
    assert any(r.type == "dispatch.step" and r.event.cause == "worker_joined" and r.event.total == 6 for r in records)
    assert sorted(sum(c.values()) for c in last_users(records).values()) == [3, 3]


def test_a_worker_of_a_master_without_a_locustfile_to_give(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "horde", "run", "-f", "-", "--master", "-u", "1"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 2 and "only works with --worker" in result.stderr


def test_custom_messages_travel_both_ways(cluster: Cluster, fresh_target: Target) -> None:
    cluster.start_master("-H", fresh_target.url, "-u", "1", "-t", "1s", "-f", str(LOCUSTFILES / "custom_messages.py"))
    worker = cluster.start_worker("-f", str(LOCUSTFILES / "custom_messages.py"))
    assert cluster.wait_master() in (0, 1)
    assert cluster.master is not None
    master_out, _ = cluster.master.communicate(timeout=15)
    worker_out, _ = worker.communicate(timeout=15)
    assert "master got hello from " in master_out
    assert "worker got ack: {'to':" in worker_out


def test_custom_messages_in_a_local_run_reach_this_process(fresh_target: Target, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "horde", "run", "-f", str(LOCUSTFILES / "custom_messages.py"), "-H", fresh_target.url,
         "-u", "1", "-t", "1s", "--only-summary"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert "master got hello from local: {'n': 1}" in result.stdout
    assert "worker got ack: {'to': 'local'}" in result.stdout


def test_a_cpu_bound_worker_is_not_marked_missing(cluster: Cluster) -> None:
    """Tasks that never do I/O still return to the hub between tasks: the heartbeat greenlet gets its turn."""
    busy = str(LOCUSTFILES / "cpu_heavy.py")
    cluster.start_master("-f", busy, "-u", "20", "-r", "100", "-t", "6s")
    cluster.start_worker("-f", busy)
    assert cluster.wait_master() in (0, 1)
    records = cluster.journal()
    # Never missing over 6 s with a liveness window of 3 beats of 0.5 s: no two of its beats were 1.5 s apart.
    assert not [r for r in records if r.type == "worker.missing"]
    # The journal has its beats with news and every tenth (ADR 0028): enough to see it was busy (an idle worker
    # shows a few percent; a busy machine may leave it well under a whole core).
    beats = [r.event for r in records if r.type == "worker.heartbeat"]
    assert len(beats) >= 2 and max(b.cpu_percent for b in beats) > 20


def test_a_worker_without_the_masters_auth_token_is_refused(cluster: Cluster, fresh_target: Target) -> None:
    """The token derives both sides' CURVE keys (ADR 0024): a worker without it, or with another, fails the
    handshake, exits 2 and is never a worker; the token itself is never sent nor journaled."""
    cluster.start_master("-H", fresh_target.url, "-u", "1", "-t", "1s", "--auth-token", "s3cret-token")
    # The three intruders try at once (-f -: no locustfile without the token); the member comes after them all.
    intruders = [cluster.start_worker(*args) for args in ((), ("--auth-token", "another-token"), ("-f", "-"))]
    for intruder in intruders:
        _, err = intruder.communicate(timeout=20)
        assert intruder.returncode == 2
        assert "not authorised" in err
    member = cluster.start_worker("--auth-token", "s3cret-token")
    assert cluster.wait_master() in (0, 1)
    member.communicate(timeout=20)
    assert member.returncode == 0
    text = (cluster.cwd / "run.jsonl").read_text()
    assert "s3cret-token" not in text, "the secret must never be journaled"
    records = cluster.journal()
    refusals = [r.event.reason for r in records if r.type == "protocol.frame_rejected"]
    assert refusals and all(reason.startswith("not authorised") for reason in refusals), refusals
    assert len([r for r in records if r.type == "worker.joined"]) == 1
