"""A RunSpec is valid by construction, whoever builds it; an error names the field."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde.run import ClusterSpec, JournalSpec, LivenessSpec, LoadSpec, Role, RunSpec, SpecError


def test_the_defaults_make_a_valid_local_run() -> None:
    spec = RunSpec("locustfile.py")
    assert spec.role is Role.LOCAL and spec.expected_workers == 1 and spec.load.users == 1


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: LoadSpec(users=-1), "users"),
        (lambda: LoadSpec(spawn_rate=0), "spawn_rate"),
        (lambda: LoadSpec(spawn_rate=math.inf), "spawn_rate"),
        (lambda: LoadSpec(run_time=0), "run_time"),
        (lambda: LoadSpec(stop_timeout=-1), "stop_timeout"),
        (lambda: LivenessSpec(heartbeat_interval=0), "heartbeat_interval"),
        (lambda: LivenessSpec(stats_interval=-2), "stats_interval"),
        (lambda: LivenessSpec(heartbeat_liveness=0), "heartbeat_liveness"),
        (lambda: JournalSpec(checkpoint_bytes=-1), "journal.checkpoint_bytes"),
        (lambda: ClusterSpec(expect_workers=0), "cluster.expect_workers"),
        (lambda: ClusterSpec(bind_port=70000), "cluster.bind_port"),
        (lambda: ClusterSpec(master_port=-5), "cluster.master_port"),
        (lambda: RunSpec(""), "locustfile"),
        (lambda: RunSpec("-"), "locustfile"),
        (lambda: RunSpec("f.py", journal=JournalSpec(resume="j.jsonl")), "journal.resume"),
        (lambda: RunSpec("f.py", exit_code_on_error=256), "exit_code_on_error"),
    ],
)
def test_an_out_of_range_setting_names_its_field(build: object, field: str) -> None:
    with pytest.raises(SpecError) as caught:
        build()  # type: ignore[operator]
    assert caught.value.field == field and str(caught.value).startswith(field)


def test_a_worker_may_ask_the_master_for_its_locustfile_and_a_master_may_resume() -> None:
    assert RunSpec("-", role=Role.WORKER).locustfile == "-"
    master = RunSpec("f.py", role=Role.MASTER, cluster=ClusterSpec(expect_workers=3), journal=JournalSpec(resume="j"))
    assert master.expected_workers == 3


def test_the_auth_token_is_not_in_the_spec_repr() -> None:
    assert "s3cret" not in repr(RunSpec("f.py", cluster=ClusterSpec(auth_token="s3cret")))


@given(users=st.integers(), rate=st.floats(allow_nan=True, allow_infinity=True))
def test_a_load_is_either_valid_or_refused_with_a_field(users: int, rate: float) -> None:
    try:
        load = LoadSpec(users=users, spawn_rate=rate)
    except SpecError as exc:
        assert exc.field in ("users", "spawn_rate")
        assert users < 0 or not (rate > 0 and math.isfinite(rate))
    else:
        assert load.users >= 0 and load.spawn_rate > 0 and math.isfinite(load.spawn_rate)


@pytest.mark.parametrize(
    ("cluster", "field", "problem"),
    [
        ({"master_secret_key": "m.key_secret"}, "cluster.master_secret_key", "and --worker-public-keys go together"),
        ({"worker_public_keys": "keys/"}, "cluster.master_secret_key", "and --worker-public-keys go together"),
        ({"master_public_key": "m.key"}, "cluster.worker_secret_key", "and --master-public-key go together"),
        (
            {"auth_token": "t", "worker_secret_key": "w.key_secret", "master_public_key": "m.key"},
            "cluster.auth_token",
            "or keys: give one or the other (keys are stronger)",
        ),
    ],
)
def test_keys_come_in_pairs_and_never_beside_a_token(cluster: dict[str, str], field: str, problem: str) -> None:
    with pytest.raises(SpecError) as raised:
        ClusterSpec(**cluster)  # type: ignore[arg-type]
    assert (raised.value.field, raised.value.problem) == (field, problem)
