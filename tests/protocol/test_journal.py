"""The journal format: header, gapless records, torn tails, versions, unknown types."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from horde.protocol.events import RunStateChanged, WorkerJoined
from horde.protocol.journal import (
    FORMAT_NAME,
    FORMAT_VERSION,
    LINES_FORMAT_VERSION,
    Header,
    JournalError,
    encode_header,
    encode_record,
    read_journal,
)

HEADER = Header(FORMAT_NAME, LINES_FORMAT_VERSION, "0.1.0", "run1", ["horde", "run"], {"users": 1}, "h", 1, 7, 10, 20)
EVENTS = [
    RunStateChanged("spawning", "ready", "workers ready", 1.0),
    WorkerJoined("w1", "i", 0, "h", 1, 2, "0.1.0", ("A",), 0.5),
]


def _write(path: Path, header: Header = HEADER, tail: bytes = b"") -> None:
    lines = [encode_header(header)]
    lines += [encode_record(i + 1, 100 + i, 200 + i, "master", "cli", e) for i, e in enumerate(EVENTS)]
    path.write_bytes(b"".join(lines) + tail)


def test_round_trip(tmp_path: Path) -> None:
    _write(tmp_path / "j.jsonl")
    contents = read_journal(tmp_path / "j.jsonl")
    assert contents.header == HEADER
    assert [r.event for r in contents.records] == EVENTS
    assert [r.type for r in contents.records] == ["run.state_changed", "worker.joined"]
    assert not contents.torn_tail


def test_a_torn_last_line_is_skipped_and_flagged(tmp_path: Path) -> None:
    _write(tmp_path / "j.jsonl", tail=b'{"seq":3,"v":1,"mono')
    contents = read_journal(tmp_path / "j.jsonl")
    assert contents.torn_tail and len(contents.records) == 2


def test_unknown_event_types_stay_opaque_and_are_counted(tmp_path: Path) -> None:
    line = (
        b'{"seq":3,"v":1,"mono_ns":1,"wall_ns":1,"source":"plugin","cause":"x",'
        b'"type":"plugin.p.Thing","data":{"a":1}}\n'
    )
    _write(tmp_path / "j.jsonl", tail=line)
    contents = read_journal(tmp_path / "j.jsonl")
    assert isinstance(contents.records[-1].event, msgspec.Raw)
    assert contents.unknown_types == {"plugin.p.Thing": 1}


def test_a_newer_format_is_a_clear_error(tmp_path: Path) -> None:
    newer = msgspec.structs.replace(HEADER, format_version=FORMAT_VERSION + 1)
    _write(tmp_path / "j.jsonl", header=newer)
    with pytest.raises(JournalError, match="newer"):
        read_journal(tmp_path / "j.jsonl")


@pytest.mark.parametrize("content", [b"", b"hello\n", b'{"format":"other"}\n', b"\x00\x01"])
def test_files_that_are_not_journals(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x").write_bytes(content)
    with pytest.raises(JournalError, match="journal"):
        read_journal(tmp_path / "x")
