"""What the journal costs: bytes per minute, requests per second on the load path, and replay time.

Run on demand, not a test: `python benchmarks/journal.py [--seconds 8] [--rounds 6] [--hours 1.0]`.

1. Bytes per minute for 10 workers and 20 endpoints, simulated with the real encoders: each worker sends a
   heartbeat every second and a statistics delta every 2 s (the default interval) of a StatsRecorder that
   recorded 100 requests per second over 20 endpoints with spread-out response times.
2. The journal's cost on the load path: real local runs (`horde run`, benchmarks/locustfiles/fast_root.py,
   against nginx when installed, as in throughput.py) journaling to a file in the system's temporary directory
   vs to /dev/null (which still encodes every event: the file system's share is what differs). Runs alternate
   which goes first; the medians of requests/s and of requests per CPU-second of the horde process are compared.
3. Replay of a simulated one-hour, 100-worker journal (same event mix as 1, with 5 endpoints; about 1.2 GB),
   written by the real Journal and StatsAggregator actors, so it holds the checkpoints a real run's would
   (ADR 0009): the time `horde replay` takes to rebuild the final state from the last checkpoint (what
   `horde replay FILE` and `--resume` do), the same at the middle of the run (`--at 30m`), and, for comparison,
   the time to read, decode and fold every event from the first (what `--check` does).
4. The journal at scale (ADR 0027): a one-hour, 1,000-worker, 20-endpoint journal (a heartbeat a second and a
   report every 2 s per worker, each report about 2,000 requests) written by the real Journal actor in format 3,
   with one `stats.merged` a second as the StatsAggregator decides it (its real `merged` over 500 realistic
   reports, their seconds moved with the clock) and the snapshots its state gives; its size per hour, the same
   lines uncompressed (format 2), what one `stats.reported` per report would have been (format 1, as before ADR
   0027), and the replay times of 3. `--scale-hours 0` skips it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from gevent import monkey  # noqa: E402

monkey.patch_all()  # as `horde run` does (ADR 0002): the actors are gevent-friendly threads

from horde.actors.base import Append, GetState  # noqa: E402
from horde.actors.journal import Journal, LastSeq  # noqa: E402
from horde.actors.replay import read, replay, replay_file  # noqa: E402
from horde.actors.stats_aggregator import ReportReceived, StatsAggregator, TakeSnapshot  # noqa: E402
from horde.protocol import events as ev  # noqa: E402
from horde.protocol.dispatcher_vocabulary import DispatchStep  # noqa: E402
from horde.protocol.journal import FORMAT_NAME, Header, encode_header, encode_record  # noqa: E402
from horde.protocol.journal import LINES_FORMAT_VERSION as FORMAT_VERSION  # noqa: E402
from horde.protocol.messages import StatsReport  # noqa: E402
from horde.protocol.stats import StatsDelta  # noqa: E402
from horde.protocol.timeline import TIMELINE_DECODERS, timeline  # noqa: E402
from horde.stats.recorder import StatsRecorder  # noqa: E402

START_NS = 10**12


def make_delta(endpoints: int, requests: int, second: int, rng: random.Random) -> msgspec.Raw:
    """A worker's 2-second delta, encoded once (as the worker would) and journaled as it arrives."""
    clock = iter([second + i / requests for i in range(requests)] + [second + 2.0] * 8)
    recorder = StatsRecorder(clock=lambda: next(clock))
    for i in range(requests):
        failed = "HTTPError('500')" if i % 97 == 0 else None
        recorder.record("GET", f"/api/endpoint/{i % endpoints}", rng.lognormvariate(3, 0.8), 512, failed)
    return msgspec.Raw(msgspec.json.encode(recorder.take_delta()))


