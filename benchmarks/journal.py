"""What the journal costs: bytes per minute, requests per second on the load path, and replay time.

Run on demand, not a test: `python benchmarks/journal.py [--seconds 8] [--rounds 2] [--hours 1.0]`.

1. Bytes per minute for 10 workers and 20 endpoints, simulated with the real encoders: each worker sends a
   heartbeat every second and a statistics delta every 2 s (the default interval) of a StatsRecorder that
   recorded 100 requests per second over 20 endpoints with spread-out response times.
2. The journal's cost on the load path: real local runs (`horde run`, benchmarks/locustfiles/fast_root.py,
   the built-in target) journaling to a file on disk vs to a file on tmpfs (/dev/shm). /dev/null is not
   possible: `open_journal_file` opens with mode "xb" (a journal never overwrites), which refuses an existing
   path. The disk journal goes to the system's temporary directory (it must be on disk, not tmpfs, for the
   comparison to mean anything). The tmpfs run still encodes every event, so this measures the file system's
   share; the encoding's share is in figure 1's encode time. Rounds alternate disk and tmpfs, and the median
   of each is compared.
3. Replay of a simulated one-hour, 100-worker journal (same event mix as 1, with 5 endpoints; about 1 GB):
   time to read and decode it, and to fold it all (`horde replay --json` minus printing).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import msgspec

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from horde.actors.replay import read, replay  # noqa: E402
from horde.protocol import events as ev  # noqa: E402
from horde.protocol.dispatch import DispatchStep  # noqa: E402
from horde.protocol.journal import FORMAT_NAME, FORMAT_VERSION, Header, encode_header, encode_record  # noqa: E402
from horde.protocol.stats import StatsDelta  # noqa: E402
from horde.runtime.stats import StatsRecorder  # noqa: E402

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


def replay_hour(hours: float) -> None:
    seconds = int(3600 * hours)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hour.jsonl"
        t0 = time.perf_counter()
        size, _ = simulate(path, workers=100, endpoints=5, seconds=seconds)
        written = time.perf_counter() - t0
        t0 = time.perf_counter()
        contents = read(path)
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        state = replay(contents.records)
        fold_s = time.perf_counter() - t0
    total = read_s + fold_s
    verdict = "met" if total < 2 else "NOT met"
    print(f"3. replay of {hours:g} h x 100 workers ({len(contents.records):,} events, {size / 1e6:.0f} MB,"
          f" written in {written:.0f} s): read+decode {read_s:.2f} s, fold {fold_s:.2f} s, total {total:.2f} s"
          f" (goal < 2 s: {verdict}); {state.aggregator.reports_merged:,} reports merged")  # fmt: skip


def load_path_cost(run_seconds: int, rounds: int, users: int) -> None:
    target = subprocess.Popen([sys.executable, "-m", "horde.cli.target", "--port", "0"], stdout=subprocess.PIPE,
                              text=True, cwd=REPO)  # fmt: skip
    assert target.stdout is not None
    url = f"http://127.0.0.1:{int(target.stdout.readline().split()[-1])}"
    rps: dict[str, list[float]] = {"disk": [], "tmpfs": []}
    try:
        with tempfile.TemporaryDirectory() as disk, tempfile.TemporaryDirectory(dir="/dev/shm") as shm:
            for k in range(rounds):
                for where, directory in (("disk", disk), ("tmpfs", shm)):
                    journal = os.path.join(directory, f"run{k}.jsonl")
                    summary = os.path.join(disk, f"summary-{where}-{k}.json")
                    subprocess.run(
                        [sys.executable, "-m", "horde", "run", "-f", str(REPO / "benchmarks/locustfiles/fast_root.py"),
                         "-H", url, "-u", str(users), "-r", "1000", "-t", f"{run_seconds}s", "--only-summary",
                         "--journal", journal, "--json", summary],
                        cwd=REPO, check=True, capture_output=True, timeout=run_seconds + 60,
                    )  # fmt: skip
                    aggregated = json.loads(Path(summary).read_text())["aggregated"]
                    rps[where].append(aggregated["total_rps"])
    finally:
        target.terminate()
        target.wait(timeout=10)
    disk_rps, tmpfs_rps = statistics.median(rps["disk"]), statistics.median(rps["tmpfs"])
    cost = (tmpfs_rps - disk_rps) / tmpfs_rps * 100
    print(f"2. load path, {users} users, {rounds} x {run_seconds} s each: journal on disk {disk_rps:.0f} req/s,"
          f" on tmpfs {tmpfs_rps:.0f} req/s (medians; rounds {rps}): cost {cost:+.1f} % (goal < 3 %)")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--seconds", type=int, default=8, help="length of each real run")
    p.add_argument("--rounds", type=int, default=2, help="disk/tmpfs pairs of real runs")
    p.add_argument("--users", type=int, default=10)
    p.add_argument("--hours", type=float, default=1.0, help="length of the simulated replay journal")
    args = p.parse_args()
    bytes_per_minute()
    load_path_cost(args.seconds, args.rounds, args.users)
    replay_hour(args.hours)


if __name__ == "__main__":
    main()
