"""Tasks, tags and task sets with Locust's semantics.

A task holder (User or TaskSet class) keeps its tasks as a flat list in which a task of weight ``n`` appears
``n`` times, so picking a task is one ``random.choice``.
"""

from __future__ import annotations

import logging
import numbers
import random
from collections.abc import Callable, Iterable
from itertools import cycle
from typing import TYPE_CHECKING, Any, TypeVar, overload

import gevent
from gevent import GreenletExit

from horde.runtime.exceptions import (
    InterruptTaskSet,
    LocustError,
    MissingWaitTimeError,
    RescheduleTask,
    RescheduleTaskImmediately,
    StopTest,
    StopUser,
)
from horde.runtime.user_errors import report_user_exception

if TYPE_CHECKING:
    from horde.runtime.users import User

logger = logging.getLogger(__name__)

STATE_RUNNING = "running"
STATE_WAITING = "waiting"
STATE_STOPPING = "stopping"

F = TypeVar("F", bound=Callable[..., Any])


@overload
def task(weight: F) -> F: ...


@overload
def task(weight: int = 1) -> Callable[[F], F]: ...


def task(weight: Any = 1) -> Any:
    """Marks a method (or a nested TaskSet class) as a task: ``@task`` or ``@task(3)``."""

    def decorator(func: F) -> F:
        func.locust_task_weight = weight  # type: ignore[attr-defined]
        return func

    if callable(weight):
        func, weight = weight, 1
        return decorator(func)
    return decorator


def tag(*tags: str) -> Callable[[F], F]:
    """Tags a task; on a TaskSet class the tags go to all its tasks, recursively (as in Locust)."""
    for name in tags:
        if not isinstance(name, str):
            raise ValueError("tag() needs strings, e.g. @tag('slow'); it cannot be used bare")

    def decorator(decorated: F) -> F:
        if hasattr(decorated, "tasks"):
            decorated.tasks = [tag(*tags)(t) for t in decorated.tasks]
        else:
            if "locust_tag_set" not in decorated.__dict__:
                decorated.locust_tag_set = set()  # type: ignore[attr-defined]
            decorated.locust_tag_set |= set(tags)  # type: ignore[attr-defined]
        return decorated

    return decorator


def get_tasks_from_base_classes(bases: tuple[type, ...], class_dict: dict[str, Any]) -> list[Any]:
    """The flat, weight-expanded task list of a class being created: its bases' tasks, then its ``tasks``
    attribute (list of callables or ``(callable, weight)`` pairs, or dict ``{callable: weight}``), then its
    ``@task`` methods."""
    new_tasks: list[Any] = []
    for base in bases:
        base_tasks = getattr(base, "tasks", None)
        if base_tasks:
            new_tasks += base_tasks
    declared = class_dict.get("tasks")
    if declared is not None:
        items: Iterable[Any] = declared.items() if isinstance(declared, dict) else declared
        for item in items:
            if isinstance(item, tuple):
                func, count = item
                new_tasks.extend([func] * int(count))
            else:
                new_tasks.append(item)
    for item in class_dict.values():
        weight = getattr(item, "locust_task_weight", None)
        if weight is not None and (callable(item) or isinstance(item, type)):
            new_tasks.extend([item] * int(weight))
    return new_tasks


def _is_taskset(item: Any) -> bool:
    return isinstance(item, type) and issubclass(item, TaskSet)


def _filter_holder(holder: Any, tags: set[str] | None, exclude_tags: set[str] | None, checked: dict[Any, bool]) -> None:
    new_tasks: list[Any] = []
    for item in holder.tasks:
        if item in checked:
            if checked[item]:
                new_tasks.append(item)
            continue
        passing = True
        if hasattr(item, "tasks"):
            _filter_holder(item, tags, exclude_tags, checked)
            passing = len(item.tasks) > 0
        else:
            item_tags: set[str] | None = getattr(item, "locust_tag_set", None)
            if tags is not None:
                passing = passing and item_tags is not None and bool(item_tags & tags)
            if exclude_tags is not None:
                passing = passing and (item_tags is None or not (item_tags & exclude_tags))
        if passing:
            new_tasks.append(item)
        checked[item] = passing
    holder.tasks = new_tasks
    if not new_tasks:
        logger.warning("%s had no tasks left after filtering by tags, instantiating it will fail", holder.__name__)


