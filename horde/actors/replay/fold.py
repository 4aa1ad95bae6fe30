"""The fold: a run's journal folded back into the states its actors held, with their own `apply` functions.

Nothing here decides what an event means: the Master, the WorkerProxy, the Dispatcher and the StatsAggregator
each fold their events exactly as they did live, so a replayed state can only differ from the live one if the
journal does. The Journal folds as it writes (`Replay(fold_stats=False)`) to checkpoint the fold (ADR 0009).
"""

from __future__ import annotations

import contextlib
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

import msgspec

from horde.actors import dispatcher_logic, master, stats_aggregator, worker_proxy
from horde.actors.master import MasterState
from horde.actors.replay.integrity import Audit, Problem
from horde.actors.stats_aggregator import AggregatorState
from horde.actors.worker_proxy import WorkerProxyState
from horde.protocol.dispatcher_vocabulary import DispatchState, DispatchStep, UserClassSpec
from horde.protocol.events import (
    EVENT_TYPES,
    JournalCheckpoint,
    JournalGap,
    RunConfigured,
    StatsMerged,
    StatsReportDropped,
    StatsReported,
    StatsReset,
    StatsSnapshot,
    WorkerJoined,
)
from horde.protocol.journal import (
    BLOCKS_FROM_VERSION,
    Header,
    JournalContents,
    JournalError,
    Record,
    last_lines_of_type,
    line_before,
    open_journal_for_reading,
    read_header,
    records_from,
)
from horde.protocol.journal import decode_record as decode_line
from horde.protocol.journal_blocks import BlockError, BlockKind, decompressor, read_block, scan


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
LEGACY_ROUTER_DROP_CAUSE = "worker:"
"""The cause under which masters before ADR 0013 journaled the reports of never-admitted peers themselves."""


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
        self.dispatch = dispatcher_logic.initial_state(())
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
            self.dispatch = dispatcher_logic.apply(self.dispatch, event)
            return
        if isinstance(event, StatsMerged | StatsReported | StatsReportDropped | StatsReset):
            # The StatsAggregator decides every drop (ADR 0013). Journals written before that have the drops of
            # never-admitted peers journaled by the router under the peer's name as cause, unseen by the
            # aggregator: reading those as they were written keeps old journals' checkpoints exact.
            if self._fold_stats and not cause.startswith(LEGACY_ROUTER_DROP_CAUSE):
                self.aggregator = stats_aggregator.apply(self.aggregator, event)
            return
        if isinstance(event, StatsSnapshot | JournalCheckpoint):
            return
        # The Master folds its own events and the worker facts it observes; its `apply` ignores the rest.
        self.master = master.apply(self.master, event)  # type: ignore[arg-type]
        if isinstance(event, RunConfigured):
            self.dispatch = dispatcher_logic.initial_state(class_specs(event))
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
    problems: tuple[Problem, ...] = ()
    """What the fold met that a faithful journal would not hold (ADR 0026): gaps anywhere, and the seqs and reports
    of the part folded. The hash chain is `--check`'s, which reads every line."""


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
        if header.format_version >= BLOCKS_FROM_VERSION:
            return _replay_blocks(file, header, body, until_seq, limit_ns)
        fold, offset, checkpoint_seq = Replay(), body, None
        for line_offset, line in last_lines_of_type(file, "journal.checkpoint", body):
            restored = _restore(file, line_offset, line, body, until_seq, limit_ns)
            if restored is not None:
                fold, offset, checkpoint_seq = restored, line_offset, restored.seq
                break
        audit = Audit(header.started_mono_ns)
        if checkpoint_seq is not None:
            audit.resume_after(checkpoint_seq, fold.mono_ns)
            for gap in _gaps_before(file, body, offset):
                audit.feed_gap(gap)
        final, torn = True, False
        for record in records_from(file, offset):
            if record is None:
                torn = True
                break
            late = limit_ns is not None and record.mono_ns > limit_ns
            if late or (until_seq is not None and record.seq > until_seq):
                final = False
                break
            audit.feed(record)
            fold.feed(record)
    return ReplayedFile(header, fold.state(), final, torn, checkpoint_seq, tuple(audit.problems))


