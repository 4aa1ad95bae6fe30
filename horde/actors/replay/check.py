"""The check: would the Dispatcher decide the same today? Every journal is a regression test of dispatch.

`check` re-runs the Dispatcher's pure `decide` on the states folded from the journal (`horde.actors.replay.fold`)
and compares each decision with the step that was recorded; `check_checkpoints` compares each journal checkpoint
with the fold of the events before it (ADR 0009).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import msgspec

from horde.actors import dispatcher_logic
from horde.actors.replay.fold import Replay, ReplayState, class_specs
from horde.protocol.dispatcher_vocabulary import (
    AddWorker,
    AddWorkers,
    DispatchCause,
    DispatchCommand,
    DispatchStep,
    RampTick,
    RampTo,
    RemoveWorker,
    RemoveWorkers,
)
from horde.protocol.events import JournalCheckpoint, RunConfigured, StatsSnapshot, WorkerLeft, WorkerMissing
from horde.protocol.journal import Record
from horde.protocol.states import WorkerState

_GONE_CAUSES = (DispatchCause.WORKER_MISSING, DispatchCause.WORKER_LEFT)


@dataclass(frozen=True, slots=True)
class Divergence:
    seq: int
    command: DispatchCommand
    expected: DispatchStep | None
    recorded: DispatchStep | None
    reason: str = ""

    def describe(self) -> str:
        command = f"{type(self.command).__name__}({_fields(self.command)})"
        if self.reason:
            return f"seq {self.seq}: {command}: {self.reason}"
        if self.expected is None or self.recorded is None:
            missing = "recorded step has no counterpart" if self.expected is None else "a step is missing"
            return f"seq {self.seq}: {command}: {missing}"
        differences = [
            f"{name}: expected {getattr(self.expected, name)!r}, recorded {getattr(self.recorded, name)!r}"
            for name in self.expected.__struct_fields__
            if getattr(self.expected, name) != getattr(self.recorded, name)
        ]
        return f"seq {self.seq}: step {self.recorded.step} ({self.recorded.cause}) after {command}: " + "; ".join(
            differences
        )


@dataclass(frozen=True, slots=True)
class CheckResult:
    commands: int
    steps: int
    divergence: Divergence | None
    checkpoints: int = 0
    bad_checkpoint: str = ""
    """Why the first checkpoint that differs from the fold of the events before it does (ADR 0009)."""

    @property
    def ok(self) -> bool:
        return self.divergence is None and not self.bad_checkpoint


def check_checkpoints(records: Iterable[Record]) -> tuple[int, str]:
    """Each checkpoint against the fold of every event before it: `(checkpoints equal, first difference)`."""
    fold = Replay()
    previous: Record | None = None
    equal = 0
    for record in records:
        event = record.event
        if isinstance(event, JournalCheckpoint):
            snapshot = previous.event if previous is not None and previous.seq == event.stats_seq else None
            if not isinstance(snapshot, StatsSnapshot):
                return equal, f"seq {record.seq}: no stats.snapshot {event.stats_seq} right before the checkpoint"
            try:
                restored = Replay.from_checkpoint(event, snapshot).state()
            except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
                return equal, f"seq {record.seq}: the checkpoint cannot be read: {exc}"
            folded = fold.state()
            if restored != folded:
                parts = [
                    name
                    for name in ReplayState.__dataclass_fields__
                    if getattr(restored, name) != getattr(folded, name)
                ]
                return equal, f"seq {record.seq}: the checkpoint differs from the fold in {', '.join(parts)}"
            equal += 1
        fold.feed(record)
        previous = record
    return equal, ""


def _fields(struct: msgspec.Struct) -> str:
    return ", ".join(f"{name}={getattr(struct, name)!r}" for name in struct.__struct_fields__)


def command_of(step: DispatchStep) -> DispatchCommand:
    """The command that made the first step of a decision: its cause and its fields say which, and with what."""
    if step.cause == DispatchCause.NEW_TARGET:
        return RampTo(now=step.at, user_count=step.target, spawn_rate=step.spawn_rate, user_classes=step.user_classes)
    if step.cause == DispatchCause.WORKER_JOINED and step.worker_ids:
        return AddWorkers(now=step.at, worker_ids=step.worker_ids)
    if step.cause == DispatchCause.WORKER_JOINED and step.worker_id is not None:
        return AddWorker(now=step.at, worker_id=step.worker_id)
    if step.cause in (DispatchCause.WORKER_LEFT, DispatchCause.WORKER_MISSING) and step.worker_ids:
        gone = WorkerState.LEFT if step.cause == DispatchCause.WORKER_LEFT else WorkerState.MISSING
        return RemoveWorkers(now=step.at, worker_ids=step.worker_ids, reason=gone)
    if step.cause in (DispatchCause.WORKER_LEFT, DispatchCause.WORKER_MISSING) and step.worker_id is not None:
        gone = WorkerState.LEFT if step.cause == DispatchCause.WORKER_LEFT else WorkerState.MISSING
        return RemoveWorker(now=step.at, worker_id=step.worker_id, reason=gone)
    return RampTick(now=step.at)


def check(records: Iterable[Record]) -> CheckResult:
    """Re-decide every recorded dispatch decision from the state before it; the first disagreement is reported.

    One command may make several steps (a first worker joining makes a `worker_joined` step and the ramp's first
    `ramp_tick`), so each rebuilt command is compared with as many recorded steps as `decide` returns now.
    A journal that ends inside such a group (a killed master) is not a divergence.
    """
    state = dispatcher_logic.initial_state(())
    steps: list[tuple[int, DispatchStep]] = []
    commands = checked = 0

    def flush() -> Divergence | None:
        nonlocal state, commands, checked
        i = 0
        while i < len(steps):
            seq, first = steps[i]
            command = command_of(first)
            commands += 1
            try:
                expected = dispatcher_logic.decide(state, command)
            except (ValueError, TypeError) as exc:
                return Divergence(seq, command, None, first, reason=f"decide refused it: {exc}")
            if not expected:
                return Divergence(seq, command, None, first, reason="decide makes no step for it now")
            for k, step in enumerate(expected):
                if i + k >= len(steps):
                    return None
                recorded_seq, recorded = steps[i + k]
                if step != recorded:
                    return Divergence(recorded_seq, command, step, recorded)
                state = dispatcher_logic.apply(state, recorded)
                checked += 1
            i += len(expected)
        steps.clear()
        return None

    facts: dict[str, WorkerState] = {}  # worker -> MISSING or LEFT, the latest journaled
    wrong_cause: Divergence | None = None

    def first(divergence: Divergence | None) -> Divergence | None:
        candidates = [d for d in (divergence, wrong_cause) if d is not None]
        return min(candidates, key=lambda d: d.seq) if candidates else None

    for record in records:
        event = record.event
        if isinstance(event, RunConfigured):
            divergence = first(flush())
            if divergence is not None:
                return CheckResult(commands, checked, divergence)
            state = dispatcher_logic.initial_state(class_specs(event))
        elif isinstance(event, WorkerMissing | WorkerLeft):
            facts[event.worker_id] = WorkerState.MISSING if isinstance(event, WorkerMissing) else WorkerState.LEFT
        elif isinstance(event, DispatchStep):
            steps.append((record.seq, event))
            named = (event.worker_id,) if event.worker_id is not None else event.worker_ids
            for worker_id in named if wrong_cause is None and event.cause in _GONE_CAUSES else ():
                # The cause is what `command_of` rebuilds the command from, so it must match the journaled fact.
                said, fact = event.cause.removeprefix("worker_"), facts.get(worker_id)
                if said != fact:
                    journaled = (
                        {WorkerState.MISSING: "went missing", WorkerState.LEFT: "left"}.get(
                            fact, "neither went missing nor left"
                        )
                        if fact is not None
                        else "neither went missing nor left"
                    )
                    reason = f"cause {event.cause}, but the journal says {worker_id} {journaled}"
                    wrong_cause = Divergence(record.seq, command_of(event), None, event, reason=reason)
                    break
    divergence = first(flush())
    return CheckResult(commands, checked, divergence)
