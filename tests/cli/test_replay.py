"""`horde replay` on journals of real runs: the live final state and summary come back exactly, check, timeline."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from horde.actors import replay as r
from horde.protocol.timeline import TIMELINE_DECODERS, timeline
from tests.support.processes import REPO, Target, horde
from tests.support.waiting import wait_until

DEMO = REPO / "horde" / "examples" / "demo_locustfile.py"


@dataclass
class Run:
    directory: Path
    journal: Path
    summary: dict


@pytest.fixture(scope="module")
def run(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One real run shared by the tests below: 4 users at 2/s (a ramp of two steps), 3 s.

    Checkpoints every 4 kB (instead of 16 MB) put several in this short journal, so every replay below that
    is not --check or --timeline starts from one (ADR 0009).
    """
    directory = tmp_path_factory.mktemp("replay")
    result = horde(
        "run", "-f", str(DEMO), "-H", target.url, "-u", "4", "-r", "2", "-t", "3s", "--stats-interval", "0.5",
        "--journal", "run.jsonl", "--summary-json", "summary.json", "--only-summary",
        "--journal-checkpoint-mb", "0.004",
        cwd=directory,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    return Run(directory, directory / "run.jsonl", json.loads((directory / "summary.json").read_text()))


def test_replay_gives_back_the_runs_exact_summary(run: Run) -> None:
    result = horde("replay", "run.jsonl", "--json", cwd=run.directory)
    assert result.returncode == 0, result.stderr
    state = json.loads(result.stdout)
    assert state["summary"] == run.summary
    assert state["run"]["state"] == "stopped" and state["run"]["stop_reason"] == "run time reached"
    assert state["workers"]["local"]["state"] == "stopped"
    assert state["dispatch"]["total"] == 4 and not state["dispatch"]["ramp_in_progress"]
    text = horde("replay", "run.jsonl", cwd=run.directory).stdout
    assert "Run state: stopped (run time reached); target 4 users at 2/s" in text
    assert "Response time percentiles" in text and "Aggregated" in text


def test_the_middle_of_the_ramp(run: Run) -> None:
    contents = r.read(run.journal)
    spawning = next(
        rec
        for rec in contents.records
        if rec.type == "run.state_changed" and rec.event.state == "spawning"  # type: ignore[union-attr]
    )
    at = (spawning.mono_ns - contents.header.started_mono_ns) / 1e9 + 0.5
    result = horde("replay", "run.jsonl", "--at", f"{at:.3f}", cwd=run.directory)
    assert result.returncode == 0, result.stderr
    assert "Run state: spawning; target 4 users at 2/s" in result.stdout
    assert "Dispatch: step 2, 2/4 users (ramping)" in result.stdout
    by_seq = json.loads(horde("replay", "run.jsonl", "--seq", str(spawning.seq), "--json", cwd=run.directory).stdout)
    assert by_seq["at"]["seq"] == spawning.seq and by_seq["run"]["state"] == "spawning"


def test_starting_from_a_checkpoint_gives_the_same_state_as_folding_everything(run: Run) -> None:
    contents = r.read(run.journal)
    checkpoints = [rec.seq for rec in contents.records if rec.type == "journal.checkpoint"]
    assert checkpoints  # at least 4 kB apart and 4 times their own size: one or a few in a 3 s run
    assert r.replay_file(run.journal).checkpoint_seq == checkpoints[-1] - 1
    for seq in [0, *(rec.seq for rec in contents.records)]:
        assert r.replay_file(run.journal, until_seq=seq).state == r.replay_journal(contents, until_seq=seq), seq
    start = contents.header.started_mono_ns
    end = (contents.records[-1].mono_ns - start) / 1e9
    for tenth in range(int(end * 10) + 2):
        at = tenth / 10
        assert r.replay_file(run.journal, until_seconds=at).state == r.replay_journal(contents, until_seconds=at), at


def test_an_unreadable_checkpoint_is_passed_over_for_an_earlier_start(run: Run, tmp_path: Path) -> None:
    lines = run.journal.read_bytes().splitlines(keepends=True)
    last = max(i for i, line in enumerate(lines) if b'"type":"journal.checkpoint"' in line)
    lines[last] = lines[last].replace(b'"image_version":1', b'"image_version":99')
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_bytes(b"".join(lines))
    replayed = r.replay_file(damaged)
    before = r.replay_file(run.journal).checkpoint_seq
    assert before is not None and (replayed.checkpoint_seq or 0) < before  # the previous one, or the first event
    assert replayed.state == r.replay_journal(r.read(damaged))
    result = horde("replay", str(damaged), "--check", cwd=run.directory)
    assert result.returncode == 1 and "BAD CHECKPOINT" in result.stdout and "image version 99" in result.stdout


def test_check_passes_and_a_tampered_copy_fails(run: Run) -> None:
    ok = horde("replay", "run.jsonl", "--check", cwd=run.directory)
    assert ok.returncode == 0 and "ok, " in ok.stdout and "; 3 dispatch steps" in ok.stdout, ok.stdout + ok.stderr
    lines = run.journal.read_bytes().splitlines(keepends=True)
    index, line = next((i, x) for i, x in enumerate(lines) if b'"cause":"ramp_tick"' in x)
    lines[index] = line.replace(b'"total":4', b'"total":3')
    (run.directory / "tampered.jsonl").write_bytes(b"".join(lines))
    bad = horde("replay", "tampered.jsonl", "--check", cwd=run.directory)
    seq = json.loads(line)["seq"]
    assert bad.returncode == 1 and f"DIVERGED at seq {seq}" in bad.stdout, bad.stdout + bad.stderr
    assert "total: expected 4, recorded 3" in bad.stdout


def test_the_timeline_and_its_filters(run: Run) -> None:
    lines = horde("replay", "run.jsonl", "--timeline", cwd=run.directory).stdout.splitlines()
    text = "\n".join(lines)
    for expected in (
        "worker local joined",
        "run ready -> spawning (workers ready)",
        "dispatch step 2 (new_target): 2/4 users",
        "dispatch step 3 (ramp_tick): 4/4 users",
        "run running -> stopping (run time reached)",
        "run stopping -> stopped (all workers stopped)",
    ):
        assert expected in text
    assert len(lines) < 30, text
    only = horde("replay", "run.jsonl", "--timeline", "--type", "dispatch.*", cwd=run.directory).stdout.splitlines()
    assert len(only) == 3 and all("dispatch step" in x for x in only)
    master = horde("replay", "run.jsonl", "--timeline", "--source", "mast*", cwd=run.directory).stdout.splitlines()
    assert master and all(" master " in x for x in master)


def test_the_timeline_reads_only_the_errors_of_each_report_and_says_the_same(run: Run, tmp_path: Path) -> None:
    """A report with an error and an exception, appended to a real journal, read both ways."""
    from horde.actors.base import Append
    from horde.protocol.events import StatsReported
    from horde.protocol.journal import encode_record
    from horde.protocol.stats import Buckets, EntryDelta, ErrorDelta, ExceptionDelta, StatsDelta

    contents = r.read(run.journal)
    last = contents.records[-1]
    entry = EntryDelta("GET", "/x", 1, 0, 1, 5.0, 5.0, 5.0, 0, Buckets.of({100: 1}), {1: 1}, {1: 1})
    delta = StatsDelta(
        (entry,), (ErrorDelta("GET", "/x", "HTTP 503", 1, 1.0, 1.0),), (ExceptionDelta("boom", "tb", 1),)
    )
    item = Append("stats", "stats", StatsReported("local", "inc", 99, delta, 1.0))
    line = encode_record(last.seq + 1, last.mono_ns + 1, last.wall_ns + 1, item.source, item.cause, item.event)
    path = tmp_path / "with-errors.jsonl"
    path.write_bytes(run.journal.read_bytes() + line)

    lean = list(timeline(r.read(path, TIMELINE_DECODERS).records))
    full = list(timeline(r.read(path).records))
    assert lean == full
    texts = [entry.text for entry in lean]
    assert "first error on GET /x: HTTP 503" in texts and "first exception in user code on local: boom" in texts


def test_a_torn_tail_replays_with_a_warning(run: Run) -> None:
    data = run.journal.read_bytes()
    cut = data.rstrip(b"\n").rfind(b"\n") + 40
    (run.directory / "torn.jsonl").write_bytes(data[:cut])
    result = horde("replay", "torn.jsonl", "--json", cwd=run.directory)
    assert result.returncode == 0, result.stderr
    assert "last line is torn" in result.stderr and len(result.stderr.splitlines()) == 1
    assert json.loads(result.stdout)["at"]["seq"] == data.count(b"\n") - 2


NEWER_HEADER = {
    **json.loads((REPO / "tests/actors/golden/local-run.jsonl").read_bytes().splitlines()[0]),
    "format_version": 99,
}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,requests\n/,3\n", "not a horde journal"),
        (b"", "is empty"),
        (None, "does not exist"),
        (json.dumps(NEWER_HEADER).encode() + b"\n", "newer than this horde reads"),
    ],
)
def test_files_that_are_not_replayable(tmp_path: Path, content: bytes | None, message: str) -> None:
    if content is not None:
        (tmp_path / "file").write_bytes(content)
    result = horde("replay", "file", cwd=tmp_path)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_bad_flags_are_usage_errors(tmp_path: Path) -> None:
    shutil.copy(REPO / "tests" / "actors" / "golden" / "local-run.jsonl", tmp_path / "j.jsonl")
    for args in (["--at", "1", "--seq", "2"], ["--at", "soon"], ["--type", "run.*"], ["--check", "--timeline"]):
        result = horde("replay", "j.jsonl", *args, cwd=tmp_path)
        assert result.returncode == 2 and result.stderr.startswith("horde: error:"), (args, result.stderr)


