"""The StatsAggregator: merges every worker's statistics delta exactly once.

A delta is identified by (worker, incarnation, seq); seqs only grow within an incarnation, so a repeated or late
report is recognised and dropped instead of being counted twice. The merge itself is runtime's pure `RunStats.merge`.

Accepted reports wait in the shell, unacknowledged, for at most `MERGE_INTERVAL`; then one `stats.merged` event
carries their merged delta and each one's identity (ADR 0027). One event a second instead of one per report is
what keeps a thousand workers' journal under a gigabyte an hour, and the live statistics are folded from that same
event, so replay stays exact. A report that waits is not yet acknowledged: if the master dies, its worker sends it
again to the next one. Any query, snapshot or reset merges what waits first, so nothing read is behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import gevent

from horde.actors.base import EventSourcedActor, JournalSink, Query
from horde.protocol.events import (
    Event,
    ReportRef,
    StatsMerged,
    StatsReportDropped,
    StatsReported,
    StatsReset,
    StatsSnapshot,
)
from horde.protocol.messages import StatsReport
from horde.protocol.stats import ExceptionDelta, StatsDelta
from horde.stats.run_stats import RunStats

MERGE_INTERVAL = 1.0
"""Seconds an accepted report waits, at most, to be merged and journaled with the others (ADR 0027)."""
MAX_WAITING = 2000
"""Reports merged at once at most, however short the interval: bounds the work of one merge."""


@dataclass(slots=True)
class AggregatorState:
    """`stats` is merged in place: copying a run's histograms on every report would cost more than it proves."""

    stats: RunStats = field(default_factory=RunStats)
    last_seq: dict[str, int] = field(default_factory=dict)
    reports_merged: int = 0
    reports_dropped: int = 0


@dataclass(frozen=True, slots=True)
class ReportReceived:
    """A worker's report. `admitted` says the master admitted this incarnation of the worker, `known_worker` that
    it admitted some incarnation of it: the registry of admissions is the master's, so the router asks it and
    passes the answers on."""

    worker_id: str
    report: StatsReport
    admitted: bool = True
    known_worker: bool = True
    cause: str = "stats"
    waiting_seq: int = 0
    """The latest seq of this incarnation already accepted and waiting to be merged (the shell's, 0 if none)."""


@dataclass(frozen=True, slots=True)
class MergeWaiting:
    """Merge the reports accepted since the last merge into one `stats.merged` (the shell's timer, or a read)."""

    reports: tuple[tuple[str, StatsReport], ...]
    cause: str = "interval"


@dataclass(frozen=True, slots=True)
class TakeSnapshot:
    """The Journal asks for a `stats.snapshot` to pair with its next checkpoint (ADR 0009)."""

    cause: str = "checkpoint"


@dataclass(frozen=True, slots=True)
class ResetStats:
    """Start the merged statistics afresh (Locust's `--reset-stats`, asked by the Master when a ramp completes)."""

    now: float
    reason: str = "ramp finished"
    cause: str = "reset"


class GetStats(Query):
    __slots__ = ()


def _key(worker_id: str, incarnation: str) -> str:
    return f"{worker_id}/{incarnation}"


Command = ReportReceived | MergeWaiting | TakeSnapshot | ResetStats


def decide(state: AggregatorState, message: Command) -> list[Event]:
    """A report alone decides nothing unless it is dropped: accepted, it waits for the next `MergeWaiting`."""
    if isinstance(message, MergeWaiting):
        return [merged(message.reports)] if message.reports else []
    if isinstance(message, TakeSnapshot):
        return [snapshot_of(state)]
    if isinstance(message, ResetStats):
        return [StatsReset(message.reason, message.now)]
    report = message.report
    if not message.admitted:
        return [StatsReportDropped(message.worker_id, report.incarnation, report.seq, "not an admitted worker")]
    last = max(state.last_seq.get(_key(message.worker_id, report.incarnation), 0), message.waiting_seq)
    if report.seq <= last:
        return [StatsReportDropped(message.worker_id, report.incarnation, report.seq, f"seq {report.seq} <= {last}")]
    return []


def merged(reports: Sequence[tuple[str, StatsReport]]) -> StatsMerged:
    """The reports' deltas merged into one, in the order they came: a fresh RunStats folds them as the run's would."""
    stats = RunStats()
    refs = []
    for worker_id, report in reports:
        stats.merge(report.delta, worker_id)
        requests = failures = 0
        for entry in report.delta.entries:
            requests += entry.num_requests
            failures += entry.num_failures
        refs.append(
            ReportRef(worker_id, report.incarnation, report.seq, report.worker_time, requests, failures, report.final)
        )
    image = stats.image()
    exceptions = tuple(ExceptionDelta(e.message, e.traceback, e.count, e.at_start) for e in image.exceptions)
    delta = StatsDelta(entries=image.entries, errors=image.errors, exceptions=exceptions, seconds=image.seconds)
    return StatsMerged(tuple(refs), delta, tuple(e.nodes for e in image.exceptions))


