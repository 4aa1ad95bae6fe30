"""The journal's on-disk format: JSON Lines, a header line, then one event record per line (ADR 0005).

JSON Lines keeps a journal greppable and `jq`-able, and a torn last line (a killed master) is easy to see and skip.
Since format 2 every record ends with `"h"`, a hash chained to the line before it (ADR 0026), so an edited,
removed, inserted or reordered line is found by reading the file alone. Format 3 holds the same lines in
compressed blocks after a plain header line (`horde.protocol.journal_blocks`, ADR 0027); the chain is over the
lines, so it does not depend on how they were compressed.
This module only encodes and decodes; the Journal actor owns the file while a run writes it.
"""

from __future__ import annotations

import hashlib
import mmap
import os
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import IO, Any

import msgspec

from horde.protocol.events import EVENT_NAMES, EVENT_TYPES, EVENT_VERSIONS, Event
from horde.protocol.journal_blocks import BlockError, decompressor, read_block, scan
from horde.protocol.stats import Buckets

FORMAT_NAME = "horde-journal"
FORMAT_VERSION = 3
"""3: format 2's lines in compressed blocks (ADR 0027). 2: each record carries `h`, the hash chain (ADR 0026).
1: the same records without it. All three are read; horde writes 3, or 2 to a path ending in `.jsonl`."""
LINES_FORMAT_VERSION = 2
OLDEST_FORMAT_VERSION = 1
CHAINED_FROM_VERSION = 2
BLOCKS_FROM_VERSION = 3


class JournalError(Exception):
    """The file cannot be read as a journal of a version we understand."""


class Header(msgspec.Struct, frozen=True):
    format: str
    format_version: int
    horde_version: str
    run_id: str
    command_line: list[str]
    config: dict[str, Any]
    hostname: str
    pid: int
    random_seed: int
    started_wall_ns: int
    started_mono_ns: int
    compression: str = ""
    """How format 3's blocks are compressed: `zstd` or `zlib`."""


class _RecordOut(msgspec.Struct, frozen=True):
    seq: int
    v: int
    mono_ns: int
    wall_ns: int
    source: str
    cause: str
    type: str
    data: Any


class _RecordIn(msgspec.Struct, frozen=True):
    seq: int
    v: int
    mono_ns: int
    wall_ns: int
    source: str
    cause: str
    type: str
    data: msgspec.Raw
    h: str = ""


@dataclass(frozen=True, slots=True)
class Record:
    """One journal line, decoded; `event` stays raw JSON when its type is unknown (a plugin's, say)."""

    seq: int
    v: int
    mono_ns: int
    wall_ns: int
    source: str
    cause: str
    type: str
    event: Event | msgspec.Raw


@dataclass(slots=True)
class JournalContents:
    header: Header
    records: list[Record]
    torn_tail: bool = False
    unknown_types: Counter[str] = field(default_factory=Counter)
    chained: bool = False
    """The journal's format carries the hash chain (ADR 0026), so `broken_links` means something."""
    broken_links: list[int] = field(default_factory=list)
    """Line numbers (the header is 1) whose link does not follow the line before: edited, removed or inserted."""
    last_link: str = ""
    damaged_blocks: list[str] = field(default_factory=list)
    """Format 3: blocks that do not decompress, skipped (their records are missing)."""


_json = msgspec.json.Encoder()


def encode_header(header: Header) -> bytes:
    return _json.encode(header) + b"\n"


def encode_record(
    seq: int,
    mono_ns: int,
    wall_ns: int,
    source: str,
    cause: str,
    event: Event | msgspec.Raw,
    type_name: str = "",
) -> bytes:
    name = type_name or EVENT_NAMES[type(event)]  # type: ignore[index]
    version = EVENT_VERSIONS.get(name, 1)
    return _json.encode(_RecordOut(seq, version, mono_ns, wall_ns, source, cause, name, event)) + b"\n"


CHAIN_DIGEST_BYTES = 16
_LINK_START = b',"h":"'
_LINK_END = b'"}\n'
_LINK_SIZE = len(_LINK_START) + 2 * CHAIN_DIGEST_BYTES + len(_LINK_END)


def chain_seed(header_line: bytes) -> bytes:
    """The chain's first link: the hash of the header line, so an edited header breaks the first record's link."""
    return hashlib.blake2b(header_line, digest_size=CHAIN_DIGEST_BYTES).digest()


