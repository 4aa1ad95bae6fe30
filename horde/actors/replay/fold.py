"""Replay: a run's journal folded back into the states its actors held, with their own `apply` functions.

Nothing here decides what an event means: the Master, the WorkerProxy, the Dispatcher and the StatsAggregator
each fold their events exactly as they did live, so a replayed state can only differ from the live one if the
journal does. `check` goes one step further and re-runs the Dispatcher's pure `decide` on the replayed states,
which turns every journal into a regression test of the dispatch logic.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import msgspec

from horde.actors import dispatch, master, stats_aggregator, worker_proxy
from horde.actors.master import MasterState
from horde.actors.stats_aggregator import AggregatorState
from horde.actors.worker_proxy import WorkerProxyState
from horde.protocol.dispatch import (
    DispatchCommand,
    DispatchState,
    DispatchStep,
    SetTarget,
    Tick,
    UserClassSpec,
)
from horde.protocol.dispatch import WorkerJoined as JoinCommand
from horde.protocol.dispatch import WorkerLeft as LeaveCommand
from horde.protocol.events import (
    EVENT_TYPES,
    FrameRejected,
    JournalCheckpoint,
    RunConfigured,
    RunStateChanged,
    RunTargetChanged,
    ShapeTicked,
    StatsReportDropped,
    StatsReported,
    StatsSnapshot,
    WorkerCpuWarning,
    WorkerJoined,
    WorkerLeft,
    WorkerMissing,
    WorkerRejected,
    WorkerStateChanged,
)
from horde.protocol.journal import (
    UPCASTERS,  # noqa: F401 - re-exported for replay users
    Header,
    JournalContents,
    JournalError,
    Record,
    last_lines_of_type,
    lean_decoders,
    line_before,
    open_journal_for_reading,
    read_header,
    records_from,
)
from horde.protocol.journal import decode_record as decode_line
from horde.protocol.journal import read_journal as read  # noqa: F401
from horde.protocol.stats import ErrorDelta, ExceptionDelta


def records_until(
    records: Iterable[Record],
    *,
    until_seq: int | None = None,
    until_seconds: float | None = None,
    started_mono_ns: int = 0,
) -> Iterator[Record]:
    """The records up to and including `until_seq`, or up to `until_seconds` after `started_mono_ns`."""
    limit_ns = None if until_seconds is None else started_mono_ns + round(until_seconds * 1e9)
    for record in records:
        if until_seq is not None and record.seq > until_seq:
            return
        if limit_ns is not None and record.mono_ns > limit_ns:
            return
        yield record


# --- the fold ---------------------------------------------------------------------------------------------------


def class_specs(configured: RunConfigured) -> list[UserClassSpec]:
    """The Dispatcher's classes as `horde run` built them from the same User classes, sorted by name."""
    return [UserClassSpec(name, weight, fixed) for name, (weight, fixed) in sorted(configured.user_classes.items())]


@dataclass(frozen=True, slots=True)
class ReplayState:
    """Every actor's state at one point of a run.

    `aggregator` is the one mutable part (the StatsAggregator merges in place, see its module): a ReplayState
    taken mid-fold shares it with the fold that goes on.
    """

    master: MasterState
    workers: dict[str, WorkerProxyState]
    dispatch: DispatchState
    aggregator: AggregatorState
    seq: int = 0
    mono_ns: int = 0
    wall_ns: int = 0
    events: int = 0
    opaque: dict[str, int] = field(default_factory=dict)
    max_mono_ns: int = 0


CHECKPOINT_IMAGE_VERSION = 1
"""The shape of `_FoldImage`; bump it when a state type changes, and older checkpoints are skipped, not misread."""


class _FoldImage(msgspec.Struct, frozen=True):
    """What a `journal.checkpoint` carries: the fold of everything but the statistics (those are the snapshot's)."""

    master: MasterState
    workers: dict[str, WorkerProxyState]
    dispatch: DispatchState
    seq: int
    mono_ns: int
    wall_ns: int
    max_mono_ns: int
    events: int
    opaque: dict[str, int]


