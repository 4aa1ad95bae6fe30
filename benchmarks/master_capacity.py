"""Master capacity: one real master with 100, 300 and 1,000 simulated workers; its CPU and its report latency.

Run on demand, not a test: `python benchmarks/master_capacity.py [--workers 100,300,1000] [--window 20] [--pin]`.

Why simulated workers: a real horde worker is a whole process (about 45 MB, an interpreter and its users), so a
thousand of them cannot run on one machine; the master's cost, though, depends only on what arrives on its socket.
Each fake worker here is one ZeroMQ DEALER socket speaking the real protocol with the real message types and
codec (one thread drives all the fakes of a process): it says `Ready`, answers `Spawn` with `Spawning` and
`SpawningComplete`, `Stop` with `Stopped`, sends a `Heartbeat` every second and, every stats interval, a
`StatsReport` whose delta has 20 endpoints, recorded into a real `StatsRecorder` (refreshed every interval, so its
per-second keys move with the clock as a real worker's do).
Hundreds of them share a process; `--processes` such processes run side by side.

What is measured, per worker count, over a steady window after every worker joined and the ramp ended:

- the master's CPU, user + system from psutil at the window's edges, as % of one core (the goal: under 50 % at
  1,000 workers, growing linearly; Locust's master is reported to saturate a core at about 1,300 workers);
- send-to-merge latency: each report carries its send time in `worker_time`; the master's journal stamps
  `stats.reported` with `wall_ns` when its StatsAggregator decided the merge; same clock, same machine;
- the fake workers' own CPU and the whole machine's, since on a small machine they compete with the master;
- workers the master marked missing during the window (it should be none: a master too slow to read heartbeats
  would start dropping workers).

The master journals every event it decides, so its CPU includes the journal: the merged statistics of each second
(ADR 0027) in zstd-compressed blocks, each line hash-chained (ADR 0026). `--journal-format 2` writes JSON Lines
instead, and `--no-chain` runs the master with the chain's hashing switched off, to measure what the chain costs.
Journal MB/s is the growth of the file over the measured window. The fake workers of one process send the same
delta (a realistic one, refreshed each interval), which the master merges as it would any other.
`--pin` puts the master on CPU 0 and the fake workers on the other CPUs (`os.sched_setaffinity`), so the two do not
steal each other's time slices; say so when quoting figures.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

IDLE_LOCUSTFILE = '''\
"""Users that do nothing: the fake workers never run them, the master only needs classes to dispatch."""

from horde import User, constant, task


class Idle(User):
    wait_time = constant(1)

    @task
    def nothing(self) -> None:
        pass
'''

ENDPOINTS = 20
USERS_PER_WORKER = 2

MASTER = "import sys; from horde.cli import main; sys.exit(main())"
NO_CHAIN_MASTER = (
    "import sys; import horde.cli; from horde.protocol.journal import Chain; "
    "Chain.seal = lambda self, line: line; sys.exit(horde.cli.main())"
)
"""The master with the hash chain's hashing switched off (benchmark only): gevent patches first, as horde's does."""


# --- the fake workers (a child process of this script) ------------------------------------------------------------


def fake_workers(port: int, count: int, prefix: str, stats_interval: float, heartbeat_interval: float) -> int:
    """Runs `count` fake workers in this process until the master says quit (or SIGTERM).

    One thread drives all of them (plain ZeroMQ, a poller and a schedule), not a greenlet or three per worker:
    the fakes must cost far less than the master they load, or 5,000 of them do not fit beside it on a small
    machine. Each still has its own DEALER socket and speaks the real protocol through the real codec.
    """
    import heapq

    import msgspec
    import zmq

    from horde import __version__
    from horde.protocol import codec
    from horde.protocol.errors import RPCReceiveError
    from horde.protocol.messages import (
        PROTOCOL_VERSION,
        Accept,
        Heartbeat,
        MasterQuit,
        Ready,
        Rejoin,
        Spawn,
        Spawning,
        SpawningComplete,
        StatsReport,
        Stop,
        Stopped,
    )
    from horde.stats.recorder import StatsRecorder

    context = zmq.Context()
    context.set(zmq.MAX_SOCKETS, count + 64)  # libzmq's default of 1,023 sockets per context is too few here
    rng = random.Random(prefix)
    names = [f"/api/endpoint/{n:02d}" for n in range(ENDPOINTS)]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    def fresh_delta() -> msgspec.Raw:
        """One realistic delta per interval for the whole process: 20 endpoints, a few hundred requests each,
        encoded once (msgspec writes a Raw verbatim), so a fake pays a send per report, not an encode."""
        recorder = StatsRecorder()
        for name in names:
            method = "POST" if name.endswith(("3", "7")) else "GET"
            for _ in range(rng.randint(50, 150)):
                failed = rng.random() < 0.01
                recorder.record(method, name, rng.lognormvariate(3, 0.8), rng.randint(200, 5000), failed or None)
        return msgspec.Raw(msgspec.msgpack.encode(recorder.take_delta()))

    @dataclass
    class Fake:
        node_id: str
        socket: zmq.Socket[bytes]
        incarnation: str = ""
        state: str = "ready"
        users: int = 0
        seq: int = 0
        accepted: bool = False

        def send(self, message: object) -> None:
            # a master that is not reading: as with a real worker's full queue, the message is lost
            with contextlib.suppress(zmq.Again):
                self.socket.send_multipart(codec.encode(message), flags=zmq.NOBLOCK)  # type: ignore[arg-type]

        def ready(self, again: bool = False) -> None:
            """Ready under a new incarnation, or `again` under the same one: a real worker says Ready every beat
            until the master accepts it, and sends no heartbeat before."""
            if not again:
                self.incarnation, self.seq, self.accepted = uuid.uuid4().hex[:12], 0, False
            self.send(Ready(self.node_id, self.incarnation, __version__, PROTOCOL_VERSION, "fake", os.getpid(), 1,
                            ("Idle",)))  # fmt: skip

    fakes: list[Fake] = []
    poller = zmq.Poller()
    for index in range(count):
        dealer = context.socket(zmq.DEALER)
        dealer.setsockopt(zmq.LINGER, 0)
        node_id = f"{prefix}-{index:04d}"
        dealer.setsockopt(zmq.IDENTITY, node_id.encode())
        dealer.connect(f"tcp://127.0.0.1:{port}")
        fakes.append(Fake(node_id, dealer))
        poller.register(dealer, zmq.POLLIN)
    by_socket = {fake.socket: fake for fake in fakes}
    delta = fresh_delta()
    now = time.monotonic()
    # (when, what, which): real workers do not all start in the same ms, so each begins at a random offset
    schedule = [(now + rng.random() * heartbeat_interval, 0, k) for k in range(count)]
    schedule += [(now + rng.random() * stats_interval, 1, k) for k in range(count)]
    schedule.append((now + stats_interval, 2, -1))
    heapq.heapify(schedule)
    for fake in fakes:
        fake.ready()
    quit_count = 0
    while not stopping and quit_count < count:
        now = time.monotonic()
        while schedule[0][0] <= now:
            _, what, k = heapq.heappop(schedule)
            if what == 0:
                fake = fakes[k]
                if fake.accepted:
                    fake.send(Heartbeat(fake.state, 1.0, 40_000_000, fake.users, time.time()))  # type: ignore[arg-type]
                else:
                    fake.ready(again=True)
                heapq.heappush(schedule, (now + heartbeat_interval, 0, k))
            elif what == 1:
                fake = fakes[k]
                if fake.state in ("spawning", "running"):
                    fake.seq += 1
                    fake.send(StatsReport(fake.incarnation, fake.seq, delta, time.time()))  # type: ignore[arg-type]
                heapq.heappush(schedule, (now + stats_interval, 1, k))
            else:
                delta = fresh_delta()
                heapq.heappush(schedule, (now + stats_interval, 2, -1))
        timeout = max(0.0, schedule[0][0] - time.monotonic())
        for socket, _ in poller.poll(timeout * 1000):
            fake = by_socket[socket]
            while True:
                try:
                    frames = socket.recv_multipart(zmq.NOBLOCK)
                except zmq.Again:
                    break
                try:
                    message = codec.decode_from_master(frames)
                except RPCReceiveError:
                    continue
                if isinstance(message, Accept):
                    fake.accepted = fake.accepted or message.incarnation == fake.incarnation
                elif isinstance(message, Spawn):
                    fake.send(Spawning(message.step))
                    fake.state, fake.users = "running", sum(message.user_counts.values())
                    fake.send(SpawningComplete(message.step, dict(message.user_counts)))
                elif isinstance(message, Stop):
                    fake.state, fake.users = "stopped", 0
                    fake.send(Stopped())
                elif isinstance(message, Rejoin):
                    fake.ready()
                elif isinstance(message, MasterQuit):
                    quit_count += 1
    for fake in fakes:
        fake.socket.close(linger=0)
    context.term()
    return 0


# --- the conductor --------------------------------------------------------------------------------------------------


@dataclass
class Measure:
    workers: int
    window: float
    master_cpu: float  # seconds in the window
    fakes_cpu: float
    machine_busy: float  # fraction of all CPUs busy in the window
    latencies: list[float]  # seconds, reports sent inside the window
    reports_expected: float
    missing: int
    journal_bytes: int  # the journal's growth over the window
    master_rss: int = 0  # bytes, at the window's end
    journal: str = ""
    journal_format: int = 0  # as its header says: 1 for code before ADR 0026
    reference_us: float = 0.0
    join_seconds: float = float("nan")  # from the first worker.joined to the last of the first `workers` joins
    missing_total: int = 0  # worker.missing over the whole run, joins included

    @property
    def master_percent(self) -> float:
        return 100 * self.master_cpu / self.window

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def _cpu(process: object) -> float:
    import psutil

    assert isinstance(process, psutil.Process)
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    """Ends a process this script started: SIGTERM, then SIGKILL if it lingers."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def reference_us(cpu: int | None) -> float:
    """This machine's speed right now, on the master's CPU, in us: a fixed plain-Python workload (adding one
    2,000-key dict of counts into another) that no change to horde alters.

    Shared virtual machines change speed by tens of percent from one minute to the next; printed next to each
    run, this tells a slow machine from a slow master, and lets runs of different code or hours be compared
    (the median of 5 rounds of 200).
    """
    import statistics

    previous = os.sched_getaffinity(0)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    try:
        rng = random.Random(11)
        source = {rng.randrange(100_000): rng.randrange(1, 5) for _ in range(2_000)}
        rounds = []
        for _ in range(5):
            target: dict[int, int] = {}
            started = time.process_time()
            for _ in range(200):
                for key, count in source.items():
                    target[key] = target.get(key, 0) + count
            rounds.append((time.process_time() - started) / 200 * 1e6)
        return statistics.median(rounds)
    finally:
        os.sched_setaffinity(0, previous)


