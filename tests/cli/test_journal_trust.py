"""A journal that lies is caught: `horde replay --check` (a real command) on copies of a real run's journal.

Each copy is damaged one way (ADR 0026): events the master could not write, lines removed, duplicated, reordered,
edited, a torn tail, a format version no horde wrote. `--check` must fail on each, naming what and where, and
plain replay must say beside its totals that they are not the run's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from horde.actors.base import Append
from horde.actors.journal import Flush, Journal
from horde.protocol.events import JournalCheckpoint, StatsSnapshot
from horde.protocol.journal import decode_header, read_journal
from tests.support.disks import FillingDisk
from tests.support.processes import REPO, Target, horde

DEMO = REPO / "horde" / "examples" / "demo_locustfile.py"


@dataclass
class Run:
    directory: Path
    journal: Path
    lines: list[bytes]

    def write(self, name: str, lines: list[bytes]) -> str:
        (self.directory / name).write_bytes(b"".join(lines))
        return name

    def index_of(self, needle: bytes, nth: int = 0) -> int:
        return [i for i, line in enumerate(self.lines) if needle in line][nth]


@pytest.fixture(scope="module")
def run(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Run:
    directory = tmp_path_factory.mktemp("trust")
    result = horde(
        "run", "-f", str(DEMO), "-H", target.url, "-u", "3", "-r", "3", "-t", "2s", "--stats-interval", "0.25",
        "--journal", "run.jsonl", "--only-summary", "--journal-checkpoint-mb", "0.004",
        cwd=directory,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    journal = directory / "run.jsonl"
    return Run(directory, journal, journal.read_bytes().splitlines(keepends=True))


def check(run: Run, name: str) -> tuple[int, str, str]:
    result = horde("replay", name, "--check", cwd=run.directory)
    return result.returncode, result.stdout, result.stderr


def test_the_real_journal_is_intact(run: Run) -> None:
    code, out, err = check(run, "run.jsonl")
    assert code == 0 and "records in order without gaps; hash chain intact" in out, out + err


def test_a_recorded_gap_fails_the_check_and_replay_says_the_totals_are_incomplete(run: Run) -> None:
    """The run's events written again by the real Journal actor onto a disk that is full for a while, as a master
    would have: the lost seqs are skipped and a `journal.gap` says which, and the hash chain stays whole."""
    contents = read_journal(run.journal)
    disk = FillingDisk()
    journal = Journal.start(disk, contents.header)
    first_merge = next(i for i, r in enumerate(contents.records) if r.type == "stats.merged")
    lost = range(first_merge, first_merge + 3)
    try:
        for i, record in enumerate(contents.records):
            if isinstance(record.event, StatsSnapshot | JournalCheckpoint):
                continue
            if i in (lost.start, lost.stop):
                journal.ask(Flush())
                disk.full = i == lost.start
            item = Append(record.source, record.cause, record.event)
            item.mono_ns, item.wall_ns = record.mono_ns, record.wall_ns
            journal.tell(item)
        journal.ask(Flush())
    finally:
        journal.stop()
    (run.directory / "gap.jsonl").write_bytes(disk.saved)

    code, out, _ = check(run, "gap.jsonl")
    assert code == 1, out
    assert "gap: the master could not write events" in out and "No space left on device" in out
    assert " s and " in out  # the time span it covers
    assert "NOT INTACT" in out and "the totals are incomplete" in out
    assert "edited" not in out  # the chain runs across the gap: nothing was changed, only lost

    replayed = horde("replay", "gap.jsonl", "--json", cwd=run.directory)
    assert replayed.returncode == 0 and "the totals are incomplete" in replayed.stderr, replayed.stderr
    whole = json.loads(horde("replay", "run.jsonl", "--json", cwd=run.directory).stdout)
    assert json.loads(replayed.stdout)["reports"]["merged"] < whole["reports"]["merged"]


def test_removed_lines_are_a_gap_and_a_broken_chain(run: Run) -> None:
    at = run.index_of(b'"type":"stats.merged"')
    name = run.write("removed.jsonl", run.lines[:at] + run.lines[at + 2 :])
    code, out, _ = check(run, name)
    first = json.loads(run.lines[at])["seq"]
    assert code == 1 and f"gap: seqs {first}..{first + 1} are missing, between" in out, out
    assert f"edited: line {at + 1} does not follow" in out and "the totals are incomplete" in out


def test_a_duplicated_report_fails_the_check_and_replay_warns(run: Run) -> None:
    at = run.index_of(b'"type":"stats.merged"')
    name = run.write("duplicate.jsonl", [*run.lines[: at + 1], run.lines[at], *run.lines[at + 1 :]])
    code, out, _ = check(run, name)
    seq = json.loads(run.lines[at])["seq"]
    assert code == 1 and f"duplicate: seq {seq} appears twice" in out, out
    assert "report counted twice" in out and "NOT INTACT" in out
    # Replay up to it folds it twice, and says so; the whole replay starts from a checkpoint written after it, whose
    # totals are the run's, so it must either say so too or give the run's totals.
    replayed = horde("replay", name, "--seq", str(seq), cwd=run.directory)
    assert replayed.returncode == 0 and "appears twice" in replayed.stderr, replayed.stderr
    whole = horde("replay", name, "--json", cwd=run.directory)
    intact = json.loads(horde("replay", "run.jsonl", "--json", cwd=run.directory).stdout)
    assert "appears twice" in whole.stderr or json.loads(whole.stdout)["summary"] == intact["summary"]


def test_reordered_lines_fail_the_check(run: Run) -> None:
    at = run.index_of(b'"type":"worker.heartbeat"')
    lines = list(run.lines)
    lines[at], lines[at + 1] = lines[at + 1], lines[at]
    code, out, _ = check(run, run.write("reordered.jsonl", lines))
    first, second = json.loads(run.lines[at])["seq"], json.loads(run.lines[at + 1])["seq"]
    assert code == 1 and f"reordered: seq {first} comes after seq {second}" in out, out


def test_an_edited_line_fails_the_check(run: Run) -> None:
    """A report's request count changed in place: seqs and dispatch are untouched, only the chain can tell."""
    at = run.index_of(b'"num_requests":')
    lines = list(run.lines)
    record = json.loads(lines[at])
    count = record["data"]["delta"]["entries"][0]["num_requests"]
    lines[at] = lines[at].replace(b'"num_requests":%d' % count, b'"num_requests":%d' % (count + 1000), 1)
    assert lines[at] != run.lines[at]
    code, out, _ = check(run, run.write("edited.jsonl", lines))
    assert code == 1 and f"edited: line {at + 1} does not follow the line before in the hash chain" in out, out