_fold_image_decoder = msgspec.json.Decoder(_FoldImage)


class Replay:
    """The running fold: feed it records in journal order, take a `ReplayState` whenever needed.

    `fold_stats=False` is the Journal's own fold (ADR 0009): it counts statistics events but leaves merging them
    to the StatsAggregator, whose `stats.snapshot` the checkpoint is paired with.
    """

    def __init__(self, *, fold_stats: bool = True) -> None:
        self.master = MasterState()
        self.workers: dict[str, WorkerProxyState] = {}
        self.dispatch = dispatch.initial_state(())
        self.aggregator = AggregatorState()
        self.seq = 0
        self.mono_ns = 0
        self.wall_ns = 0
        self.max_mono_ns = 0
        self.events = 0
        self.opaque: Counter[str] = Counter()
        self._fold_stats = fold_stats

    def feed(self, record: Record) -> None:
        self.feed_event(record.seq, record.mono_ns, record.wall_ns, record.type, record.cause, record.event)

    def feed_event(self, seq: int, mono_ns: int, wall_ns: int, type_name: str, cause: str, event: object) -> None:
        """One event as the Journal wrote it; `event` is whatever it encoded, or read back from its line."""
        self.seq, self.mono_ns, self.wall_ns = seq, mono_ns, wall_ns
        if mono_ns > self.max_mono_ns:
            self.max_mono_ns = mono_ns
        self.events += 1
        if isinstance(event, msgspec.Raw) or type_name not in EVENT_TYPES:
            self.opaque[type_name] += 1
            return
        if isinstance(event, DispatchStep):
            self.dispatch = dispatch.apply(self.dispatch, event)
            return
        if isinstance(event, StatsReported | StatsReportDropped):
            # A report from a worker that was never admitted is dropped by the router, which journals it under
            # the worker's name as cause: the StatsAggregator never saw it, so it does not fold it either.
            if self._fold_stats and not cause.startswith("worker:"):
                self.aggregator = stats_aggregator.apply(self.aggregator, event)
            return
        if isinstance(event, StatsSnapshot | JournalCheckpoint):
            return
        # The Master folds its own events and the worker facts it observes; its `apply` ignores the rest.
        self.master = master.apply(self.master, event)  # type: ignore[arg-type]
        if isinstance(event, RunConfigured):
            self.dispatch = dispatch.initial_state(class_specs(event))
        elif isinstance(event, WorkerJoined):
            self.workers[event.worker_id] = worker_proxy.initial_state(event)
        else:
            worker_id = getattr(event, "worker_id", None)
            proxy = self.workers.get(worker_id) if isinstance(worker_id, str) else None
            if proxy is not None:
                self.workers[proxy.worker_id] = worker_proxy.apply(proxy, event)  # type: ignore[arg-type]

    def image(self) -> bytes:
        """This fold, minus statistics, for a `journal.checkpoint`."""
        return msgspec.json.encode(
            _FoldImage(
                self.master,
                self.workers,
                self.dispatch,
                self.seq,
                self.mono_ns,
                self.wall_ns,
                self.max_mono_ns,
                self.events,
                dict(self.opaque),
            )
        )

    @classmethod
    def from_checkpoint(cls, checkpoint: JournalCheckpoint, snapshot: StatsSnapshot) -> Replay:
        """The fold as it stood at the snapshot, as if every event before it had been fed."""
        if checkpoint.image_version != CHECKPOINT_IMAGE_VERSION:
            raise ValueError(f"checkpoint image version {checkpoint.image_version} is not {CHECKPOINT_IMAGE_VERSION}")
        image = _fold_image_decoder.decode(checkpoint.state)
        fold = cls()
        fold.master, fold.workers, fold.dispatch = image.master, dict(image.workers), image.dispatch
        fold.aggregator = stats_aggregator.restore(snapshot)
        fold.seq, fold.mono_ns, fold.wall_ns = image.seq, image.mono_ns, image.wall_ns
        fold.max_mono_ns, fold.events = image.max_mono_ns, image.events
        fold.opaque = Counter(image.opaque)
        return fold

    def state(self) -> ReplayState:
        return ReplayState(
            master=self.master,
            workers=dict(sorted(self.workers.items())),
            dispatch=self.dispatch,
            aggregator=self.aggregator,
            seq=self.seq,
            mono_ns=self.mono_ns,
            wall_ns=self.wall_ns,
            events=self.events,
            opaque=dict(sorted(self.opaque.items())),
            max_mono_ns=self.max_mono_ns,
        )

    @classmethod
    def from_state(cls, state: ReplayState, *, fold_stats: bool = True) -> Replay:
        """A fold that goes on from a replayed state (a resumed master's Journal goes on from its journal's)."""
        fold = cls(fold_stats=fold_stats)
        fold.master, fold.workers, fold.dispatch, fold.aggregator = (
            state.master,
            dict(state.workers),
            state.dispatch,
            state.aggregator,
        )
        fold.seq, fold.mono_ns, fold.wall_ns = state.seq, state.mono_ns, state.wall_ns
        fold.max_mono_ns = state.max_mono_ns
        fold.events, fold.opaque = state.events, Counter(state.opaque)
        return fold


