"""The StatsAggregator: merges every worker's statistics delta exactly once.

A delta is identified by (worker, incarnation, seq); seqs only grow within an incarnation, so a repeated or late
report is recognised and dropped instead of being counted twice. The merge itself is runtime's pure `RunStats.merge`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from horde.actors.base import EventSourcedActor, JournalSink, Query
from horde.protocol.events import Event, StatsReportDropped, StatsReported, StatsReset, StatsSnapshot
from horde.protocol.messages import StatsReport
from horde.stats.run_stats import RunStats


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


Command = ReportReceived | TakeSnapshot | ResetStats


def decide(state: AggregatorState, message: Command) -> list[Event]:
    if isinstance(message, TakeSnapshot):
        return [snapshot_of(state)]
    if isinstance(message, ResetStats):
        return [StatsReset(message.reason, message.now)]
    report = message.report
    if not message.admitted:
        return [StatsReportDropped(message.worker_id, report.incarnation, report.seq, "not an admitted worker")]
    last = state.last_seq.get(_key(message.worker_id, report.incarnation), 0)
    if report.seq <= last:
        return [StatsReportDropped(message.worker_id, report.incarnation, report.seq, f"seq {report.seq} <= {last}")]
    return [
        StatsReported(message.worker_id, report.incarnation, report.seq, report.delta, report.worker_time, report.final)
    ]


def apply(state: AggregatorState, event: Event) -> AggregatorState:
    if isinstance(event, StatsReported):
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

    def decide(self, state: AggregatorState, message: Command) -> list[Event]:
        return decide(state, message)

    def apply(self, state: AggregatorState, event: Event) -> AggregatorState:
        return apply(state, event)

    def react(self, event: Event, message: object) -> None:
        """A report is acknowledged once recorded, merged or dropped, so it is never resent; a peer that was never
        admitted gets nothing: it is no worker of this run."""
        if self._acknowledge is None or not isinstance(event, StatsReported | StatsReportDropped):
            return
        if isinstance(message, ReportReceived) and message.known_worker:
            self._acknowledge(event.worker_id, event.incarnation, event.seq)

    def answer(self, query: Query) -> object:
        """A copy of the merged statistics that nobody else holds: the live ones go on merging in this actor only,
        and a plugin reading a copy on another greenlet can never see a half-merged report."""
        if isinstance(query, GetStats):
            return self.state.stats.copy()
        return self.state
