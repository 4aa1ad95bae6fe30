"""What a worker process pays for: it records statistics, and only the master merges them with numpy."""

from __future__ import annotations

from tests.support.processes import LOCUSTFILES, Cluster, Target


def test_a_worker_process_reports_statistics_without_ever_importing_numpy(
    cluster: Cluster, fresh_target: Target
) -> None:
    cluster.locustfile = str(LOCUSTFILES / "numpy_probe.py")
    cluster.start_master("-H", fresh_target.url, "--expect-workers", "1", "-u", "2", "-r", "100", "-t", "1s", "-s", "5")
    worker = cluster.start_worker()
    assert cluster.wait_master() == 0
    _, worker_err = worker.communicate(timeout=30)
    _, master_err = cluster.master.communicate(timeout=30) if cluster.master else ("", "")
    assert "numpy loaded: False" in worker_err, worker_err[-2000:]
    assert "numpy loaded: True" in master_err, master_err[-2000:]  # the probe tells: the master merged with it
    served = fresh_target.served()
    assert served > 0
    assert cluster.summary()["aggregated"]["num_requests"] == served
