"""What the HTML report tells beside the statistics, folded from the journal's events: the run's configuration,
users over time, the workers' story, and the notable events its charts mark (ADR 0030).

The same fold serves a live run (the html plugin feeds it the events as they are journaled) and a finished or
running journal on disk (`RunStory.from_journal`, for the web UI's report and for post-mortems). Statistics are
not read here: `stats.reported` is skipped unread, so folding an hour-long journal costs little.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import msgspec

from horde.protocol.dispatcher_vocabulary import DispatchStep
from horde.protocol.events import (
    RunConfigured,
    RunStateChanged,
    WorkerCpuWarning,
    WorkerJoined,
    WorkerLeft,
    WorkerMissing,
    WorkerRejected,
)
from horde.protocol.journal import (
    Header,
    JournalError,
    Record,
    body_lines,
    decode_record,
    lean_decoders,
    open_journal_for_reading,
    read_header,
)
from horde.protocol.states import RunState
from horde.protocol.timeline import TimelineEntry, timeline


class _Unread(msgspec.Struct, frozen=True):
    """An event the story has nothing to say about, skipped without building its fields."""


STORY_DECODERS = lean_decoders(
    {
        "stats.reported": _Unread,
        "stats.merged": _Unread,
        "stats.snapshot": _Unread,
        "journal.checkpoint": _Unread,
        "worker.heartbeat": _Unread,
        "worker.users_reported": _Unread,
    }
)

_SKIPPED = tuple(
    f'"type":"{name}"'.encode() for name in ("stats.reported", "stats.merged", "worker.heartbeat", "stats.snapshot")
)
_HEAD_BYTES = 256
"""A record's type is written before its data, within about the first hundred bytes (`encode_record`)."""

STORY_EVENT_TYPES = (
    "run.*",
    "shape.*",
    "worker.joined",
    "worker.rejected",
    "worker.missing",
    "worker.left",
    "worker.state_changed",
    "worker.cpu_warning",
    "dispatch.step",
    "stats.report_dropped",
    "protocol.frame_rejected",
    "plugin.*",
    "web.swarm",
)
"""The event types the story reads: what the html plugin subscribes to."""

MARKED_TYPES = frozenset(
    (
        "run.state_changed",
        "run.target_changed",
        "shape.ticked",
        "worker.joined",
        "worker.rejected",
        "worker.missing",
        "worker.left",
        "worker.cpu_warning",
        "stats.report_dropped",
        "protocol.frame_rejected",
    )
)
"""Notable events drawn as markers on the charts; dispatch steps only when a ramp completes, and plugins' own
events (a threshold's verdict, a guard tripping) always. The rest are in the timeline table only."""

MAX_MARKERS = 60
"""More markers than this would hide the lines: the joins go first (the workers table lists them), then the rest
are dropped from the drawing, never from the table."""


@dataclass(frozen=True, slots=True)
class WorkerChapter:
    at: float
    """Epoch seconds."""
    worker_id: str
    what: str
    """joined, rejoined, missing, left, rejected, CPU warning."""
    detail: str


