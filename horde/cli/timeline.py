"""The timeline `horde replay --timeline` prints: a journal's notable events, one sentence each.

It is presentation, read from the journal's records alone (no fold), so it lives beside the command that prints
it rather than with the replay it accompanies.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgspec

from horde.protocol.dispatcher_vocabulary import DispatchStep
from horde.protocol.events import (
    FrameRejected,
    RunConfigured,
    RunStateChanged,
    RunTargetChanged,
    ShapeTicked,
    StatsReportDropped,
    StatsReported,
    WorkerCpuWarning,
    WorkerJoined,
    WorkerLeft,
    WorkerMissing,
    WorkerRejected,
    WorkerStateChanged,
)
from horde.protocol.journal import Record, lean_decoders
from horde.protocol.states import WorkerState
from horde.protocol.stats import ErrorDelta, ExceptionDelta


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


_RAMP_STATES = frozenset((WorkerState.READY, WorkerState.SPAWNING, WorkerState.RUNNING))


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
