"""MarkovTaskSet: a TaskSet whose next task is drawn from the running task's weighted transitions (Locust's).

A task is a method decorated with ``@transition(name, weight)`` or ``@transitions(...)``; the chain starts at the
first one declared, and each run of a task moves to one of its targets with probability weight / total weight. The
chain is checked when the class is created, so a broken chain fails while the locustfile loads, not mid-run.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from horde.runtime.exceptions import LocustError
from horde.runtime.tasks import TaskSet, TaskSetMeta

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


class NoMarkovTasksError(LocustError):
    """A concrete MarkovTaskSet declares no task with transitions."""


class InvalidTransitionError(LocustError):
    """A transition names something the class does not define."""


class NonMarkovTaskTransitionError(LocustError):
    """A transition names a method that declares no transitions of its own, so the chain would stop there."""


class MarkovTaskTagError(LocustError):
    """A Markov task is tagged: filtering by tag could cut the chain."""


def is_markov_task(candidate: Any) -> bool:
    return hasattr(candidate, "transitions")


def _transitions_of(func: Any) -> dict[str, int]:
    if "transitions" not in getattr(func, "__dict__", {}):
        func.transitions = {}
    table: dict[str, int] = func.transitions
    return table


def transition(func_name: str, weight: int = 1) -> Callable[[F], F]:
    """Adds a transition from the decorated task to the task named ``func_name``; stack it for several."""

    def decorator(func: F) -> F:
        _transitions_of(func)[func_name] = weight
        return func

    return decorator


def transitions(weights: Mapping[str, int] | Sequence[tuple[str, int] | str]) -> Callable[[F], F]:
    """Adds several transitions at once: ``{"name": weight}``, or a list of names (weight 1) and (name, weight)."""
    if isinstance(weights, Mapping):
        table = dict(weights)
    else:
        table = dict(item if isinstance(item, tuple) else (item, 1) for item in weights)

    def decorator(func: F) -> F:
        _transitions_of(func).update(table)
        return func

    return decorator


def weighted_targets(table: Mapping[str, int]) -> list[str]:
    """A target of weight n appears n times, so a move is one ``random.choice`` (a weight below 1 never fires)."""
    return [name for name, weight in table.items() for _ in range(weight)]


def _check_chain(classname: str, class_dict: dict[str, Any]) -> dict[str, Any]:
    """The class's Markov tasks by attribute name, in declaration order, once the chain is known to be sound."""
    tasks = {key: value for key, value in class_dict.items() if is_markov_task(value)}
    if not tasks:
        raise NoMarkovTasksError(
            f"No Markov tasks defined in class {classname}. Use the @transition(s) decorators to define some."
        )
    for key, func in tasks.items():
        for target in func.transitions:
            found = class_dict.get(target)
            if not found:
                raise InvalidTransitionError(
                    f"Transition to {target} from {key} is invalid since no such element exists on class {classname}"
                )
            if not is_markov_task(found):
                raise NonMarkovTaskTransitionError(
                    f"{classname}.{target} cannot be used as a target for a transition since it does not define "
                    f"any transitions of its own. Used as a transition from {key}."
                )
    for key, func in tasks.items():
        if key in ("on_start", "on_stop"):
            logger.warning("%s.%s has transitions: it will run both as a Markov task and on start/stop", classname, key)
        if key == "run":
            raise LocustError(
                "TaskSet.run() is a method used internally by Locust, and you must not override it or annotate it "
                "with transitions"
            )
        if hasattr(func, "locust_tag_set"):
            raise MarkovTaskTagError(
                "Tags are unsupported for MarkovTaskSet since they can make the markov chain invalid. "
                f"Tags detected on {classname}.{key}: {func.locust_tag_set}"
            )
    reached: set[str] = set()
    pending = [next(iter(tasks))]
    while pending:
        key = pending.pop()
        if key not in reached:
            reached.add(key)
            pending.extend(set(weighted_targets(tasks[key].transitions)))
    unreachable = set(tasks) - reached
    if unreachable:
        logger.warning("The following markov tasks are unreachable in class %s: %s", classname, unreachable)
    return tasks


class MarkovTaskSetMeta(TaskSetMeta):
    """Checks the chain of a concrete MarkovTaskSet and precomputes each task's weighted targets."""

    def __new__(mcs, classname: str, bases: tuple[type, ...], class_dict: dict[str, Any]) -> MarkovTaskSetMeta:
        if not class_dict.get("abstract"):
            tasks = _check_chain(classname, class_dict)
            first = next(iter(tasks))
            class_dict["current"] = tasks[first]
            class_dict["_markov_current"] = first
            class_dict["_markov_targets"] = {key: weighted_targets(func.transitions) for key, func in tasks.items()}
            class_dict.setdefault("abstract", False)
        return super().__new__(mcs, classname, bases, class_dict)  # type: ignore[return-value]


class MarkovTaskSet(TaskSet, metaclass=MarkovTaskSetMeta):
    """Runs its tasks as a Markov chain: the first declared task first, then a weighted move after each task.

    Like any TaskSet it runs until a task calls ``interrupt()``; each user starts the chain from the beginning.
    """

    abstract = True
    #: the task that runs next (Locust's attribute)
    current: Any
    _markov_current: str
    _markov_targets: dict[str, list[str]] = {}

    def get_next_task(self) -> Any:
        running = getattr(self, self._markov_current)
        self._markov_current = random.choice(self._markov_targets[self._markov_current])
        self.current = getattr(self, self._markov_current)
        return running
