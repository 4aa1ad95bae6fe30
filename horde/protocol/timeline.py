"""A journal's notable events, one sentence each: what `horde replay --timeline` prints and what the HTML
report marks on its charts' time axis.

It is read from the journal's records alone (no fold), in the vocabulary of the events themselves, so it lives
with them: the CLI and the report plugin, which may not import each other, both read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import msgspec

from horde.protocol.dispatcher_vocabulary import DispatchStep
from horde.protocol.events import (
    FrameRejected,
    RejectionsSummarised,
    RunConfigured,
    RunStateChanged,
    RunTargetChanged,
    ShapeTicked,
    StatsMerged,
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


class StatsMergedErrors(msgspec.Struct, frozen=True):
    """What the timeline reads of a `stats.merged`: the errors and who raised each exception."""

    delta: _ErrorsOfDelta
    exception_nodes: tuple[tuple[str, ...], ...] = ()


class WebSwarm(msgspec.Struct, frozen=True):
    """What the timeline reads of the web UI's `web.swarm` record (docs/events.md): the form a person sent."""

    by: str = "?"
    user_count: int | None = None
    spawn_rate: float | None = None
    host: str | None = None
    arguments: dict[str, object] = {}
    user_classes: list[str] | None = None
    run_time: float | None = None
    shape_class: str | None = None


_web_swarm = msgspec.json.Decoder(WebSwarm)


def _web_swarm_text(data: bytes) -> str | None:
    """`web.swarm` in a sentence; None if the record is not the shape the web UI writes."""
    try:
        form = _web_swarm.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return None
    if form.shape_class is not None:
        what = f"the LoadTestShape {form.shape_class} drives"
    elif form.user_count is None or form.spawn_rate is None:
        what = "the LoadTestShape drives"
    else:
        only = f" of {', '.join(form.user_classes)}" if form.user_classes else ""
        what = f"{form.user_count} users{only} at {_rate(form.spawn_rate)}"
    host = f"; host {form.host}" if form.host else ""
    if form.run_time is not None:
        host = f" for {form.run_time:g} s{host}"
    arguments = "; " + ", ".join(f"{k}={v}" for k, v in sorted(form.arguments.items())) if form.arguments else ""
    return f"web UI start by {form.by}: {what}{host}{arguments}"


class _Unread(msgspec.Struct, frozen=True):
    """A snapshot or checkpoint, skipped whole: the timeline has nothing to say about them."""


TIMELINE_DECODERS = lean_decoders(
    {
        "stats.reported": StatsReportedErrors,
        "stats.merged": StatsMergedErrors,
        "stats.snapshot": _Unread,
        "journal.checkpoint": _Unread,
    }
)
"""Decoders for `read_journal(path, TIMELINE_DECODERS)`: an hour-long journal reads several times faster."""


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    seq: int
    mono_ns: int
    source: str
    type: str
    text: str
    wall_ns: int = 0
    """The master's wall clock when the event was journaled: where the report's charts put the marker."""


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
            yield TimelineEntry(record.seq, record.mono_ns, record.source, record.type, text, record.wall_ns)


def _notable(record: Record, seen_errors: set[tuple[str, str, str]], seen_exceptions: set[str]) -> list[str]:
    event = record.event
    if isinstance(event, msgspec.Raw):
        readable = _web_swarm_text(bytes(event)) if record.type == "web.swarm" else None
        if readable is not None:
            return [readable]
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
        if event.worker_ids:
            who = f" {len(event.worker_ids)} workers: {_few(event.worker_ids)}"
        done = ", ramp done" if event.ramp_done else ""
        changed = "; ".join(f"{w}: {_counts(c)}" for w, c in sorted(event.changed.items()))
        removed = f"; removed {', '.join(event.removed)}" if event.removed else ""
        return [
            f"dispatch step {event.step} ({event.cause}{who}): {event.total}/{event.target} users"
            f" [{_counts(event.class_totals)}]{done}{'; ' + changed if changed else ''}{removed}"
        ]
    if isinstance(event, StatsReported | StatsReportedErrors | StatsMerged | StatsMergedErrors):
        lines = []
        for error in event.delta.errors:
            key = (error.method, error.name, error.error)
            if key not in seen_errors:
                seen_errors.add(key)
                lines.append(f"first error on {error.method} {error.name}: {error.error}")
        for i, exception in enumerate(event.delta.exceptions):
            if exception.message not in seen_exceptions:
                seen_exceptions.add(exception.message)
                lines.append(f"first exception in user code on {_raised_by(event, i)}: {exception.message}")
        return lines
    if isinstance(event, StatsReportDropped):
        return [f"stats report {event.seq} of {event.worker_id} dropped: {event.reason}"]
    if isinstance(event, FrameRejected):
        return [f"frame from {event.peer} rejected: {event.reason}"]
    if isinstance(event, RejectionsSummarised):
        peers = ", ".join(f"{peer} {count}" for peer, count in sorted(event.by_peer.items()))
        others = f" and {event.other_peers} more peer(s)" if event.other_peers else ""
        return [f"{event.count} more rejection(s) in {event.seconds:g} s, not journaled one by one: {peers}{others}"]
    return []


def _raised_by(event: StatsReported | StatsReportedErrors | StatsMerged | StatsMergedErrors, index: int) -> str:
    if isinstance(event, StatsReported | StatsReportedErrors):
        return event.worker_id
    nodes = event.exception_nodes[index] if index < len(event.exception_nodes) else ()
    return ", ".join(nodes) or "a worker"


def _few(names: tuple[str, ...], shown: int = 5) -> str:
    """A burst of 5,000 joins is one step; its line names the first few, not all."""
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
