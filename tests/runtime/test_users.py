"""The user run loop: on_start/on_stop, control-flow exceptions, task errors, graceful and forced stop."""

from __future__ import annotations

import time
from typing import Any

import gevent

from horde import (
    Environment,
    Events,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
    User,
    constant,
    task,
)
from horde.runtime.user_pool import UserPool
from tests.support.demo_server import CountingRecorder
from tests.support.waiting import wait_until


def test_abstract_applies_only_where_set() -> None:
    class Base(User):
        abstract = True

    class Concrete(Base):
        pass

    assert User.abstract and Base.abstract and not Concrete.abstract
    assert Concrete.weight == 1 and Concrete.fixed_count == 0 and Concrete.host is None
    assert Concrete.wait_time(Concrete(Environment([Concrete], Events()))) == 0


def test_user_sees_environment_host_and_context() -> None:
    class Plain(User):
        host = "http://class-host"

    environment = Environment([Plain], Events(), host="http://cli-host")
    user = Plain(environment)
    assert user.environment is environment and user.host == "http://cli-host" and user.context() == {}
    assert Plain(Environment([Plain], Events())).host == "http://class-host"


def test_stop_user_runs_on_stop_and_reports_the_exit() -> None:
    trace: list[str] = []
    exits: list[str] = []

    class Once(User):
        def on_start(self) -> None:
            trace.append("start")

        @task
        def only(self) -> None:
            trace.append("task")
            raise StopUser()

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Once], Events()), on_user_exit=lambda name, user: exits.append(name))
    pool.set_counts({"Once": 2})
    wait_until(lambda: len(exits) == 2, timeout=5, message="both users to exit")
    assert trace.count("start") == 2 and trace.count("task") == 2 and trace.count("stop") == 2
    assert exits == ["Once", "Once"] and pool.counts() == {} and pool.user_count == 0


def test_reschedule_task_waits_and_reschedule_immediately_does_not() -> None:
    runs: list[float] = []

    class Rescheduler(User):
        wait_time = constant(0.05)

        @task
        def retry(self) -> None:
            runs.append(time.monotonic())
            if len(runs) < 3:
                raise RescheduleTaskImmediately()
            raise RescheduleTask()

    pool = UserPool(Environment([Rescheduler], Events()))
    pool.set_counts({"Rescheduler": 1})
    # Polled finely: the stop must come between the fourth run and the fifth, 0.05 s later.
    wait_until(lambda: len(runs) >= 4, timeout=5, interval=0.005, message="the task's fourth run")
    pool.stop_all(timeout=1)
    assert len(runs) == 4
    assert runs[2] - runs[0] < 0.01 and runs[3] - runs[2] >= 0.045


def test_task_error_fires_user_error_is_recorded_and_user_goes_on() -> None:
    events = Events()
    recorder = CountingRecorder()
    errors: list[tuple[Any, BaseException, Any]] = []
    events.user_error.add_listener(lambda user_instance, exception, tb: errors.append((user_instance, exception, tb)))
    ran: list[int] = []

    class Buggy(User):
        wait_time = constant(0.001)

        @task
        def crash(self) -> None:
            ran.append(1)
            raise ZeroDivisionError("oops")

    pool = UserPool(Environment([Buggy], events, stats=recorder))
    pool.set_counts({"Buggy": 1})
    wait_until(lambda: len(ran) >= 5, timeout=5, message="five runs of the failing task")
    assert pool.counts() == {"Buggy": 1}
    pool.stop_all(timeout=1)
    assert len(ran) >= 5 and len(errors) == len(ran) == len(recorder.exceptions)
    user, exception, tb = errors[0]
    assert isinstance(user, Buggy) and isinstance(exception, ZeroDivisionError) and tb is not None
    message, traceback = recorder.exceptions[0]
    assert "oops" in message and "ZeroDivisionError" in traceback and "in crash" in traceback


def test_stop_kills_a_waiting_user_at_once_and_runs_on_stop() -> None:
    trace: list[str] = []

    class Sleeper(User):
        wait_time = constant(60)

        @task
        def quick(self) -> None:
            trace.append("task")

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Sleeper], Events(), stop_timeout=30))
    pool.set_counts({"Sleeper": 1})
    wait_until(lambda: trace == ["task"], timeout=5, message="the task, then the 60 s wait")
    start = time.monotonic()
    pool.stop_all(timeout=30)
    assert time.monotonic() - start < 10  # neither the 60 s wait nor the 30 s stop timeout
    assert trace == ["task", "stop"]


def test_stop_lets_a_running_task_finish_then_on_stop() -> None:
    trace: list[str] = []

    class Worker(User):
        wait_time = constant(0)

        @task
        def long(self) -> None:
            trace.append("begin")
            gevent.sleep(0.2)  # the task the stop lets finish
            trace.append("end")

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Worker], Events(), stop_timeout=5))
    pool.set_counts({"Worker": 1})
    wait_until(lambda: trace == ["begin"], timeout=5, message="the task to begin")
    pool.set_counts({})
    assert pool.counts() == {} and pool.stopping_count == 1
    assert pool.join_stopping(timeout=2)
    assert trace == ["begin", "end", "stop"] and pool.stopping_count == 0


def test_task_overrunning_stop_timeout_is_killed_and_on_stop_runs() -> None:
    trace: list[str] = []

    class Stuck(User):
        @task
        def forever(self) -> None:
            trace.append("begin")
            gevent.sleep(60)  # the task that overruns the stop timeout
            trace.append("never")

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Stuck], Events(), stop_timeout=0.1))
    pool.set_counts({"Stuck": 1})
    wait_until(lambda: trace == ["begin"], timeout=5, message="the task to begin")
    start = time.monotonic()
    pool.stop_all(timeout=0.1)
    assert time.monotonic() - start < 10  # not the 60 s task
    assert trace == ["begin", "stop"]


def test_stop_test_is_reported_to_the_pool_owner() -> None:
    stopped: list[User] = []

    class Finisher(User):
        @task
        def done(self) -> None:
            raise StopTest()

    pool = UserPool(Environment([Finisher], Events()), on_stop_test=stopped.append)
    pool.set_counts({"Finisher": 1})
    wait_until(lambda: stopped, timeout=5, message="StopTest to reach the pool's owner")
    assert len(stopped) == 1 and isinstance(stopped[0], Finisher) and pool.user_count == 0


def test_failed_on_start_ends_the_user_like_locust() -> None:
    recorder = CountingRecorder()
    ran: list[str] = []

    class BadLogin(User):
        def on_start(self) -> None:
            raise RuntimeError("login failed")

        @task
        def work(self) -> None:
            ran.append("task")

    pool = UserPool(Environment([BadLogin], Events(), stats=recorder))
    pool.set_counts({"BadLogin": 1})
    wait_until(
        lambda: recorder.exceptions and pool.user_count == 0, timeout=5, message="the user to end after on_start failed"
    )
    assert ran == [] and pool.user_count == 0 and "login failed" in recorder.exceptions[0][0]
