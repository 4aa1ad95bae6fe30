"""The UserPool: runs users as greenlets and brings the count per class to a target."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

import gevent
from gevent.pool import Group

from horde.runtime.environment import Environment
from horde.runtime.users import User

logger = logging.getLogger(__name__)

#: grace given to on_stop of a user killed after its stop timeout, before it is abandoned
_KILL_GRACE = 1.0


class UserPool:
    """Users of one process, as greenlets of one ``gevent.pool.Group``.

    ``set_counts`` never waits for stopping users: the surplus leaves the counts at once and is stopped in the
    background, each user gracefully and all in parallel (killed at once if waiting, else after its current
    task; hard-killed after the environment's stop_timeout). So the caller, an actor, keeps handling messages.
    ``on_user_exit(class_name, user)`` is called when a user ends by itself (StopUser, failed on_start,
    crash), ``on_stop_test(user)`` when a task raised StopTest.
    """

    def __init__(
        self,
        environment: Environment,
        on_user_exit: Callable[[str, User], None] | None = None,
        on_stop_test: Callable[[User], None] | None = None,
    ) -> None:
        self.environment = environment
        self.group = Group()
        self.on_user_exit = on_user_exit
        self.on_stop_test = on_stop_test
        self._classes = environment.user_classes_by_name
        self._running: dict[str, dict[User, None]] = {name: {} for name in self._classes}
        self._stopping: set[User] = set()
        self._stoppers = Group()

    @property
    def user_count(self) -> int:
        return sum(len(users) for users in self._running.values())

    @property
    def stopping_count(self) -> int:
        """Users asked to stop that have not ended yet."""
        return len(self._stopping)

    def counts(self) -> dict[str, int]:
        return {name: len(users) for name, users in self._running.items() if users}

    def users(self) -> list[User]:
        return [user for users in self._running.values() for user in users]

    def set_counts(self, counts: Mapping[str, int]) -> None:
        """Makes the running users per class match ``counts`` (absent classes go to zero)."""
        unknown = sorted(set(counts) - set(self._classes))
        if unknown:
            raise KeyError(f"unknown user classes {unknown}; known: {sorted(self._classes)}")
        self.environment.apply_tag_filters()
        to_stop: list[User] = []
        for name, running in self._running.items():
            target = max(0, int(counts.get(name, 0)))
            missing = target - len(running)
            if missing > 0:
                self._spawn(name, missing)
            while len(running) > target:
                user, _ = running.popitem()  # most recently started first
                to_stop.append(user)
        if to_stop:
            self._stop_users(to_stop, self.environment.stop_timeout)

    def _spawn(self, name: str, count: int) -> None:
        user_class = self._classes[name]
        running = self._running[name]
        for _ in range(count):
            user = user_class(self.environment)
            running[user] = None
            greenlet = user.start(self.group)
            greenlet.link(lambda g, user=user, name=name: self._on_exit(name, user, g))

    def _on_exit(self, name: str, user: User, greenlet: gevent.Greenlet) -> None:
        if user in self._stopping:
            self._stopping.discard(user)
            return
        running = self._running[name]
        if user not in running:
            return
        del running[user]
        exception = greenlet.exception
        if user.raised_stop_test:
            logger.info("%s raised StopTest, the test stops", name)
            if self.on_stop_test is not None:
                self.on_stop_test(user)
        elif exception is not None:
            logger.error("user %s died: %r", name, exception)
        if self.on_user_exit is not None:
            self.on_user_exit(name, user)

    def _stop_users(self, users: list[User], timeout: float | None) -> None:
        self._stopping.update(users)
        self._stoppers.spawn(self._stop_gracefully, users, timeout)

    def _stop_gracefully(self, users: list[User], timeout: float | None) -> None:
        waiting = Group()
        for user in users:
            if not user.stop(force=not timeout):
                waiting.add(user.greenlet)
        if timeout and waiting and not waiting.join(timeout=timeout):
            logger.info("%d users did not finish their task within %.1f s, killing them", len(waiting), timeout)
            waiting.kill(block=False)
        # a killed user runs on_stop while unwinding; give that a bounded moment
        pending = [user.greenlet for user in users if user.greenlet is not None and not user.greenlet.dead]
        if pending:
            gevent.joinall(pending, timeout=_KILL_GRACE)
            for greenlet in pending:
                if not greenlet.dead:
                    greenlet.kill(block=False)

    def join_stopping(self, timeout: float | None = None) -> bool:
        """Waits until every user asked to stop has ended; True if they all did within ``timeout``."""
        return bool(self._stoppers.join(timeout=timeout))

    def stop_all(self, timeout: float | None = None) -> None:
        """Stops every user gracefully (on_stop runs), waiting at most about ``timeout`` before hard kills."""
        to_stop = [user for users in self._running.values() for user in users]
        for users in self._running.values():
            users.clear()
        if to_stop:
            self._stop_users(to_stop, timeout)
        self._stoppers.join(timeout=(timeout or 0) + 2 * _KILL_GRACE)
        if self.group:
            self.group.kill(block=True, timeout=_KILL_GRACE)
