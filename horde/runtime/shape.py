"""LoadTestShape: a class in the locustfile that sets the target user count and spawn rate over time."""

from __future__ import annotations

import time
from abc import ABCMeta, abstractmethod
from typing import Any

from horde.runtime.users import User

ShapeTick = tuple[int, float] | tuple[int, float, list[type[User]]] | None


def shape_target(result: Any) -> tuple[int, float, tuple[str, ...] | None] | None:
    """A `tick()` result as the master takes it: users, rate, and the class names (sorted) or None."""
    if result is None:
        return None
    users, rate, *rest = result
    classes = tuple(sorted(c if isinstance(c, str) else c.__name__ for c in rest[0])) if rest and rest[0] else None
    return int(users), float(rate), classes


class LoadTestShapeMeta(ABCMeta):
    """Makes ``abstract`` apply only to the class that sets it, as for users."""

    def __new__(mcs, classname: str, bases: tuple[type, ...], class_dict: dict[str, Any]) -> LoadTestShapeMeta:
        class_dict["abstract"] = class_dict.get("abstract", False)
        return super().__new__(mcs, classname, bases, class_dict)


class LoadTestShape(metaclass=LoadTestShapeMeta):
    """Ticked about once a second on the master: ``tick()`` returns ``(users, spawn_rate)``, optionally with
    the user classes to run, or None to stop the test."""

    abstract = True
    #: let -u/-r/-t still apply and be readable by the shape through ``runner.environment.parsed_options``
    use_common_options = False
    runner: Any = None

    def __init__(self) -> None:
        self.start_time = time.perf_counter()

    def reset_time(self) -> None:
        """Restarts the clock of ``get_run_time``."""
        self.start_time = time.perf_counter()

    def get_run_time(self) -> float:
        """Seconds since the shape started (or was reset)."""
        return time.perf_counter() - self.start_time

    def get_current_user_count(self) -> int:
        """The number of users running now, as the runner knows it (0 before a runner is set)."""
        runner = self.runner
        return int(runner.user_count) if runner is not None else 0

    @abstractmethod
    def tick(self) -> ShapeTick:
        """The target now: ``(users, spawn_rate)``, ``(users, spawn_rate, user_classes)``, or None to stop."""
