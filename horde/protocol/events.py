"""The event types of the journal: every fact the master's actors record.

An event is what happened, never what to do; the actors' `apply` folds these and nothing else, so replay needs
only this module. Each type has a name (the journal's `type` field) and a version; a new shape of an old event gets
a new version and an upcaster in `horde.protocol.journal` (docs/events.md lists them all).
"""

from __future__ import annotations

import msgspec

from horde.protocol.dispatcher_vocabulary import DispatchStep
from horde.protocol.states import RunState, WorkerState
from horde.protocol.stats import StatsDelta, StatsImage


class RunStateChanged(msgspec.Struct, frozen=True):
    """The master's run state moved: ready -> spawning -> running -> stopping -> stopped (-> ready: a new test in
    the same process, ADR 0034)."""

    state: RunState
    previous: RunState
    reason: str
    at: float


class RunTargetChanged(msgspec.Struct, frozen=True):
    user_count: int
    spawn_rate: float
    user_classes: tuple[str, ...] | None = None


class RunConfigured(msgspec.Struct, frozen=True):
    """What the master was asked to do, recorded once so replay knows the run-time and the classes."""

    user_classes: dict[str, tuple[float, int]]
    expect_workers: int
    run_time: float | None
    stop_timeout: float
    heartbeat_interval: float
    heartbeat_liveness: int
    host: str | None = None
    reset_stats: bool = False
    """Locust's `--reset-stats`: fresh statistics each time a ramp completes (ADR 0020). Journals from before it
    lack the field and read as False."""


class RunResumed(msgspec.Struct, frozen=True):
    """A new master process took this run over from its journal, which ended at `after_seq`."""

    after_seq: int
    at: float


class ShapeTicked(msgspec.Struct, frozen=True):
    user_count: int
    spawn_rate: float
    user_classes: tuple[str, ...] | None = None


class WorkerJoined(msgspec.Struct, frozen=True):
    worker_id: str
    incarnation: str
    index: int
    hostname: str
    pid: int
    cpu_count: int
    horde_version: str
    user_classes: tuple[str, ...]
    at: float


class WorkerRejected(msgspec.Struct, frozen=True):
    """`retry`: not an error for the worker, which is told nothing and is admitted when it says Ready again."""

    worker_id: str
    reason: str
    retry: bool = False


class WorkerStateChanged(msgspec.Struct, frozen=True):
    worker_id: str
    state: WorkerState
    previous: WorkerState
    at: float


class WorkerHeartbeat(msgspec.Struct, frozen=True):
    """`worker_time` is the worker's own clock; `at` the master's monotonic time of receipt."""

    worker_id: str
    state: WorkerState
    cpu_percent: float
    memory_bytes: int
    user_count: int
    worker_time: float
    at: float


class WorkerUsersReported(msgspec.Struct, frozen=True):
    """A worker says which users it runs after a spawn step."""

    worker_id: str
    step: int
    user_counts: dict[str, int]


class WorkerCpuWarning(msgspec.Struct, frozen=True):
    worker_id: str
    cpu_percent: float


class WorkerMissing(msgspec.Struct, frozen=True):
    worker_id: str
    silent_for: float
    at: float = 0.0
    """The master's monotonic time when it was found missing: a run whose workers are all missing waits for them
    from then (ADR 0025). Journals from before the field read 0.0: long ago, so such a run ends at once."""


class WorkerLeft(msgspec.Struct, frozen=True):
    worker_id: str
    reason: str


class StatsReported(msgspec.Struct, frozen=True):
    """One worker's delta, merged exactly once: (worker_id, incarnation, seq) is its identity."""

    worker_id: str
    incarnation: str
    seq: int
    delta: StatsDelta
    worker_time: float
    final: bool = False


class ReportRef(msgspec.Struct, frozen=True, array_like=True):
    """One worker report inside a `stats.merged`: its identity (merged exactly once), and what it counted.

    An array on the wire (`["w1", "3f2a", 17, 1.8e9, 2000, 20, false]`): a thousand of them every second.
    """

    worker_id: str
    incarnation: str
    seq: int
    worker_time: float
    requests: int
    failures: int
    final: bool = False


class StatsMerged(msgspec.Struct, frozen=True):
    """Every report the StatsAggregator accepted since its last merge, merged into one delta (ADR 0027).

    One event per interval instead of one per report keeps the journal of a large cluster small; `reports` keeps
    each report's identity, so none is merged twice, and its counts, whose sums `--check` holds against `delta`.
    `exception_nodes[i]` are the workers that raised `delta.exceptions[i]` (a delta alone has no worker).
    """

    reports: tuple[ReportRef, ...]
    delta: StatsDelta
    exception_nodes: tuple[tuple[str, ...], ...] = ()