def filter_tasks_by_tags(
    user_classes: Iterable[type], tags: Iterable[str] | None = None, exclude_tags: Iterable[str] | None = None
) -> None:
    """Keeps only the tasks selected by ``tags`` and not excluded by ``exclude_tags``, recursively through
    nested TaskSets; a TaskSet left without tasks is removed too. Edits classes in place: once per test."""
    tag_set = set(tags) if tags is not None else None
    exclude_set = set(exclude_tags) if exclude_tags is not None else None
    if tag_set is None and exclude_set is None:
        return
    checked: dict[Any, bool] = {}
    for user_class in user_classes:
        _filter_holder(user_class, tag_set, exclude_set, checked)


class TaskSetMeta(type):
    """Collects the tasks of a TaskSet class at class creation, like Locust's metaclass."""

    def __new__(mcs, classname: str, bases: tuple[type, ...], class_dict: dict[str, Any]) -> TaskSetMeta:
        class_dict["tasks"] = get_tasks_from_base_classes(bases, class_dict)
        return type.__new__(mcs, classname, bases, class_dict)


class TaskSet(metaclass=TaskSetMeta):
    """A group of tasks a user runs until one of them calls ``interrupt()``; may be nested."""

    tasks: list[Any] = []
    wait_time: Callable[[], float] | None = None
    _runs_user_tasks = False

    def __init__(self, parent: User | TaskSet) -> None:
        self._task_queue: list[Any] = []
        """Rarely more than one task long: a list, 56 bytes empty, where a deque takes 600 for each user."""
        self._parent = parent
        self._user: User = parent.user if isinstance(parent, TaskSet) else parent
        if type(self).wait_time is None:
            self.wait_time = self._user_wait_time

    def _user_wait_time(self) -> float:
        user_wait = self._user.wait_time
        if user_wait is None:
            raise MissingWaitTimeError(
                f"{type(self._user).__name__} and {type(self).__name__} define no wait_time; "
                "set one, e.g. wait_time = between(1, 5)"
            )
        return user_wait()

    @property
    def user(self) -> User:
        return self._user

    @property
    def parent(self) -> User | TaskSet:
        return self._parent

    @property
    def client(self) -> Any:
        return self._user.client

    def on_start(self) -> None:
        """Runs when the user enters this task set."""

    def on_stop(self) -> None:
        """Runs when the user leaves this task set (interrupt, or the user stops)."""

    def run(self) -> None:
        try:
            self.on_start()
        except InterruptTaskSet as e:
            if e.reschedule:
                raise RescheduleTaskImmediately(e.reschedule).with_traceback(e.__traceback__) from e
            raise RescheduleTask(e.reschedule).with_traceback(e.__traceback__) from e

        while True:
            self._sleep(self._next_step())

    def _next_step(self) -> float:
        """Runs tasks until one is followed by a wait, and returns that wait's seconds (the user is then
        WAITING): the loop of ``run`` up to its sleep, so that a top-level user can wait without its greenlet."""
        while True:
            try:
                if not self._task_queue:
                    self.schedule_task(self.get_next_task())
                try:
                    self._check_stop_condition()
                    self.execute_next_task()
                except RescheduleTaskImmediately:
                    continue
                except RescheduleTask:
                    pass
                if self._waits_its_own_way():
                    self.wait()
                    continue
                return self._begin_wait()
            except InterruptTaskSet as e:
                self._run_on_stop()
                if e.reschedule:
                    raise RescheduleTaskImmediately(e.reschedule) from e
                raise RescheduleTask(e.reschedule) from e
            except (StopUser, StopTest, GreenletExit):
                self._run_on_stop()
                raise
            except Exception as e:
                self._user._report_error(self._user if self._runs_user_tasks else self, e)
                if self._waits_its_own_way():
                    self.wait()
                    continue
                return self._begin_wait()

    def _waits_its_own_way(self) -> bool:
        """A subclass that overrides ``wait`` gets it called between tasks, as in Locust."""
        return type(self).wait is not TaskSet.wait

    def _sleep(self, seconds: float) -> None:
        """The wait ``_next_step`` asked for, in this greenlet."""
        try:
            gevent.sleep(seconds)
        except GreenletExit:
            self._run_on_stop()
            raise
        self._resume()

    def _resume(self, killed: bool = False) -> None:
        """Ends a wait between tasks: as it would end if killed during it, or else stops a user asked to stop."""
        try:
            if killed:
                raise GreenletExit()
            self._end_wait()
        except (StopUser, GreenletExit):
            self._run_on_stop()
            raise

    def _run_on_stop(self) -> None:
        try:
            self.on_stop()
        except (StopUser, GreenletExit):
            raise
        except Exception as e:
            report_user_exception(self._user.environment, e, f"{type(self).__name__}.on_stop", every_time=True)

    def get_next_task(self) -> Any:
        if not self.tasks:
            raise LocustError(
                f"no tasks defined on {type(self).__name__}: use the @task decorator or set its tasks attribute"
            )
        return random.choice(self.tasks)

    def schedule_task(self, task_callable: Any, first: bool = False) -> None:
        """Queues a task to run next (``first``) or after the queued ones, before any random pick."""
        if first:
            self._task_queue.insert(0, task_callable)
        else:
            self._task_queue.append(task_callable)

    def execute_next_task(self) -> None:
        self.execute_task(self._task_queue.pop(0))

    def execute_task(self, task_callable: Any) -> None:
        if _is_taskset(task_callable):
            task_callable(self).run()
        elif hasattr(task_callable, "__self__"):
            task_callable()
        else:
            task_callable(self)

    def wait(self) -> None:
        """Sleeps the wait time; a user asked to stop is killed here, between tasks."""
        seconds = self._begin_wait()
        gevent.sleep(seconds)
        self._end_wait()

    def _begin_wait(self) -> float:
        """The seconds to wait, with the user marked WAITING (it may then be killed at once)."""
        user = self._user
        self._check_stop_condition()
        seconds = self.wait_time()  # type: ignore[misc]
        # a float or an int passes at once; anything else (a bool, a numpy float) asks numbers.Real, an ABC, slowly
        if (
            type(seconds) is not float
            and type(seconds) is not int
            and (isinstance(seconds, bool) or not isinstance(seconds, numbers.Real))
        ):
            raise MissingWaitTimeError(
                f"{type(user).__name__}.wait_time returned {seconds!r}, not a number of seconds "
                "(e.g. wait_time = between(1, 5))"
            )
        user._state = STATE_WAITING
        return float(seconds)

    def _end_wait(self) -> None:
        self._check_stop_condition()
        self._user._state = STATE_RUNNING

    def _check_stop_condition(self) -> None:
        if self._user._state == STATE_STOPPING:
            raise StopUser()

    def interrupt(self, reschedule: bool = True) -> None:
        """Leaves this task set for its parent; with ``reschedule`` the parent does not wait first."""
        raise InterruptTaskSet(reschedule)