def _replay_blocks(
    file: IO[bytes], header: Header, body: int, until_seq: int | None, limit_ns: int | None
) -> ReplayedFile:
    """`replay_file` for a compressed journal: the frame lines say which blocks hold checkpoints and gaps, so only
    the last suitable checkpoint's block and the blocks after it are decompressed."""
    decompress = decompressor(header.compression)
    try:
        scanned = scan(file, body)
    except BlockError as exc:
        raise JournalError(str(exc)) from None
    frames = scanned.frames
    fold, start, checkpoint_seq = Replay(), 0, None
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if frame.kind != BlockKind.CHECKPOINT or (until_seq is not None and frame.first_seq > until_seq):
            continue
        try:
            pair = read_block(file, frame, decompress).splitlines(keepends=True)
        except BlockError:
            continue
        restored = _restored(pair[-1], pair[0], until_seq, limit_ns) if len(pair) == 2 else None
        if restored is not None:
            fold, start, checkpoint_seq = restored, index, restored.seq
            break
    audit = Audit(header.started_mono_ns)
    if checkpoint_seq is not None:
        audit.resume_after(checkpoint_seq, fold.mono_ns)
        for frame in frames[:start]:
            if frame.kind == BlockKind.GAP:
                with contextlib.suppress(BlockError, msgspec.DecodeError, msgspec.ValidationError, JournalError):
                    gap = decode_line(read_block(file, frame, decompress))
                    if isinstance(gap.event, JournalGap):
                        audit.feed_gap(gap)
    final = True
    for frame in frames[start:]:
        try:
            lines = read_block(file, frame, decompress).splitlines(keepends=True)
        except BlockError:
            continue  # damaged in place: its seqs are missing, and the audit says so
        for line in lines:
            try:
                record = decode_line(line)
            except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                raise JournalError(f"a record in the block at byte {frame.offset} is damaged: {exc}") from None
            if checkpoint_seq is not None and record.seq <= checkpoint_seq and frame is frames[start]:
                continue  # the snapshot the fold starts from
            late = limit_ns is not None and record.mono_ns > limit_ns
            if late or (until_seq is not None and record.seq > until_seq):
                return ReplayedFile(header, fold.state(), False, False, checkpoint_seq, tuple(audit.problems))
            audit.feed(record)
            fold.feed(record)
    torn = scanned.torn_at is not None
    return ReplayedFile(header, fold.state(), final, torn, checkpoint_seq, tuple(audit.problems))


def _gaps_before(file: IO[bytes], body: int, offset: int) -> list[Record]:
    """The `journal.gap` records before byte `offset`, first first: a checkpoint does not make a loss go away."""
    gaps = []
    for line_offset, line in last_lines_of_type(file, "journal.gap", body):
        if line_offset >= offset:
            continue
        try:
            record = decode_line(line)
        except (msgspec.DecodeError, msgspec.ValidationError, JournalError):
            continue
        if isinstance(record.event, JournalGap):
            gaps.append(record)
    return gaps[::-1]


def _restore(
    file: IO[bytes], offset: int, line: bytes, body: int, until_seq: int | None, limit_ns: int | None
) -> Replay | None:
    """The fold a checkpoint line holds, if it is one, suits the limits and has its snapshot right before it."""
    before = line_before(file, offset, body)
    return None if before is None else _restored(line, before[1], until_seq, limit_ns)


def _restored(line: bytes, snapshot_line: bytes, until_seq: int | None, limit_ns: int | None) -> Replay | None:
    try:
        record = decode_line(line)
        checkpoint = record.event
        if not isinstance(checkpoint, JournalCheckpoint):
            return None
        if until_seq is not None and checkpoint.stats_seq > until_seq:
            return None
        if limit_ns is not None and checkpoint.max_mono_ns > limit_ns:
            return None
        snapshot = decode_line(snapshot_line)
        if snapshot.seq != checkpoint.stats_seq or not isinstance(snapshot.event, StatsSnapshot):
            return None
        return Replay.from_checkpoint(checkpoint, snapshot.event)
    except (msgspec.DecodeError, msgspec.ValidationError, JournalError, ValueError):
        return None
