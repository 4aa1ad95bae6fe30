"""The UserPool: runs users as greenlets and brings the count per class to a target."""

from __future__ import annotations

import contextvars
import gc
import logging
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import gevent
from gevent import GreenletExit
from gevent.greenlet import SpawnedLink
from gevent.pool import Group

from horde.runtime.environment import Environment
from horde.runtime.tasks import STATE_WAITING
from horde.runtime.user_errors import report_user_exception, tell_user_ended
from horde.runtime.users import User

logger = logging.getLogger(__name__)

#: grace given to on_stop of a user killed after its stop timeout, before it is abandoned
_KILL_GRACE = 1.0
GC_PAUSE_USERS = 100
"""A spawn step of at least this many users runs with the garbage collector paused."""

SPAWN_BATCH = 500
"""Users placed between two yields: small enough that a stop, `-t` or a heartbeat waits a few milliseconds at any
user count, large enough that yielding costs nothing measurable (ADR 0025)."""


class _Slot:
    """One user's place in the pool, taken before the user exists: the user is built in its own greenlet, so a
    slow or failing ``User.__init__`` never holds up the caller (the Worker actor, which must keep handling a
    stop), and a stop that comes while it is being built kills that greenlet.

    Once built, a user whose class keeps ``User.run`` is run in steps (ADR 0032): each step is a greenlet that
    runs tasks until a wait of at least ``PARK_WAIT``, then ends; a loop timer (``timer``) starts the next step
    in a new greenlet. ``greenlet`` is the user's latest greenlet, and the user has ended when that greenlet
    ended without leaving a timer. The slot is the user's driver: it knows how to stop a user that has no
    greenlet."""

    __slots__ = ("context", "greenlet", "name", "pool", "timer", "user", "waking")

    def __init__(self, pool: UserPool, name: str) -> None:
        self.pool = pool
        self.name = name
        self.user: User | None = None
        self.greenlet: gevent.Greenlet | None = None
        self.timer: Any = None
        #: a step greenlet spawned by the timer that has not started yet
        self.waking = False
        #: the context variables of the user's last step, handed to the next (None until user code sets one)
        self.context: contextvars.Context | None = None

    def stop(self, force: bool) -> bool:
        """As ``User.stop``; a user still being built is killed at once, a parked one unwinds in a new greenlet
        as if killed in its wait."""
        user = self.user
        if user is None:
            if self.greenlet is not None and not self.greenlet.dead:
                self.greenlet.kill(block=False)
            return True
        if self.timer is not None:
            self.timer.close()
            self.timer = None
            self.pool._run_step(self, killed=True)
            return True
        if self.waking and (force or user._state == STATE_WAITING):
            self.greenlet.kill(block=False)  # type: ignore[union-attr]  # never started: it unwinds nothing
            self.pool._run_step(self, killed=True)
            return True
        return user._stop_greenlet(force)


