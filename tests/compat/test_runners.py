"""Locust's runner API over horde's actors: states, counts, start/quit and the greenlet, in local and distributed runs.

The runs here are built with Environment as a library, in this (gevent-patched) test process, against the demo
target; each Environment has its own event hooks so no listener leaks between tests.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from horde import Environment, Events, HttpUser, constant, task
from horde.runners import (
    STATE_CLEANUP,
    STATE_INIT,
    STATE_MISSING,
    STATE_RUNNING,
    STATE_SPAWNING,
    STATE_STOPPED,
    STATE_STOPPING,
    LocalRunner,
    MasterRunner,
    WorkerRunner,
)
from horde.stats import RequestStats
from tests.support.processes import Target
from tests.support.waiting import wait_until


class Reader(HttpUser):
    weight = 2
    wait_time = constant(0.05)

    @task
    def home(self) -> None:
        self.client.get("/")


class Writer(HttpUser):
    weight = 1
    wait_time = constant(0.05)

    @task
    def item(self) -> None:
        self.client.get("/items/3", name="/items/[id]")


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)  # the runs' journals go to horde-runs/ here
    yield


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_state_constants_are_locusts_strings() -> None:
    assert (STATE_INIT, STATE_SPAWNING, STATE_RUNNING, STATE_CLEANUP) == ("ready", "spawning", "running", "cleanup")
    assert (STATE_STOPPING, STATE_STOPPED, STATE_MISSING) == ("stopping", "stopped", "missing")


def test_a_local_runner_starts_counts_and_quits_as_locusts(fresh_target: Target) -> None:
    env = Environment(user_classes=[Reader, Writer], host=fresh_target.url, events=Events())
    runner = env.create_local_runner()
    assert isinstance(runner, LocalRunner) and runner.environment is env and env.runner is runner
    assert runner.state == STATE_INIT
    assert (runner.user_count, runner.target_user_count, runner.user_classes_count) == (0, 0, {})
    assert runner.worker_count == 1  # as Locust's LocalRunner: locustfiles divide work by it
    with pytest.raises(RuntimeError, match="already has a runner"):
        env.create_local_runner()

    runner.start(3, spawn_rate=30, wait=True)
    assert runner.spawning_greenlet is not None and runner.spawning_greenlet.dead
    assert runner.state == STATE_RUNNING
    assert runner.target_user_count == 3
    wait_until(lambda: runner.user_classes_count == {"Reader": 2, "Writer": 1}, message="users per class")
    assert runner.user_count == 3
    assert isinstance(runner.stats, RequestStats) and runner.stats is env.stats
    wait_until(lambda: env.stats.total.num_requests > 0, message="requests in the merged statistics", timeout=10)

    runner.quit()
    runner.greenlet.join(timeout=20)
    assert not runner.greenlet.greenlets, "the run did not end"
    assert runner.state == STATE_STOPPED
    counts = fresh_target.counts()
    served = counts["GET /"] + counts["GET /items/<id>"]
    assert served - 3 <= env.stats.total.num_requests <= served
    assert env.stats.get("/items/[id]", "GET").num_requests > 0


def test_quit_ends_the_greenlets_spawned_into_the_runners_group(fresh_target: Target) -> None:
    env = Environment(user_classes=[Reader], host=fresh_target.url, events=Events())
    runner = env.create_local_runner()
    forever = runner.greenlet.spawn(lambda: __import__("gevent").sleep(3600))
    runner.start(1, spawn_rate=10)
    runner.quit()
    runner.greenlet.join(timeout=20)
    assert forever.dead and runner.state == STATE_STOPPED


def test_a_master_and_a_worker_runner_see_the_same_run(fresh_target: Target) -> None:
    port = free_port()
    master_env = Environment(user_classes=[Reader, Writer], host=fresh_target.url, events=Events())
    master = master_env.create_master_runner("127.0.0.1", port)
    assert isinstance(master, MasterRunner) and master.state == STATE_INIT and master.worker_count == 0
    worker_env = Environment(user_classes=[Reader, Writer], events=Events())
    worker = worker_env.create_worker_runner("127.0.0.1", port)
    assert isinstance(worker, WorkerRunner)
    try:
        wait_until(lambda: master.worker_count == 1, message="the worker joined")
        master.start(3, spawn_rate=30)
        wait_until(lambda: master.state == STATE_RUNNING, message="the master running")
        assert master.target_user_count == 3
        wait_until(lambda: master.user_classes_count == {"Reader": 2, "Writer": 1}, message="the workers' report")
        assert master.user_count == 3
        assert worker.state == STATE_RUNNING and worker.user_classes_count == {"Reader": 2, "Writer": 1}
        assert worker.stats is worker_env.stats is not master_env.stats  # a worker reads its own recorder
        with pytest.raises(NotImplementedError):
            worker.start(1, 1)
        wait_until(lambda: master_env.stats.total.num_requests > 0, message="merged requests", timeout=10)
    finally:
        master.quit()
        master.greenlet.join(timeout=20)
        worker.greenlet.join(timeout=20)
    assert master.state == STATE_STOPPED and master.worker_count == 0
    served = sum(fresh_target.counts().values())
    assert served - 3 <= master_env.stats.total.num_requests <= served
