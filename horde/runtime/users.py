"""The User base class and its run loop, with Locust's semantics."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import gevent
from gevent import GreenletExit

from horde.runtime.exceptions import StopTest, StopUser
from horde.runtime.tasks import (
    STATE_RUNNING,
    STATE_STOPPING,
    STATE_WAITING,
    DefaultTaskSet,
    TaskSet,
    get_tasks_from_base_classes,
)
from horde.runtime.user_errors import report_user_exception
from horde.runtime.wait_time import constant

if TYPE_CHECKING:
    from gevent.pool import Group

    from horde.runtime.environment import Environment

logger = logging.getLogger(__name__)

PARK_WAIT = 0.1
"""A user run by the pool that waits at least this long between tasks gives up its greenlet while it waits
(ADR 0032): at most ten tasks a second pay for a new greenlet each, and a waiting user keeps no stack."""


class Driver(Protocol):
    """Runs a user in steps and so knows how to stop it (``User.stop``'s contract)."""

    def stop(self, force: bool) -> bool: ...


class UserMeta(type):
    """Collects tasks at class creation and makes ``abstract`` apply only to the class that sets it."""

    def __new__(mcs, classname: str, bases: tuple[type, ...], class_dict: dict[str, Any]) -> UserMeta:
        class_dict["tasks"] = get_tasks_from_base_classes(bases, class_dict)
        if not class_dict.get("abstract"):
            class_dict["abstract"] = False
        return type.__new__(mcs, classname, bases, class_dict)


class User(metaclass=UserMeta):
    """A simulated user: runs on_start, then picks tasks by weight and waits between them until stopped."""

    host: str | None = None
    wait_time = constant(0)
    tasks: ClassVar[list[Any]] = []
    weight: float = 1
    fixed_count: int = 0
    abstract: ClassVar[bool] = True
    client: Any = None

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        if environment.host:
            self.host = environment.host
        self._state = STATE_RUNNING
        self._greenlet: gevent.Greenlet | None = None
        self._group: Group | None = None
        self._taskset_instance: TaskSet | None = None
        #: what runs this user when it is not one greenlet for its whole life (the pool's, which parks it)
        self._driver: Driver | None = None
        #: set when a task raised StopTest: the user ended and asks for the whole test to stop
        self.raised_stop_test = False

    def on_start(self) -> None:
        """Runs once when the user starts, before its first task."""

    def on_stop(self) -> None:
        """Runs once when the user stops, after its last task."""

    def context(self) -> dict[str, Any]:
        """Extra data passed as ``context`` with every request this user makes."""
        return {}

    @property
    def greenlet(self) -> gevent.Greenlet | None:
        return self._greenlet

    def run(self) -> None:
        try:
            with self._stopping_on_its_end():
                if self._begin():
                    self._taskset_instance.run()  # type: ignore[union-attr]
        finally:
            self._release()

    @contextmanager
    def _stopping_on_its_end(self) -> Iterator[None]:
        """How a user's run ends, in one greenlet (``run``) or in steps (``_steps``): a kill or StopUser runs
        on_stop; StopTest does too and says the test stops."""
        try:
            yield
        except (GreenletExit, StopUser):
            self._run_on_stop()
        except StopTest:
            self.raised_stop_test = True
            self._run_on_stop()

    def _begin(self) -> bool:
        """on_start; False if it failed, which ends the user (as in Locust, without on_stop; horde counts it)."""
        if self._state != STATE_STOPPING:  # a stop may come before the greenlet first runs
            self._state = STATE_RUNNING
        self._taskset_instance = DefaultTaskSet(self)
        try:
            self.on_start()
        except (StopUser, GreenletExit):
            raise
        except Exception as e:
            report_user_exception(self.environment, e, f"{type(self).__name__}.on_start", every_time=True)
            return False
        return True

    def _steps(self, resume: bool = False, killed: bool = False) -> float | None:
        """``run`` cut at each wait between tasks, for a user that waits without a greenlet (ADR 0032).

        In the calling greenlet: on_start (or, with ``resume``, the end of the wait the user parked in, ``killed``
        during it or not), then tasks with their waits, until a wait of at least ``PARK_WAIT`` seconds: the user
        is then WAITING and those seconds are returned; the caller lets its greenlet end and resumes the user
        in a new one. None when the user ended (as ``run`` ends)."""
        ended = True
        try:
            with self._stopping_on_its_end():
                if resume:
                    self._taskset_instance._resume(killed)  # type: ignore[union-attr]
                elif not self._begin():
                    return None
                taskset = self._taskset_instance
                assert taskset is not None
                while True:
                    seconds = taskset._next_step()
                    if seconds >= PARK_WAIT:
                        ended = False
                        return seconds
                    taskset._sleep(seconds)
        finally:
            if ended:
                self._release()
        return None

    def _release(self) -> None:
        """Frees what the user holds (its client's connections) once it has ended."""

    def _run_on_stop(self) -> None:
        """on_stop, whose exception is counted rather than left to kill the greenlet (Locust prints it only)."""
        try:
            self.on_stop()
        except GreenletExit:
            raise
        except Exception as e:
            report_user_exception(self.environment, e, f"{type(self).__name__}.on_stop", every_time=True)

    def wait(self) -> None:
        """Sleeps this user's wait time; usable from a task to pause between steps."""
        if self._taskset_instance is not None:
            self._taskset_instance.wait()

    def _report_error(self, source: Any, exception: Exception) -> None:
        """An exception a task did not handle: event, counted with its traceback, told; the user goes on."""
        environment = self.environment
        environment.events.user_error.fire(user_instance=source, exception=exception, tb=exception.__traceback__)
        if not environment.catch_exceptions:
            raise exception
        report_user_exception(environment, exception, type(source).__name__, every_time=True)

    def start(self, group: Group) -> gevent.Greenlet:
        """Spawns the run loop as a greenlet of ``group``."""
        self._group = group
        self._greenlet = group.spawn(self.run)
        return self._greenlet

    def run_here(self, group: Group) -> None:
        """Runs the run loop in the calling greenlet of ``group``, which was spawned to build this user first."""
        self._group = group
        self._greenlet = gevent.getcurrent()
        self.run()

    def stop(self, force: bool = False) -> bool:
        """Stops the user: killed at once if forced or waiting between tasks (True), otherwise marked so
        that it stops after the running task (False)."""
        if self._driver is not None:
            return self._driver.stop(force)
        return self._stop_greenlet(force)

    def _stop_greenlet(self, force: bool) -> bool:
        greenlet = self._greenlet
        if greenlet is None or greenlet.dead:
            return True
        if force or self._state == STATE_WAITING:
            if greenlet is gevent.getcurrent():
                raise StopUser()
            greenlet.kill(block=False)
            return True
        self._state = STATE_STOPPING
        return False
