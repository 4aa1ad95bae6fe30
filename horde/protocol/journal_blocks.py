"""The body of a compressed journal (format 3, ADR 0027): framed blocks of record lines, each compressed alone.

Each block is one ASCII frame line, `@<kind> <size> <first seq> <last seq>\\n`, then `size` bytes: the block's
record lines (exactly as a format-2 journal holds them, hash links included) compressed as one zstd or zlib
frame. A block is written in one call, so a killed master leaves at worst one incomplete block at the end, which
its frame line's size shows without decompressing anything. The frame lines alone are enough to find the blocks
that hold a checkpoint or a `journal.gap`, so replay reads only the blocks it folds.
"""

from __future__ import annotations

import os
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import IO

import zstandard

ZSTD_LEVEL = 3
ZLIB_LEVEL = 6
_MAX_FRAME_LINE = 80
_FRAME = re.compile(rb"@([bcg]) (\d+) (\d+) (\d+)\n")


class BlockKind(StrEnum):
    RECORDS = "b"
    CHECKPOINT = "c"
    """A `stats.snapshot` and the `journal.checkpoint` after it, alone in their block (ADR 0009)."""
    GAP = "g"
    """A `journal.gap` alone: a checkpoint does not make a loss go away, so replay finds these from the frames."""


class BlockError(Exception):
    """A block or its frame line is damaged (not merely cut short at the end of the file)."""


def compressor(name: str) -> Callable[[bytes], bytes]:
    if name == "zstd":
        return zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress
    if name == "zlib":
        return lambda data: zlib.compress(data, ZLIB_LEVEL)
    raise BlockError(f"unknown journal compression {name!r}")


def decompressor(name: str) -> Callable[[bytes], bytes]:
    if name == "zstd":
        return zstandard.ZstdDecompressor().decompress
    if name == "zlib":
        return zlib.decompress
    raise BlockError(f"unknown journal compression {name!r}")


def encode_block(kind: BlockKind, first_seq: int, last_seq: int, payload: bytes) -> bytes:
    return b"@%s %d %d %d\n" % (kind.value.encode(), len(payload), first_seq, last_seq) + payload


@dataclass(frozen=True, slots=True)
class Frame:
    offset: int
    """Where the frame line starts: cutting the file here removes the block whole."""
    kind: BlockKind
    size: int
    first_seq: int
    last_seq: int
    payload: int
    """Where the compressed bytes start."""

    @property
    def end(self) -> int:
        return self.payload + self.size


@dataclass(frozen=True, slots=True)
class Frames:
    frames: list[Frame]
    torn_at: int | None
    """The offset of an incomplete last block (a killed master), if any; the whole blocks end there."""


def scan(file: IO[bytes], start: int) -> Frames:
    """Every whole block from byte `start` on, reading only the frame lines (a seek and a short read each)."""
    size = os.fstat(file.fileno()).st_size
    frames: list[Frame] = []
    offset = start
    while offset < size:
        file.seek(offset)
        line = file.readline(_MAX_FRAME_LINE)
        match = _FRAME.fullmatch(line)
        if match is None:
            if offset + len(line) >= size and not line.endswith(b"\n"):
                return Frames(frames, offset)  # the frame line itself was cut short
            raise BlockError(f"byte {offset}: not a journal block")
        kind, length, first, last = match.groups()
        frame = Frame(offset, BlockKind(kind.decode()), int(length), int(first), int(last), offset + len(line))
        if frame.end > size:
            return Frames(frames, offset)
        frames.append(frame)
        offset = frame.end
    return Frames(frames, None)


def read_block(file: IO[bytes], frame: Frame, decompress: Callable[[bytes], bytes]) -> bytes:
    """The record lines a block holds; a block that does not decompress (damaged in place) is a BlockError."""
    file.seek(frame.payload)
    payload = file.read(frame.size)
    try:
        return decompress(payload)
    except Exception as exc:  # zlib.error, zstandard.ZstdError: each library has its own
        raise BlockError(f"byte {frame.offset}: block of seqs {frame.first_seq}..{frame.last_seq} is damaged") from exc