def simulate(path: Path | None, workers: int, endpoints: int, seconds: int, raw: bool = True) -> tuple[int, float]:
    """Write (or only count) a journal of `workers` for `seconds`; returns its bytes and the encode time.

    `raw` journals the deltas pre-encoded (fast to generate an hour); otherwise each is a real StatsReported
    encoded as the Journal actor does, so the encode time is the load path's.
    """
    rng = random.Random(7)
    deltas = [make_delta(endpoints, 200, 1_800_000_000 + 2 * k, rng) for k in range(4)]
    out = open(path, "wb") if path else None  # noqa: SIM115
    header = Header(FORMAT_NAME, FORMAT_VERSION, "0.1.0", "bench", ["horde"], {}, "h", 1, 0, 0, START_NS)
    size, seq, encode_s = 0, 0, 0.0

    def emit(t: float, source: str, cause: str, event: object, type_name: str = "") -> None:
        nonlocal size, seq, encode_s
        seq += 1
        t0 = time.perf_counter()
        line = encode_record(seq, START_NS + int(t * 1e9), 0, source, cause, event, type_name)  # type: ignore[arg-type]
        encode_s += time.perf_counter() - t0
        size += len(line)
        if out:
            out.write(line)

    if out:
        out.write(encode_header(header))
    classes = {"Api": (1.0, 0)}
    emit(0.0, "master", "cli", ev.RunConfigured(classes, workers, float(seconds), 0.0, 1.0, 3))
    emit(0.0, "master", "cli", ev.RunTargetChanged(workers * 10, 100.0))
    names = [f"w{i:03d}" for i in range(workers)]
    for i, name in enumerate(names):
        emit(0.0, "master", "worker_ready", ev.WorkerJoined(name, "inc", i, "h", 1, 2, "0.1.0", ("Api",), 0.0))
    assignment = {name: {"Api": 10} for name in names}
    emit(0.0, "dispatcher", "SetTarget", DispatchStep(step=1, at=0.0, cause="new_target", target=workers * 10,
         total=workers * 10, ramp_done=True, spawn_rate=100.0, user_classes=None, ramp_started_at=0.0, ramp_from=0,
         ramp_steps_done=1, class_totals={"Api": workers * 10}, changed=assignment))  # fmt: skip
    report_seq = dict.fromkeys(names, 0)
    for second in range(1, seconds + 1):
        for i, name in enumerate(names):
            t = second + i / workers
            emit(t, f"worker:{name}", "worker", ev.WorkerHeartbeat(name, "running", 40.0, 10**8, 10, 1.8e9 + t, t))
            if second % 2 == i % 2:
                report_seq[name] += 1
                if not raw:
                    delta = msgspec.json.decode(deltas[second % 4], type=StatsDelta)
                    emit(t, "stats", "stats", ev.StatsReported(name, "inc", report_seq[name], delta, 1.8e9 + t))
                    continue
                data = b'{"worker_id":"%s","incarnation":"inc","seq":%d,"delta":%s,"worker_time":%f,"final":false}' % (
                    name.encode(), report_seq[name], bytes(deltas[second % 4]), 1.8e9 + t)  # fmt: skip
                emit(t, "stats", "stats", msgspec.Raw(data), "stats.reported")
    if out:
        out.close()
    return size, encode_s


def bytes_per_minute() -> None:
    size, encode_s = simulate(None, workers=10, endpoints=20, seconds=60, raw=False)
    print(f"1. journal size, 10 workers x 20 endpoints: {size / 1e6:.2f} MB per minute"
          f" ({size / 60 / 1e3:.1f} kB/s; encoding them: {encode_s * 1e3:.0f} ms per simulated minute)")  # fmt: skip


def moved(delta: StatsDelta, first_second: int) -> StatsDelta:
    """The same requests, recorded in the two seconds from `first_second`: the master's per-second history grows
    with the run as a real one's does, and so do the checkpoints that carry it."""
    shift = first_second - min(second.second for second in delta.seconds)

    def per_second(counts: dict[int, int]) -> dict[int, int]:
        return {second + shift: count for second, count in counts.items()}

    return msgspec.structs.replace(
        delta,
        entries=tuple(
            msgspec.structs.replace(
                e,
                requests_per_second=per_second(e.requests_per_second),
                failures_per_second=per_second(e.failures_per_second),
            )
            for e in delta.entries
        ),
        seconds=tuple(msgspec.structs.replace(s, second=s.second + shift) for s in delta.seconds),
    )


