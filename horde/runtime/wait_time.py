"""Wait-time helpers with Locust's semantics: ``wait_time = between(1, 2)`` on users and task sets."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

WaitTime = Callable[[Any], float]


def between(min_wait: float, max_wait: float) -> WaitTime:
    """A uniformly random wait in ``[min_wait, max_wait]`` seconds after each task."""

    def wait_time_func(self: Any) -> float:
        return min_wait + random.random() * (max_wait - min_wait)

    return wait_time_func


def constant(wait_time: float) -> WaitTime:
    """The same wait after each task."""

    def wait_time_func(self: Any) -> float:
        return wait_time

    return wait_time_func


def constant_pacing(wait_time: float) -> WaitTime:
    """Starts a task every ``wait_time`` seconds: waits what is left of the period, or not at all if the task
    overran it. The clock state lives on the user (or task set) instance, as in Locust."""

    def wait_time_func(self: Any) -> float:
        now = time.monotonic()
        last_run = getattr(self, "_cp_last_run", None)
        run_time = 0.0 if last_run is None else now - last_run - self._cp_last_wait_time
        wait = max(0.0, wait_time - run_time)
        self._cp_last_wait_time = wait
        self._cp_last_run = now
        return wait

    return wait_time_func


def constant_throughput(task_runs_per_second: float) -> WaitTime:
    """At most ``task_runs_per_second`` task runs per second per user: the inverse of constant_pacing."""
    return constant_pacing(1 / task_runs_per_second)