def test_a_torn_tail_is_a_killed_master_not_a_lie(run: Run) -> None:
    data = b"".join(run.lines)
    name = run.write("torn.jsonl", [data[: data.rstrip(b"\n").rfind(b"\n") + 30]])
    code, out, err = check(run, name)
    assert code == 0 and "ok, " in out and "hash chain intact" in out, out + err
    assert "last line is torn" in err


@pytest.mark.parametrize(("version", "message"), [(0, "was never written by horde"), (99, "newer than this horde")])
def test_an_impossible_or_future_format_version_is_refused(run: Run, version: int, message: str) -> None:
    header = json.loads(run.lines[0])
    assert decode_header(run.lines[0]).format_version == header["format_version"] == 2
    header["format_version"] = version
    name = run.write(f"v{version}.jsonl", [json.dumps(header).encode() + b"\n", *run.lines[1:]])
    for args in (["--check"], []):
        result = horde("replay", name, *args, cwd=run.directory)
        assert result.returncode == 2 and message in result.stderr, result.stderr
        assert len(result.stderr.splitlines()) == 1 and not result.stdout


def test_a_format_1_journal_still_checks_and_says_it_has_no_chain(tmp_path: Path) -> None:
    golden = REPO / "tests" / "actors" / "golden" / "local-run.jsonl"
    result = horde("replay", str(golden), "--check", cwd=tmp_path)
    assert result.returncode == 0 and "format 1 has no hash chain" in result.stdout, result.stdout + result.stderr


def test_events_on_a_directory_is_one_line(tmp_path: Path) -> None:
    result = horde("events", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == f"horde: error: {str(tmp_path)!r} is a directory, not a journal\n"
