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
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import HORDE_LOCUSTFILE, NginxTarget, find_nginx, tree_cpu_seconds


def run_once(target: NginxTarget, processes: int, args: argparse.Namespace, workdir: Path) -> tuple[float, float]:
    """(requests per second served in the steady window, horde's CPU cores used in it)."""
    command = [
        sys.executable, "-m", "horde", "run", "-f", str(HORDE_LOCUSTFILE), "-H", target.url,
        "-u", str(args.users), "-r", "10000", "-t", f"{args.seconds}s", "--only-summary",
        "--journal", os.devnull,
    ]  # fmt: skip
    if processes:
        command += ["--processes", str(processes)]
    proc = subprocess.Popen(command, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(args.warmup)
    served_before, cpu_before, started = target.served(), tree_cpu_seconds(proc.pid), time.monotonic()
    time.sleep(args.seconds - args.warmup - 1.0)
    served_after, cpu_after, ended = target.served(), tree_cpu_seconds(proc.pid), time.monotonic()
    proc.wait(timeout=60)
    elapsed = ended - started
    return (served_after - served_before) / elapsed, (cpu_after - cpu_before) / elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--warmup", type=float, default=4.0)
    parser.add_argument("--repeat", type=int, default=3)
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
            results: dict[str, list[tuple[float, float]]] = {"1 process": [], f"--processes -1 ({cores})": []}
            for _ in range(args.repeat):
                for label, processes in (("1 process", 0), (f"--processes -1 ({cores})", -1)):
                    results[label].append(run_once(target, processes, args, workdir))
        finally:
            target.stop()
    print(f"{args.users} FastHttpUsers against nginx, steady window {args.warmup:g}-{args.seconds - 1} s, {cores} CPUs")
    medians = {}
    for label, runs in results.items():
        rates = ", ".join(f"{rate:,.0f}" for rate, _ in runs)
        cpu = ", ".join(f"{used:.2f}" for _, used in runs)
        medians[label] = statistics.median(rate for rate, _ in runs)
        print(f"{label:>22}: req/s {rates} (median {medians[label]:,.0f}); horde CPU cores {cpu}")
    one, many = medians.values()
    print(f"speed-up of --processes -1: {many / one:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