def replay(
    records: Iterable[Record],
    *,
    until_seq: int | None = None,
    until_seconds: float | None = None,
    started_mono_ns: int = 0,
) -> ReplayState:
    """The state at `until_seq` / `until_seconds` (relative to `started_mono_ns`, the header's), else the last."""
    fold = Replay()
    for record in records_until(
        records, until_seq=until_seq, until_seconds=until_seconds, started_mono_ns=started_mono_ns
    ):
        fold.feed(record)
    return fold.state()


def replay_journal(
    contents: JournalContents, *, until_seq: int | None = None, until_seconds: float | None = None
) -> ReplayState:
    return replay(
        contents.records,
        until_seq=until_seq,
        until_seconds=until_seconds,
        started_mono_ns=contents.header.started_mono_ns,
    )


@dataclass(frozen=True, slots=True)
class ReplayedFile:
    """A journal file's state at one moment, and what reading it met on the way."""

    header: Header
    state: ReplayState
    final: bool
    """Whether `state` is the journal's last (no event was left out by `--at` / `--seq`)."""
    torn_tail: bool
    checkpoint_seq: int | None
    """The seq of the `stats.snapshot` whose checkpoint the fold started from; None when it started at the top."""


def replay_file(
    path: str | os.PathLike[str], *, until_seq: int | None = None, until_seconds: float | None = None
) -> ReplayedFile:
    """`replay_journal(read_journal(path))`, without reading what the last suitable checkpoint already folded.

    A checkpoint is suitable when the fold up to it is a prefix of the one asked for: its snapshot's seq is at most
    `until_seq`, and no event before it is later than `until_seconds`. One that cannot be read (another image
    version, a damaged line) is passed over for the one before it, and without any the fold starts at the top.
    """
    name = os.fspath(path)
    with open_journal_for_reading(path) as file:
        header = read_header(file, name)
        body = file.tell()
        limit_ns = None if until_seconds is None else header.started_mono_ns + round(until_seconds * 1e9)
        fold, offset, checkpoint_seq = Replay(), body, None
        for line_offset, line in last_lines_of_type(file, "journal.checkpoint", body):
            restored = _restore(file, line_offset, line, body, until_seq, limit_ns)
            if restored is not None:
                fold, offset, checkpoint_seq = restored, line_offset, restored.seq
                break
        final, torn = True, False
        for record in records_from(file, offset):
            if record is None:
                torn = True
                break
            late = limit_ns is not None and record.mono_ns > limit_ns
            if late or (until_seq is not None and record.seq > until_seq):
                final = False
                break
            fold.feed(record)
    return ReplayedFile(header, fold.state(), final, torn, checkpoint_seq)


