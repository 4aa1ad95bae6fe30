"""Locust's ``locust.user.markov_taskset``: MarkovTaskSet, its decorators and its errors."""

from horde.runtime.markov_taskset import (
    InvalidTransitionError,
    MarkovTaskSet,
    MarkovTaskSetMeta,
    MarkovTaskTagError,
    NoMarkovTasksError,
    NonMarkovTaskTransitionError,
    transition,
    transitions,
)

__all__ = [
    "InvalidTransitionError",
    "MarkovTaskSet",
    "MarkovTaskSetMeta",
    "MarkovTaskTagError",
    "NoMarkovTasksError",
    "NonMarkovTaskTransitionError",
    "transition",
    "transitions",
]
