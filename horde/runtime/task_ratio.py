"""Locust's task ratios: what share of the users each class gets and what share of their tasks each task gets.

The ratios are Locust's: users are shared out by weight (a `fixed_count` class gets its count first), each user's
tasks by how often they appear in its weighted task list; "per class" ratios are within a class, "total" ones are
of all the tasks run. `--show-task-ratio(-json)` prints them; the HTML report shows them for the users that ran.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from horde.runtime.tasks import TaskSet
from horde.runtime.users import User


def user_distribution(classes: Sequence[type[User]], users: int | None) -> dict[str, int]:
    """How many users of each class `users` users would be (Locust's rounding, for the ratios only)."""
    fixed = sum(cls.fixed_count for cls in classes if cls.fixed_count)
    total_weight = sum(cls.weight for cls in classes if not cls.fixed_count)
    wanted: float = users or (total_weight if not fixed else 1)
    weighted = max(wanted - fixed, 0)
    return {
        cls.__name__: round(cls.fixed_count if cls.fixed_count else cls.weight / total_weight * weighted)
        for cls in classes
    }


def task_ratios(classes: Sequence[type[User]], counts: dict[str, int], total: bool) -> dict[str, dict[str, Any]]:
    all_users = sum(counts.values()) or 1
    ratios: dict[str, dict[str, Any]] = {}
    for cls in classes:
        share = counts.get(cls.__name__, 0) / all_users
        ratios[cls.__name__] = {"ratio": share, "tasks": _tasks(cls.tasks, share if total else 1.0, total)}
    return ratios


def _tasks(tasks: Sequence[Any], parent: float, total: bool) -> dict[str, dict[str, Any]]:
    counts: dict[Any, int] = {}
    for task in tasks:
        counts[task] = counts.get(task, 0) + 1
    result: dict[str, dict[str, Any]] = {}
    for task, count in counts.items():
        share = count * parent / len(tasks)
        entry: dict[str, Any] = {"ratio": share}
        if inspect.isclass(task) and issubclass(task, TaskSet):
            entry["tasks"] = _tasks(task.tasks, share if total else 1.0, total)
        result[task.__name__] = entry
    return result


def task_ratio_report(classes: Sequence[type[User]], counts: Mapping[str, int]) -> dict[str, Any]:
    """Both views, as Locust's `--show-task-ratio-json` and its report have them."""
    return {"per_class": task_ratios(classes, dict(counts), False), "total": task_ratios(classes, dict(counts), True)}
