"""The Dispatcher's pure logic: which worker runs how many users of which class, step by step.

Nothing here touches a clock, a socket or a random generator, so the same commands always give the same steps
and a journal's `dispatch.step` events fold back into the very state that produced them (ADR 0006). The rules:

- Class totals are always `target_counts` of the step's total: fixed counts first, the rest by weight with
  largest-remainder rounding, so no class is ever a whole user off its exact share.
- Each class is spread evenly over the workers, and so are the per-worker totals (two workers never differ by
  more than one), changing as few (worker, class) counts as the new totals allow.
- A ramp moves the cluster total at the spawn rate, one step at once and then one per second (or per 1/rate
  seconds below one user per second); workers joining or leaving are rebalanced at once, not at the spawn
  rate.

All the work is arithmetic per (class, worker), never per user, so a million users cost what a hundred do.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

from msgspec.structs import replace

from horde.protocol.dispatcher_vocabulary import (
    AddWorker,
    AddWorkers,
    DispatchCause,
    DispatchCommand,
    DispatchState,
    DispatchStep,
    RampTick,
    RampTo,
    RemoveWorker,
    RemoveWorkers,
    StartOver,
    UserClassSpec,
)
from horde.protocol.states import GONE_STATES, WorkerState

# Float slack when comparing a tick's time with a step's due time; far below any meaningful timer resolution.
_TIME_SLACK = 1e-9


def initial_state(classes: Sequence[UserClassSpec]) -> DispatchState:
    """Classes are kept sorted by name, so the order the caller lists them in never changes a decision."""
    ordered = tuple(sorted(classes, key=lambda spec: spec.name))
    names = [spec.name for spec in ordered]
    if len(set(names)) != len(names):
        raise ValueError(f"user class names must be unique, got {names}")
    for spec in ordered:
        if not math.isfinite(spec.weight) or spec.weight < 0:
            raise ValueError(f"user class {spec.name!r} has weight {spec.weight}; it must be finite and >= 0")
        if spec.fixed_count < 0:
            raise ValueError(f"user class {spec.name!r} has fixed_count {spec.fixed_count}; it must be >= 0")
    return DispatchState(classes=ordered)


def target_counts(
    classes: Sequence[UserClassSpec], user_count: int, user_classes: Sequence[str] | None = None
) -> dict[str, int]:
    """How many users of each class `user_count` users are, with every class of `classes` present.

    Classes with a fixed_count get it first. Should `user_count` fall short of the fixed counts together, it
    is split among the fixed classes in proportion to their fixed counts (same rounding as below), so a ramp
    through that zone grows them all together. The rest is shared by weight, rounded by largest remainder with
    ties going to the class whose name sorts first; computed in exact fractions, so no class is a whole user
    off its share. Classes outside `user_classes` get none. If no class has a positive weight, users beyond
    the fixed counts are not placed at all (the sum is then below `user_count`, as in Locust).
    """
    if user_count < 0:
        raise ValueError(f"user_count must be >= 0, got {user_count}")
    ordered = sorted(classes, key=lambda spec: spec.name)
    counts = {spec.name: 0 for spec in ordered}
    chosen = ordered if user_classes is None else [spec for spec in ordered if spec.name in set(user_classes)]
    fixed = [spec for spec in chosen if spec.fixed_count > 0]
    fixed_sum = sum(spec.fixed_count for spec in fixed)
    if user_count <= fixed_sum:
        counts.update(_largest_remainder(user_count, [(spec.name, Fraction(spec.fixed_count)) for spec in fixed]))
        return counts
    counts.update({spec.name: spec.fixed_count for spec in fixed})
    weighted = [(spec.name, Fraction(spec.weight)) for spec in chosen if spec.fixed_count == 0 and spec.weight > 0]
    counts.update(_largest_remainder(user_count - fixed_sum, weighted))
    return counts


def _largest_remainder(total: int, weights: Sequence[tuple[str, Fraction]]) -> dict[str, int]:
    weight_sum = sum((weight for _, weight in weights), Fraction(0))
    if total == 0 or weight_sum == 0:
        return {name: 0 for name, _ in weights}
    quotas = [total * weight / weight_sum for _, weight in weights]
    counts = [math.floor(quota) for quota in quotas]
    left_over = total - sum(counts)
    by_remainder = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], weights[i][0]))
    for i in by_remainder[:left_over]:
        counts[i] += 1
    return {name: count for (name, _), count in zip(weights, counts, strict=True)}


# --- reading the state --------------------------------------------------------------------------------------


def assignment_of(state: DispatchState) -> Mapping[str, Mapping[str, int]]:
    return state.assignment


def class_totals(state: DispatchState) -> dict[str, int]:
    totals = {spec.name: 0 for spec in state.classes}
    for counts in state.assignment.values():
        for name, count in counts.items():
            totals[name] += count
    return totals


def goal_of(state: DispatchState) -> int:
    """The total the current ramp heads for: the target, less what no class can take (fixed-only classes)."""
    return sum(target_counts(state.classes, state.target, state.user_classes).values())


def ramp_in_progress(state: DispatchState) -> bool:
    """A ramp waits for a worker: with none, there is nothing to step (the first join restarts it)."""
    return bool(state.workers) and state.total != goal_of(state)


def next_tick_at(state: DispatchState) -> float | None:
    if not ramp_in_progress(state):
        return None
    return _step_time(state, state.ramp_steps_done)


def _step_interval(spawn_rate: float) -> float:
    """At one user per second or more a step every second; below, one user every 1/rate seconds."""
    return 1.0 / spawn_rate if spawn_rate < 1 else 1.0


def _step_time(state: DispatchState, step_index: int) -> float:
    return state.ramp_started_at + step_index * _step_interval(state.spawn_rate)


def _users_moved(spawn_rate: float, steps: int) -> int:
    """Users a ramp has started (or stopped) after `steps` steps; the first step is immediate.

    The rate is read as the decimal its repr shows (2.4 is 12/5, not the binary float just below), so 2.4
    users per second are exactly 12 users after 5 steps: never truncated per step, never drifting.
    """
    if spawn_rate < 1:
        return steps
    return math.floor(Fraction(repr(spawn_rate)) * steps)


def _ramp_total(ramp_from: int, goal: int, spawn_rate: float, steps: int) -> int:
    moved = _users_moved(spawn_rate, steps)
    if goal >= ramp_from:
        return min(goal, ramp_from + moved)
    return max(goal, ramp_from - moved)


# --- deciding -----------------------------------------------------------------------------------------------


def decide(state: DispatchState, command: DispatchCommand) -> list[DispatchStep]:
    """The steps a command calls for; none when it changes nothing (a repeated target, an early tick)."""
    match command:
        case RampTo():
            return _on_ramp_to(state, command)
        case RampTick():
            return _on_ramp_tick(state, command)
        case AddWorker() | AddWorkers():
            return _on_add_worker(state, command)
        case RemoveWorker() | RemoveWorkers():
            return _on_remove_worker(state, command)
        case StartOver():
            return _on_start_over(state, command)
    raise TypeError(f"the Dispatcher has no command {type(command).__name__}")


def _on_ramp_to(state: DispatchState, command: RampTo) -> list[DispatchStep]:
    if command.user_count < 0:
        raise ValueError(f"user_count must be >= 0, got {command.user_count}")
    if not math.isfinite(command.spawn_rate) or command.spawn_rate <= 0:
        raise ValueError(f"spawn_rate must be finite and > 0, got {command.spawn_rate}")
    subset = None if command.user_classes is None else tuple(sorted(set(command.user_classes)))
    if subset is not None:
        unknown = set(subset) - {spec.name for spec in state.classes}
        if unknown:
            raise ValueError(f"unknown user classes {sorted(unknown)}")
    if (command.user_count, command.spawn_rate, subset) == (
        state.target,
        state.spawn_rate,
        state.user_classes,
    ):
        return []
    retargeted = _with_ramp(
        state,
        target=command.user_count,
        spawn_rate=command.spawn_rate,
        user_classes=subset,
        ramp_started_at=command.now,
        ramp_from=state.total,
    )
    if not state.workers:
        return [_step(state, retargeted, at=command.now, cause=DispatchCause.NEW_TARGET, assignment={})]
    return [_ramp_step(state, retargeted, command.now, cause=DispatchCause.NEW_TARGET, step_index=0)]


def _on_ramp_tick(state: DispatchState, command: RampTick) -> list[DispatchStep]:
    if not ramp_in_progress(state):
        return []
    if command.now + _TIME_SLACK < _step_time(state, state.ramp_steps_done):
        return []
    elapsed_steps = (command.now - state.ramp_started_at) / _step_interval(state.spawn_rate)
    # A late tick catches up in one step: the total follows rate x time, whatever the tick's delay.
    due = max(state.ramp_steps_done, math.floor(elapsed_steps + _TIME_SLACK))
    return [_ramp_step(state, state, command.now, cause=DispatchCause.RAMP_TICK, step_index=due)]


def _on_add_worker(state: DispatchState, command: AddWorker | AddWorkers) -> list[DispatchStep]:
    """One join or a burst of them, planned once: a burst of 5,000 costs one spread, not 5,000 (ADR 0031)."""
    asked = (command.worker_id,) if isinstance(command, AddWorker) else command.worker_ids
    newcomers = tuple(dict.fromkeys(worker for worker in asked if worker not in state.assignment))
    if not newcomers:
        return []
    named = _named(newcomers)
    if state.workers and state.total == 0:  # a cluster filling up before a test: nobody else changes
        nobody = {spec.name: 0 for spec in state.classes}
        rows = {worker: dict(nobody) for worker in newcomers}
        cause = DispatchCause.WORKER_JOINED
        return [_step(state, state, at=command.now, cause=cause, assignment=rows, only_changed=True, **named)]
    workers = tuple(sorted((*state.workers, *newcomers)))
    if state.workers:
        assignment = _spread(state, state.total, workers)
        return [_step(state, state, at=command.now, cause=DispatchCause.WORKER_JOINED, assignment=assignment, **named)]
    # The cluster was empty, so nobody ran the ramp: it starts again from zero, now.
    restarted = _with_ramp(state, ramp_started_at=command.now, ramp_from=0)
    joined = _step(
        state,
        restarted,
        at=command.now,
        cause=DispatchCause.WORKER_JOINED,
        assignment=_spread(state, 0, workers),
        **named,
    )
    after = apply(state, joined)
    if not ramp_in_progress(after):
        return [joined]
    return [joined, _ramp_step(after, after, command.now, cause=DispatchCause.RAMP_TICK, step_index=0)]


def _on_remove_worker(state: DispatchState, command: RemoveWorker | RemoveWorkers) -> list[DispatchStep]:
    if command.reason not in GONE_STATES:
        raise ValueError(f"reason must be one of {', '.join(sorted(GONE_STATES))}, got {command.reason!r}")
    asked = (command.worker_id,) if isinstance(command, RemoveWorker) else command.worker_ids
    leavers = tuple(dict.fromkeys(worker for worker in asked if worker in state.assignment))
    if not leavers:
        return []
    cause = DispatchCause.WORKER_LEFT if command.reason == WorkerState.LEFT else DispatchCause.WORKER_MISSING
    gone = set(leavers)
    workers = tuple(worker for worker in state.workers if worker not in gone)
    # Their users go to the others at once: waiting for the spawn rate would leave the load short meanwhile.
    assignment = _spread(state, state.total if workers else 0, workers)
    return [_step(state, state, at=command.now, cause=cause, assignment=assignment, **_named(leavers))]


def _named(workers: tuple[str, ...]) -> dict[str, Any]:
    """How a step names the workers it was for: one as `worker_id`, as ever; a burst as `worker_ids`."""
    return {"worker_id": workers[0]} if len(workers) == 1 else {"worker_ids": workers}


def _on_start_over(state: DispatchState, command: StartOver) -> list[DispatchStep]:
    """The workers stopped every user at the end of the last test: the assignment says so, and the ramp is reset."""
    fresh = _with_ramp(state, target=0, ramp_started_at=command.now, ramp_from=0)
    nobody = {worker: {spec.name: 0 for spec in state.classes} for worker in state.workers}
    if state.total == 0 and state.target == 0 and all(counts == nobody[w] for w, counts in state.assignment.items()):
        return []
    return [_step(state, fresh, at=command.now, cause=DispatchCause.NEW_TEST, assignment=nobody)]


def _with_ramp(state: DispatchState, **changes: object) -> DispatchState:
    """A copy of `state` with a fresh ramp (no step taken yet) and whatever else changes."""
    return replace(state, **{"ramp_steps_done": 0, **changes})


def _ramp_step(
    state: DispatchState, ramp: DispatchState, now: float, *, cause: DispatchCause, step_index: int
) -> DispatchStep:
    """Step `step_index` of the ramp described by `ramp` (its target and ramp fields), taken from `state`."""
    total = _ramp_total(ramp.ramp_from, goal_of(ramp), ramp.spawn_rate, step_index + 1)
    stepped = _with_ramp(ramp, ramp_steps_done=step_index + 1)
    assignment = _spread(stepped, total, state.workers, current=state.assignment)
    return _step(state, stepped, at=now, cause=cause, assignment=assignment)


def _step(
    state: DispatchState,
    ramp: DispatchState,
    *,
    at: float,
    cause: DispatchCause,
    assignment: dict[str, dict[str, int]],
    worker_id: str | None = None,
    worker_ids: tuple[str, ...] = (),
    only_changed: bool = False,
) -> DispatchStep:
    """The event that moves `state` to `assignment`, carrying `ramp`'s target and ramp fields.

    With `only_changed`, `assignment` holds only the workers that change, and no worker leaves: a join to a
    cluster without users then costs what the newcomers do, not a pass over every worker (ADR 0031).
    """
    removed: tuple[str, ...] = ()
    if only_changed:
        changed, total = assignment, state.total + _users_added(state.assignment, assignment)
    else:
        changed = {
            worker: counts
            for worker, counts in assignment.items()
            if (old := state.assignment.get(worker)) is not counts and old != counts
        }
        removed = tuple(worker for worker in state.workers if worker not in assignment)
        total = sum(sum(counts.values()) for counts in assignment.values())
    return DispatchStep(
        step=state.last_step + 1,
        at=at,
        cause=cause,
        target=ramp.target,
        total=total,
        ramp_done=total == goal_of(ramp),
        spawn_rate=ramp.spawn_rate,
        user_classes=ramp.user_classes,
        ramp_started_at=ramp.ramp_started_at,
        ramp_from=ramp.ramp_from,
        ramp_steps_done=ramp.ramp_steps_done,
        class_totals=target_counts(ramp.classes, total, ramp.user_classes),
        changed=changed,
        removed=removed,
        worker_id=worker_id,
        worker_ids=worker_ids,
    )


def _users_added(before: Mapping[str, Mapping[str, int]], rows: Mapping[str, Mapping[str, int]]) -> int:
    no_users: Mapping[str, int] = {}
    return sum(sum(row.values()) - sum(before.get(worker, no_users).values()) for worker, row in rows.items())


# --- the spread ---------------------------------------------------------------------------------------------


def _spread(
    state: DispatchState,
    total: int,
    workers: Sequence[str],
    current: Mapping[str, Mapping[str, int]] | None = None,
) -> dict[str, dict[str, int]]:
    """Place `total` users (split by `target_counts`) on `workers`, as close to `current` as evenness allows.

    Every class c of m users gives each worker m // n, and m % n workers one extra. Which workers get the
    extras is the only choice, and it is made to keep what workers already run:
    1. an extra goes first to workers that already run more than the base of that class (keeping, not moving);
    2. the extras still to place go to the workers with the fewest extras so far (on a fresh dispatch this is
       a round robin that carries on from class to class, which also keeps the totals even);
    3. if the per-worker totals still differ by more than one, an extra moves from a worker with too many to
       one with too few, choosing the class whose move disturbs the fewest running users.
    Unchanged workers keep their very dict, so a step's delta is found by identity.
    """
    worker_count = len(workers)
    if worker_count == 0:
        return {}
    current = state.assignment if current is None else current
    names = [spec.name for spec in state.classes]
    counts = target_counts(state.classes, total, state.user_classes)
    no_users: Mapping[str, int] = {}
    running = [current.get(worker, no_users) for worker in workers]

    bases: list[int] = []
    extras_wanted: list[int] = []
    keeps: list[list[bool]] = []
    for name in names:
        base, extras = divmod(counts[name], worker_count)
        bases.append(base)
        extras_wanted.append(extras)
        keeps.append([row.get(name, 0) > base for row in running])

    has_extra = [[False] * worker_count for _ in names]
    extra_count = [0] * worker_count

    def give(class_index: int, worker_indexes: Sequence[int]) -> None:
        for i in worker_indexes:
            has_extra[class_index][i] = True
            extra_count[i] += 1

    for c in range(len(names)):
        keepers = [i for i, keep in enumerate(keeps[c]) if keep]
        if len(keepers) > extras_wanted[c]:
            keepers = heapq.nsmallest(extras_wanted[c], keepers, key=lambda i: (extra_count[i], i))
        give(c, keepers)

    ceiling = -(-sum(extras_wanted) // worker_count)
    for i in range(worker_count):
        while extra_count[i] > ceiling:
            dropped = max(c for c in range(len(names)) if has_extra[c][i])
            has_extra[dropped][i] = False
            extra_count[i] -= 1

    missing = [extras_wanted[c] - sum(has_extra[c]) for c in range(len(names))]
    # The class with the fewest spare candidates first, so that it still finds workers with room.
    for c in sorted(range(len(names)), key=lambda c: (worker_count - extras_wanted[c], c)):
        if missing[c] > 0:
            free = [i for i, taken in enumerate(has_extra[c]) if not taken]
            give(c, heapq.nsmallest(missing[c], free, key=lambda i: (extra_count[i], i)))

    quota = _extra_quotas(extra_count, [sum(row.values()) for row in running], sum(extras_wanted))
    _even_out(has_extra, extra_count, keeps, quota)

    result: dict[str, dict[str, int]] = {}
    for i, worker in enumerate(workers):
        row = {name: bases[c] + has_extra[c][i] for c, name in enumerate(names)}
        old = current.get(worker)
        result[worker] = old if old == row and isinstance(old, dict) else row
    return result


def _extra_quotas(kept: Sequence[int], running: Sequence[int], extras: int) -> list[int]:
    """How many extras each worker ends with: all the same but for one more on `extras % n` of them.

    The workers with one more are those that keep the most extras already, then those running the most users,
    so that the fewest users have to stop.
    """
    worker_count = len(kept)
    low, high_slots = divmod(extras, worker_count)
    quota = [low] * worker_count
    for i in sorted(range(worker_count), key=lambda i: (-kept[i], -running[i], i))[:high_slots]:
        quota[i] = low + 1
    return quota


def _even_out(has_extra: list[list[bool]], extra_count: list[int], keeps: list[list[bool]], quota: list[int]) -> None:
    """Move extras from workers above their quota to workers below it, at the least cost in changed counts.

    Rarely needed: only when the greedy fill above could not place a class's extras on workers with room.
    """
    poor = [i for i, count in enumerate(extra_count) if count < quota[i]]
    for rich in range(len(extra_count)):
        while extra_count[rich] > quota[rich]:
            # Losing a kept extra stops a user, gaining an unwanted one starts a user: cost counts both.
            moves = [
                (keeps[c][rich] - keeps[c][taker], c, taker)
                for taker in poor
                if extra_count[taker] < quota[taker]
                for c in range(len(has_extra))
                if has_extra[c][rich] and not has_extra[c][taker]
            ]
            _, c, taker = min(moves)
            has_extra[c][rich] = False
            has_extra[c][taker] = True
            extra_count[rich] -= 1
            extra_count[taker] += 1


# --- applying -----------------------------------------------------------------------------------------------


def apply(state: DispatchState, event: DispatchStep) -> DispatchState:
    """The only way the Dispatcher's state changes; replay is a fold of `dispatch.step` events through it."""
    if event.removed:
        gone = set(event.removed)
        assignment = {worker: counts for worker, counts in state.assignment.items() if worker not in gone}
    else:
        assignment = dict(state.assignment)
    joined = False
    for worker, counts in event.changed.items():
        joined = joined or worker not in assignment
        assignment[worker] = dict(counts)
    if event.removed:
        workers = tuple(sorted(assignment))
    elif joined:  # the old list is sorted already: sorting it with the newcomers appended is a merge
        workers = tuple(
            sorted((*state.workers, *(worker for worker in event.changed if worker not in state.assignment)))
        )
    else:
        workers = state.workers
    return DispatchState(
        classes=state.classes,
        workers=workers,
        assignment=assignment,
        total=event.total,
        target=event.target,
        spawn_rate=event.spawn_rate,
        user_classes=event.user_classes,
        ramp_started_at=event.ramp_started_at,
        ramp_from=event.ramp_from,
        ramp_steps_done=event.ramp_steps_done,
        last_step=event.step,
    )