def _restore(
    file: IO[bytes], offset: int, line: bytes, body: int, until_seq: int | None, limit_ns: int | None
) -> Replay | None:
    """The fold a checkpoint line holds, if it is one, suits the limits and has its snapshot right before it."""
    try:
        record = decode_line(line)
        checkpoint = record.event
        if not isinstance(checkpoint, JournalCheckpoint):
            return None
        if until_seq is not None and checkpoint.stats_seq > until_seq:
            return None
        if limit_ns is not None and checkpoint.max_mono_ns > limit_ns:
            return None
        before = line_before(file, offset, body)
        if before is None:
            return None
        snapshot = decode_line(before[1])
        if snapshot.seq != checkpoint.stats_seq or not isinstance(snapshot.event, StatsSnapshot):
            return None
        return Replay.from_checkpoint(checkpoint, snapshot.event)
    except (msgspec.DecodeError, msgspec.ValidationError, JournalError, ValueError):
        return None


# --- check: would the Dispatcher decide the same today? ---------------------------------------------------------


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
    if step.cause == "new_target":
        return SetTarget(
            now=step.at, user_count=step.target, spawn_rate=step.spawn_rate, user_classes=step.user_classes
        )
    if step.cause == "worker_joined" and step.worker_id is not None:
        return JoinCommand(now=step.at, worker_id=step.worker_id)
    if step.cause in ("worker_left", "worker_missing") and step.worker_id is not None:
        return LeaveCommand(
            now=step.at, worker_id=step.worker_id, reason="left" if step.cause == "worker_left" else "missing"
        )
    return Tick(now=step.at)


def check(records: Iterable[Record]) -> CheckResult:
    """Re-decide every recorded dispatch decision from the state before it; the first disagreement is reported.

    One command may make several steps (a first worker joining makes a `worker_joined` step and the ramp's first
    `ramp_tick`), so each rebuilt command is compared with as many recorded steps as `decide` returns now.
    A journal that ends inside such a group (a killed master) is not a divergence.
    """
    state = dispatch.initial_state(())
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
                expected = dispatch.decide(state, command)
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
                state = dispatch.apply(state, recorded)
                checked += 1
            i += len(expected)
        steps.clear()
        return None

    facts: dict[str, str] = {}  # worker -> "missing" or "left", the latest journaled
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
            state = dispatch.initial_state(class_specs(event))
        elif isinstance(event, WorkerMissing | WorkerLeft):
            facts[event.worker_id] = "missing" if isinstance(event, WorkerMissing) else "left"
        elif isinstance(event, DispatchStep):
            steps.append((record.seq, event))
            if wrong_cause is None and event.worker_id is not None and event.cause in ("worker_missing", "worker_left"):
                # The cause is what `command_of` rebuilds the command from, so it must match the journaled fact.
                said, fact = event.cause.removeprefix("worker_"), facts.get(event.worker_id)
                if said != fact:
                    journaled = {"missing": "went missing", "left": "left"}.get(
                        fact or "", "neither went missing nor left"
                    )
                    reason = f"cause {event.cause}, but the journal says {event.worker_id} {journaled}"
                    wrong_cause = Divergence(record.seq, command_of(event), None, event, reason=reason)
    divergence = first(flush())
    return CheckResult(commands, checked, divergence)


# --- timeline ---------------------------------------------------------------------------------------------------


class _ErrorsOfDelta(msgspec.Struct, frozen=True):
    errors: tuple[ErrorDelta, ...] = ()
    exceptions: tuple[ExceptionDelta, ...] = ()


class StatsReportedErrors(msgspec.Struct, frozen=True):
    """What the timeline reads of a `stats.reported`: who reported which errors; the statistics are skipped."""

    worker_id: str
    delta: _ErrorsOfDelta


class _Unread(msgspec.Struct, frozen=True):
    """A snapshot or checkpoint, skipped whole: the timeline has nothing to say about them."""


