"""Task declaration, weights, tags and their filtering, TaskSet and SequentialTaskSet in a running user."""

from __future__ import annotations

from collections import Counter
from typing import Any

import gevent
import pytest

from horde import (
    Environment,
    Events,
    SequentialTaskSet,
    TaskSet,
    User,
    constant,
    tag,
    task,
)
from horde.runtime.exceptions import LocustError, MissingWaitTimeError
from horde.runtime.tasks import DefaultTaskSet, filter_tasks_by_tags
from horde.runtime.user_pool import UserPool


def run_for(user_class: type[User], seconds: float, **env: Any) -> UserPool:
    pool = UserPool(Environment([user_class], Events(), **env))
    pool.set_counts({user_class.__name__: 1})
    gevent.sleep(seconds)
    pool.stop_all(timeout=1)
    return pool


def test_task_weights_expand_and_inherit() -> None:
    class Base(User):
        abstract = True

        @task(3)
        def browse(self) -> None: ...

        @task
        def home(self) -> None: ...

    class Child(Base):
        @task(2)
        def buy(self) -> None: ...

    names = Counter(t.__name__ for t in Child.tasks)
    assert names == {"browse": 3, "home": 1, "buy": 2}


def test_tasks_attribute_as_list_and_dict() -> None:
    def a(user: Any) -> None: ...

    def b(user: Any) -> None: ...

    class Sub(TaskSet):
        @task
        def c(self) -> None: ...

    class ListUser(User):
        tasks = [a, b, Sub]

    class DictUser(User):
        tasks = {a: 2, Sub: 1}

    assert ListUser.tasks == [a, b, Sub]
    assert DictUser.tasks == [a, a, Sub]


def test_random_pick_follows_weights() -> None:
    hits: Counter[str] = Counter()

    class Weighted(User):
        wait_time = constant(0)

        @task(9)
        def heavy(self) -> None:
            hits["heavy"] += 1
            gevent.sleep(0)

        @task(1)
        def light(self) -> None:
            hits["light"] += 1
            gevent.sleep(0)

    run_for(Weighted, 0.2)
    total = hits["heavy"] + hits["light"]
    assert total > 200
    assert 0.8 < hits["heavy"] / total < 0.97


def test_tag_filtering_is_recursive_and_drops_empty_tasksets() -> None:
    class Nested(TaskSet):
        @tag("checkout")
        @task
        def pay(self) -> None: ...

        @task
        def look(self) -> None: ...

    @tag("admin")
    class Admin(TaskSet):
        @task
        def manage(self) -> None: ...

    class Shopper(User):
        tasks = [Nested, Admin]

        @tag("browse", "slow")
        @task(2)
        def browse(self) -> None: ...

        @task
        def untagged(self) -> None: ...

    assert Admin.tasks[0].locust_tag_set == {"admin"}
    filter_tasks_by_tags([Shopper], tags=["checkout", "browse"], exclude_tags=["slow"])
    assert Shopper.tasks == [Nested]
    assert [t.__name__ for t in Nested.tasks] == ["pay"]


def test_environment_applies_tags_once_at_start() -> None:
    ran: Counter[str] = Counter()

    class Tagged(User):
        @tag("a")
        @task
        def first(self) -> None:
            ran["a"] += 1
            gevent.sleep(0.001)

        @tag("b")
        @task
        def second(self) -> None:
            ran["b"] += 1
            gevent.sleep(0.001)

    run_for(Tagged, 0.1, exclude_tags=["b"])
    assert ran["a"] > 5 and ran["b"] == 0


def test_nested_taskset_interrupts_back_to_the_user() -> None:
    trace: list[str] = []

    class Browse(TaskSet):
        def on_start(self) -> None:
            trace.append("browse.start")

        def on_stop(self) -> None:
            trace.append("browse.stop")

        @task
        def page(self) -> None:
            assert self.user is self.parent
            trace.append(f"page:{self.client}")
            if trace.count("page:client") % 2 == 0:
                self.interrupt()

    class Visitor(User):
        wait_time = constant(0.001)
        client = "client"
        tasks = {Browse: 1}

    run_for(Visitor, 0.1)
    assert trace[:5] == ["browse.start", "page:client", "page:client", "browse.stop", "browse.start"]


def test_taskset_in_taskset_and_own_wait_time() -> None:
    trace: list[str] = []

    class Inner(TaskSet):
        wait_time = constant(0)

        @task
        def inner(self) -> None:
            assert isinstance(self.parent, Outer) and isinstance(self.user, Deep)
            trace.append("inner")
            self.interrupt(reschedule=False)

    class Outer(TaskSet):
        tasks = [Inner]

    class Deep(User):
        wait_time = constant(0.01)
        tasks = [Outer]

    run_for(Deep, 0.1)
    assert 3 <= trace.count("inner") <= 12


def test_sequential_taskset_runs_in_declared_order() -> None:
    trace: list[str] = []

    class Flow(SequentialTaskSet):
        @task
        def login(self) -> None:
            trace.append("login")

        @task
        def browse(self) -> None:
            trace.append("browse")

        def checkout(self) -> None:
            trace.append("checkout")

        tasks = [checkout]

    class Buyer(User):
        wait_time = constant(0.001)
        tasks = [Flow]

    run_for(Buyer, 0.05)
    assert len(trace) >= 6
    assert trace[:6] == ["checkout", "login", "browse", "checkout", "login", "browse"]


def test_a_wait_time_that_is_not_a_number_is_a_missing_wait_time() -> None:
    class NoneWait(User):
        def wait_time(self) -> None:  # type: ignore[override]
            return None

        @task
        def t(self) -> None:
            pass

    user = NoneWait(Environment([NoneWait], Events()))
    with pytest.raises(MissingWaitTimeError, match=r"NoneWait.wait_time returned None, not a number of seconds"):
        DefaultTaskSet(user).wait()


def test_a_users_task_set_attribute_of_locust_0_is_named_in_the_no_tasks_error() -> None:
    class Browse(TaskSet):
        @task
        def look(self) -> None: ...

    class OldStyle(User):
        wait_time = constant(0)
        task_set = Browse

    user = OldStyle(Environment([OldStyle], Events()))
    with pytest.raises(LocustError, match=r"task_set attribute is Locust 0.x's.*set tasks = \[Browse\] instead"):
        DefaultTaskSet(user).get_next_task()
