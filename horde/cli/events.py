"""`horde events FILE [--type T] [--source S] [--follow]`: print a run's journal, one event per line."""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
from collections.abc import Iterator
from typing import IO, Any

import msgspec

from horde.cli.options import Parser, UsageError
from horde.protocol.journal import (
    BLOCKS_FROM_VERSION,
    Header,
    JournalError,
    Record,
    decode_record,
    open_journal_for_reading,
    read_header,
)
from horde.protocol.journal_blocks import BlockError, decompressor, read_block, scan
from horde.protocol.stats import Buckets


def parser() -> argparse.ArgumentParser:
    p = Parser(prog="horde events", description="Print a run's journal, filtered.")
    p.add_argument("file", help="a journal written by horde run (--journal)")
    p.add_argument("--type", action="append", help="only events of this type; wildcards allowed (worker.*)")
    p.add_argument("--source", action="append", help="only events from this source; wildcards allowed")
    p.add_argument("--follow", action="store_true", help="keep printing events as a live run appends them")
    return p


def _matches(record: Record, types: list[str] | None, sources: list[str] | None) -> bool:
    if types and not any(fnmatch.fnmatchcase(record.type, t) for t in types):
        return False
    return not sources or any(fnmatch.fnmatchcase(record.source, s) for s in sources)


def readable(value: Any) -> Any:
    """An event as plain data, each packed histogram as the `{bucket: count}` map a reader expects (ADR 0012)."""
    if isinstance(value, Buckets):
        return {str(bucket): count for bucket, count in value.pairs()}
    if isinstance(value, msgspec.Struct):
        return {name: readable(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, list | tuple):
        return [readable(item) for item in value]
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    return value


def format_record(record: Record, start_mono_ns: int) -> str:
    seconds = (record.mono_ns - start_mono_ns) / 1e9
    data = msgspec.json.encode(readable(record.event)).decode()
    return f"{record.seq:>7} {seconds:9.3f}s {record.source:<24} {record.type:<24} {data}"


def run_events(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        with open_journal_for_reading(args.file) as f:
            header = read_header(f, args.file)
            lines = _blocks(f, header, args.follow) if header.format_version >= BLOCKS_FROM_VERSION else _lines(f, args)
            for line in lines:
                try:
                    record = decode_record(line)
                except (msgspec.DecodeError, msgspec.ValidationError) as exc:
                    raise JournalError(f"a line is not a journal record: {exc}") from None
                if _matches(record, args.type, args.source):
                    print(format_record(record, header.started_mono_ns), flush=args.follow)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    except KeyboardInterrupt:
        return 0
    return 0


def _lines(f: IO[bytes], args: argparse.Namespace) -> Iterator[bytes]:
    """The complete lines of a JSON Lines journal; with --follow, those a live run appends too."""
    pending = b""
    while True:
        chunk = f.readline()
        if not chunk:
            if not args.follow:
                break
            time.sleep(0.2)
            continue
        pending += chunk
        if not pending.endswith(b"\n"):
            continue
        line, pending = pending, b""
        yield line
    if pending:
        print("horde: warning: the journal's last line is torn (the run was killed?)", file=sys.stderr)


def _blocks(f: IO[bytes], header: Header, follow: bool) -> Iterator[bytes]:
    """The lines of a compressed journal, block by block (ADR 0027); with --follow, the blocks still to come."""
    decompress = decompressor(header.compression)
    offset = f.tell()
    while True:
        try:
            scanned = scan(f, offset)
            for frame in scanned.frames:
                yield from read_block(f, frame, decompress).splitlines(keepends=True)
                offset = frame.end
        except BlockError as exc:
            raise JournalError(str(exc)) from None
        if follow:
            time.sleep(0.2)
            continue
        if scanned.torn_at is not None:
            print("horde: warning: the journal's last block is torn (the run was killed?)", file=sys.stderr)
        return