class UserPool:
    """Users of one process, as greenlets of one ``gevent.pool.Group``.

    ``set_counts`` never runs user code: each user is built (``User.__init__``) and run in a greenlet of its own,
    and one whose ``__init__`` raises is counted in the exceptions table and leaves the pool. It never waits for
    stopping users either: the surplus leaves the counts at once and is stopped in the background, each user
    gracefully and all in parallel (killed at once if waiting, else after its current task; hard-killed after the
    environment's stop_timeout). So the caller, an actor, keeps handling messages.
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
        self._running: dict[str, dict[_Slot, None]] = {name: {} for name in self._classes}
        self._stopping: set[_Slot] = set()
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
        """The running users that have been built (a user whose ``__init__`` has not returned is not one yet)."""
        return [slot.user for slots in self._running.values() for slot in slots if slot.user is not None]

    def set_counts(self, counts: Mapping[str, int], interrupted: Callable[[], bool] | None = None) -> bool:
        """Makes the running users per class match ``counts`` (absent classes go to zero); True once they do.

        Users are placed ``SPAWN_BATCH`` at a time with a yield between batches, so the rest of the process (its
        heartbeats, the run's clock) goes on at any count. ``interrupted``, asked after each yield, may cut the
        placing short (False is returned): the caller has something more urgent, such as a stop, and calls again
        with the same counts to carry on.
        """
        unknown = sorted(set(counts) - set(self._classes))
        if unknown:
            raise KeyError(f"unknown user classes {unknown}; known: {sorted(self._classes)}")
        self.environment.apply_tag_filters()
        to_stop: list[_Slot] = []
        for name, running in self._running.items():
            target = max(0, int(counts.get(name, 0)))
            missing = target - len(running)  # once: a user whose __init__ fails during a yield is not replaced
            while missing > 0:
                batch = min(SPAWN_BATCH, missing)
                self._spawn(name, batch)
                missing -= batch
                if missing > 0:
                    gevent.sleep(0)
                    if interrupted is not None and interrupted():
                        if to_stop:
                            self._stop_users(to_stop, self.environment.stop_timeout)
                        return False
            while len(running) > target:
                slot, _ = running.popitem()  # most recently started first
                to_stop.append(slot)
        if to_stop:
            self._stop_users(to_stop, self.environment.stop_timeout)
        return True

    def _spawn(self, name: str, count: int) -> None:
        running = self._running[name]
        paused = count >= GC_PAUSE_USERS and gc.isenabled()
        if paused:
            # Building thousands of users makes only objects that live: the collector's passes over them were a
            # third of a spawn's time. Paused until each new user has started: the hub runs its callbacks in
            # order, so the one below (queued after the greenlets' starts) comes after their first turns, and a
            # spawn step never leaves the collector off.
            gc.disable()
        spawn = self.group.spawn
        live = self._live
        ended = self._greenlet_ended
        for _ in range(count):
            slot = _Slot(self, name)
            running[slot] = None
            greenlet = slot.greenlet = spawn(live, slot)
            greenlet.rawlink(partial(ended, slot))
        if paused:
            gevent.get_hub().loop.run_callback(gc.enable)

    def _live(self, slot: _Slot) -> None:
        """A user's first greenlet: built, then run (in steps if it can be); nothing it raises escapes into
        gevent's hub."""
        name = slot.name
        try:
            user = self._classes[name](self.environment)
        except GreenletExit:
            raise
        except Exception as e:
            report_user_exception(self.environment, e, f"{name}.__init__", at_start=True)
            return
        slot.user = user
        if slot in self._stopping:  # stopped while it was being built: it never starts
            return
        if type(user).run is not User.run:  # its own run loop: one greenlet for its whole life
            try:
                user.run_here(self.group)
            except GreenletExit:
                raise
            except Exception as e:  # counted when first raised; it raised again while that was handled
                tell_user_ended(self.environment, name, e)
            return
        user._group = self.group
        user._greenlet = slot.greenlet
        user._driver = slot
        self._step(slot, False, False)

    def _step(self, slot: _Slot, resume: bool, killed: bool) -> None:
        """A step of a user run in steps, in its own greenlet; parks the user if it is to wait."""
        slot.waking = False
        user = slot.user
        assert user is not None
        try:
            seconds = user._steps(resume, killed)
        except GreenletExit:
            raise
        except Exception as e:
            tell_user_ended(self.environment, slot.name, e)
            return
        if seconds is not None:
            slot.context = gevent.getcurrent().gr_context
            timer = slot.timer = gevent.get_hub().loop.timer(seconds)  # this greenlet's hub, the user's
            timer.start(self._wake, slot)

    def _wake(self, slot: _Slot) -> None:
        """In the hub, when a parked user's wait is over: its next step, in a new greenlet."""
        if slot.timer is not None:
            slot.timer.close()
            slot.timer = None
        self._run_step(slot, killed=False)
        slot.waking = True

    def _run_step(self, slot: _Slot, killed: bool) -> None:
        greenlet = slot.greenlet = self.group.spawn(self._step, slot, True, killed)
        greenlet.gr_context = slot.context  # a context variable set in on_start or a task lives on, as in Locust
        greenlet.rawlink(partial(self._greenlet_ended, slot))
        slot.user._greenlet = greenlet  # type: ignore[union-attr]

    def _greenlet_ended(self, slot: _Slot, greenlet: gevent.Greenlet) -> None:
        """In the hub: the user of this greenlet ended, unless it is parked or has moved to a newer greenlet."""
        if slot.greenlet is not greenlet or slot.timer is not None:
            return
        SpawnedLink(self._ended)(slot)  # as ``Greenlet.link`` does: at once, in a greenlet of its own (it may block)

    def _ended(self, slot: _Slot) -> None:
        self._on_exit(slot.name, slot)

    def _on_exit(self, name: str, slot: _Slot) -> None:
        if slot in self._stopping:
            self._stopping.discard(slot)
            return
        running = self._running[name]
        if slot not in running:
            return
        del running[slot]
        user = slot.user
        if user is None:  # its __init__ failed (counted there)
            return
        if user.raised_stop_test:
            logger.info("%s raised StopTest, the test stops", name)
            if self.on_stop_test is not None:
                self.on_stop_test(user)
        if self.on_user_exit is not None:
            self.on_user_exit(name, user)

    def _stop_users(self, slots: list[_Slot], timeout: float | None) -> None:
        self._stopping.update(slots)
        self._stoppers.spawn(self._stop_gracefully, slots, timeout)

    def _stop_gracefully(self, slots: list[_Slot], timeout: float | None) -> None:
        waiting = Group()
        for slot in slots:
            if not slot.stop(force=not timeout):
                waiting.add(slot.greenlet)
        if timeout and waiting and not waiting.join(timeout=timeout):
            logger.info("%d users did not finish their task within %.1f s, killing them", len(waiting), timeout)
            waiting.kill(block=False)
        # a killed user runs on_stop while unwinding; give that a bounded moment
        pending = [slot.greenlet for slot in slots if slot.greenlet is not None and not slot.greenlet.dead]
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
        to_stop = [slot for slots in self._running.values() for slot in slots]
        for slots in self._running.values():
            slots.clear()
        if to_stop:
            self._stop_users(to_stop, timeout)
        self._stoppers.join(timeout=(timeout or 0) + 2 * _KILL_GRACE)
        if self.group:
            self.group.kill(block=True, timeout=_KILL_GRACE)
