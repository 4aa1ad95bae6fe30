"""UserPool: absolute targets per class, LIFO and parallel stops, stop_all bounds."""

from __future__ import annotations

import time

import gevent
import pytest

from horde import Environment, Events, User, constant, task
from horde.runtime.user_pool import UserPool
from tests.support.demo_server import CountingRecorder
from tests.support.waiting import wait_until


class Alpha(User):
    wait_time = constant(0.01)

    @task
    def tick(self) -> None:
        gevent.sleep(0)


class Busy(User):
    wait_time = constant(0)

    @task
    def work(self) -> None:
        gevent.sleep(0.3)


def test_set_counts_spawns_and_trims_to_absolute_targets() -> None:
    pool = UserPool(Environment([Alpha, Busy], Events()))
    pool.set_counts({"Alpha": 5, "Busy": 2})
    assert pool.counts() == {"Alpha": 5, "Busy": 2} and pool.user_count == 7
    gevent.sleep(0.02)
    assert all(not user.greenlet.dead for user in pool.users() if user.greenlet)
    pool.set_counts({"Alpha": 3})
    assert pool.counts() == {"Alpha": 3}
    pool.set_counts({"Alpha": 3, "Busy": 1})
    assert pool.counts() == {"Alpha": 3, "Busy": 1}
    pool.stop_all(timeout=1)
    assert pool.user_count == 0 and len(pool.group) == 0


def test_most_recently_started_users_stop_first() -> None:
    pool = UserPool(Environment([Alpha], Events()))
    pool.set_counts({"Alpha": 2})
    gevent.sleep(0)  # the users are built in their own greenlets
    first = pool.users()
    assert len(first) == 2
    pool.set_counts({"Alpha": 4})
    gevent.sleep(0)
    pool.set_counts({"Alpha": 2})
    assert pool.users() == first
    pool.stop_all(timeout=1)


def test_surplus_stops_in_parallel_without_blocking_the_caller() -> None:
    pool = UserPool(Environment([Busy], Events(), stop_timeout=5))
    pool.set_counts({"Busy": 20})
    gevent.sleep(0.05)
    start = time.monotonic()
    pool.set_counts({"Busy": 0})
    assert time.monotonic() - start < 0.25  # less than one 0.3 s task: it did not wait for one
    assert pool.stopping_count == 20
    assert pool.join_stopping(timeout=2)
    assert time.monotonic() - start < 3  # 20 users finishing a 0.3 s task at once, not one after another (6 s)
    assert len(pool.group) == 0


def test_stop_all_is_bounded_by_its_timeout() -> None:
    pool = UserPool(Environment([Busy], Events(), stop_timeout=30))
    pool.set_counts({"Busy": 10})
    gevent.sleep(0.05)
    start = time.monotonic()
    pool.stop_all(timeout=0.05)
    assert time.monotonic() - start < 5 and len(pool.group) == 0  # not the class's 30 s


def test_unknown_class_is_rejected() -> None:
    pool = UserPool(Environment([Alpha], Events()))
    with pytest.raises(KeyError, match="Alpha"):
        pool.set_counts({"Nope": 1})
    assert pool.user_count == 0


class BrokenInit(User):
    wait_time = constant(0.01)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        raise ValueError("cannot build")

    @task
    def tick(self) -> None:
        gevent.sleep(0)


class SlowInit(User):
    wait_time = constant(0.01)

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        time.sleep(30)  # patched: it yields, as a slow setup over the network would

    @task
    def tick(self) -> None:
        gevent.sleep(0)


def test_a_raising_init_is_counted_and_its_user_leaves_the_pool(recorder: CountingRecorder) -> None:
    pool = UserPool(Environment([BrokenInit, Alpha], Events(), stats=recorder))
    pool.set_counts({"BrokenInit": 3, "Alpha": 1})  # does not raise: no user code runs in the caller
    wait_until(lambda: pool.counts() == {"Alpha": 1})
    assert [message for message, _ in recorder.exceptions] == ["ValueError('cannot build')"] * 3
    pool.stop_all(timeout=1)


def test_a_slow_init_neither_blocks_set_counts_nor_a_stop() -> None:
    pool = UserPool(Environment([SlowInit], Events()))
    start = time.monotonic()
    pool.set_counts({"SlowInit": 2})
    gevent.sleep(0.05)
    assert pool.counts() == {"SlowInit": 2} and pool.users() == []  # placed, not built yet
    pool.stop_all(timeout=1)
    assert time.monotonic() - start < 10 and len(pool.group) == 0  # not the 30 s __init__