def write_through_actors(path: Path, workers: int, endpoints: int, seconds: int) -> tuple[int, int]:
    """A run's journal as the master writes it: every event through the real Journal, reports through the real
    StatsAggregator, which also answers the Journal's snapshot requests; returns (bytes, checkpoint bytes).

    Events carry simulated times (`Append.mono_ns` is rewritten), so `--at` means simulated seconds.
    """
    rng = random.Random(7)
    deltas = [msgspec.json.decode(make_delta(endpoints, 200, 1_800_000_000 + 2 * k, rng), type=StatsDelta)
              for k in range(4)]  # fmt: skip
    # Simulated times start at the real monotonic clock, so the Journal's own checkpoint records (stamped with the
    # real clock, which advances far less than the simulated hour) never look later than the events around them.
    start_ns = time.monotonic_ns()
    header = Header(FORMAT_NAME, FORMAT_VERSION, "0.1.0", "bench", ["horde"], {}, "h", 1, 0, 0, start_ns)
    clock = [start_ns]

    def journal_sink(item: Append) -> None:
        item.mono_ns = clock[0]
        journal.tell(item)

    file = open(path, "xb", buffering=0)  # noqa: SIM115 - the Journal closes it
    journal = Journal.start(file, header, request_snapshot=lambda: aggregator.tell(TakeSnapshot()))
    aggregator = StatsAggregator.start(journal_sink)
    try:
        classes = {"Api": (1.0, 0)}
        journal_sink(Append("master", "cli", ev.RunConfigured(classes, workers, float(seconds), 0.0, 1.0, 3)))
        journal_sink(Append("master", "cli", ev.RunTargetChanged(workers * 10, 100.0)))
        names = [f"w{i:03d}" for i in range(workers)]
        for i, name in enumerate(names):
            joined = ev.WorkerJoined(name, "inc", i, "h", 1, 2, "0.1.0", ("Api",), 0.0)
            journal_sink(Append("master", "worker_ready", joined))
        assignment = {name: {"Api": 10} for name in names}
        journal_sink(Append("dispatcher", "SetTarget", DispatchStep(step=1, at=0.0, cause="new_target",
            target=workers * 10, total=workers * 10, ramp_done=True, spawn_rate=100.0, user_classes=None,
            ramp_started_at=0.0, ramp_from=0, ramp_steps_done=1, class_totals={"Api": workers * 10},
            changed=assignment)))  # fmt: skip
        report_seq = dict.fromkeys(names, 0)
        for second in range(1, seconds + 1):
            for i, name in enumerate(names):
                t = second + i / workers
                clock[0] = start_ns + int(t * 1e9)
                beat = ev.WorkerHeartbeat(name, "running", 40.0, 10**8, 10, 1.8e9 + t, t)
                journal_sink(Append(f"worker:{name}", "worker", beat))
                if second % 2 == i % 2:
                    report_seq[name] += 1
                    delta = moved(deltas[second % 4], 1_800_000_000 + second - 1)
                    report = StatsReport("inc", report_seq[name], delta, 1.8e9 + t)
                    aggregator.tell(ReportReceived(name, report))
            if second % 10 == 0:  # keep the mailboxes short: wait until both actors caught up
                aggregator.ask(GetState())
                journal.ask(LastSeq())
        aggregator.ask(GetState())
        journal.ask(LastSeq())
    finally:
        aggregator.stop()
        journal.stop()
    kinds = (b'"type":"stats.snapshot"', b'"type":"journal.checkpoint"')
    with open(path, "rb") as journal_file:
        checkpoint_bytes = sum(len(line) for line in journal_file if any(kind in line[:200] for kind in kinds))
    return path.stat().st_size, checkpoint_bytes


def farthest_from_a_checkpoint(path: Path) -> int:
    """The seq that lies the most journal bytes after the checkpoint replay would start from: the worst case."""
    best_seq, best_distance, last_checkpoint, offset, seq = 0, -1, 0, 0, 0
    with open(path, "rb") as file:
        for line in file:
            head = line[:200]
            if head.startswith(b'{"seq":'):
                seq = int(head[7 : head.index(b",")])
            if b'"type":"stats.snapshot"' in head:  # the seq before it is the farthest from the previous one
                if offset - last_checkpoint > best_distance:
                    best_seq, best_distance = seq - 1, offset - last_checkpoint
            elif b'"type":"journal.checkpoint"' in head:
                last_checkpoint = offset
            offset += len(line)
    if offset - last_checkpoint > best_distance:
        best_seq = seq
    return best_seq


