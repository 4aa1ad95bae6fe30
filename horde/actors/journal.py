"""The Journal actor: the single writer of a run's events file.

Only this actor assigns `seq`, so the file is gapless whatever order the other actors' events arrive in. It flushes
at least every second and at every run-state change, and fsyncs when a run starts and stops, so a killed master
leaves a readable file whose last line at worst is torn.

It also keeps replay fast on long runs (ADR 0009): it folds what it writes, as `horde replay` would (statistics
aside), and every so many bytes asks the StatsAggregator for a `stats.snapshot`, right after which it writes a
`journal.checkpoint` of its fold. Replay then starts from the last checkpoint instead of from the first event.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Callable
from typing import IO, Any

import gevent
import msgspec
import structlog

from horde.actors.base import Append, HordeActor, Query
from horde.actors.replay import CHECKPOINT_IMAGE_VERSION, Replay
from horde.protocol.events import (
    EVENT_NAMES,
    JournalCheckpoint,
    JournalGap,
    RunStateChanged,
    StatsMerged,
    StatsSnapshot,
)
from horde.protocol.journal import (
    BLOCKS_FROM_VERSION,
    CHAINED_FROM_VERSION,
    FORMAT_VERSION,
    LINES_FORMAT_VERSION,
    Chain,
    Header,
    chain_seed,
    continuation,
    decode_header,
    encode_header,
    encode_record,
)
from horde.protocol.journal_blocks import BlockError, BlockKind, compressor, encode_block, scan
from horde.protocol.states import RunState

log = structlog.get_logger("horde.journal")

FLUSH_INTERVAL = 1.0

MAX_BATCH_BYTES = 1024 * 1024
"""Appends queued behind each other are written together, up to this many bytes at a time."""

CHECKPOINT_MIN_BYTES = 16 * 1024 * 1024
"""Journal bytes between checkpoints, at least: replay reads and folds at most about this much past the last one."""
CHECKPOINT_RATIO = 4
"""... and at least this many times the last checkpoint's own size, so checkpoints are at most a fifth of a journal."""

Subscriber = Callable[[int, Append], None]


class JournalUnwritable(Exception):
    """The journal file cannot be created; the run must not start without its record."""


class Flush(Query):
    """Ask the journal to flush and fsync; answered once the bytes are on disk."""

    __slots__ = ()


class LastSeq(Query):
    __slots__ = ()


def open_journal_file(path: str) -> IO[bytes]:
    """A new file (never an existing one: a journal is never overwritten), or a character device such as /dev/null.

    /dev/null is how to run without keeping a journal, and what the journal's cost is measured against.
    """
    try:
        if _is_character_device(path):
            return open(path, "wb", buffering=0)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        return open(path, "xb", buffering=0)  # write-through: a killed master loses no event it journaled
    except FileExistsError:
        raise JournalUnwritable(f"journal {path!r} already exists; choose another --journal path") from None
    except OSError as exc:
        raise JournalUnwritable(f"cannot write journal {path!r}: {exc.strerror or exc}") from None


def _is_character_device(path: str) -> bool:
    try:
        return stat.S_ISCHR(os.stat(path).st_mode)
    except OSError:
        return False


def _position(file: IO[bytes]) -> int:
    try:
        return file.tell()
    except OSError:
        return 0


