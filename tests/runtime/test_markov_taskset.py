"""MarkovTaskSet: the chain is checked at class creation with Locust's messages, and moves follow the weights."""

from __future__ import annotations

import logging
import random
from collections import Counter
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from horde.runtime.exceptions import LocustError
from horde.runtime.markov_taskset import (
    InvalidTransitionError,
    MarkovTaskSet,
    MarkovTaskTagError,
    NoMarkovTasksError,
    NonMarkovTaskTransitionError,
    transition,
    transitions,
)
from horde.runtime.tasks import tag
from horde.runtime.wait_time import constant


def _noop(self: Any) -> None:
    pass


def _chain(name: str, table: dict[str, dict[str, int]]) -> type[MarkovTaskSet]:
    """A MarkovTaskSet whose tasks (in `table`'s order) have the given transitions."""
    body: dict[str, Any] = {}
    for task_name, moves in table.items():

        def func(self: Any) -> None:
            pass

        func.__name__ = task_name
        body[task_name] = transitions(moves)(func)
    return type(name, (MarkovTaskSet,), body)


def _instance(cls: type[MarkovTaskSet]) -> MarkovTaskSet:
    return cls(SimpleNamespace(wait_time=constant(0)))  # type: ignore[arg-type]


def test_the_chain_starts_at_the_first_task_and_follows_transitions() -> None:
    class Chain(MarkovTaskSet):
        @transition("b")
        def a(self) -> None: ...

        @transition("c")
        @transition("a", weight=0)
        def b(self) -> None: ...

        @transitions(["a"])
        def c(self) -> None: ...

    chain = _instance(Chain)
    names = [chain.get_next_task().__name__ for _ in range(7)]
    assert names == ["a", "b", "c", "a", "b", "c", "a"]


def test_an_abstract_markov_task_set_is_not_checked() -> None:
    class Base(MarkovTaskSet):
        abstract = True

    class Concrete(Base):
        @transition("only")
        def only(self) -> None: ...

    assert Concrete.current is Concrete.__dict__["only"]


@pytest.mark.parametrize(
    ("table", "error", "message"),
    [
        ({}, NoMarkovTasksError, "No Markov tasks defined in class Bad. Use the @transition(s) decorators"),
        ({"a": {"nowhere": 1}}, InvalidTransitionError, "Transition to nowhere from a is invalid since no such"),
    ],
)
def test_a_broken_chain_fails_at_class_creation(table: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        _chain("Bad", table)


def test_a_transition_to_a_plain_method_is_refused() -> None:
    with pytest.raises(NonMarkovTaskTransitionError, match=r"Bad\.plain cannot be used as a target for a transition"):
        type("Bad", (MarkovTaskSet,), {"a": transition("plain")(lambda self: None), "plain": _noop})


def test_tags_and_run_are_refused() -> None:
    with pytest.raises(MarkovTaskTagError, match="Tags are unsupported for MarkovTaskSet"):

        class Tagged(MarkovTaskSet):
            @tag("x")
            @transition("a")
            def a(self) -> None: ...

    with pytest.raises(LocustError, match=r"TaskSet.run\(\) is a method used internally"):

        class Running(MarkovTaskSet):
            @transition("run")
            def run(self) -> None: ...


def test_unreachable_tasks_are_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        _chain("Island", {"a": {"a": 1}, "b": {"a": 1}})
    assert "unreachable in class Island: {'b'}" in caplog.text


@settings(max_examples=25, deadline=None)
@given(
    weights=st.lists(st.integers(min_value=0, max_value=6), min_size=1, max_size=4).filter(lambda w: sum(w) > 0),
    seed=st.integers(min_value=0, max_value=2**32 - 1),
)
def test_moves_follow_the_weights(weights: list[int], seed: int) -> None:
    """From `hub`, each target is reached with probability weight / total (a weight of 0 never)."""
    targets = [f"t{i}" for i in range(len(weights))]
    table = {"hub": dict(zip(targets, weights, strict=True)), **{t: {"hub": 1} for t in targets}}
    chain = _instance(_chain("Star", table))
    random.seed(seed)
    draws = 3000
    seen: Counter[str] = Counter()
    for _ in range(draws):
        assert chain.get_next_task().__name__ == "hub"
        seen[chain.get_next_task().__name__] += 1
    total = sum(weights)
    for target, weight in zip(targets, weights, strict=True):
        p = weight / total
        if weight == 0:
            assert seen[target] == 0
        else:
            tolerance = 5 * (p * (1 - p) / draws) ** 0.5 + 1e-9
            assert abs(seen[target] / draws - p) <= tolerance, (target, seen, weights)