def replay_hour(hours: float) -> None:
    seconds = int(3600 * hours)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.jsonl"
        t0 = time.perf_counter()
        size, checkpoint_bytes = write_through_actors(path, workers=100, endpoints=5, seconds=seconds)
        written = time.perf_counter() - t0
        timings = {}
        for label, kwargs in (
            ("final state", {}),
            (f"--at {seconds / 2:g}s", {"until_seconds": seconds / 2}),
            ("worst seq", {"until_seq": farthest_from_a_checkpoint(path)}),
        ):
            t0 = time.perf_counter()
            replayed = replay_file(path, **kwargs)  # type: ignore[arg-type]
            timings[label] = (time.perf_counter() - t0, replayed.checkpoint_seq)
            if label == "final state":
                final = replayed
        t0 = time.perf_counter()
        story = list(timeline(read(path, TIMELINE_DECODERS).records))
        timeline_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        contents = read(path)
        everything = replay(contents.records)
        everything_s = time.perf_counter() - t0
    assert final.state == everything, "the checkpointed replay must equal the fold of every event"
    worst = max(t for t, _ in timings.values())
    verdict = "met" if worst < 2 else "NOT met"
    shown = "; ".join(f"{label} {t:.2f} s (from seq {cp})" for label, (t, cp) in timings.items())
    print(f"3. replay of {hours:g} h x 100 workers ({len(contents.records):,} events, {size / 1e6:.0f} MB of which"
          f" {checkpoint_bytes / size * 100:.1f} % checkpoints, written in {written:.0f} s): {shown}"
          f" (goal < 2 s: {verdict}); --timeline ({len(story)} lines) {timeline_s:.2f} s;"
          f" every event from the first, as --check reads them: {everything_s:.2f} s;"
          f" {final.state.aggregator.reports_merged:,} reports merged")  # fmt: skip


def load_path_cost(run_seconds: int, rounds: int, users: int, target_choice: str) -> None:
    """Alternating runs journaling to a file on disk and to /dev/null; the journal is what differs between them."""
    from throughput import choose_target

    rps: dict[str, list[float]] = {"disk": [], "/dev/null": []}
    per_cpu: dict[str, list[float]] = {"disk": [], "/dev/null": []}
    cpu_seconds: list[float] = []
    journaling: list[tuple[float, int, int]] = []
    with tempfile.TemporaryDirectory() as disk:
        target = choose_target(target_choice, Path(disk))
        if target is None:
            return
        target.start()
        try:
            for k in range(rounds):
                order = (("disk", os.path.join(disk, f"run{k}.jsonl")), ("/dev/null", os.devnull))
                for where, journal in order if k % 2 == 0 else order[::-1]:
                    summary = os.path.join(disk, f"summary-{k}-{where.strip('/').replace('/', '-')}.json")
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    subprocess.run(
                        [sys.executable, "-m", "horde", "run", "-f", str(REPO / "benchmarks/locustfiles/fast_root.py"),
                         "-H", target.url, "-u", str(users), "-r", "1000", "-t", f"{run_seconds}s", "--only-summary",
                         "--journal", journal, "--summary-json", summary],
                        cwd=REPO, check=True, capture_output=True, timeout=run_seconds + 60,
                    )  # fmt: skip
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                    aggregated = json.loads(Path(summary).read_text())["aggregated"]
                    rps[where].append(aggregated["total_rps"])
                    per_cpu[where].append(aggregated["num_requests"] / cpu)
                    if where == "disk":
                        cpu_seconds.append(cpu)
                        journaling.append(rewrite_seconds(Path(journal), Path(disk) / f"again{k}.jsonl"))
        finally:
            target.stop()
    disk_rps, null_rps = statistics.median(rps["disk"]), statistics.median(rps["/dev/null"])
    disk_cpu, null_cpu = statistics.median(per_cpu["disk"]), statistics.median(per_cpu["/dev/null"])
    spread = max(statistics.pstdev(v) / statistics.mean(v) for v in rps.values()) * 100
    print(f"2. load path, {users} users against {target.name}, {rounds} x {run_seconds} s each way, alternating:"
          f" journal on disk {disk_rps:,.0f} req/s and {disk_cpu:,.0f} requests per CPU-second, to /dev/null"
          f" {null_rps:,.0f} req/s and {null_cpu:,.0f} per CPU-second (medians; run-to-run spread {spread:.1f} %)."
          f" Cost: {(null_rps - disk_rps) / null_rps * 100:+.1f} % of req/s,"
          f" {(null_cpu - disk_cpu) / null_cpu * 100:+.1f} % of requests per CPU-second (goal < 3 %)")  # fmt: skip
    share = statistics.median(j[0] / c for j, c in zip(journaling, cpu_seconds, strict=True)) * 100
    events, size = journaling[-1][1], journaling[-1][2]
    print(f"   Directly: a run's journal ({events} events, {size / 1e3:.0f} kB in {run_seconds} s) takes"
          f" {statistics.median(j[0] for j in journaling) * 1e3:.1f} ms to encode and write again, event by event,"
          f" to a file on disk: {share:.3f} % of the run's CPU (median of {len(journaling)} runs)")  # fmt: skip