class Journal(HordeActor):
    def __init__(
        self,
        file: IO[bytes],
        header: Header | None,
        last_seq: int = 0,
        *,
        fold: Replay | None = None,
        request_snapshot: Callable[[], None] | None = None,
        checkpoint_bytes: int = CHECKPOINT_MIN_BYTES,
    ) -> None:
        """`header` None continues a journal (a resumed master) after its event `last_seq`, `fold` its replay.

        `request_snapshot` asks the StatsAggregator for a `stats.snapshot`; without it no checkpoint is written.
        """
        super().__init__()
        self._file = file
        self._seq = last_seq
        self._fold = fold or Replay(fold_stats=False)
        self._request_snapshot = request_snapshot
        self._checkpoint_bytes = checkpoint_bytes
        self._checkpoint_due = checkpoint_bytes
        self._since_checkpoint = 0
        self._snapshot_requested = False
        self._subscribers: list[Subscriber] = []
        self._lost_from: int | None = None
        self._lost_error = ""
        self._flusher: gevent.Greenlet | None = None
        self._batch: list[tuple[int, Append, str, bytes]] = []
        self._batch_bytes = 0
        self._offset = _position(file)
        self._chain: Chain | None = None
        if header is not None:
            first = encode_header(header)
            if header.format_version >= CHAINED_FROM_VERSION:
                self._chain = Chain(chain_seed(first))
            self._write(first)
        else:
            header, self._chain = _continuation(file)
        self._compress = (
            compressor(header.compression)
            if header is not None and header.format_version >= BLOCKS_FROM_VERSION
            else None
        )
        """Format 3 (ADR 0027): what is written goes in compressed blocks, about a second's worth each."""
        self._sync()

    def subscribe(self, subscriber: Subscriber) -> int:
        """Called after each append with `(seq, Append)`; returns the last seq written before it (for a backfill)."""
        self._subscribers.append(subscriber)
        return self._seq

    def on_start(self) -> None:
        self._flusher = gevent.spawn(self._flush_every_second)

    def on_stop(self) -> None:
        if self._flusher is not None:
            self._flusher.kill(block=False)
        self._sync()
        self._file.close()

    def _flush_every_second(self) -> None:
        while True:
            gevent.sleep(FLUSH_INTERVAL)
            self.actor_ref.tell(_FlushTick())

    def on_receive(self, message: Any) -> Any:
        if isinstance(message, Append):
            self._append(message)
        elif isinstance(message, _FlushTick):
            self._flush()
        elif isinstance(message, Flush):
            self._sync()
        elif isinstance(message, LastSeq):
            return self._seq
        return None

    def _append(self, item: Append) -> None:
        self._seq += 1
        seq = self._seq
        type_name = getattr(item, "type_name", "")  # set by plugin events (horde.actors.plugin_host.PluginAppend)
        line = encode_record(seq, item.mono_ns, item.wall_ns, item.source, item.cause, item.event, type_name)
        self._batch.append((seq, item, type_name, line))
        self._batch_bytes += len(line)
        event = item.event
        if isinstance(event, StatsSnapshot):
            if self._compress is not None:  # it goes in one block with its checkpoint
                self._batch.pop()
                self._batch_bytes -= len(line)
                if self._write_batch():
                    self._write_snapshot_and_checkpoint(seq, item, line)
            elif self._write_batch():
                self._write_checkpoint(seq, len(line))
            self._snapshot_requested = False  # only now: writing the batch must not ask for another one
        elif isinstance(event, RunStateChanged):
            self._sync() if event.state in (RunState.SPAWNING, RunState.STOPPED) else self._flush()
        elif self._batch_bytes >= MAX_BATCH_BYTES or (
            self.actor_inbox.empty() if self._compress is None else isinstance(event, StatsMerged)
        ):
            # Compressed, a block holds what came since the last merge of statistics (about a second's worth):
            # blocks of one line would hardly compress, and acknowledged reports wait no longer than that.
            self._write_batch()
        for subscriber in self._subscribers:
            subscriber(seq, item)

    def _write_batch(self) -> bool:
        """Write what was appended since the last write, in one call: False if it was lost (and recorded so).

        Lines wait only while more appends are already queued behind them, so a quiet journal is written at
        once and a busy one in a few large writes instead of thousands of small ones (ADR 0010).
        """
        batch, self._batch, self._batch_bytes = self._batch, [], 0
        if not batch:
            return True
        first_seq = batch[0][0]
        if not self._emit([line for *_, line in batch], first_seq, batch[-1][0], BlockKind.RECORDS):
            return False
        for seq, item, type_name, line in batch:
            self._folded(seq, item, type_name, len(line))
        if self._lost_from is not None:
            self._record_gap(first_seq - 1)
        if self._since_checkpoint >= self._checkpoint_due:
            self._ask_for_snapshot()
        return True

    def _write(self, data: bytes, first_seq: int = 0) -> bool:
        """All of `data` or none of it: a write that fails halfway is cut back, so no line is ever torn mid-file."""
        view = memoryview(data)
        try:
            while view:
                written = self._file.write(view)
                if not written:
                    raise OSError("the journal file took no bytes")
                view = view[written:]
        except OSError as exc:
            if len(view) < len(data):
                self._cut_back()
            if self._lost_from is None:
                log.warning("journal write failed; the load test goes on", error=str(exc), seq=first_seq)
                self._lost_from = first_seq
                self._lost_error = str(exc)
            return False
        self._offset += len(data)
        return True

    def _emit(self, lines: list[bytes], first_seq: int, last_seq: int, kind: BlockKind) -> bool:
        """Seal the lines into the chain, compress them into one block if the format says so, write them."""
        chain = self._chain
        before = chain.last if chain is not None else b""
        data = b"".join(lines if chain is None else map(chain.seal, lines))
        if self._compress is not None:
            data = encode_block(kind, first_seq, last_seq, self._compress(data))
        if self._write(data, first_seq):
            return True
        if chain is not None:
            chain.last = before  # the lines were not written: the next written one links to the last that was
        return False

    def _write_snapshot_and_checkpoint(self, snapshot_seq: int, item: Append, line: bytes) -> None:
        """Format 3: the snapshot and its checkpoint in one block of their own, which replay finds by its frame."""
        fold = self._fold
        before = (fold.seq, fold.mono_ns, fold.wall_ns, fold.max_mono_ns, fold.events)
        self._folded(snapshot_seq, item, "", len(line))
        if self._request_snapshot is None or fold.seq != snapshot_seq:
            if not self._emit([line], snapshot_seq, snapshot_seq, BlockKind.RECORDS):
                fold.seq, fold.mono_ns, fold.wall_ns, fold.max_mono_ns, fold.events = before
            return
        checkpoint = JournalCheckpoint(
            snapshot_seq, fold.max_mono_ns, CHECKPOINT_IMAGE_VERSION, msgspec.Raw(fold.image())
        )
        self._seq += 1
        pair = Append("journal", "checkpoint", checkpoint)
        checkpoint_line = encode_record(self._seq, pair.mono_ns, pair.wall_ns, pair.source, pair.cause, checkpoint)
        if not self._emit([line, checkpoint_line], snapshot_seq, self._seq, BlockKind.CHECKPOINT):
            fold.seq, fold.mono_ns, fold.wall_ns, fold.max_mono_ns, fold.events = before
            return
        self._folded(self._seq, pair, "", len(checkpoint_line))
        self._since_checkpoint = 0
        self._checkpoint_due = max(self._checkpoint_bytes, CHECKPOINT_RATIO * (len(line) + len(checkpoint_line)))

    def _cut_back(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._file.truncate(self._offset)
            self._file.seek(self._offset)

    def _folded(self, seq: int, item: Append, type_name: str, size: int) -> None:
        name = type_name or EVENT_NAMES.get(type(item.event), "")
        self._since_checkpoint += size
        if self._request_snapshot is None:
            return
        try:
            self._fold.feed_event(seq, item.mono_ns, item.wall_ns, name, item.cause, item.event)
        except Exception as exc:  # the fold is only for checkpoints: without it, replay just starts further back
            log.warning("journal checkpoints stopped: an event did not fold", seq=seq, error=repr(exc))
            self._request_snapshot = None

    def _ask_for_snapshot(self) -> None:
        """A checkpoint only makes replay faster: failing to get one must never cost the journal an event."""
        if self._request_snapshot is not None and not self._snapshot_requested:
            self._snapshot_requested = True
            try:
                self._request_snapshot()
            except Exception as exc:
                log.warning("no stats snapshot for a journal checkpoint", error=repr(exc))
                self._snapshot_requested = False

    def _write_checkpoint(self, snapshot_seq: int, snapshot_size: int) -> None:
        """Right after the snapshot, so the pair is adjacent and the snapshot is the fold's statistics."""
        if self._request_snapshot is None or self._fold.seq != snapshot_seq:  # no fold, or a gap came between
            return
        checkpoint = JournalCheckpoint(
            snapshot_seq, self._fold.max_mono_ns, CHECKPOINT_IMAGE_VERSION, msgspec.Raw(self._fold.image())
        )
        self._seq += 1
        item = Append("journal", "checkpoint", checkpoint)
        line = encode_record(self._seq, item.mono_ns, item.wall_ns, item.source, item.cause, checkpoint)
        if self._emit([line], self._seq, self._seq, BlockKind.CHECKPOINT):
            self._folded(self._seq, item, "", len(line))
        self._since_checkpoint = 0
        self._checkpoint_due = max(self._checkpoint_bytes, CHECKPOINT_RATIO * (snapshot_size + len(line)))

    def _record_gap(self, last_lost: int) -> None:
        """Writing works again: the journal itself says which events are missing, right where they are."""
        assert self._lost_from is not None
        gap = JournalGap(self._lost_from, last_lost, self._lost_error)
        log.warning("journal writes resumed", lost_from_seq=gap.from_seq, lost_to_seq=gap.to_seq)
        self._lost_from = None
        self._seq += 1
        now = Append("journal", "write_error", gap)
        line = encode_record(self._seq, now.mono_ns, now.wall_ns, now.source, now.cause, gap)
        if self._emit([line], self._seq, self._seq, BlockKind.GAP):
            self._folded(self._seq, now, "", len(line))

    def _flush(self) -> None:
        self._write_batch()
        try:
            self._file.flush()
        except OSError as exc:
            log.warning("journal flush failed", error=str(exc))

    def _sync(self) -> None:
        self._flush()
        with contextlib.suppress(OSError):
            os.fsync(self._file.fileno())


class _FlushTick:
    __slots__ = ()


def _continuation(file: IO[bytes]) -> tuple[Header | None, Chain | None]:
    """A resumed journal goes on in its own format, its chain from its last line."""
    try:
        return continuation(file)
    except (OSError, ValueError, BlockError):
        return None, None


def reopen_journal_file(path: str) -> IO[bytes]:
    """Open a killed master's journal to append to it, cutting a torn last line so the next event starts clean."""
    try:
        file = open(path, "r+b", buffering=0)  # noqa: SIM115 - the Journal actor owns it from here
    except OSError as exc:
        raise JournalUnwritable(f"cannot append to journal {path!r}: {exc.strerror or exc}") from None
    data = file.read()
    keep = data.rfind(b"\n") + 1
    first = data[: data.find(b"\n") + 1]
    with contextlib.suppress(Exception):  # not a journal at all: replay has refused it before this
        if decode_header(first).format_version >= BLOCKS_FROM_VERSION:
            torn_at = scan(file, len(first)).torn_at
            keep = len(data) if torn_at is None else torn_at
    if keep < len(data):
        log.warning("cutting the torn tail of the journal", path=path, bytes=len(data) - keep)
        file.truncate(keep)
    file.seek(keep)
    return file


DEFAULT_COMPRESSION = "zstd"


def journal_format_for(path: str) -> int:
    """A path ending in `.jsonl` asks for plain JSON Lines (format 2, greppable); any other gets format 3."""
    return LINES_FORMAT_VERSION if path.endswith(".jsonl") else FORMAT_VERSION


def journal_header(
    run_id: str,
    command_line: list[str],
    config: dict[str, Any],
    random_seed: int,
    horde_version: str,
    format_version: int = LINES_FORMAT_VERSION,
) -> Header:
    import socket

    from horde.protocol.journal import FORMAT_NAME

    return Header(
        format=FORMAT_NAME,
        format_version=format_version,
        horde_version=horde_version,
        run_id=run_id,
        command_line=command_line,
        config=config,
        hostname=socket.gethostname(),
        pid=os.getpid(),
        random_seed=random_seed,
        started_wall_ns=time.time_ns(),
        started_mono_ns=time.monotonic_ns(),
        compression=DEFAULT_COMPRESSION if format_version >= BLOCKS_FROM_VERSION else "",
    )
