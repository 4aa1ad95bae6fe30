"""Users that wait between tasks without a greenlet (ADR 0032): Locust's semantics hold across the parking."""

from __future__ import annotations

import contextvars
from typing import Any

import gevent
import gevent.event

from horde import (
    Environment,
    Events,
    FastHttpUser,
    RescheduleTask,
    StopUser,
    TaskSet,
    User,
    constant,
    task,
)
from horde.runtime.user_pool import UserPool
from horde.runtime.users import PARK_WAIT
from tests.support.demo_server import CountingRecorder, DemoServer
from tests.support.waiting import wait_until

LONG = 3600.0
"""A wait no test sits through: the user is parked for the rest of the test."""


def _parked(pool: UserPool, count: int) -> bool:
    """Every user built and waiting, and not one greenlet left running for them."""
    return pool.user_count == count and len(pool.users()) == count and len(pool.group) == 0


def test_a_waiting_user_holds_no_greenlet_and_a_stop_runs_its_on_stop_at_once() -> None:
    trace: list[str] = []

    class Idle(User):
        wait_time = constant(LONG)

        def on_start(self) -> None:
            trace.append("start")

        @task
        def work(self) -> None:
            trace.append("task")

        def on_stop(self) -> None:
            trace.append("stop")

    exits: list[str] = []
    # a stop timeout far longer than the test: a waiting user must not use it
    pool = UserPool(Environment([Idle], Events(), stop_timeout=600), on_user_exit=lambda name, user: exits.append(name))
    pool.set_counts({"Idle": 3})
    wait_until(lambda: _parked(pool, 3) and trace.count("task") == 3, message="three users parked after a task")
    user = pool.users()[0]
    assert user.greenlet is not None and user.greenlet.dead

    pool.set_counts({"Idle": 0})
    assert pool.user_count == 0 and pool.stopping_count == 3
    assert pool.join_stopping(timeout=20)
    assert trace.count("start") == trace.count("task") == trace.count("stop") == 3
    assert exits == [] and pool.stopping_count == 0 and len(pool.group) == 0


def test_a_parked_user_resumes_in_a_new_greenlet_and_its_tasks_see_it_as_user_greenlet() -> None:
    seen: list[tuple[Any, Any]] = []

    class Ticking(User):
        wait_time = constant(PARK_WAIT)

        @task
        def tick(self) -> None:
            seen.append((self.greenlet, gevent.getcurrent()))

    pool = UserPool(Environment([Ticking], Events()))
    pool.set_counts({"Ticking": 1})
    wait_until(lambda: len(seen) >= 3, message="three tasks, each after a parked wait")
    pool.stop_all(timeout=5)
    assert all(user_greenlet is current for user_greenlet, current in seen)
    assert len({id(current) for _, current in seen[:3]}) == 3


def test_a_user_asked_to_stop_mid_task_finishes_it_and_does_not_park_again() -> None:
    trace: list[str] = []
    started = gevent.event.Event()
    finish = gevent.event.Event()

    class Slow(User):
        wait_time = constant(LONG)

        @task
        def work(self) -> None:
            trace.append("task")
            started.set()
            finish.wait()
            trace.append("done")

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Slow], Events(), stop_timeout=600))
    pool.set_counts({"Slow": 1})
    started.wait(timeout=20)
    pool.set_counts({"Slow": 0})
    assert pool.stopping_count == 1 and trace == ["task"]
    finish.set()
    assert pool.join_stopping(timeout=20)
    assert trace == ["task", "done", "stop"] and len(pool.group) == 0


def test_without_a_stop_timeout_a_running_user_is_killed_and_still_runs_on_stop() -> None:
    trace: list[str] = []
    started = gevent.event.Event()

    class Stuck(User):
        wait_time = constant(LONG)

        @task
        def work(self) -> None:
            started.set()
            gevent.sleep(LONG)
            trace.append("never")

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Stuck], Events()))
    pool.set_counts({"Stuck": 1})
    started.wait(timeout=20)
    pool.set_counts({"Stuck": 0})
    assert pool.join_stopping(timeout=20)
    assert trace == ["stop"]


def test_wait_inside_a_task_keeps_the_greenlet_and_a_stop_there_is_immediate() -> None:
    trace: list[str] = []

    class Stepper(User):
        wait_time = constant(LONG)

        @task
        def steps(self) -> None:
            trace.append("first")
            self.wait()  # an hour, in the middle of the task
            trace.append("never")

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Stepper], Events(), stop_timeout=600))
    pool.set_counts({"Stepper": 1})
    wait_until(lambda: trace == ["first"] and len(pool.group) == 1, message="the user waiting inside its task")
    pool.set_counts({"Stepper": 0})
    assert pool.join_stopping(timeout=20)
    assert trace == ["first", "stop"]


