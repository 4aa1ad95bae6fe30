"""Requests per second of one `horde run` in one process, and with `--processes -1` (one worker per core).

Run on demand, not a test: `python benchmarks/processes.py [--users 100] [--seconds 15] [--repeat 3]`.

One Python process uses one core; `--processes N` starts N worker processes under a master on 127.0.0.1 so a
load test uses every core. The target is nginx on 127.0.0.1 (see benchmarks/throughput.py), counting the requests
it served; both runs use the same FastHttpUser locustfile, no think time, and alternate so the machine's drift
hits both alike. The steady window starts `--warmup` seconds in (worker processes take a second to start) and ends
one second before the run does. nginx needs CPU too: on a 2-core machine the ceiling of the speed-up is about
2 / (horde's share of a core + nginx's), printed beside the figures.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import HORDE_LOCUSTFILE, NginxTarget, find_nginx, tree_cpu_seconds


@dataclass
class Window:
    """One run's steady window: requests per second served, and CPU cores used in it by each side."""

    rate: float
    horde: float
    master: float
    """The master process alone (with --processes: the local master; without: the one process)."""
    nginx: float

    @property
    def per_cpu_second(self) -> float:
        return self.rate / self.horde if self.horde else 0.0


def own_cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def run_once(target: NginxTarget, processes: int, args: argparse.Namespace, workdir: Path) -> Window:
    command = [
        sys.executable, "-m", "horde", "run", "-f", str(HORDE_LOCUSTFILE), "-H", target.url,
        "-u", str(args.users), "-r", "10000", "-t", f"{args.seconds}s", "--only-summary",
        "--journal", os.devnull,
    ]  # fmt: skip
    if processes:
        command += ["--processes", str(processes)]
    env = {**os.environ, "PYTHONPATH": args.pythonpath} if args.pythonpath else None
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert target.proc is not None
    time.sleep(args.warmup)

    def sample() -> tuple[int, float, float, float, float]:
        return (
            target.served(),
            tree_cpu_seconds(proc.pid),
            own_cpu_seconds(proc.pid),
            tree_cpu_seconds(target.proc.pid),
            time.monotonic(),
        )

    before = sample()
    time.sleep(args.seconds - args.warmup - 1.0)
    after = sample()
    proc.wait(timeout=60)
    elapsed = after[4] - before[4]
    served, horde, master, nginx = ((after[i] - before[i]) / elapsed for i in range(4))
    return Window(served, horde, master, nginx)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pythonpath", default="", help="run another checkout's horde (its directory)")
    args = parser.parse_args()
    nginx = find_nginx()
    if nginx is None:
        print("nginx is not on PATH (apt-get install nginx-light): this benchmark needs it", file=sys.stderr)
        return 2
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="horde-processes-") as tmp:
        workdir = Path(tmp)
        target = NginxTarget(workdir, nginx)
        target.start()
        try:
            results: dict[str, list[Window]] = {"1 process": [], f"--processes -1 ({cores})": []}
            for _ in range(args.repeat):
                for label, processes in (("1 process", 0), (f"--processes -1 ({cores})", -1)):
                    results[label].append(run_once(target, processes, args, workdir))
        finally:
            target.stop()
    print(f"{args.users} FastHttpUsers against nginx, steady window {args.warmup:g}-{args.seconds - 1} s, {cores} CPUs")
    medians: dict[str, tuple[float, float]] = {}
    for label, runs in results.items():
        rates = ", ".join(f"{w.rate:,.0f}" for w in runs)
        cpu = ", ".join(f"{w.horde:.2f}" for w in runs)
        master = ", ".join(f"{w.master:.3f}" for w in runs)
        nginx = ", ".join(f"{w.nginx:.2f}" for w in runs)
        per_cpu = ", ".join(f"{w.per_cpu_second:,.0f}" for w in runs)
        medians[label] = (
            statistics.median(w.rate for w in runs),
            statistics.median(w.per_cpu_second for w in runs),
        )
        print(f"{label:>22}: req/s {rates} (median {medians[label][0]:,.0f})")
        print(f"{'':>22}  horde CPU cores {cpu}; of which the master process {master}; nginx {nginx}")
        print(f"{'':>22}  req per horde CPU-second {per_cpu} (median {medians[label][1]:,.0f})")
    (one, one_cpu), (many, many_cpu) = medians.values()
    print(f"speed-up of --processes -1: {many / one:.2f}x req/s, {many_cpu / one_cpu:.2f}x req per CPU-second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