def link(previous: bytes, line: bytes) -> bytes:
    """A record's link: the hash of the previous link and of the record's line as `encode_record` made it."""
    digest = hashlib.blake2b(previous, digest_size=CHAIN_DIGEST_BYTES)
    digest.update(line)
    return digest.digest()


def unsealed(line: bytes) -> tuple[bytes, bytes] | None:
    """`(the line as it was hashed, its link)`, or None when the line carries no link in the place it goes."""
    if len(line) <= _LINK_SIZE or not line.endswith(_LINK_END):
        return None
    start = len(line) - _LINK_SIZE
    if line[start : start + len(_LINK_START)] != _LINK_START:
        return None
    try:
        digest = bytes.fromhex(line[start + len(_LINK_START) : -len(_LINK_END)].decode("ascii"))
    except ValueError:
        return None
    return line[:start] + b"}\n", digest


class Chain:
    """The writer's side of the hash chain: seals each record line with the link that follows the last one.

    The link is the last field of the line, so it is computed over the exact bytes a reader gets back by cutting
    it off: nothing is encoded twice, and a reader that ignores `h` reads the record as format 1's.
    """

    __slots__ = ("last",)

    def __init__(self, last: bytes) -> None:
        self.last = last

    def seal(self, line: bytes) -> bytes:
        self.last = link(self.last, line)
        return line[:-2] + _LINK_START + self.last.hex().encode() + _LINK_END


def continuation(file: IO[bytes]) -> tuple[Header | None, Chain | None]:
    """What a journal being continued (a resumed master) goes on with: its header, and its chain if it has one."""
    size = os.fstat(file.fileno()).st_size
    if size == 0:
        return None, None
    with mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ) as view:
        first_end = view.find(b"\n") + 1
        if first_end == 0:
            return None, None
        header_line = view[:first_end]
        try:
            header = decode_header(header_line)
        except JournalError:
            return None, None
        if header.format_version < CHAINED_FROM_VERSION:
            return header, None
        if header.format_version >= BLOCKS_FROM_VERSION:
            frames = scan(file, first_end).frames
            if not frames:
                return header, Chain(chain_seed(header_line))
            block = read_block(file, frames[-1], decompressor(header.compression))
            return header, Chain(_last_link(block[block.rfind(b"\n", 0, len(block) - 1) + 1 :]))
        last_end = view.rfind(b"\n") + 1
        if last_end <= first_end:
            return header, Chain(chain_seed(header_line))
        last = view[view.rfind(b"\n", 0, last_end - 1) + 1 : last_end]
    return header, Chain(_last_link(last))


def _last_link(line: bytes) -> bytes:
    found = unsealed(line)
    return found[1] if found else chain_seed(line)


Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

UPCASTERS: dict[tuple[str, int], Upcaster] = {}
"""`(type, v)` -> the function turning version `v` of that event's `data` into version `v + 1`.

When an event's shape changes, its version in `horde.protocol.events.EVENT_VERSIONS` goes up and the old shape
gets an upcaster here (and keeps its fixture line in tests/protocol/fixtures), so journals of every released
horde still read. Upcasters chain: a v1 record of a type now at v3 goes through (type, 1) then (type, 2).
"""


def _packed(buckets: dict[str, int]) -> Any:
    """A v1 histogram, `{"bucket": count}`, as v2's `Buckets` reads it from JSON (base64 arrays)."""
    return msgspec.to_builtins(Buckets.of({int(bucket): count for bucket, count in buckets.items()}))


def _stats_reported_v1(data: dict[str, Any]) -> dict[str, Any]:
    for part in ("entries", "seconds"):
        for item in data["delta"].get(part, ()):
            item["buckets"] = _packed(item["buckets"])
    return data


def _stats_snapshot_v1(data: dict[str, Any]) -> dict[str, Any]:
    image = data["stats"]
    for item in (*image["entries"], image["total"], *image["seconds"]):
        item["buckets"] = _packed(item["buckets"])
    return data


UPCASTERS[("stats.reported", 1)] = _stats_reported_v1
UPCASTERS[("stats.snapshot", 1)] = _stats_snapshot_v1

_header_decoder = msgspec.json.Decoder(Header)
_record_decoder = msgspec.json.Decoder(_RecordIn)
_event_decoders = {name: msgspec.json.Decoder(cls) for name, cls in EVENT_TYPES.items()}


