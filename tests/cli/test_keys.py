"""CURVE keys end to end with real processes: `horde keys generate`, a keyed master, and workers with and without
the right key (ADR 0024). A refused worker exits 2 with one line, never becomes a worker, and the master journals
the refusal; the worker with the right key fetches the locustfile over CURVE and its counts match the target's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from tests.support.processes import LOCUSTFILES, Cluster, Target, horde

REFUSED_CODE = 2


def _generate(cwd: Path, *names: str) -> Path:
    result = horde("keys", "generate", "keys", *names, cwd=cwd, timeout=30)
    assert result.returncode == 0, result.stderr
    return cwd / "keys"


def test_keys_generate_writes_owner_only_pairs_and_never_overwrites(tmp_path: Path) -> None:
    result = horde("keys", "generate", "keys", cwd=tmp_path, timeout=30)
    assert result.returncode == 0, result.stderr
    names = sorted(os.listdir(tmp_path / "keys"))
    assert names == ["master.key", "master.key_secret", "worker.key", "worker.key_secret"]
    assert all(os.stat(tmp_path / "keys" / n).st_mode & 0o777 == 0o600 for n in names)
    before = (tmp_path / "keys" / "master.key_secret").read_bytes()
    again = horde("keys", "generate", "keys", "master", cwd=tmp_path, timeout=30)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines()[-1].startswith("horde: error: horde keys:")
    assert "already exists" in again.stderr and "Traceback" not in again.stderr
    assert (tmp_path / "keys" / "master.key_secret").read_bytes() == before
    for args in ((), ("frob",), ("generate",)):
        wrong = horde("keys", *args, cwd=tmp_path, timeout=30)
        assert wrong.returncode == 2 and len(wrong.stderr.strip().splitlines()) == 1, wrong.stderr
        assert wrong.stderr.startswith("horde: error: horde keys:") and "usage: horde keys generate" in wrong.stderr


def test_bad_key_options_are_one_line_errors(tmp_path: Path) -> None:
    keys = _generate(tmp_path, "master", "worker")
    (tmp_path / "nothing.py").write_text(
        "from horde import HttpUser, task\n\n\nclass U(HttpUser):\n    @task\n    def t(self):\n        pass\n"
    )
    cases = [
        (["--master", "--master-secret-key", str(keys / "master.key_secret")], "go together"),
        (["--master", "--master-secret-key", str(keys / "master.key"), "--worker-public-keys", str(keys)], "no secret"),
        (["--worker", "--worker-secret-key", str(keys / "nope"), "--master-public-key", str(keys / "master.key")], ""),
        (
            ["--auth-token", "t", "--master-secret-key", "a", "--worker-public-keys", "b", "--master"],
            "one or the other",
        ),
    ]
    for args, expected in cases:
        result = horde("run", "-f", "nothing.py", "-H", "http://127.0.0.1:9", *args, cwd=tmp_path, timeout=30)
        assert result.returncode == 2, (args, result.stderr)
        assert "Traceback" not in result.stderr and expected in result.stderr, (args, result.stderr)


def _journaled_refusals(cluster: Cluster) -> list[str]:
    return [r.event.reason for r in cluster.journal() if r.type == "protocol.frame_rejected"]


def test_only_a_worker_with_an_authorised_key_joins_and_its_counts_match_the_target(
    cluster: Cluster, fresh_target: Target
) -> None:
    keys = _generate(cluster.cwd, "master", "member", "revoked", "stranger")
    admitted = cluster.cwd / "admitted"
    admitted.mkdir()
    for name in ("member", "revoked"):
        shutil.copy(keys / f"{name}.key", admitted)
    cluster.start_master(
        "-H", fresh_target.url, "-u", "3", "-r", "100", "-t", "2s",
        "--master-secret-key", str(keys / "master.key_secret"), "--worker-public-keys", str(admitted),
    )  # fmt: skip
    (admitted / "revoked.key").unlink()

    def worker_with(name: str | None, master_key: str = "master") -> tuple[int, str]:
        args = ["--worker-secret-key", str(keys / f"{name}.key_secret")] if name else []
        args += ["--master-public-key", str(keys / f"{master_key}.key")] if name else []
        process = cluster.start_worker(*args)
        _, err = process.communicate(timeout=30)
        return process.popen.returncode, err

    for name, hears in (
        (None, "the master needs a key"),
        ("stranger", "refused this worker's key"),
        ("revoked", "refused this worker's key"),
    ):
        code, err = worker_with(name)
        assert code == REFUSED_CODE, (name, err)
        assert "quit: rejected by master: not authorised" in err and hears in err, err
        assert "Traceback" not in err

    member = cluster.start_worker(
        "--worker-secret-key", str(keys / "member.key_secret"), "--master-public-key", str(keys / "master.key")
    )
    assert cluster.wait_master() in (0, 1), cluster.master.describe() if cluster.master else ""
    _, err = member.communicate(timeout=30)
    assert member.popen.returncode == 0, err

    records = cluster.journal()
    assert len([r for r in records if r.type == "worker.joined"]) == 1
    refusals = _journaled_refusals(cluster)
    assert any("is not among the master's worker keys" in reason for reason in refusals), refusals
    assert any("a peer without a CURVE key" in reason for reason in refusals), refusals
    summary = cluster.summary()
    served = fresh_target.counts()
    assert summary["aggregated"]["num_requests"] == sum(served.values()) > 0
    for entry in summary["entries"]:
        assert served[f"{entry['method']} {entry['name']}"] == entry["num_requests"]


def test_a_worker_fetches_the_locustfile_over_curve_and_a_stranger_gets_nothing(
    cluster: Cluster, fresh_target: Target
) -> None:
    """`-f -` asks the master for its locustfile: only over a connection the master admitted."""
    keys = _generate(cluster.cwd, "master", "member", "stranger")
    cluster.start_master(
        "-H", fresh_target.url, "-u", "1", "-r", "100", "-t", "1s",
        "--master-secret-key", str(keys / "master.key_secret"), "--worker-public-keys", str(keys / "member.key"),
    )  # fmt: skip
    master_key = ("--master-public-key", str(keys / "master.key"))
    for args in ((), ("--worker-secret-key", str(keys / "stranger.key_secret"), *master_key)):
        stranger = cluster.start_worker("-f", "-", *args)
        _, err = stranger.communicate(timeout=30)
        assert stranger.popen.returncode != 0 and "Traceback" not in err, err
        assert "cannot get the locustfile from the master: not authorised" in err, err
    member = cluster.start_worker("-f", "-", "--worker-secret-key", str(keys / "member.key_secret"), *master_key)
    assert cluster.wait_master() in (0, 1)
    _, err = member.communicate(timeout=30)
    assert member.popen.returncode == 0, err
    assert fresh_target.served() > 0


def test_a_keyed_master_gives_its_own_worker_processes_a_key_of_their_own(
    cluster: Cluster, fresh_target: Target
) -> None:
    """`--processes` beside key files: the run's worker processes join with a pair made for this run only, and
    the admitted folder is left as it was."""
    keys = _generate(cluster.cwd, "master", "member")
    admitted = cluster.cwd / "admitted"
    admitted.mkdir()
    shutil.copy(keys / "member.key", admitted)
    cluster.start_master(
        "-H", fresh_target.url, "-u", "2", "-r", "100", "-t", "2s", "--processes", "1",
        "--master-secret-key", str(keys / "master.key_secret"), "--worker-public-keys", str(admitted),
    )  # fmt: skip
    assert cluster.wait_master() in (0, 1), cluster.master.describe() if cluster.master else ""
    assert len([r for r in cluster.journal() if r.type == "worker.joined"]) == 1
    assert cluster.summary()["aggregated"]["num_requests"] == fresh_target.served() > 0
    assert sorted(os.listdir(admitted)) == ["member.key"]


def test_a_master_without_keys_on_a_non_loopback_address_warns_in_one_line(tmp_path: Path) -> None:
    keys = _generate(tmp_path, "master", "member")
    base = ["run", "-f", str(LOCUSTFILES / "two_classes.py"), "-H", "http://127.0.0.1:9", "--master"]
    base += ["--master-bind-port", "0", "--expect-workers-max-wait", "0.5", "-t", "1s"]
    keyed = ["--master-secret-key", str(keys / "master.key_secret"), "--worker-public-keys", str(keys / "member.key")]
    warned = []
    for host, extra in (("*", []), ("127.0.0.1", []), ("*", keyed)):
        result = horde(*base, "--master-bind-host", host, *extra, cwd=tmp_path, timeout=60)
        assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
        warned.append([line for line in result.stderr.splitlines() if "without keys" in line])
    assert len(warned[0]) == 1 and "anyone who reaches port" in warned[0][0], warned
    assert warned[1:] == [[], []]