def rewrite_seconds(journal: Path, again: Path) -> tuple[float, int, int]:
    """Time to encode every event of `journal` again and write it, unbuffered, as the Journal actor does."""
    contents = read(journal)
    with open(again, "xb", buffering=0) as out:
        t0 = time.perf_counter()
        for r in contents.records:
            out.write(encode_record(r.seq, r.mono_ns, r.wall_ns, r.source, r.cause, r.event, r.type))  # type: ignore[arg-type]
        elapsed = time.perf_counter() - t0
    return elapsed, len(contents.records), journal.stat().st_size


def write_at_scale(path: Path, workers: int, endpoints: int, seconds: int) -> tuple[int, int, int, int]:
    """Returns (file bytes, record line bytes, events, bytes one `stats.reported` per report would have taken)."""
    from horde.actors import stats_aggregator as sa
    from horde.actors.journal import DEFAULT_COMPRESSION
    from horde.protocol.journal import FORMAT_VERSION as BLOCKS
    from horde.protocol.journal import iter_lines

    rng = random.Random(11)
    names = [f"w{i:04d}" for i in range(workers)]
    pool = [msgspec.json.decode(make_delta(endpoints, 2000, 1_800_000_000, rng), type=StatsDelta) for _ in range(40)]
    variants = [sa.merged([(names[i], StatsReport("inc", 1, rng.choice(pool), 0.0)) for i in range(k, workers, 2)])
                for k in (0, 1)]  # fmt: skip
    one_report = len(encode_record(1, 1, 1, "stats", "stats", ev.StatsReported("w0001", "inc", 1, pool[0], 1.8e9)))
    start_ns = time.monotonic_ns()
    header = Header(FORMAT_NAME, BLOCKS, "0.1.0", "bench", ["horde"], {}, "h", 1, 0, 0, start_ns, DEFAULT_COMPRESSION)
    clock = [start_ns]
    state = sa.AggregatorState()
    wanted = [False]

    def sink(item: Append) -> None:
        item.mono_ns = clock[0]
        journal.tell(item)

    file = open(path, "xb", buffering=0)  # noqa: SIM115 - the Journal closes it
    journal = Journal.start(file, header, request_snapshot=lambda: wanted.__setitem__(0, True))
    try:
        sink(Append("master", "cli", ev.RunConfigured({"Api": (1.0, 0)}, workers, float(seconds), 0.0, 1.0, 3)))
        for i, name in enumerate(names):
            sink(Append("master", "worker_ready", ev.WorkerJoined(name, "inc", i, "h", 1, 2, "0.1.0", ("Api",), 0.0)))
        report_seq = dict.fromkeys(names, 0)
        for second in range(1, seconds + 1):
            for i, name in enumerate(names):
                t = second + i / workers
                clock[0] = start_ns + int(t * 1e9)
                sink(
                    Append(
                        f"worker:{name}", "worker", ev.WorkerHeartbeat(name, "running", 40.0, 10**8, 10, 1.8e9 + t, t)
                    )
                )
            variant = variants[second % 2]
            refs = []
            for ref in variant.reports:
                report_seq[ref.worker_id] += 1
                refs.append(msgspec.structs.replace(ref, seq=report_seq[ref.worker_id], worker_time=1.8e9 + second))
            delta = moved(variant.delta, 1_800_000_000 + second - 1)
            event = ev.StatsMerged(tuple(refs), delta, variant.exception_nodes)
            sink(Append("stats", "interval", event))
            state = sa.apply(state, event)
            if wanted[0]:
                wanted[0] = False
                sink(Append("stats", "checkpoint", sa.snapshot_of(state)))
            if second % 10 == 0:
                journal.ask(LastSeq())
        events = journal.ask(LastSeq())
    finally:
        journal.stop()
    lines = sum(len(line) for line in iter_lines(path))
    per_report = seconds * (workers // 2) * one_report + (lines - sum(
        len(line) for line in iter_lines(path) if b'"type":"stats.merged"' in line[:200]))  # fmt: skip
    return path.stat().st_size, lines, events, per_report


