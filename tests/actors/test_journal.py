"""The Journal actor: gapless seqs, and a disk that fills up mid-run costs events, never the run."""

from __future__ import annotations

import errno

from horde.actors.base import Append
from horde.actors.journal import Flush, Journal, journal_header
from horde.protocol.events import JournalGap, RunTargetChanged
from horde.protocol.journal import decode_header, decode_record
from tests.support.disks import FillingDisk


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


def test_a_checkpoint_follows_the_snapshot_it_asked_for_once_enough_bytes_were_written() -> None:
    from horde.actors.replay import Replay
    from horde.actors.stats_aggregator import AggregatorState, snapshot_of
    from horde.protocol.events import JournalCheckpoint, StatsSnapshot

    disk = FillingDisk()
    requests: list[int] = []
    journal = Journal.start(
        disk,
        journal_header("r", ["horde"], {}, 0, "0.1.0"),
        request_snapshot=lambda: requests.append(1),
        checkpoint_bytes=1000,
    )
    try:
        for users in range(1, 40):  # about 120 bytes each: asked once, however many more follow
            journal.tell(Append("master", "cli", RunTargetChanged(users, 1.0)))
        journal.ask(Flush())
        assert len(requests) == 1
        journal.tell(Append("stats", "checkpoint", snapshot_of(AggregatorState())))
        journal.tell(Append("master", "cli", RunTargetChanged(99, 1.0)))
        journal.ask(Flush())
        assert len(requests) == 1  # the checkpoint reset the count: no second snapshot asked for at once
    finally:
        journal.stop()
    records = [decode_record(line) for line in disk.saved.splitlines(keepends=True)[1:]]
    assert [r.type for r in records[-3:]] == ["stats.snapshot", "journal.checkpoint", "run.target_changed"]
    snapshot, checkpoint = records[-3], records[-2]
    assert isinstance(snapshot.event, StatsSnapshot) and isinstance(checkpoint.event, JournalCheckpoint)
    assert checkpoint.event.stats_seq == snapshot.seq == checkpoint.seq - 1
    restored = Replay.from_checkpoint(checkpoint.event, snapshot.event)
    folded = Replay()
    for record in records[:-2]:
        folded.feed(record)
    assert restored.state() == folded.state() and restored.master.target_users == 39


class HalfFullDisk(FillingDisk):
    """The disk fills in the middle of a write: part of it lands, and the rest fails, as with a real ENOSPC."""

    room = 10**9

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.room == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        if len(data) > self.room:
            written = super().write(bytes(data[: self.room]))
            self.room = 0
            return written
        self.room -= len(data)
        return super().write(data)


def test_a_write_that_fails_halfway_is_cut_back_so_no_line_is_torn() -> None:
    disk = HalfFullDisk()
    journal = Journal.start(disk, journal_header("r", ["horde"], {}, 0, "0.1.0"))
    try:
        journal.tell(Append("master", "cli", RunTargetChanged(1, 1.0)))
        journal.ask(Flush())
        disk.room = 50  # less than one record
        journal.tell(Append("master", "cli", RunTargetChanged(2, 1.0)))
        journal.ask(Flush())
        disk.room = 10**9
        journal.tell(Append("master", "cli", RunTargetChanged(3, 1.0)))
        journal.ask(Flush())
    finally:
        journal.stop()
    lines = disk.saved.splitlines(keepends=True)
    records = [decode_record(line) for line in lines[1:]]  # every line whole: none of event 2's bytes remain
    assert [r.seq for r in records] == [1, 3, 4]
    gap = records[-1].event
    assert isinstance(gap, JournalGap) and (gap.from_seq, gap.to_seq) == (2, 2)


def test_a_failing_snapshot_request_costs_no_event() -> None:
    def gone() -> None:
        raise RuntimeError("the StatsAggregator has stopped")

    disk = FillingDisk()
    journal = Journal.start(
        disk, journal_header("r", ["horde"], {}, 0, "0.1.0"), request_snapshot=gone, checkpoint_bytes=100
    )
    try:
        for users in range(1, 11):
            journal.tell(Append("master", "cli", RunTargetChanged(users, 1.0)))
        journal.ask(Flush())
    finally:
        journal.stop()
    records = [decode_record(line) for line in disk.saved.splitlines(keepends=True)[1:]]
    assert [r.event.user_count for r in records] == list(range(1, 11))  # type: ignore[union-attr]