@dataclass(slots=True)
class RunStory:
    config: Mapping[str, Any] = field(default_factory=dict)
    """The run's resolved options (the journal header's `config`, or a plugin's settings)."""
    run_id: str = ""
    horde_version: str = ""
    started_at: float | None = None
    """Epoch seconds of the first event (or the journal header)."""
    ended_at: float | None = None
    """Epoch seconds of the last event folded."""
    stopped_at: float | None = None
    stop_reason: str = ""
    configured: RunConfigured | None = None
    users: list[tuple[float, dict[str, int]]] = field(default_factory=list)
    """(epoch second, users per class) after each dispatch step, and all zero once the run stopped."""
    notable: list[TimelineEntry] = field(default_factory=list)
    workers: list[WorkerChapter] = field(default_factory=list)
    form_profile: str | None = None
    """The profile a person last gave on the web UI's form (None: none given there)."""
    _known_workers: set[str] = field(default_factory=set)
    _marked: set[int] = field(default_factory=set)

    @classmethod
    def from_journal(cls, path: str | os.PathLike[str]) -> RunStory:
        """The story of a journal on disk, read to its last whole line (a running master's journal grows);
        an unreadable or empty one (`/dev/null`) tells an empty story.

        The lines of the busiest types, which the story skips, are recognised by their type near the line's
        start and never decoded: an hour's journal is mostly statistics reports and heartbeats.
        """
        story = cls()
        name = os.fspath(path)
        try:
            with open_journal_for_reading(path) as file:
                header = read_header(file, name)
                story.read_header(header)
                for line in body_lines(file, header, file.tell(), lambda _: None):
                    if any(marker in line[:_HEAD_BYTES] for marker in _SKIPPED):
                        continue
                    try:
                        record = decode_record(line, STORY_DECODERS)
                    except (msgspec.DecodeError, msgspec.ValidationError):
                        break  # a torn last line
                    story.fold(record)
        except (JournalError, OSError, msgspec.DecodeError, msgspec.ValidationError):
            return story
        return story

    def read_header(self, header: Header) -> None:
        """The run's identity and options, and its start: the journal's header is written before any event."""
        self.config = dict(header.config)
        self.run_id, self.horde_version = header.run_id, header.horde_version
        self.started_at = header.started_wall_ns / 1e9

    def read_header_of(self, path: str) -> None:
        """The header of the journal at `path`, if there is one to read (a run may journal to /dev/null)."""
        try:
            with open_journal_for_reading(path) as file:
                self.read_header(read_header(file, path))
        except (JournalError, OSError, ValueError, msgspec.DecodeError):
            return

    def fold_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.fold(record)

    def fold(self, record: Record) -> None:
        at = record.wall_ns / 1e9
        if self.started_at is None:
            self.started_at = at
        self.ended_at = at
        event = record.event
        if isinstance(event, RunConfigured):
            self.configured = event
        elif isinstance(event, DispatchStep):
            self.users.append((at, dict(event.class_totals)))
        elif isinstance(event, RunStateChanged):
            if event.state is RunState.STOPPING and not self.stop_reason:
                self.stop_reason = event.reason
            if event.state is RunState.STOPPED:
                self.stopped_at = at
                self.stop_reason = self.stop_reason or event.reason
                if self.users:
                    self.users.append((at, dict.fromkeys(self.users[-1][1], 0)))
        elif isinstance(event, WorkerJoined):
            again = event.worker_id in self._known_workers
            self._known_workers.add(event.worker_id)
            self.workers.append(
                WorkerChapter(
                    at,
                    event.worker_id,
                    "rejoined" if again else "joined",
                    f"{event.hostname} pid {event.pid}, {event.cpu_count} CPUs, horde {event.horde_version}",
                )
            )
        elif isinstance(event, WorkerMissing):
            self.workers.append(WorkerChapter(at, event.worker_id, "missing", f"silent for {event.silent_for:g} s"))
        elif isinstance(event, WorkerLeft):
            self.workers.append(WorkerChapter(at, event.worker_id, "left", event.reason))
        elif isinstance(event, WorkerRejected):
            retry = " (told to retry)" if event.retry else ""
            self.workers.append(WorkerChapter(at, event.worker_id, "rejected", event.reason + retry))
        elif isinstance(event, WorkerCpuWarning):
            self.workers.append(WorkerChapter(at, event.worker_id, "CPU warning", f"{event.cpu_percent:g} %"))
        elif record.type == "web.swarm" and isinstance(event, msgspec.Raw):
            self._read_form(bytes(event))
        entries = list(timeline((record,)))
        if entries:
            self.notable.extend(entries)
            if _marks(record):
                self._marked.add(record.seq)

    def _read_form(self, data: bytes) -> None:
        """The profile a person gave on the web UI's form (absent from forms of horde before --profile)."""
        try:
            form = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return
        if isinstance(form, dict) and "profile" in form:
            self.form_profile = str(form["profile"] or "")

    @property
    def profile(self) -> str:
        """Locust's `--profile`: the last one a person gave on the web UI's form, else the run's."""
        return self.form_profile if self.form_profile is not None else str(self.config.get("profile") or "")

    def peak_users(self) -> dict[str, int]:
        """Users per class at the step with the most users: what the task ratios of a run are weighed by, as
        Locust weighs its report's by the users it ran."""
        return max((counts for _, counts in self.users), key=lambda counts: sum(counts.values()), default={})

    def markers(self) -> list[TimelineEntry]:
        """The notable events the charts mark, at most MAX_MARKERS of them."""
        marked = [entry for entry in self.notable if entry.seq in self._marked]
        if len(marked) > MAX_MARKERS:
            marked = [entry for entry in marked if entry.type != "worker.joined"]
        return marked[:MAX_MARKERS]


def _marks(record: Record) -> bool:
    if isinstance(record.event, DispatchStep):
        return record.event.ramp_done
    return record.type in MARKED_TYPES or record.type.startswith("plugin.")
