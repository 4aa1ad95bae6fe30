"""Every message that crosses between a master and its workers.

The same frozen types travel over the in-process transport of a local run and over ZeroMQ in a distributed run, so
the master cannot tell the two apart. msgspec tagged unions make decoding validate the type and every field at
once (ADR 0003).
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from horde.protocol.states import WorkerState
from horde.protocol.stats import Finite, StatsDelta

PROTOCOL_VERSION = 2


class WorkerMessage(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of what a worker sends to its master."""


class MasterMessage(msgspec.Struct, frozen=True, tag_field="type"):
    """Base of what a master sends to a worker."""


# --- worker -> master -------------------------------------------------------------------------------------------


class Ready(WorkerMessage, frozen=True, tag="ready"):
    """A worker introduces itself; `incarnation` changes every time the worker process (re)connects afresh."""

    node_id: str
    incarnation: str
    horde_version: str
    protocol_version: int
    hostname: str
    pid: int
    cpu_count: int
    user_classes: tuple[str, ...]
    auth_token: str = ""
    hostless: tuple[str, ...] = ()
    """Its HTTP user classes that have no host on this worker: unusable unless the master gives one (ADR 0025)."""


class Spawning(WorkerMessage, frozen=True, tag="spawning"):
    step: int


class SpawningComplete(WorkerMessage, frozen=True, tag="spawning_complete"):
    step: int
    user_counts: dict[str, int]


MAX_LOG_LINES = 20
"""Log lines one heartbeat may carry: a worker sends at most this many a beat (ADR 0038)."""
MAX_LOG_LINE_CHARS = 1000
"""A log line's length on the wire: a worker cuts longer ones; a master refuses a frame that does not."""

LogLine = Annotated[str, msgspec.Meta(max_length=MAX_LOG_LINE_CHARS)]


class Heartbeat(WorkerMessage, frozen=True, tag="heartbeat", gc=False, omit_defaults=True):
    """Untracked by the cyclic garbage collector, as a `StatsReport` is: plain data, a thousand a second on a
    master of a thousand workers.

    `logs`: the worker's log lines since its last beat, for the web UI's `/logs` (ADR 0038). Left out of the frame
    when empty, so a beat without logs is the bytes it always was; a master from before it ignores the field, and
    a worker from before it sends none."""

    state: WorkerState
    cpu_percent: Finite
    memory_bytes: int
    user_count: int
    worker_time: Finite
    logs: Annotated[tuple[LogLine, ...], msgspec.Meta(max_length=MAX_LOG_LINES)] = ()


class StatsReport(WorkerMessage, frozen=True, tag="stats", gc=False):
    """One reporting interval's delta; (incarnation, seq) makes a repeated report harmless.

    `gc=False`, as its delta's types: data without cycles, which a master decodes by the thousand each second
    and which the cyclic collector would otherwise count and walk while they wait to be merged."""

    incarnation: str
    seq: int
    delta: StatsDelta
    worker_time: Finite
    final: bool = False


class Stopped(WorkerMessage, frozen=True, tag="stopped"):
    """All users have stopped and the final StatsReport was sent before this message."""


class WorkerQuit(WorkerMessage, frozen=True, tag="quit"):
    reason: str


class AskToStopRun(WorkerMessage, frozen=True, tag="stop_run"):
    """User code raised StopTest or called `runner.quit()`: the whole run stops, not just this worker."""

    reason: str


class LocustfileRequest(WorkerMessage, frozen=True, tag="locustfile_request"):
    pass


class WorkerCustom(WorkerMessage, frozen=True, tag="custom"):
    """A user-defined message (`runner.send_message`)."""

    kind: str
    data: Any = None


# --- master -> worker -------------------------------------------------------------------------------------------


class Accept(MasterMessage, frozen=True, tag="accept"):
    """`incarnation`: the one accepted, so a worker that has since become another ignores it ("" from old masters)."""

    worker_index: int
    incarnation: str = ""


class Reject(MasterMessage, frozen=True, tag="reject"):
    reason: str


class Spawn(MasterMessage, frozen=True, tag="spawn"):
    """Absolute users per class for that worker; `step` orders spawns so a late one is ignored.

    `options`: the master's custom arguments (a locustfile's `init_command_line_parser`) not at their default,
    which the worker sets on its `environment.parsed_options`, as Locust's spawn message carries them. It has a
    default, so a frame from a master without it still decodes (ADR 0017).
    """

    step: int
    user_counts: dict[str, int]
    host: str | None = None
    stop_timeout: float | None = None
    options: dict[str, Any] = {}


class Stop(MasterMessage, frozen=True, tag="stop"):
    pass


class MasterQuit(MasterMessage, frozen=True, tag="quit"):
    reason: str


class StatsAck(MasterMessage, frozen=True, tag="stats_ack"):
    """Reports up to `seq` of `incarnation` are in the journal (merged, or dropped and recorded): forget them."""

    incarnation: str
    seq: int


class Rejoin(MasterMessage, frozen=True, tag="rejoin"):
    """This master does not (or no longer) count the worker: stop users, report, and say Ready afresh."""

    reason: str


class MasterHeartbeat(MasterMessage, frozen=True, tag="heartbeat"):
    """`acks`: incarnation -> highest seq of the worker's reports recorded since the last beat, as a `StatsAck`.

    Acknowledging once a beat rather than once a report saves the master a send per report (ADR 0010).
    """

    acks: dict[str, int] = {}


NO_ACKS = MasterHeartbeat()
"""The beat of a worker with nothing to acknowledge, most of them each second: one shared, never-mutated instance."""


class LocustfileReply(MasterMessage, frozen=True, tag="locustfile_reply"):
    filename: str = ""
    contents: str = ""
    error: str = ""


class MasterCustom(MasterMessage, frozen=True, tag="custom"):
    kind: str
    data: Any = None


WorkerMessageType = (
    Ready
    | Spawning
    | SpawningComplete
    | Heartbeat
    | StatsReport
    | Stopped
    | WorkerQuit
    | AskToStopRun
    | LocustfileRequest
    | WorkerCustom
)
MasterMessageType = (
    Accept | Reject | Spawn | Stop | MasterQuit | Rejoin | StatsAck | MasterHeartbeat | LocustfileReply | MasterCustom
)