class DefaultTaskSet(TaskSet):
    """Runs a User's own tasks, which take the user (not a task set) as ``self``."""

    _runs_user_tasks = True

    def __init__(self, parent: User | TaskSet) -> None:
        # every user makes one at its start: no per-user bound wait_time, no isinstance (the parent is the user)
        self._task_queue = []
        self._parent = parent
        self._user = parent  # type: ignore[assignment]

    def wait_time(self) -> float:
        return self._user_wait_time()

    def get_next_task(self) -> Any:
        tasks = self._user.tasks
        if not tasks:
            name = type(self._user).__name__
            task_set = getattr(self._user, "task_set", None)
            if isinstance(task_set, type):  # Locust 0.x's way, ignored since Locust 1.0
                raise LocustError(
                    f"no tasks defined on {name}: its task_set attribute is Locust 0.x's, ignored since Locust 1.0; "
                    f"set tasks = [{task_set.__name__}] instead"
                )
            raise LocustError(
                f"no tasks defined on {name} (or only tasks of weight 0): use the @task "
                "decorator, set its tasks attribute, or mark it abstract = True if it is only meant to be subclassed"
            )
        return random.choice(tasks)

    def execute_task(self, task_callable: Any) -> None:
        if _is_taskset(task_callable):
            task_callable(self._user).run()
        elif hasattr(task_callable, "__self__"):
            task_callable()
        else:
            task_callable(self._user)


class SequentialTaskSet(TaskSet):
    """Runs its tasks in the order they are declared, over and over."""

    def __init__(self, parent: User | TaskSet) -> None:
        super().__init__(parent)
        self._task_cycle = cycle(self.tasks)

    def get_next_task(self) -> Any:
        if not self.tasks:
            raise LocustError(f"no tasks defined on {type(self).__name__}")
        return next(self._task_cycle)
