"""Locust's `--equal-weights` and `--config-users` in real runs against the demo target: the requests each task
made show the weights the run used, locally and on a worker that was given neither flag."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import LOCUSTFILES, Cluster, Target, horde

LOCUSTFILE = str(LOCUSTFILES / "weighted_tasks.py")


def requests_by_name(stdout: str) -> dict[str, int]:
    return {entry["name"]: entry["num_requests"] for entry in json.loads(stdout)}


def local_run(tmp_path: Path, target: Target, *args: str, env: dict[str, str] | None = None) -> dict[str, int]:
    done = horde(
        "run", "-f", LOCUSTFILE, "-H", target.url, "-u", "4", "-r", "100", "--headless", "--json", "--only-summary",
        *args, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return requests_by_name(done.stdout)


def test_equal_weights_make_every_task_as_likely(tmp_path: Path, target: Target) -> None:
    # Weighted's tasks are 18:1:1 (common, rare, and a nested TaskSet's deep); the run quits at 600 requests.
    declared = local_run(tmp_path, target)
    assert declared["common"] > 4 * (declared["rare"] + declared.get("deep", 0))
    equal = local_run(tmp_path, target, "--equal-weights")
    weighted = equal["common"] + equal["rare"] + equal["deep"]
    assert weighted >= 200  # Weighted and Other, weight 1 each, share the 600 requests
    for name in ("common", "rare", "deep"):  # each a third, give or take far more than chance allows
        assert 0.2 < equal[name] / weighted < 0.47, equal


def test_equal_weights_from_a_config_file(tmp_path: Path, target: Target) -> None:
    (tmp_path / "locust.conf").write_text("equal-weights = true\n")
    counts = local_run(tmp_path, target)
    assert counts["rare"] > counts["common"] / 3, counts


def test_config_users_set_tasks_and_fixed_count(tmp_path: Path, target: Target) -> None:
    configs = ['{"user_class_name": "Weighted", "tasks": ["rare"]}', '{"user_class_name": "Other", "fixed_count": 1}']
    counts = local_run(tmp_path, target, "--config-users", *configs)
    assert set(counts) == {"rare", "other"}
    assert counts["rare"] > counts["other"]  # three Weighted users, one Other


def test_config_users_from_a_json_file_and_the_environment(tmp_path: Path, target: Target) -> None:
    (tmp_path / "users.json").write_text(json.dumps([{"user_class_name": "Weighted", "tasks": ["Nested"]}]))
    counts = local_run(tmp_path, target, "Weighted", "--config-users", "users.json")
    assert set(counts) == {"deep"}
    env = {"LOCUST_CONFIG_USERS": '{"user_class_name": "Weighted", "tasks": ["common"]}'}
    assert set(local_run(tmp_path, target, "Weighted", env=env)) == {"common"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config-users", '{"user_class_name": "Nope"}'], "no User class 'Nope' in this run"),
        (["--config-users", "{bad"], "--config-users: not valid JSON"),
        (["--config-users", '{"user_class_name": "Other", "tasks": ["deep"]}'], "Other has no task deep"),
        (["--config-users", '{"weight": 2}'], "with a user_class_name"),
        (["--config-users", "missing.json"], "cannot read 'missing.json'"),
    ],
)
def test_bad_config_users_are_one_line(tmp_path: Path, target: Target, args: list[str], message: str) -> None:
    done = horde("run", "-f", LOCUSTFILE, "-H", target.url, "-u", "1", "--headless", *args, cwd=tmp_path)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    cluster = Cluster(tmp_path, LOCUSTFILE)
    yield cluster
    cluster.close()


def test_a_worker_runs_the_masters_user_configuration(cluster: Cluster, fresh_target: Target) -> None:
    # -T keeps rare and deep; the configuration keeps rare only, on every one of the ramp's three spawns
    cluster.start_master(
        "Weighted", "-H", fresh_target.url, "-u", "3", "-r", "1", "-t", "4s", "-s", "5", "-T", "seldom",
        "--enable-rebalancing", "--config-users", '{"user_class_name": "Weighted", "tasks": ["rare", "common"]}',
    )  # fmt: skip
    cluster.start_worker("-T", "seldom")  # tags are each process's own, as in Locust; the configuration is sent
    assert cluster.wait_master() == 0
    steps = [r for r in cluster.journal() if r.type == "dispatch.step" and r.event.total > 0]
    assert len(steps) >= 3
    entries = {entry["name"]: entry["num_requests"] for entry in cluster.summary()["entries"]}
    assert set(entries) == {"rare"}
    assert fresh_target.counts() == {"GET /text": entries["rare"]}