def test_an_in_process_run_replays_to_its_live_states_exactly(target: Target, tmp_path: Path) -> None:
    """A local run of `horde run`, prepared as the CLI does, so the live actors can be asked for their states."""
    from horde.actors.base import GetState
    from horde.actors.journal import Flush
    from horde.run import JournalSpec, LivenessSpec, LoadSpec, Run, RunSpec

    path = tmp_path / "run.jsonl"
    spec = RunSpec(
        str(DEMO),
        load=LoadSpec(users=3, spawn_rate=2.0, host=target.url),
        liveness=LivenessSpec(stats_interval=0.5),
        journal=JournalSpec(path=str(path), checkpoint_bytes=4096),
    )
    run = Run.prepare(spec)
    control = run.control
    try:
        run.start()
        wait_until(
            lambda: control.master_state().run_state == "running" and target.served() >= 10,
            message="the ramp to 3 users done and 10 requests served",
        )
        run.request_stop("test over")
        assert control.wait_stopped(10)
        run.cluster.release(control)  # the worker is gone: no heartbeat or report after this, the states are final
        master, workers = control.master_state(), control.workers()
        aggregator = control.aggregator.ask(GetState())
        dispatcher = control.dispatcher.proxy().state.get()
        control.journal.ask(Flush())
        state = r.replay_journal(r.read(path))
        assert state.master == master and state.master.run_state == "stopped"
        assert state.workers == workers and workers["local"].user_count == 3
        assert state.dispatch == dispatcher and dispatcher.total == 3
        assert state.aggregator == aggregator and state.aggregator.stats == control.stats()
        assert aggregator.stats.total.num_requests > 0
        assert r.check(r.read(path).records).steps == 3
        from_checkpoint = r.replay_file(path)
        assert from_checkpoint.checkpoint_seq is not None and from_checkpoint.state == state
    finally:
        run.finish()