def apply(state: AggregatorState, event: Event) -> AggregatorState:
    if isinstance(event, StatsMerged):
        state.stats.merge(event.delta)
        for exception, nodes in zip(event.delta.exceptions, event.exception_nodes, strict=False):
            state.stats.exceptions[(exception.message, exception.traceback)].nodes.update(nodes)
        for ref in event.reports:
            key = _key(ref.worker_id, ref.incarnation)
            state.last_seq[key] = max(state.last_seq.get(key, 0), ref.seq)
        state.reports_merged += len(event.reports)
    elif isinstance(event, StatsReported):  # journals before ADR 0027: one event per report
        state.stats.merge(event.delta, event.worker_id)
        state.last_seq[_key(event.worker_id, event.incarnation)] = event.seq
        state.reports_merged += 1
    elif isinstance(event, StatsReportDropped):
        state.reports_dropped += 1
    elif isinstance(event, StatsReset):
        # Only the numbers start afresh: the seqs stay, so a report merged before the reset is never merged again.
        state.stats = RunStats()
    return state


def snapshot_of(state: AggregatorState) -> StatsSnapshot:
    return StatsSnapshot(state.stats.image(), dict(state.last_seq), state.reports_merged, state.reports_dropped)


def restore(snapshot: StatsSnapshot) -> AggregatorState:
    """The state a snapshot was taken of; `apply` then goes on from it as from the live one."""
    return AggregatorState(
        RunStats.from_image(snapshot.stats), dict(snapshot.last_seq), snapshot.reports_merged, snapshot.reports_dropped
    )


class StatsAggregator(EventSourcedActor[AggregatorState]):
    source = "stats"

    def __init__(
        self,
        journal: JournalSink,
        state: AggregatorState | None = None,
        acknowledge: Callable[[str, str, int], None] | None = None,
    ) -> None:
        """`acknowledge(worker, incarnation, seq)` tells the worker a report is recorded and need not be resent."""
        super().__init__(state or AggregatorState(), journal)
        self._acknowledge = acknowledge
        self._waiting: list[tuple[str, StatsReport]] = []
        self._waiting_seq: dict[str, int] = {}
        self._timer: gevent.Greenlet | None = None

    def on_start(self) -> None:
        self._timer = gevent.spawn(self._merge_every_interval)

    def on_stop(self) -> None:
        if self._timer is not None:
            self._timer.kill(block=False)
        self._merge_waiting("stop")

    def _merge_every_interval(self) -> None:
        while True:
            gevent.sleep(MERGE_INTERVAL)
            self.actor_ref.tell(_MergeTick())

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, _MergeTick):
            self._merge_waiting("interval")
            return None
        if isinstance(message, Query | TakeSnapshot | ResetStats):
            self._merge_waiting(self.cause_of(message))
            return super().on_receive(message)
        if isinstance(message, ReportReceived):
            report = message.report
            key = _key(message.worker_id, report.incarnation)
            # built anew, not `dataclasses.replace`d: this runs for every report, 2,500 a second at 5,000 workers
            message = ReportReceived(
                message.worker_id, report, message.admitted, message.known_worker, message.cause,
                self._waiting_seq.get(key, 0),
            )  # fmt: skip
            if self.decide(self.state, message):
                return super().on_receive(message)
            self._waiting.append((message.worker_id, report))
            self._waiting_seq[key] = report.seq
            if report.final or len(self._waiting) >= MAX_WAITING:
                self._merge_waiting("final report" if report.final else "interval")
            return None
        return super().on_receive(message)

    def _merge_waiting(self, cause: str) -> None:
        if self._waiting:
            waiting, self._waiting = tuple(self._waiting), []
            self._waiting_seq.clear()
            super().on_receive(MergeWaiting(waiting, cause))

    def decide(self, state: AggregatorState, message: Command) -> list[Event]:
        return decide(state, message)

    def apply(self, state: AggregatorState, event: Event) -> AggregatorState:
        return apply(state, event)

    def react(self, event: Event, message: object) -> None:
        """A report is acknowledged once recorded, merged or dropped, so it is never resent; a peer that was never
        admitted gets nothing: it is no worker of this run."""
        if self._acknowledge is None:
            return
        if isinstance(event, StatsMerged):  # every report in it was admitted
            for ref in event.reports:
                self._acknowledge(ref.worker_id, ref.incarnation, ref.seq)
            return
        if not isinstance(event, StatsReportDropped):
            return
        if isinstance(message, ReportReceived) and message.known_worker:
            self._acknowledge(event.worker_id, event.incarnation, event.seq)

    def answer(self, query: Query) -> object:
        """A copy of the merged statistics that nobody else holds: the live ones go on merging in this actor only,
        and a plugin reading a copy on another greenlet can never see a half-merged report."""
        if isinstance(query, GetStats):
            return self.state.stats.copy()
        return self.state


class _MergeTick:
    __slots__ = ()
