"""Admission checks what matters: a worker that cannot run the master's user classes (its locustfile lacks them,
or they have no host) is refused with one line on both sides and journaled; a right worker then runs the load."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import LOCUSTFILES, Cluster, Target
from tests.support.waiting import wait_for_event, wait_for_exit, wait_for_line

READER_ONLY = """
from horde import HttpUser, constant, task


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/")
"""


def _refusal_told(cluster: Cluster, worker, reason: str) -> None:
    """The worker exits 2 saying why; the master says so and journals it."""
    assert wait_for_exit(worker) == 2
    _, err = worker.communicate(timeout=10)
    assert reason in err, err
    assert "Traceback" not in err
    (rejected,) = wait_for_event(cluster.watch, "worker.rejected", alive=[cluster.master])
    assert reason in rejected.event.reason
    assert cluster.master is not None
    (line,) = wait_for_line(cluster.master.err, "worker refused", alive=[cluster.master])
    assert reason in line


def test_a_worker_lacking_the_masters_classes_is_refused(
    cluster: Cluster, fresh_target: Target, tmp_path: Path
) -> None:
    (tmp_path / "reader_only.py").write_text(READER_ONLY)
    cluster.start_master("-H", fresh_target.url, "-u", "3", "-r", "100", "-t", "1s", "-s", "5")
    wrong = cluster.start_worker("-f", str(tmp_path / "reader_only.py"))
    _refusal_told(cluster, wrong, "lacks the master's user class(es) Buyer")
    assert fresh_target.served() == 0

    cluster.start_worker()
    assert cluster.wait_master() == 0
    joined = [r for r in cluster.journal() if r.type == "worker.joined"]
    assert len(joined) == 1
    assert cluster.summary()["aggregated"]["num_requests"] == fresh_target.served() > 0


def test_a_worker_whose_classes_have_no_host_is_refused(cluster: Cluster, fresh_target: Target) -> None:
    no_host = str(LOCUSTFILES.parent / "compat" / "locustfiles" / "faults_missing_host.py")
    cluster.start_master("-f", no_host, "-u", "2", "-r", "100", "-t", "1s", "-s", "5")
    hostless = cluster.start_worker("-f", no_host)
    _refusal_told(cluster, hostless, "no host for NoHost")

    cluster.start_worker("-f", no_host, "-H", fresh_target.url)  # its own host: it can run them
    assert cluster.wait_master() == 0
    assert cluster.summary()["aggregated"]["num_requests"] == fresh_target.served() > 0


def test_a_run_whose_every_worker_is_refused_exits_non_zero(cluster: Cluster, tmp_path: Path) -> None:
    (tmp_path / "reader_only.py").write_text(READER_ONLY)
    master = cluster.start_master("-u", "2", "-t", "2s", "--expect-workers-max-wait", "3")
    wrong = cluster.start_worker("-f", str(tmp_path / "reader_only.py"))
    assert wait_for_exit(wrong) == 2
    assert cluster.wait_master(timeout=30) == 2
    _, err = master.communicate(timeout=10)
    assert "only 0 of 1 workers connected within 3 s" in err and "Traceback" not in err
