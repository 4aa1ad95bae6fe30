"""A driver of the Dispatcher's pure logic and the invariants every step keeps, for the dispatch tests."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import reduce

from horde.actors.dispatcher_logic import (
    apply,
    class_totals,
    decide,
    initial_state,
    next_tick_at,
)
from horde.protocol.dispatcher_vocabulary import (
    AddWorker,
    DispatchCommand,
    DispatchState,
    DispatchStep,
    RampTick,
    UserClassSpec,
)


@dataclass
class Dispatcher:
    """What the actor shell does, minus the actor: decide, check every step's invariants, apply, remember."""

    classes: Sequence[UserClassSpec]
    state: DispatchState = field(init=False)
    events: list[DispatchStep] = field(default_factory=list)
    now: float = 0.0

    def __post_init__(self) -> None:
        self.state = initial_state(self.classes)

    def send(self, command: DispatchCommand) -> list[DispatchStep]:
        steps = decide(self.state, command)
        for step in steps:
            before = self.state
            self.state = apply(self.state, step)
            assert_valid_step(before, step, self.state)
        self.events.extend(steps)
        return steps

    def join(self, *workers: str) -> None:
        for worker in workers:
            self.send(AddWorker(self.now, worker))

    def join_unchecked(self, *workers: str) -> None:
        """Joins many workers fast (checking each join of a large cluster is quadratic); checks the end."""
        for worker in workers:
            self.events.extend(steps := decide(self.state, AddWorker(self.now, worker)))
            for step in steps:
                self.state = apply(self.state, step)
        assert_even_spread(self.state)

    def run_until(self, until: float) -> list[DispatchStep]:
        """Tick exactly when the logic asks to, up to `until` included."""
        steps: list[DispatchStep] = []
        while (due := next_tick_at(self.state)) is not None and due <= until:
            self.now = max(self.now, due)
            taken = self.send(RampTick(self.now))
            assert len(taken) == 1, f"a tick at next_tick_at ({due}) takes exactly one step"
            steps.extend(taken)
        self.now = max(self.now, until)
        return steps

    def replayed(self) -> DispatchState:
        return reduce(apply, self.events, initial_state(self.classes))


def assert_exact_shares(
    counts: dict[str, int], classes: Sequence[UserClassSpec], total: int, user_classes: Sequence[str] | None
) -> None:
    """Recomputes the exact shares without `target_counts`: no class may be a whole user off its share."""
    chosen = [spec for spec in classes if user_classes is None or spec.name in user_classes]
    fixed = [spec for spec in chosen if spec.fixed_count > 0]
    weighted = [spec for spec in chosen if spec.fixed_count == 0 and spec.weight > 0]
    for spec in classes:
        if spec not in fixed and spec not in weighted:
            assert counts[spec.name] == 0, (spec.name, counts)
    fixed_sum = sum(spec.fixed_count for spec in fixed)
    if total <= fixed_sum:
        shares = {spec.name: Fraction(total * spec.fixed_count, fixed_sum) for spec in fixed}
        assert all(counts[spec.name] == 0 for spec in weighted), counts
    else:
        assert all(counts[spec.name] == spec.fixed_count for spec in fixed), counts
        weight_sum = sum(Fraction(spec.weight) for spec in weighted)
        shares = {spec.name: (total - fixed_sum) * Fraction(spec.weight) / weight_sum for spec in weighted}
    for name, share in shares.items():
        assert abs(counts[name] - share) < 1, (name, counts[name], share)


def assert_even_spread(state: DispatchState) -> None:
    if not state.workers:
        return
    rows = [state.assignment[worker] for worker in state.workers]
    totals = [sum(row.values()) for row in rows]
    assert max(totals) - min(totals) <= 1, totals
    for spec in state.classes:
        column = [row[spec.name] for row in rows]
        assert max(column) - min(column) <= 1, (spec.name, column)


def assert_valid_step(before: DispatchState, step: DispatchStep, after: DispatchState) -> None:
    assert step.step == before.last_step + 1
    assert set(after.assignment) == set(after.workers)
    assert list(after.workers) == sorted(after.workers)
    totals = class_totals(after)
    assert sum(totals.values()) == after.total == step.total
    assert step.class_totals == totals
    if not after.workers:
        assert after.total == 0
    assert_exact_shares(totals, after.classes, after.total, after.user_classes)
    assert_even_spread(after)
    if step.cause in ("worker_left", "worker_missing", "worker_joined") and before.workers and after.workers:
        assert after.total == before.total, "a join or a leave never changes how many users run"


def per_worker_totals(state: DispatchState) -> dict[str, int]:
    return {worker: sum(counts.values()) for worker, counts in state.assignment.items()}