def decode_header(line: bytes) -> Header:
    try:
        header = _header_decoder.decode(line)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise JournalError("not a horde journal (its first line is not a journal header)") from None
    if header.format != FORMAT_NAME:
        raise JournalError(f"not a horde journal (format {header.format!r})")
    if header.format_version > FORMAT_VERSION:
        raise JournalError(
            f"journal format version {header.format_version} is newer than this horde reads ({FORMAT_VERSION});"
            " upgrade horde"
        )
    if header.format_version < OLDEST_FORMAT_VERSION:
        raise JournalError(
            f"journal format version {header.format_version} was never written by horde"
            f" (known: {OLDEST_FORMAT_VERSION} to {FORMAT_VERSION}); the header is damaged or forged"
        )
    if header.format_version >= BLOCKS_FROM_VERSION:
        try:
            decompressor(header.compression)
        except BlockError as exc:
            raise JournalError(str(exc)) from None
    return header


def _upcast(type_name: str, version: int, current: int, data: msgspec.Raw) -> bytes:
    value: dict[str, Any] = msgspec.json.decode(data)
    for v in range(version, current):
        upcaster = UPCASTERS.get((type_name, v))
        if upcaster is None:
            raise JournalError(f"{type_name} version {v} cannot be read by this horde (no upcaster to v{v + 1})")
        value = upcaster(value)
    return msgspec.json.encode(value)


Decoders = Mapping[str, "msgspec.json.Decoder[Any]"]


def lean_decoders(types: Mapping[str, type[Any]]) -> Decoders:
    """The event decoders with some types read into leaner structs, whose fields are a subset of the event's.

    msgspec skips the fields a struct does not declare without building them, so a reader that needs only the
    errors of each `stats.reported` reads an hour-long journal several times faster (`horde replay --timeline`).
    """
    return {**_event_decoders, **{name: msgspec.json.Decoder(cls) for name, cls in types.items()}}


def decode_record(line: bytes, decoders: Decoders | None = None) -> Record:
    """One journal line, old versions upcast first; an unknown type stays raw JSON (a plugin's, a newer horde's)."""
    raw = _record_decoder.decode(line)
    decoder = (_event_decoders if decoders is None else decoders).get(raw.type)
    event: Event | msgspec.Raw
    if decoder is None:
        event = raw.data
    else:
        current = EVENT_VERSIONS.get(raw.type, 1)
        if raw.v < 1:
            raise JournalError(f"seq {raw.seq}: {raw.type} version {raw.v} was never written by horde")
        if raw.v > current:
            raise JournalError(
                f"seq {raw.seq}: {raw.type} version {raw.v} is newer than this horde reads ({current}); upgrade horde"
            )
        data: bytes | msgspec.Raw = raw.data if raw.v == current else _upcast(raw.type, raw.v, current, raw.data)
        event = decoder.decode(data)
    return Record(raw.seq, raw.v, raw.mono_ns, raw.wall_ns, raw.source, raw.cause, raw.type, event)


def read_journal(path: str | os.PathLike[str], decoders: Decoders | None = None) -> JournalContents:
    """The whole journal, upcast; a torn last line (a killed master) is skipped and flagged, not an error."""
    name = os.fspath(path)
    with open_journal_for_reading(path) as file:
        try:
            return _read_file(file, name, decoders)
        except OSError as exc:
            raise JournalError(f"cannot read {name!r}: {exc.strerror or exc}") from None


TORN = b"{"
"""What `body_lines` yields for an incomplete last block: like a torn last line, it has no newline."""


def body_lines(
    file: IO[bytes], header: Header, start: int, on_damaged: Callable[[str], None] | None = None
) -> Iterator[bytes]:
    """The record lines from byte `start` (just after the header) on, whatever the format keeps them in.

    A torn tail ends them with a line that lacks its newline; a block damaged in place is passed to `on_damaged`
    and skipped (its seqs are then missing), or is a JournalError without it.
    """
    if header.format_version < BLOCKS_FROM_VERSION:
        file.seek(start)
        yield from file
        return
    decompress = decompressor(header.compression)
    try:
        frames = scan(file, start)
    except BlockError as exc:
        raise JournalError(str(exc)) from None
    for frame in frames.frames:
        try:
            data = read_block(file, frame, decompress)
        except BlockError as exc:
            if on_damaged is None:
                raise JournalError(str(exc)) from None
            on_damaged(str(exc))
            continue
        yield from data.splitlines(keepends=True)
    if frames.torn_at is not None:
        yield TORN