class StatsReportDropped(msgspec.Struct, frozen=True):
    worker_id: str
    incarnation: str
    seq: int
    reason: str


class StatsSnapshot(msgspec.Struct, frozen=True):
    """The StatsAggregator's whole state after every stats event before this one (ADR 0009).

    Folding it changes nothing; it is there so replay can start from it instead of from the first report.
    """

    stats: StatsImage
    last_seq: dict[str, int]
    reports_merged: int
    reports_dropped: int


class StatsReset(msgspec.Struct, frozen=True):
    """The merged statistics start afresh (Locust's `--reset-stats`, when a ramp completes; ADR 0020).

    Reports merged before it count no more; the last seq of each worker incarnation is kept, so no report is
    merged twice across a reset.
    """

    reason: str
    at: float


class JournalGap(msgspec.Struct, frozen=True):
    """Events `from_seq`..`to_seq` could not be written (disk full, I/O error): the record says where it is blind."""

    from_seq: int
    to_seq: int
    error: str


class JournalCheckpoint(msgspec.Struct, frozen=True):
    """The replay fold of every event up to the `stats.snapshot` just before it, written by the Journal (ADR 0009).

    `state` is that fold's image, which `horde.actors.replay` reads (the protocol does not know the actors' state
    types); `image_version` says its shape, and a reader that does not know it folds from the start instead.
    `max_mono_ns` is the latest `mono_ns` of any event so far, so `replay --at` knows whether it may start here.
    """

    stats_seq: int
    max_mono_ns: int
    image_version: int
    state: msgspec.Raw


class FrameRejected(msgspec.Struct, frozen=True):
    """A frame from the network that was not a valid message; logged, counted and dropped."""

    peer: str
    reason: str
    count: int = 1


class RejectionsSummarised(msgspec.Struct, frozen=True):
    """Rejections (refused peers, bad frames, refused workers) decided but not journaled one by one over
    `seconds` up to `at`, so that a flood cannot fill the disk (ADR 0024): how many, by peer (the first peers
    seen), and how many more peers beyond those."""

    count: int
    by_peer: dict[str, int]
    other_peers: int
    seconds: float
    at: float


Event = (
    RunStateChanged
    | RunTargetChanged
    | RunConfigured
    | RunResumed
    | ShapeTicked
    | WorkerJoined
    | WorkerRejected
    | WorkerStateChanged
    | WorkerHeartbeat
    | WorkerUsersReported
    | WorkerCpuWarning
    | WorkerMissing
    | WorkerLeft
    | StatsReported
    | StatsMerged
    | StatsReportDropped
    | StatsSnapshot
    | StatsReset
    | FrameRejected
    | RejectionsSummarised
    | JournalGap
    | JournalCheckpoint
    | DispatchStep
)

EVENT_TYPES: dict[str, type[Event]] = {
    "run.configured": RunConfigured,
    "run.state_changed": RunStateChanged,
    "run.target_changed": RunTargetChanged,
    "run.resumed": RunResumed,
    "shape.ticked": ShapeTicked,
    "worker.joined": WorkerJoined,
    "worker.rejected": WorkerRejected,
    "worker.state_changed": WorkerStateChanged,
    "worker.heartbeat": WorkerHeartbeat,
    "worker.users_reported": WorkerUsersReported,
    "worker.cpu_warning": WorkerCpuWarning,
    "worker.missing": WorkerMissing,
    "worker.left": WorkerLeft,
    "stats.reported": StatsReported,
    "stats.merged": StatsMerged,
    "stats.report_dropped": StatsReportDropped,
    "stats.snapshot": StatsSnapshot,
    "stats.reset": StatsReset,
    "protocol.frame_rejected": FrameRejected,
    "protocol.rejections_summarised": RejectionsSummarised,
    "journal.gap": JournalGap,
    "journal.checkpoint": JournalCheckpoint,
    "dispatch.step": DispatchStep,
}
EVENT_NAMES: dict[type[Event], str] = {cls: name for name, cls in EVENT_TYPES.items()}
EVENT_VERSIONS: dict[str, int] = {name: 1 for name in EVENT_TYPES} | {"stats.reported": 2, "stats.snapshot": 2}
"""v2 of the two statistics events: histograms as packed `Buckets` instead of `{bucket: count}` maps (ADR 0012)."""
