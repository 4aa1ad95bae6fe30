"""The Dispatcher's vocabulary: its commands, its one event, and the state that event folds into.

These types cross time (the journal) and so live in the protocol package. `DispatchStep` carries a delta of
the assignment plus every ramp parameter, so that replay rebuilds the Dispatcher's state from events alone,
without the commands that caused them (ADR 0006).

Each command's `cause` is what the journal records as the cause of the steps it leads to: the name the command
had when journals began, kept so that journals stay alike whatever the command is called.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

import msgspec

LOCAL_WORKER_ID = "local"


class DispatchCause(StrEnum):
    """Why the Dispatcher took a step (`DispatchStep.cause`): the same strings in the journal as ever."""

    NEW_TARGET = "new_target"
    RAMP_TICK = "ramp_tick"
    WORKER_JOINED = "worker_joined"
    WORKER_LEFT = "worker_left"
    WORKER_MISSING = "worker_missing"
    NEW_TEST = "new_test"


class UserClassSpec(msgspec.Struct, frozen=True):
    """What the Dispatcher needs of a User class: a `fixed_count` above zero overrides the weight."""

    name: str
    weight: float
    fixed_count: int = 0


class RampTo(msgspec.Struct, frozen=True, tag="dispatch.set_target", tag_field="type"):
    """Ramp the cluster to `user_count` users at `spawn_rate` users per second, from wherever it is now.

    `user_classes`, when given (a LoadTestShape stage, a class picker), limits the target to those classes.
    """

    cause: ClassVar[str] = "SetTarget"

    now: float
    user_count: int
    spawn_rate: float
    user_classes: tuple[str, ...] | None = None


class RampTick(msgspec.Struct, frozen=True, tag="dispatch.tick", tag_field="type"):
    """Take the ramp's steps that are due by `now`: the clock, delivered as a message (the logic never reads one)."""

    cause: ClassVar[str] = "Tick"

    now: float


class AddWorker(msgspec.Struct, frozen=True, tag="dispatch.worker_joined", tag_field="type"):
    """Give `worker_id` its share of the users: it was admitted to the run."""

    cause: ClassVar[str] = "WorkerJoined"

    now: float
    worker_id: str


class RemoveWorker(msgspec.Struct, frozen=True, tag="dispatch.worker_left", tag_field="type"):
    """Share out the users of `worker_id`: `reason` is its gone state, left (it said goodbye) or missing (silent)."""

    cause: ClassVar[str] = "WorkerLeft"

    now: float
    worker_id: str
    reason: str


class StartOver(msgspec.Struct, frozen=True, tag="dispatch.start_over", tag_field="type"):
    """A new test of a stopped run (ADR 0034): every worker runs no users now, and no ramp is under way."""

    cause: ClassVar[str] = "NewTest"

    now: float


class AddWorkers(msgspec.Struct, frozen=True, tag="dispatch.workers_joined", tag_field="type"):
    """Give each of `worker_ids` its share at once: a burst of joins planned once, not once per worker (ADR 0031).

    The Dispatcher's shell gathers the joins queued behind each other into this; its step names them all.
    """

    cause: ClassVar[str] = "WorkerJoined"

    now: float
    worker_ids: tuple[str, ...]


class RemoveWorkers(msgspec.Struct, frozen=True, tag="dispatch.workers_left", tag_field="type"):
    """Share out the users of every one of `worker_ids`, all gone for the same `reason`, in one step (ADR 0031)."""

    cause: ClassVar[str] = "WorkerLeft"

    now: float
    worker_ids: tuple[str, ...]
    reason: str


DispatchCommand = RampTo | RampTick | AddWorker | RemoveWorker | AddWorkers | RemoveWorkers | StartOver


class DispatchStep(msgspec.Struct, frozen=True, kw_only=True, tag="dispatch.step", tag_field="type"):
    """One decision of the Dispatcher: who runs which users from `at` on, and why.

    The assignment is a delta: `changed` holds the complete new class map of every worker whose map changed
    (or that joined), `removed` the workers that are gone; every other worker keeps its map. A step caused by
    joins or leaves names its worker in `worker_id`, or its burst of workers in `worker_ids` (ADR 0031). The ramp fields
    are the ramp as it stands after this step, so `apply` needs nothing but the event.
    """

    step: int
    at: float
    cause: DispatchCause
    target: int
    total: int
    ramp_done: bool
    spawn_rate: float
    user_classes: tuple[str, ...] | None
    ramp_started_at: float
    ramp_from: int
    ramp_steps_done: int
    class_totals: dict[str, int]
    changed: dict[str, dict[str, int]]
    removed: tuple[str, ...] = ()
    worker_id: str | None = None
    worker_ids: tuple[str, ...] = ()
    """The workers of a burst of joins or leaves of more than one, in the order they came (then `worker_id` is
    None); empty for a single one and in journals before ADR 0031, which had one step per join or leave."""


class DispatchState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the Dispatcher knows; equal states mean equal futures.

    `total` is the number of users the cluster should be running now (a ramp's position); it is the sum of
    `assignment` whenever there is a worker. `ramp_steps_done` counts the steps taken since `ramp_started_at`,
    so the next step's time and size follow from the ramp fields alone. The dicts are never mutated after
    construction: a new state shares the maps of unchanged workers with the old one.
    """

    classes: tuple[UserClassSpec, ...]
    workers: tuple[str, ...] = ()
    assignment: dict[str, dict[str, int]] = msgspec.field(default_factory=dict)
    total: int = 0
    target: int = 0
    spawn_rate: float = 0.0
    user_classes: tuple[str, ...] | None = None
    ramp_started_at: float = 0.0
    ramp_from: int = 0
    ramp_steps_done: int = 0
    last_step: int = 0
