"""Can this journal be trusted? What reading it finds that a faithful journal would not hold (ADR 0026).

A journal is only worth replaying if its records are the ones the run wrote, each once, in order, all of them.
The Journal actor numbers records without gaps and chains each line to the one before it, so each way a file can
lie shows: a seq that skips (records lost or removed), a seq seen twice (a duplicated line), a seq that goes back
(records reordered), a link that does not follow (a line edited, inserted or removed), a `journal.gap` (the
master itself could not write some events), a worker's report counted twice. Statistics folded over any of these
are not the run's, so replay says so beside its totals and `--check` fails.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from horde.protocol.events import JournalGap, StatsMerged, StatsReported
from horde.protocol.journal import JournalContents, Record


class Finding(StrEnum):
    GAP = "gap"
    DUPLICATE = "duplicate"
    REORDERED = "reordered"
    EDITED = "edited"
    REPORT_TWICE = "report counted twice"
    MISCOUNTED = "miscounted"
    DAMAGED = "damaged"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: Finding
    text: str
    incomplete: bool = False
    """The statistics folded over it miss reports: the totals are too low, not merely unproven."""


@dataclass(slots=True)
class Audit:
    """Feed it every record in file order (`feed`), then read `problems`.

    Missing seqs are only known at the end (a record out of order fills its hole later), so `problems` works
    them out when read: every hole between the seqs seen, explained by the `journal.gap` that covers it, if any.
    """

    started_mono_ns: int = 0
    records: int = 0
    _found: list[Problem] = field(default_factory=list)
    _last_seq: int = 0
    _first_seq: int = 1
    _mono_ns: dict[int, int] = field(default_factory=dict)
    _gaps: list[tuple[JournalGap, int]] = field(default_factory=list)
    _reports: dict[str, int] = field(default_factory=dict)

    def _at(self, mono_ns: int | None) -> str:
        return "the start" if mono_ns is None else f"{(mono_ns - self.started_mono_ns) / 1e9:.3f} s"

    def feed(self, record: Record) -> None:
        self.records += 1
        seq = record.seq
        if seq in self._mono_ns:
            self._found.append(Problem(Finding.DUPLICATE, f"seq {seq} appears twice (a duplicated record)"))
        elif seq < self._last_seq:
            self._found.append(
                Problem(Finding.REORDERED, f"seq {seq} comes after seq {self._last_seq} (records out of order)")
            )
        self._mono_ns.setdefault(seq, record.mono_ns)
        self._last_seq = max(self._last_seq, seq)
        event = record.event
        if isinstance(event, JournalGap):
            self._gaps.append((event, record.mono_ns))
        elif isinstance(event, StatsReported):
            self._merged(seq, event.worker_id, event.incarnation, event.seq)
        elif isinstance(event, StatsMerged):
            for ref in event.reports:
                self._merged(seq, ref.worker_id, ref.incarnation, ref.seq)
            requests = sum(entry.num_requests for entry in event.delta.entries)
            failures = sum(entry.num_failures for entry in event.delta.entries)
            counted = sum(ref.requests for ref in event.reports), sum(ref.failures for ref in event.reports)
            if (requests, failures) != counted:
                self._found.append(
                    Problem(
                        Finding.MISCOUNTED,
                        f"seq {seq}: the merged delta counts {requests} requests and {failures} failures,"
                        f" its {len(event.reports)} reports {counted[0]} and {counted[1]}",
                    )
                )

    def _merged(self, seq: int, worker_id: str, incarnation: str, report_seq: int) -> None:
        key = f"{worker_id}/{incarnation}"
        last = self._reports.get(key, 0)
        if report_seq <= last:
            self._found.append(
                Problem(
                    Finding.REPORT_TWICE,
                    f"seq {seq}: report {report_seq} of {worker_id} ({incarnation}) is merged again"
                    f" after its report {last}",
                )
            )
        else:
            self._reports[key] = report_seq

    def resume_after(self, seq: int, mono_ns: int) -> None:
        """Go on from a checkpoint: the records up to `seq` were folded (and checked) when the run wrote it."""
        self._first_seq = seq + 1
        self._mono_ns[seq] = mono_ns

    def feed_gap(self, record: Record) -> None:
        """A `journal.gap` from the part of the journal a checkpoint saved reading."""
        assert isinstance(record.event, JournalGap)
        self._gaps.append((record.event, record.mono_ns))

    @property
    def problems(self) -> list[Problem]:
        holes: list[tuple[int, int, str]] = []
        seqs = sorted(self._mono_ns)
        before, before_ns = self._first_seq - 1, None
        for seq in seqs:
            if seq > before + 1:
                span = f"between {self._at(before_ns)} and {self._at(self._mono_ns[seq])}"
                holes.append((before + 1, seq - 1, span))
            before, before_ns = max(before, seq), self._mono_ns[seq]
        gaps: list[Problem] = []
        for event, written_ns in self._gaps:
            # The Journal skips the seqs it lost and says so in its record: one gap, explained, not two.
            span = next((h[2] for h in holes if (h[0], h[1]) == (event.from_seq, event.to_seq)), "")
            holes = [h for h in holes if (h[0], h[1]) != (event.from_seq, event.to_seq)]
            gaps.append(
                Problem(
                    Finding.GAP,
                    f"the master could not write events {event.from_seq}..{event.to_seq} ({event.error}), "
                    + (span or f"up to {self._at(written_ns)}"),
                    incomplete=True,
                )
            )
        for first, last, span in holes:
            missing = f"seq {first} is" if first == last else f"seqs {first}..{last} are"
            gaps.append(Problem(Finding.GAP, f"{missing} missing, {span}", incomplete=True))
        return gaps + self._found

    @property
    def incomplete(self) -> bool:
        return any(problem.incomplete for problem in self.problems)


def audit(contents: JournalContents, records: Iterable[Record] | None = None) -> Audit:
    """Every problem of a whole journal: its records (or `records`, a prefix of them) and its hash chain."""
    result = Audit(contents.header.started_mono_ns)
    for record in contents.records if records is None else records:
        result.feed(record)
    for damaged in contents.damaged_blocks:
        result._found.append(Problem(Finding.DAMAGED, f"{damaged} and was skipped", incomplete=True))
    for first, last in _runs(contents.broken_links):
        lines = f"line {first} does" if first == last else f"lines {first}..{last} do"
        result._found.append(
            Problem(
                Finding.EDITED,
                f"{lines} not follow the line before in the hash chain (edited, inserted, removed or moved there)",
            )
        )
    return result


def _runs(numbers: list[int]) -> list[tuple[int, int]]:
    """Consecutive numbers as `(first, last)` ranges: a moved line breaks the links of the few lines around it."""
    runs: list[tuple[int, int]] = []
    for number in numbers:
        if runs and number == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], number)
        else:
            runs.append((number, number))
    return runs
