"""A worker's CURVE key revoked mid-run, with real processes (ADR 0039): removing its key file from the master's
`--worker-public-keys` folder cuts the connected worker off within a key check. It exits 2 with one line naming
the revocation, the master journals its leaving and gives its users to the other worker, and nothing it sends
afterwards is counted, while every request of the worker that keeps its key is counted once."""

from __future__ import annotations

import shutil
import signal
from pathlib import Path

from tests.support.processes import LOCUSTFILES, Cluster, HordeProcess, Target, horde
from tests.support.waiting import wait_for_event, wait_for_exit, wait_for_users, wait_until, worker_id_of

LOCUSTFILE = str(LOCUSTFILES / "route_from_env.py")
REFUSED_CODE = 2


def test_a_worker_whose_key_is_revoked_mid_run_is_cut_off_and_the_other_takes_its_users(
    tmp_path: Path, fresh_target: Target
) -> None:
    generated = horde("keys", "generate", "keys", "master", "kept", "revoked", cwd=tmp_path, timeout=30)
    assert generated.returncode == 0, generated.stderr
    keys, admitted = tmp_path / "keys", tmp_path / "admitted"
    admitted.mkdir()
    for name in ("kept", "revoked"):
        shutil.copy(keys / f"{name}.key", admitted)
    cluster = Cluster(tmp_path, LOCUSTFILE)
    try:
        # The test ends the run (SIGTERM) once the kept worker runs every user; -s 5 lets its users finish.
        master = cluster.start_master(
            "-H", fresh_target.url, "--expect-workers", "2", "-u", "4", "-r", "100", "-t", "120s", "-s", "5",
            "--stats-interval", "0.5",
            "--master-secret-key", str(keys / "master.key_secret"), "--worker-public-keys", str(admitted),
        )  # fmt: skip

        def worker(name: str, route: str) -> HordeProcess:
            process = HordeProcess(
                ["run", "-f", LOCUSTFILE, "--worker", "--master-port", str(cluster.port), "--heartbeat-interval",
                 "0.5", "--stats-interval", "0.5", "--worker-secret-key", str(keys / f"{name}.key_secret"),
                 "--master-public-key", str(keys / "master.key")],
                cwd=tmp_path, name=f"{name} worker", prefix=("env", f"ONE_ROUTE={route}"),
            )  # fmt: skip
            cluster.processes.append(process)
            return process

        kept, revoked = worker("kept", "/"), worker("revoked", "/text")
        wait_for_users(cluster.watch, [2, 2], alive=[master])
        revoked_id = worker_id_of(cluster.watch, revoked)
        wait_for_event(  # some of its requests are counted before its key goes
            cluster.watch, "stats.merged", lambda e: any(r.worker_id == revoked_id for r in e.reports), alive=[master]
        )

        (admitted / "revoked.key").unlink()
        assert wait_for_exit(revoked) == REFUSED_CODE
        _, err = revoked.communicate(timeout=10)
        naming = [line for line in err.splitlines() if "revoked" in line]
        assert len(naming) == 1 and "quit: rejected by master: not authorised" in naming[0], err
        assert "Traceback" not in err
        (left,) = wait_for_event(cluster.watch, "worker.left", lambda e: e.worker_id == revoked_id, alive=[master])
        assert "was revoked" in left.event.reason and left.cause == "key_revoked"  # type: ignore[union-attr]
        wait_for_users(cluster.watch, [4], alive=[master, kept])  # the run goes on: every user on the kept worker
        served_text = fresh_target.counts().get("GET /text", 0)
        wait_until(lambda: fresh_target.counts().get("GET /", 0) > 0)
        master.send_signal(signal.SIGTERM)
        assert cluster.wait_master() in (0, 1), master.describe()
        assert wait_for_exit(kept) == 0, kept.describe()
    finally:
        cluster.close()

    summary = {entry["name"]: entry["num_requests"] for entry in cluster.summary()["entries"]}
    served = fresh_target.counts()
    assert served.get("GET /text", 0) == served_text, "nothing of the revoked worker's after it was cut off"
    # The kept worker's requests are all counted, once; the revoked one's up to its last report the master took
    # before the revocation, never after (ADR 0039): what it had not reported yet is lost, as a dead worker's.
    assert summary["/"] == served["GET /"] > 0
    assert 0 < summary["/text"] <= served["GET /text"]
    assert horde("replay", "run.jsonl", "--check", cwd=tmp_path).returncode == 0
