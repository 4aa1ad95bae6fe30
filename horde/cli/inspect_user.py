"""`--list` and `--show-task-ratio(-json)`: what a locustfile's users would do, printed as Locust prints it.

The ratios themselves are `horde.runtime.task_ratio`'s, which the HTML report shows too.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from horde.runtime.task_ratio import task_ratio_report, task_ratios, user_distribution
from horde.runtime.users import User


def print_user_classes(classes: Sequence[type[User]]) -> None:
    print("Available Users:")
    for cls in classes:
        print(f"    {cls.__name__}")


def _print_ratios(ratios: dict[str, dict[str, Any]], level: int = 0) -> None:
    indent = "  " * level
    for name, entry in ratios.items():
        percent = f"{indent}{entry.get('ratio', 1) * 100:<6.1f}"
        print(f" {percent:<10} {indent + name:<50}")
        if "tasks" in entry:
            _print_ratios(entry["tasks"], level + 1)


def print_task_ratio(classes: Sequence[type[User]], users: int | None) -> None:
    counts = user_distribution(classes, users)
    print("\n Task ratio per User class")
    print("-" * 80)
    _print_ratios(task_ratios(classes, counts, False))
    print("\n Total task ratio")
    print("-" * 80)
    _print_ratios(task_ratios(classes, counts, True))


def print_task_ratio_json(classes: Sequence[type[User]], users: int | None) -> None:
    print(json.dumps(task_ratio_report(classes, user_distribution(classes, users)), indent=4))
