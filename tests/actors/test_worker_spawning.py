"""Spawning yields: a Worker placing a huge step still hears a stop at once, and a step interrupted by any other
message is carried on to its full counts afterwards (ADR 0025)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pykka
import pytest

from horde import User, constant, task
from horde.actors.worker import Worker, WorkerOutcome, WorkerSettings
from horde.protocol.messages import Accept, MasterHeartbeat, MasterMessageType, Spawn, SpawningComplete, Stop, Stopped
from horde.runtime.environment import Environment
from horde.runtime.memory_guard import BYTES_PER_USER, capped, too_many_users, users_that_fit
from horde.runtime.user_pool import SPAWN_BATCH
from horde.stats.recorder import StatsRecorder
from tests.actors.test_worker_shell import RecordingTransport
from tests.support.waiting import wait_until


class Idle(User):
    wait_time = constant(3600)

    @task
    def nothing(self) -> None:
        pass


@pytest.fixture
def worker() -> Iterator[tuple[pykka.ActorRef[Worker], RecordingTransport]]:
    recorder = StatsRecorder()
    environment = Environment(user_classes=[Idle], stats=recorder)
    transport = RecordingTransport()
    ref = Worker.start("w1", environment, recorder, transport, WorkerSettings(60.0, 60.0, 0.0), None, WorkerOutcome())
    yield ref, transport
    if ref.is_alive():
        ref.stop()
    environment.detach_stats()


def tell(ref: pykka.ActorRef[Worker], *messages: MasterMessageType) -> None:
    for message in messages:
        ref.tell(message)
    ref.proxy().state.get()


def test_a_stop_during_a_huge_step_is_heard_at_once(worker: Any) -> None:
    ref, transport = worker
    started = time.monotonic()
    tell(ref, Accept(0), Spawn(1, {"Idle": 10_000_000}, None, 0.0), Stop())
    assert ref.proxy().state.get() == "stopped"
    assert time.monotonic() - started < 20  # building 10,000,000 users would take minutes
    assert ref.proxy().pool.get().user_count == 0
    assert not [m for m in transport.sent if isinstance(m, SpawningComplete)]
    assert isinstance(transport.sent[-1], Stopped)


def test_a_step_interrupted_by_another_message_is_carried_on_to_its_counts(worker: Any) -> None:
    ref, transport = worker
    users = 3 * SPAWN_BATCH + 7
    tell(ref, Accept(0), Spawn(1, {"Idle": users}, None, 0.0), MasterHeartbeat({}), MasterHeartbeat({}))
    # each message (an ask included) that comes while placing puts the rest behind it
    (complete,) = wait_until(
        lambda: [m for m in transport.sent if isinstance(m, SpawningComplete)], 10, message="the step completed"
    )
    assert complete.user_counts == {"Idle": users}
    assert ref.proxy().pool.get().user_count == users
    tell(ref, Stop())


def test_a_user_count_that_cannot_fit_is_refused_or_capped() -> None:
    gib = 2**30
    assert too_many_users(1000, available=gib) == ""
    problem = too_many_users(10_000_000, available=gib)
    assert (
        problem.startswith("10000000 users need at least 152.6 GiB") and f"at most {gib // BYTES_PER_USER}" in problem
    )
    assert users_that_fit(running=5, available=10 * BYTES_PER_USER) == 15
    assert capped({"A": 300, "B": 100}, 100) == {"A": 75, "B": 25}
    assert capped({"A": 3}, 100) == {"A": 3}
