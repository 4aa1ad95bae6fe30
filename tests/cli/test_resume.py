"""A killed master is resumed from its journal and takes its workers back: nothing counted twice or lost."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

from horde.protocol.events import StatsReportDropped
from horde.protocol.journal import read_journal
from tests.support.processes import LOCUSTFILES, Cluster, Target, horde
from tests.support.waiting import wait_for_event, wait_for_line, wait_for_users, wait_until


def test_a_killed_master_resumes_and_the_totals_match_the_target(cluster: Cluster, fresh_target: Target) -> None:
    # Checkpoints every 4 kB: the resumed master starts from one, and goes on writing them (ADR 0009).
    checkpoints = ("--journal-checkpoint-mb", "0.004")
    master = cluster.start_master(
        "-H", fresh_target.url, "--expect-workers", "3", "-u", "9", "-r", "100", "-t", "7s", *checkpoints
    )
    workers = [cluster.start_worker() for _ in range(3)]
    # Killed once its workers run their users and a checkpoint is on disk.
    wait_for_users(cluster.watch, [3, 3, 3], alive=[master])
    wait_for_event(cluster.watch, "journal.checkpoint", alive=[master])
    os.kill(master.pid, signal.SIGKILL)
    master.wait(timeout=10)
    for worker in workers:  # they notice (liveness window 1.5 s), stop their users and wait for a master
        wait_for_line(worker.err, "the master is silent", alive=[worker])
    cluster.resume_master(*checkpoints)
    assert cluster.wait_master(timeout=60) in (0, 1)

    records = read_journal(cluster.cwd / "run.jsonl").records
    assert [r.seq for r in records] == list(range(1, len(records) + 1))
    types = [r.type for r in records]
    assert "run.resumed" in types
    resumed_at = types.index("run.resumed")
    rejoined = [r for r in records[resumed_at:] if r.type == "worker.joined"]
    assert len(rejoined) == 3
    states = [r.event.state for r in records if r.type == "run.state_changed"]
    assert states[-2:] == ["stopping", "stopped"]
    # The run ends at its original run time, 7 s after it started spawning, not 7 s after the resume.
    changes = [r for r in records if r.type == "run.state_changed"]
    spawning = next(r for r in changes if r.event.state == "spawning")  # type: ignore[union-attr]
    run_time = (changes[-2].mono_ns - spawning.mono_ns) / 1e9
    # (The run-time timer starts a moment before the spawning state is stamped: hence the 50 ms below 7.)
    assert 7 - 0.05 <= run_time < 7 + 2.5, run_time  # 7 s after the resume would be 7 s plus the 3 s or more before it
    assert (changes[-2].mono_ns - records[resumed_at].mono_ns) / 1e9 < 7

    summary = json.loads((cluster.cwd / "summary.json").read_text())
    served = sum(fresh_target.counts().values())
    # At most the requests in flight when the workers stopped their users (twice: at the crash and at the end).
    assert served - 2 * 9 <= summary["aggregated"]["num_requests"] <= served
    # A report the dead master recorded but had not yet acknowledged (acks ride on its heartbeats) comes again
    # and is recognised by its seq; nothing is dropped for any other reason.
    dropped = [r.event for r in records if isinstance(r.event, StatsReportDropped)]
    assert all(d.reason.startswith(f"seq {d.seq} <= ") for d in dropped), dropped

    # Checkpoints on both sides of the resume, each equal to the fold of the events before it.
    resumed_seq = records[resumed_at].seq
    checkpoint_seqs = [r.seq for r in records if r.type == "journal.checkpoint"]
    assert min(checkpoint_seqs) < resumed_seq < max(checkpoint_seqs)
    check = horde("replay", "run.jsonl", "--check", cwd=cluster.cwd)
    assert check.returncode == 0 and f"{len(checkpoint_seqs)} checkpoint(s) equal" in check.stdout, check.stdout


def test_resume_needs_a_run_that_is_not_over(tmp_path: Path) -> None:
    # A run that ran to its end: the golden journal a local run recorded (no new run needed to make one).
    shutil.copy(Path(__file__).parents[1] / "actors" / "golden" / "local-run-v2.jsonl", tmp_path / "done.jsonl")
    result = horde(
        "run", "-f", str(Path(__file__).parents[1] / "locustfiles" / "shop.py"), "--master", "--resume", "done.jsonl",
        cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "horde: error: done.jsonl: that run already stopped; nothing to resume"


def test_a_resumed_master_keeps_the_shapes_clock(cluster: Cluster, fresh_target: Target) -> None:
    shape = str(LOCUSTFILES / "timed_shape.py")
    master = cluster.start_master("-f", shape, "-H", fresh_target.url, "--expect-workers", "1", "--headless")
    worker = cluster.start_worker("-f", shape)
    wait_for_users(cluster.watch, [2], alive=[master])
    os.kill(master.pid, signal.SIGKILL)
    master.wait(timeout=10)
    wait_for_line(worker.err, "the master is silent", alive=[worker])
    # What is tested is the shape's clock: the new master must come when the run is past the shape's 4 s stage.
    started_mono_ns = read_journal(cluster.cwd / "run.jsonl").header.started_mono_ns
    wait_until(
        lambda: time.monotonic_ns() - started_mono_ns > 4.5e9, timeout=10, message="the run past its first 4.5 s"
    )
    cluster.resume_master("-f", shape)
    assert cluster.wait_master(timeout=60) in (0, 1)

    contents = read_journal(cluster.cwd / "run.jsonl")
    types = [r.type for r in contents.records]
    after_resume = contents.records[types.index("run.resumed") :]
    first_stage = next(r.event for r in after_resume if r.type == "shape.ticked")
    assert first_stage.user_count == 4  # type: ignore[union-attr] - the shape is past its 4 s, as the run is
    stopping = next(r for r in after_resume if r.type == "run.state_changed" and r.event.state == "stopping")  # type: ignore[union-attr]
    # The shape ends the run 8 s after the first master started, not 8 s after the resume (about 12.5 s in).
    assert (stopping.mono_ns - contents.header.started_mono_ns) / 1e9 < 10.5


def test_a_worker_back_after_the_run_time_hands_in_its_last_reports(cluster: Cluster, fresh_target: Target) -> None:
    # A stop timeout (the master's, which its Spawn hands the worker): users finish the request they are in.
    master = cluster.start_master(
        "-H", fresh_target.url, "--expect-workers", "1", "-u", "3", "-r", "100", "-t", "2s", "-s", "5"
    )  # fmt: skip
    worker = cluster.start_worker()
    wait_for_users(cluster.watch, [3], alive=[master, worker])
    os.kill(master.pid, signal.SIGKILL)  # the worker keeps what it has not had acknowledged
    master.wait(timeout=10)
    wait_for_line(worker.err, "the master is silent", alive=[worker])
    before = cluster.journal()
    spawning = next(r for r in before if r.type == "run.state_changed" and r.event.state == "spawning")  # type: ignore[union-attr]
    wait_until(lambda: time.monotonic_ns() > spawning.mono_ns + 2.5e9, timeout=30, message="the run time to pass")
    # The worker is held until the resumed master has stopped the run (its time is up), then comes back to it.
    os.kill(worker.pid, signal.SIGSTOP)
    try:
        resumed = cluster.resume_master()
        wait_for_event(
            cluster.watch, "run.state_changed", lambda e: e.state == "stopping", after=before[-1].seq, alive=[resumed]
        )
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    assert cluster.wait_master(timeout=60) == 0
    assert worker.wait(timeout=30) == 0

    records = cluster.journal()
    after = records[[r.type for r in records].index("run.resumed") :]
    types = [r.type for r in after]
    assert "worker.rejected" not in types, [r.event for r in after if r.type == "worker.rejected"]
    stopping = types.index("run.state_changed")
    assert after[stopping].event.state == "stopping"  # type: ignore[union-attr]
    assert "worker.joined" in types[stopping:] and "dispatch.step" not in types  # admitted, given no users
    served = sum(fresh_target.counts().values())
    assert served > 0 and cluster.summary()["aggregated"]["num_requests"] == served  # every request counted once