def iter_lines(path: str | os.PathLike[str]) -> Iterator[bytes]:
    """The header line, then every record line of a journal in any format (a damaged block is skipped)."""
    with open(path, "rb") as f:
        first = f.readline()
        yield first
        try:
            header = decode_header(first)
        except JournalError:
            return
        yield from body_lines(f, header, len(first), lambda _: None)


def open_journal_for_reading(path: str | os.PathLike[str]) -> IO[bytes]:
    """The journal file, open at its start; every way it cannot be opened becomes one JournalError."""
    name = os.fspath(path)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise JournalError(f"journal {name!r} does not exist") from None
    except IsADirectoryError:
        raise JournalError(f"{name!r} is a directory, not a journal") from None
    except OSError as exc:
        raise JournalError(f"cannot read {name!r}: {exc.strerror or exc}") from None


def read_header(file: IO[bytes], name: str) -> Header:
    first = file.readline()
    if not first:
        raise JournalError(f"{name!r} is empty, not a journal")
    return decode_header(first)


def records_from(file: IO[bytes], offset: int) -> Iterator[Record | None]:
    """The records from byte `offset` (a line's start) on; a torn last line ends them with one None."""
    file.seek(offset)
    number = 0
    for number, line in enumerate(file, start=1):
        try:
            yield decode_record(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if not line.endswith(b"\n"):  # only the last line can lack its newline
                yield None
                return
            raise JournalError(f"record {number} after byte {offset} is not a journal record: {exc}") from None


def last_lines_of_type(file: IO[bytes], type_name: str, start: int) -> Iterator[tuple[int, bytes]]:
    """`(offset, line)` of each whole line that names `type_name`, last first, never before byte `start`.

    A search from the end of a memory map: finding the last checkpoint of a 1 GB journal reads only its tail.
    The lines are candidates (the name could be inside another event's data); the caller decodes to be sure.
    """
    size = os.fstat(file.fileno()).st_size
    if size <= start:
        return
    needle = b'"type":"%s"' % type_name.encode()
    with mmap.mmap(file.fileno(), size, access=mmap.ACCESS_READ) as view:
        end = size
        while True:
            found = view.rfind(needle, start, end)
            if found < 0:
                return
            line_start = view.rfind(b"\n", 0, found) + 1
            line_end = view.find(b"\n", found)
            if line_end >= 0 and line_start >= start:
                yield line_start, view[line_start : line_end + 1]
            end = line_start


def line_before(file: IO[bytes], offset: int, start: int) -> tuple[int, bytes] | None:
    """The whole line that ends just before byte `offset`, if it starts at or after `start`."""
    if offset - 1 <= start:
        return None
    with mmap.mmap(file.fileno(), offset, access=mmap.ACCESS_READ) as view:
        line_start = view.rfind(b"\n", 0, offset - 1) + 1
        if line_start < start:
            return None
        return line_start, view[line_start:offset]


def _read_file(file: IO[bytes], name: str, decoders: Decoders | None = None) -> JournalContents:
    first = file.readline()
    if not first:
        raise JournalError(f"{name!r} is empty, not a journal")
    contents = JournalContents(decode_header(first), [])
    contents.chained = contents.header.format_version >= CHAINED_FROM_VERSION
    previous = chain_seed(first)
    lines = body_lines(file, contents.header, len(first), contents.damaged_blocks.append)
    for number, line in enumerate(lines, start=2):
        if contents.chained and line.endswith(b"\n"):
            found = unsealed(line)
            if found is None or link(previous, found[0]) != found[1]:
                contents.broken_links.append(number)
            # Go on from the link the line carries: an edit is reported once, where it is, not on every line after.
            previous = found[1] if found is not None else chain_seed(line)
        try:
            record = decode_record(line, decoders)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            if not line.endswith(b"\n"):  # only the last line can lack its newline
                contents.torn_tail = True
                break
            raise JournalError(f"line {number} is not a journal record: {exc}") from None
        if isinstance(record.event, msgspec.Raw):
            contents.unknown_types[record.type] += 1
        contents.records.append(record)
    contents.last_link = previous.hex() if contents.chained else ""
    return contents
