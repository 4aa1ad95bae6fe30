"""CURVE keys end to end with real processes: `horde keys generate`, a keyed master, and workers with and without
the right key (ADR 0024). A refused worker exits 2 with one line, never becomes a worker, and the master journals
the refusal; the worker with the right key fetches the locustfile over CURVE and its counts match the target's.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from horde.cli.app import run_cli
from tests.support.processes import LOCUSTFILES, Cluster, HordeProcess, Target, horde

REFUSED_CODE = 2


def _generate(cwd: Path, *names: str) -> Path:
    result = horde("keys", "generate", "keys", *names, cwd=cwd, timeout=30)
    assert result.returncode == 0, result.stderr
    return cwd / "keys"


def test_keys_generate_writes_owner_only_pairs_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = horde("keys", "generate", "keys", cwd=tmp_path, timeout=30)
    assert result.returncode == 0, result.stderr
    names = sorted(os.listdir(tmp_path / "keys"))
    assert names == ["master.key", "master.key_secret", "worker.key", "worker.key_secret"]
    assert all(os.stat(tmp_path / "keys" / n).st_mode & 0o777 == 0o600 for n in names)
    before = (tmp_path / "keys" / "master.key_secret").read_bytes()
    capsys.readouterr()
    for args in (["generate", str(tmp_path / "keys"), "master"], [], ["frob"], ["generate"]):
        assert run_cli(["keys", *args]) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and err.startswith("horde: error: horde keys:"), err
    assert (tmp_path / "keys" / "master.key_secret").read_bytes() == before


def test_bad_key_options_are_one_line_errors(tmp_path: Path) -> None:
    """A pair given by half, and a public key given as the secret one: one line, exit 2, before any socket."""
    keys = _generate(tmp_path, "master", "worker")
    cases = [
        (["--master", "--master-secret-key", str(keys / "master.key_secret")], "--worker-public-keys go together"),
        (["--master", "--master-secret-key", str(keys / "master.key"), "--worker-public-keys", str(keys)], "no secret"),
    ]
    for args, expected in cases:
        result = horde("run", "-f", str(LOCUSTFILES / "two_classes.py"), *args, cwd=tmp_path, timeout=30)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and expected in result.stderr, (args, result.stderr)


def _journaled_refusals(cluster: Cluster) -> list[str]:
    return [r.event.reason for r in cluster.journal() if r.type == "protocol.frame_rejected"]


def test_only_a_worker_with_an_authorised_key_joins_and_its_counts_match_the_target(
    cluster: Cluster, fresh_target: Target
) -> None:
    """No key, a stranger's key, a revoked key: refused on both sides, never a worker, journaled. The member
    fetches the locustfile over CURVE (`-f -`); the others cannot, or are refused once they say Ready."""
    keys = _generate(cluster.cwd, "master", "member", "revoked", "stranger")
    admitted = cluster.cwd / "admitted"
    admitted.mkdir()
    for name in ("member", "revoked"):
        shutil.copy(keys / f"{name}.key", admitted)
    cluster.start_master(
        "-H", fresh_target.url, "-u", "3", "-r", "100", "-t", "1s", "-s", "5",
        "--master-secret-key", str(keys / "master.key_secret"), "--worker-public-keys", str(admitted),
    )  # fmt: skip
    (admitted / "revoked.key").unlink()

    def key_of(name: str) -> list[str]:
        return [
            "--worker-secret-key",
            str(keys / f"{name}.key_secret"),
            "--master-public-key",
            str(keys / "master.key"),
        ]

    intruders = (
        (["-f", "-"], "the master needs a key"),  # with its reason, or after handshakes that failed without one
        (key_of("stranger"), "quit: rejected by master: not authorised: the master refused this worker's key"),
        (
            ["-f", "-", *key_of("revoked")],
            "cannot get the locustfile from the master: not authorised: the master refused",
        ),
    )
    # The three try at once; the member comes after them all.
    started = [(args, says, cluster.start_worker(*args)) for args, says in intruders]
    for args, says, refused in started:
        _, err = refused.communicate(timeout=30)
        assert refused.popen.returncode == REFUSED_CODE and "not authorised" in err and says in err, (args, err)
        assert "Traceback" not in err

    member = cluster.start_worker("-f", "-", *key_of("member"))
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
        "-H", fresh_target.url, "-u", "2", "-r", "100", "-t", "1s", "-s", "5", "--processes", "1",
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
    masters = [HordeProcess([*base, "--master-bind-host", "*", *extra], cwd=tmp_path) for extra in ([], keyed)]
    for master in masters:  # both at once: each gives up waiting for workers after 0.5 s
        _, err = master.communicate(timeout=60)
        assert master.returncode != 0 and "Traceback" not in err, err
        warned.append([line for line in err.splitlines() if "without keys" in line])
    assert len(warned[0]) == 1 and "anyone who reaches port" in warned[0][0], warned
    assert warned[1] == []