def measure(workers: int, args: argparse.Namespace, workdir: Path) -> Measure:
    import psutil

    from horde.protocol import events
    from horde.protocol.events import StatsReported, WorkerJoined
    from horde.protocol.journal import read_journal

    # Run with another checkout's interpreter, this script measures that code: before ADR 0027 there is no
    # stats.merged (give it --journal-format 2, the JSON Lines it writes whatever the path).
    merged_type = getattr(events, "StatsMerged", ())

    locustfile = workdir / "idle.py"
    locustfile.write_text(IDLE_LOCUSTFILE)
    journal = workdir / f"capacity-{workers}.{'jsonl' if args.journal_format == 2 else 'journal'}"
    journal.unlink(missing_ok=True)
    cpus = sorted(os.sched_getaffinity(0))
    master_cpus = {cpus[0]} if args.pin and len(cpus) > 1 else set(cpus)
    fake_cpus = set(cpus[1:]) if args.pin and len(cpus) > 1 else set(cpus)
    master: subprocess.Popen[bytes] | None = None
    fakes: list[subprocess.Popen[bytes]] = []
    log = (workdir / f"master-{workers}.log").open("wb")
    try:
        master = subprocess.Popen(
            [sys.executable, "-c", NO_CHAIN_MASTER if args.no_chain else MASTER,
             "run", "-f", str(locustfile), "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0",
             "--expect-workers", str(workers),
             "-u", str(workers * USERS_PER_WORKER), "-r", "1000", "-t", "1h", "--only-summary",
             "--journal", str(journal), "--stats-interval", str(args.stats_interval),
             "--heartbeat-interval", str(args.heartbeat_interval), "--loglevel", "WARNING"],
            stdout=subprocess.PIPE, stderr=log, cwd=workdir,
        )  # fmt: skip
        os.sched_setaffinity(master.pid, master_cpus)
        assert master.stdout is not None
        line = master.stdout.readline().decode()
        if "listening on port" not in line:
            raise RuntimeError(f"the master did not start: {line!r}; see {workdir}/master-{workers}.log")
        port = int(line.split("listening on port ")[1].split(",")[0])
        per_process = [workers // args.processes + (k < workers % args.processes) for k in range(args.processes)]
        for k, count in enumerate(per_process):
            if count:
                fake = subprocess.Popen(
                    [sys.executable, __file__, "--fake-workers", str(count), "--port", str(port),
                     "--prefix", f"fake{k}", "--stats-interval", str(args.stats_interval),
                     "--heartbeat-interval", str(args.heartbeat_interval)],
                    stdout=subprocess.DEVNULL, cwd=workdir,
                )  # fmt: skip
                os.sched_setaffinity(fake.pid, fake_cpus)
                fakes.append(fake)
        _wait_until_running(journal, master, workers, 60 + workers / 20, args.max_rss_mb)
        warm_until = time.monotonic() + args.warmup
        while time.monotonic() < warm_until:
            time.sleep(0.5)
            _check_rss(master, args.max_rss_mb)
        master_ps = psutil.Process(master.pid)
        fake_ps = [psutil.Process(f.pid) for f in fakes]
        start = time.time(), _cpu(master_ps), sum(_cpu(p) for p in fake_ps), psutil.cpu_times()
        journal_at_start = journal.stat().st_size
        window_end = time.monotonic() + args.window
        while time.monotonic() < window_end:
            time.sleep(0.5)
            if master_ps.memory_info().rss > args.max_rss_mb * 1e6:  # queues what it cannot merge: stop in time
                raise RuntimeError(
                    f"the master fell behind: its RSS passed {args.max_rss_mb} MB "
                    f"({100 * (_cpu(master_ps) - start[1]) / (time.time() - start[0]):.0f} % of a core so far)"
                )
        end = time.time(), _cpu(master_ps), sum(_cpu(p) for p in fake_ps), psutil.cpu_times()
        journal_at_end = journal.stat().st_size
        master_rss = master_ps.memory_info().rss
        for fake in fakes:
            if fake.poll() is not None:
                raise RuntimeError(f"a fake-worker process exited early with code {fake.returncode}")
        master.send_signal(signal.SIGTERM)
        try:  # the window is measured: a master slow to stop thousands of workers must not lose it
            master.wait(120)
        except subprocess.TimeoutExpired:
            print("  the master did not stop within 120 s of SIGTERM; killed", flush=True)
            master.kill()
            master.wait(10)
    except Exception:
        log.flush()
        print((workdir / f"master-{workers}.log").read_text()[-3000:], file=sys.stderr)
        if journal.exists():  # what the master had decided by then, by event type
            import collections

            with contextlib.suppress(Exception):
                kinds = collections.Counter(r.type for r in read_journal(journal).records)
                print(f"the journal so far: {dict(kinds.most_common(8))}", file=sys.stderr)
        raise
    finally:
        _stop(master)
        for fake in fakes:
            _stop(fake)
        log.close()

    busy_before = sum(start[3]) - start[3].idle - getattr(start[3], "iowait", 0.0)
    busy_after = sum(end[3]) - end[3].idle - getattr(end[3], "iowait", 0.0)
    contents = read_journal(journal)
    records = contents.records
    sent = [  # (when a report was sent, when the master merged it) for each report
        (ref.worker_time, r.wall_ns / 1e9)
        for r in records
        if isinstance(r.event, merged_type)
        for ref in r.event.reports  # type: ignore[attr-defined]
    ] + [(r.event.worker_time, r.wall_ns / 1e9) for r in records if isinstance(r.event, StatsReported)]
    latencies = [merged - sent for sent, merged in sent if start[0] <= sent <= end[0]]
    joined = {r.event.worker_id for r in records if isinstance(r.event, WorkerJoined)}
    join_times = sorted(r.mono_ns for r in records if isinstance(r.event, WorkerJoined))
    join_seconds = (join_times[workers - 1] - join_times[0]) / 1e9 if len(join_times) >= workers else float("nan")
    if len(joined) < workers:
        print(f"  warning: only {len(joined)} of {workers} fake workers joined", flush=True)
    window = end[0] - start[0]
    return Measure(
        workers=workers,
        window=window,
        master_cpu=end[1] - start[1],
        fakes_cpu=end[2] - start[2],
        machine_busy=(busy_after - busy_before) / (window * psutil.cpu_count()),
        latencies=latencies,
        reports_expected=workers * window / args.stats_interval,
        missing=sum(1 for r in records if r.type == "worker.missing" and start[0] * 1e9 <= r.wall_ns <= end[0] * 1e9),
        journal_bytes=journal_at_end - journal_at_start,
        journal=str(journal),
        journal_format=contents.header.format_version,
        master_rss=master_rss,
        join_seconds=join_seconds,
        missing_total=sum(1 for r in records if r.type == "worker.missing"),
    )


def _check_rss(master: subprocess.Popen[bytes], max_rss_mb: float) -> None:
    """A master that cannot keep up queues what it has not merged, without bound: stop before the machine suffers."""
    import psutil

    with contextlib.suppress(psutil.Error):
        if psutil.Process(master.pid).memory_info().rss > max_rss_mb * 1e6:
            raise RuntimeError(f"the master fell behind: its RSS passed {max_rss_mb:.0f} MB")


def _wait_until_running(
    journal: Path, master: subprocess.Popen[bytes], workers: int, timeout: float, max_rss_mb: float
) -> None:
    """Until the ramp to every worker's users finished (the run is `running`), so the window sees steady state."""
    from horde.protocol.events import RunStateChanged
    from horde.protocol.journal import JournalError, read_journal

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if master.poll() is not None:
            raise RuntimeError(f"the master exited with code {master.returncode} before all workers joined")
        _check_rss(master, max_rss_mb)
        try:
            records = read_journal(journal).records if journal.exists() else []
        except JournalError:
            records = []
        if any(isinstance(r.event, RunStateChanged) and r.event.state == "running" for r in records):
            return
        time.sleep(1.0)
    raise RuntimeError(f"{workers} fake workers did not all join and get their users within {timeout:.0f} s")


def print_table(results: Sequence[Measure], args: argparse.Namespace) -> None:
    cpus = os.cpu_count()
    print()
    print(
        f"{cpus} CPUs, {args.processes} fake-worker processes, heartbeat every {args.heartbeat_interval:g} s, "
        f"a report with {ENDPOINTS} endpoints every {args.stats_interval:g} s per worker, window {args.window:g} s"
        + (", master pinned to CPU 0 and fake workers to the rest" if args.pin else ", no pinning")
    )
    header = (
        f"{'workers':>7} | {'master CPU %':>12} {'per 100 w.':>10} | {'merge p50 ms':>12} {'p99 ms':>8} "
        f"{'max ms':>8} | {'reports':>8} {'expected':>8} | {'fakes CPU %':>11} {'machine %':>9} | "
        f"{'missing':>7} {'journal MB/s':>12} {'MB/h':>7} | {'RSS MB':>6} {'ref us':>6} {'CPU s':>6} | "
        f"{'join s':>6} {'missing in all':>14}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        print(
            f"{m.workers:>7} | {m.master_percent:>12.1f} {100 * m.master_percent / m.workers:>10.1f} | "
            f"{m.latency_ms(0.5):>12.1f} {m.latency_ms(0.99):>8.1f} {1000 * max(m.latencies, default=0):>8.1f} | "
            f"{len(m.latencies):>8} {m.reports_expected:>8.0f} | {100 * m.fakes_cpu / m.window:>11.1f} "
            f"{100 * m.machine_busy:>9.1f} | {m.missing:>7} {m.journal_bytes / 1e6 / m.window:>12.3f}"
            f" {m.journal_bytes * 3600 / 1e6 / m.window:>7.0f} | {m.master_rss / 1e6:>6.0f} {m.reference_us:>6.0f}"
            f" {m.master_cpu:>6.1f} | {m.join_seconds:>6.1f} {m.missing_total:>14}"
        )
    print("reference: us for a fixed plain-Python job (a 2,000-key dict merge) on the master's CPU before each run")
    if args.repeat > 1:
        import statistics

        for workers in dict.fromkeys(m.workers for m in results):
            runs = [m for m in results if m.workers == workers]
            shown = ", ".join(f"{m.master_percent:.1f} % (ref {m.reference_us:.0f} us)" for m in runs)
            median = statistics.median(m.master_percent for m in runs)
            print(f"{workers} workers: median master CPU {median:.1f} % of a core over {len(runs)} runs: {shown}")
    if len(results) > 1 and len({m.workers for m in results}) > 1:
        first, last = results[0], results[-1]
        ratio = (last.master_percent / first.master_percent) / (last.workers / first.workers)
        print(f"cost per worker at {last.workers} vs {first.workers} workers: {ratio:.2f}x (1.00 = linear)")
    formats = sorted({m.journal_format for m in results})
    chain = "none" if formats == [1] else "off (--no-chain)" if args.no_chain else "on"
    print(f"journal: format {formats}, hash chain {chain}; MB/s and MB/h: its growth over the window")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--workers", default="100,300,1000", help="comma-separated worker counts (default 100,300,1000)"
    )
    parser.add_argument("--processes", type=int, default=4, help="fake-worker processes (default 4)")
    parser.add_argument("--window", type=float, default=20.0, help="seconds of steady state measured (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds after the ramp before the window")
    parser.add_argument("--stats-interval", type=float, default=2.0, help="the master's default is 2 s")
    parser.add_argument("--heartbeat-interval", type=float, default=1.0)
    parser.add_argument("--pin", action="store_true", help="master on CPU 0, fake workers on the other CPUs")
    parser.add_argument("--repeat", type=int, default=1, help="runs per worker count; the median is printed too")
    parser.add_argument(
        "--max-rss-mb", type=float, default=2000, help="stop a run whose master's RSS passes this (it fell behind)"
    )
    parser.add_argument(
        "--journal-format", type=int, choices=(2, 3), default=3, help="3: compressed blocks; 2: JSON Lines"
    )
    parser.add_argument("--no-chain", action="store_true", help="the master's journal without its hash chain")
    parser.add_argument("--keep", metavar="DIR", help="work (and leave the journals) in DIR instead of a temporary one")
    # the fake-worker child mode
    parser.add_argument("--fake-workers", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--prefix", default="fake", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fake_workers:
        return fake_workers(args.port, args.fake_workers, args.prefix, args.stats_interval, args.heartbeat_interval)
    counts = [int(n) for n in args.workers.split(",") if n.strip()]
    results = []
    master_cpu = sorted(os.sched_getaffinity(0))[0] if args.pin else None
    with tempfile.TemporaryDirectory(prefix="horde-capacity-", dir=args.keep) as tmp:
        for workers in counts:
            for run in range(args.repeat):
                print(f"{workers} fake workers, run {run + 1} of {args.repeat} ...", flush=True)
                reference = reference_us(master_cpu)
                results.append(measure(workers, args, Path(tmp)))
                results[-1].reference_us = reference
                if args.keep:
                    kept = Path(args.keep) / f"capacity-{workers}-run{run + 1}{Path(results[-1].journal).suffix}"
                    Path(results[-1].journal).replace(kept)
                    print(f"  journal kept: {kept}", flush=True)
                print(
                    f"  master {results[-1].master_percent:.1f} % of a core, "
                    f"merge latency p50 {results[-1].latency_ms(0.5):.1f} ms; "
                    f"reference {reference:.0f} us",
                    flush=True,
                )
    print_table(results, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