def scale(hours: float) -> None:
    seconds = int(3600 * hours)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scale.journal"
        cpu0, t0 = time.process_time(), time.perf_counter()
        size, lines, events, per_report = write_at_scale(path, workers=1000, endpoints=20, seconds=seconds)
        written, written_cpu = time.perf_counter() - t0, time.process_time() - cpu0
        per_hour = 3600 / seconds / 1e6
        print(f"4. {hours:g} h x 1,000 workers x 20 endpoints ({events:,} events, written in {written:.0f} s,"
              f" {written_cpu:.0f} CPU s): format 3 {size * per_hour:,.0f} MB/h ({size / seconds / 1e6:.3f} MB/s);"
              f" the same lines uncompressed (format 2) {lines * per_hour:,.0f} MB/h; one stats.reported per report"
              f" (before ADR 0027) {per_report * per_hour:,.0f} MB/h ({per_report / seconds / 1e6:.1f} MB/s);"
              f" goal <= 1,000 MB/h: {'met' if size * per_hour <= 1000 else 'NOT met'}", flush=True)  # fmt: skip
        timings = {}
        for label, kwargs in (("final state", {}), (f"--at {seconds / 2:g}s", {"until_seconds": seconds / 2})):
            t0, c0 = time.perf_counter(), time.process_time()
            replayed = replay_file(path, **kwargs)  # type: ignore[arg-type]
            timings[label] = (time.perf_counter() - t0, time.process_time() - c0, replayed.checkpoint_seq)
            if label == "final state":
                final = replayed
        t0, c0 = time.perf_counter(), time.process_time()
        contents = read(path)
        everything = replay(contents.records)
        everything_s, everything_cpu = time.perf_counter() - t0, time.process_time() - c0
    assert final.state == everything, "the checkpointed replay must equal the fold of every event"
    assert not contents.broken_links and not final.problems
    shown = "; ".join(f"{label} {t:.2f} s ({c:.2f} CPU s, from seq {cp})" for label, (t, c, cp) in timings.items())
    print(f"   replay: {shown}; every event from the first, as --check reads them: {everything_s:.1f} s"
          f" ({everything_cpu:.1f} CPU s); {final.state.aggregator.reports_merged:,} reports merged")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seconds", type=int, default=8, help="length of each real run")
    p.add_argument("--rounds", type=int, default=6, help="disk and /dev/null runs of each")
    p.add_argument("--target", default="auto", choices=("auto", "nginx", "builtin"), help="as in throughput.py")
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--hours", type=float, default=1.0, help="length of the simulated replay journal")
    p.add_argument("--scale-hours", type=float, default=1.0, help="length of the 1,000-worker journal (4.)")
    p.add_argument("--only-scale", action="store_true", help="run only 4.")
    args = p.parse_args()
    if not args.only_scale:
        bytes_per_minute()
        load_path_cost(args.seconds, args.rounds, args.users, args.target)
        if args.hours > 0:
            replay_hour(args.hours)
    if args.scale_hours > 0:
        scale(args.scale_hours)


if __name__ == "__main__":
    main()