def test_a_user_in_a_nested_task_set_interrupts_back_and_parks_between_its_own_tasks() -> None:
    trace: list[str] = []

    class Browse(TaskSet):
        wait_time = constant(0)

        def on_start(self) -> None:
            trace.append("set start")

        @task
        def page(self) -> None:
            trace.append("page")
            if trace.count("page") % 2 == 0:
                self.interrupt(reschedule=False)

        def on_stop(self) -> None:
            trace.append("set stop")

    class Shopper(User):
        wait_time = constant(PARK_WAIT)
        tasks = [Browse]

        def on_stop(self) -> None:
            trace.append("user stop")

    pool = UserPool(Environment([Shopper], Events()))
    pool.set_counts({"Shopper": 1})
    wait_until(lambda: trace.count("set stop") >= 2, message="the task set entered and left twice")
    pool.stop_all(timeout=5)
    entered = [i for i, step in enumerate(trace) if step == "set start"]
    assert trace[entered[0] : entered[0] + 4] == ["set start", "page", "page", "set stop"]
    assert trace[-1] == "user stop" and trace.count("user stop") == 1
    assert trace.count("set start") - trace.count("set stop") in (0, 1)  # stopped inside the set or between


def test_stop_user_and_reschedule_after_a_parked_wait_behave_as_in_locust() -> None:
    trace: list[str] = []
    exits: list[str] = []

    class Counting(User):
        wait_time = constant(PARK_WAIT)

        @task
        def step(self) -> None:
            trace.append("task")
            if len(trace) == 2:
                raise RescheduleTask()
            if len(trace) == 3:
                raise StopUser()

        def on_stop(self) -> None:
            trace.append("stop")

    pool = UserPool(Environment([Counting], Events()), on_user_exit=lambda name, user: exits.append(name))
    pool.set_counts({"Counting": 1})
    wait_until(lambda: exits == ["Counting"], message="the user to end by StopUser")
    assert trace == ["task", "task", "task", "stop"] and pool.user_count == 0 and len(pool.group) == 0


def test_exceptions_in_tasks_of_a_parked_user_are_counted_each_time() -> None:
    recorder = CountingRecorder()
    ran: list[int] = []

    class Buggy(User):
        wait_time = constant(PARK_WAIT)

        @task
        def broken(self) -> None:
            ran.append(1)
            raise ValueError("broken task")

    pool = UserPool(Environment([Buggy], Events(), stats=recorder))
    pool.set_counts({"Buggy": 1})
    wait_until(lambda: len(recorder.exceptions) >= 3, message="three counted exceptions")
    pool.stop_all(timeout=5)
    assert len(ran) == len(recorder.exceptions) and "broken task" in recorder.exceptions[0][0]


def test_parked_http_users_keep_their_connection_and_every_request_is_counted_once(server: DemoServer) -> None:
    recorder = CountingRecorder()

    class Visitor(FastHttpUser):
        wait_time = constant(PARK_WAIT)

        @task
        def home(self) -> None:
            self.client.get("/", name="home")

    pool = UserPool(Environment([Visitor], Events(), host=server.url, stats=recorder, stop_timeout=5))
    pool.set_counts({"Visitor": 20})
    wait_until(lambda: recorder.requests[("GET", "home")] >= 100, message="a hundred requests")
    pool.stop_all(timeout=5)
    assert recorder.requests[("GET", "home")] == server.counts["GET /"]
    assert not recorder.failures
    assert len(server.peers) == 20, "a user parked between requests keeps its one keep-alive connection"


def test_users_stopped_at_any_point_of_their_steps_each_run_on_stop_exactly_once() -> None:
    """Stops land on parked users, users whose timer has just fired, and users mid-task, many times over."""
    counts = {"start": 0, "task": 0, "stop": 0}

    class Restless(User):
        wait_time = constant(PARK_WAIT)

        def on_start(self) -> None:
            counts["start"] += 1

        @task
        def work(self) -> None:
            counts["task"] += 1
            gevent.sleep(0)

        def on_stop(self) -> None:
            counts["stop"] += 1

    for stop_timeout in (None, 5.0):
        pool = UserPool(Environment([Restless], Events(), stop_timeout=stop_timeout))
        for _ in range(5):
            tasks_before = counts["task"]
            pool.set_counts({"Restless": 40})
            wait_until(lambda before=tasks_before: counts["task"] >= before + 80, message="two tasks a user")
            pool.set_counts({"Restless": 0})
            assert pool.join_stopping(timeout=20)
            assert counts["start"] == counts["stop"], counts
            assert pool.user_count == 0 and pool.stopping_count == 0 and len(pool.group) == 0


def test_a_context_variable_set_in_on_start_lives_on_across_parked_waits() -> None:
    """As in Locust, where the user is one greenlet: each step's greenlet is given the last step's context."""
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    seen: list[str] = []

    class Traced(User):
        wait_time = constant(PARK_WAIT)

        def on_start(self) -> None:
            request_id.set(f"user-{id(self)}")

        @task
        def work(self) -> None:
            seen.append(request_id.get("unset"))

    pool = UserPool(Environment([Traced], Events()))
    pool.set_counts({"Traced": 2})
    wait_until(lambda: len(seen) >= 6, message="three tasks of each user, each after a parked wait")
    names = {f"user-{id(user)}" for user in pool.users()}
    pool.stop_all(timeout=5)
    assert set(seen) == names and len(names) == 2