TIMELINE_DECODERS = lean_decoders(
    {"stats.reported": StatsReportedErrors, "stats.snapshot": _Unread, "journal.checkpoint": _Unread}
)
"""Decoders for `read_journal(path, TIMELINE_DECODERS)`: an hour-long journal reads several times faster."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    seq: int
    mono_ns: int
    source: str
    type: str
    text: str


_RAMP_STATES = frozenset(("ready", "spawning", "running"))


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counts.items())) or "none"


def _rate(rate: float) -> str:
    return f"{rate:g}/s"


def timeline(records: Iterable[Record]) -> Iterator[TimelineEntry]:
    """The notable events, one sentence each; heartbeats, users reports and repeated errors are left out."""
    seen_errors: set[tuple[str, str, str]] = set()
    seen_exceptions: set[str] = set()
    for record in records:
        for text in _notable(record, seen_errors, seen_exceptions):
            yield TimelineEntry(record.seq, record.mono_ns, record.source, record.type, text)


def _notable(record: Record, seen_errors: set[tuple[str, str, str]], seen_exceptions: set[str]) -> list[str]:
    event = record.event
    if isinstance(event, msgspec.Raw):
        data = bytes(event).decode(errors="replace")
        return [f"{record.type} (opaque): {data if len(data) <= 200 else data[:197] + '...'}"]
    if isinstance(event, RunConfigured):
        classes = ", ".join(
            f"{name} (fixed {fixed})" if fixed else f"{name} (weight {weight:g})"
            for name, (weight, fixed) in sorted(event.user_classes.items())
        )
        run_time = "until stopped" if event.run_time is None else f"for {event.run_time:g} s"
        return [f"configured: {classes}; {run_time}; expects {event.expect_workers} worker(s); host {event.host}"]
    if isinstance(event, RunTargetChanged | ShapeTicked):
        who = "shape stage" if isinstance(event, ShapeTicked) else "target"
        only = "" if event.user_classes is None else f" (only {', '.join(event.user_classes)})"
        return [f"{who}: {event.user_count} users at {_rate(event.spawn_rate)}{only}"]
    if isinstance(event, RunStateChanged):
        return [f"run {event.previous} -> {event.state} ({event.reason})"]
    if isinstance(event, WorkerJoined):
        return [
            f"worker {event.worker_id} joined (index {event.index}, {event.hostname} pid {event.pid},"
            f" {event.cpu_count} CPUs, horde {event.horde_version}, incarnation {event.incarnation})"
        ]
    if isinstance(event, WorkerRejected):
        return [f"worker {event.worker_id} rejected: {event.reason}"]
    if isinstance(event, WorkerLeft):
        return [f"worker {event.worker_id} left: {event.reason}"]
    if isinstance(event, WorkerMissing):
        return [f"worker {event.worker_id} missing: silent for {event.silent_for:g} s"]
    if isinstance(event, WorkerStateChanged):
        if event.state in _RAMP_STATES and event.previous in _RAMP_STATES:
            return []
        return [f"worker {event.worker_id} {event.previous} -> {event.state}"]
    if isinstance(event, WorkerCpuWarning):
        return [f"worker {event.worker_id} CPU at {event.cpu_percent:g} % (results may be skewed)"]
    if isinstance(event, DispatchStep):
        who = f" {event.worker_id}" if event.worker_id else ""
        done = ", ramp done" if event.ramp_done else ""
        changed = "; ".join(f"{w}: {_counts(c)}" for w, c in sorted(event.changed.items()))
        removed = f"; removed {', '.join(event.removed)}" if event.removed else ""
        return [
            f"dispatch step {event.step} ({event.cause}{who}): {event.total}/{event.target} users"
            f" [{_counts(event.class_totals)}]{done}{'; ' + changed if changed else ''}{removed}"
        ]
    if isinstance(event, StatsReported | StatsReportedErrors):
        lines = []
        for error in event.delta.errors:
            key = (error.method, error.name, error.error)
            if key not in seen_errors:
                seen_errors.add(key)
                lines.append(f"first error on {error.method} {error.name}: {error.error}")
        for exception in event.delta.exceptions:
            if exception.message not in seen_exceptions:
                seen_exceptions.add(exception.message)
                lines.append(f"first exception in user code on {event.worker_id}: {exception.message}")
        return lines
    if isinstance(event, StatsReportDropped):
        return [f"stats report {event.seq} of {event.worker_id} dropped: {event.reason}"]
    if isinstance(event, FrameRejected):
        return [f"frame from {event.peer} rejected: {event.reason}"]
    return []
