"""The Journal actor: gapless seqs, and a disk that fills up mid-run costs events, never the run."""

from __future__ import annotations

import errno
import io

from horde.actors.base import Append
from horde.actors.journal import Flush, Journal, journal_header
from horde.protocol.events import JournalGap, RunTargetChanged
from horde.protocol.journal import decode_header, decode_record


class FillingDisk(io.BytesIO):
    """A file whose disk is full while `full` is set, as ENOSPC makes a real one."""

    full = False

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        return super().write(data)

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "no descriptor")

    def close(self) -> None:
        self.saved = self.getvalue()
        super().close()


def test_a_full_disk_leaves_a_recorded_gap_and_the_writer_goes_on() -> None:
    disk = FillingDisk()
    journal = Journal.start(disk, journal_header("r", ["horde"], {}, 0, "0.1.0"))
    try:
        for users in range(1, 4):
            journal.tell(Append("master", "cli", RunTargetChanged(users, 1.0)))
        journal.ask(Flush())
        disk.full = True
        for users in range(4, 7):
            journal.tell(Append("master", "cli", RunTargetChanged(users, 1.0)))
        journal.ask(Flush())
        disk.full = False
        journal.tell(Append("master", "cli", RunTargetChanged(7, 1.0)))
        journal.ask(Flush())
    finally:
        journal.stop()
    lines = disk.saved.splitlines(keepends=True)
    decode_header(lines[0])
    records = [decode_record(line) for line in lines[1:]]
    assert [r.seq for r in records] == [1, 2, 3, 7, 8]
    assert [r.event.user_count for r in records[:4]] == [1, 2, 3, 7]  # type: ignore[union-attr]
    gap = records[-1].event
    assert isinstance(gap, JournalGap) and (gap.from_seq, gap.to_seq) == (4, 6) and "space" in gap.error
    assert records[-1].type == "journal.gap" and records[-1].source == "journal"
