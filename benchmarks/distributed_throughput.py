"""Total requests/s of a master and 2 workers against nginx: horde and Locust side by side.

Run on demand, not a test: `python benchmarks/distributed_throughput.py [--users 50] [--seconds 20] [--repeat 3]`.

Why: benchmarks/throughput.py compares one process of each tool; a distributed run adds the master, the
reporting traffic and whatever the workers spend talking to it. Same target, same locustfiles (FastHttpUser,
`constant(0)`, GET /; only the import differs), same user count and spawn rate, one tool after the other, each
run as three processes: `--master --expect-workers 2` and two `--worker`s, all on 127.0.0.1.

It reuses benchmarks/throughput.py for nginx (its own config in a temporary directory, `stub_status` to count),
the fallback to horde's built-in target, and Locust's own virtualenv in the cache directory. What it prints, per
run and as medians over `--repeat` runs:

- req/s in the steady window (from `--warmup` after start to 1 s before the end), counted by the target itself;
- each process's CPU in that window (psutil, user + system) as % of one core: master, worker 1, worker 2;
- requests per CPU-second of the whole cluster (all three processes), the figure that does not depend on whether
  the 2-core machine, shared with nginx, is the limit;
- the tool's own request count for the whole run, next to the target's, as a cross-check.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import (  # a sibling script, not a package: found through the path entry above
    DEFAULT_CACHE,
    DEFAULT_LOCUST_VERSION,
    HORDE_LOCUSTFILE,
    LOCUST_LOCUSTFILE,
    Target,
    choose_target,
    ensure_locust,
    free_port,
    stop_process,
)

ROLES = ("master", "worker 1", "worker 2")


@dataclass
class Run:
    tool: str
    window: float  # seconds
    served: int  # requests the target counted in the window
    cpu: dict[str, float]  # CPU seconds per role in the window
    reported: int  # requests the tool reported for its whole run
    served_whole: int  # requests the target counted over the whole run

    @property
    def rps(self) -> float:
        return self.served / self.window

    def percent(self, role: str) -> float:
        return 100 * self.cpu[role] / self.window

    @property
    def per_cpu(self) -> float:
        total = sum(self.cpu.values())
        return self.served / total if total else 0.0


def commands(tool: str, args: argparse.Namespace, target: Target, port: int, workdir: Path) -> list[list[str]]:
    """Master first, then the two workers; both tools get the same users, rate, run time and target."""
    common = ["-u", str(args.users), "-r", str(args.spawn_rate), "-t", f"{args.seconds}s", "-H", target.url]
    if tool == "horde":
        horde = [sys.executable, "-m", "horde", "run", "-f", str(HORDE_LOCUSTFILE), "--loglevel", "WARNING"]
        master = [*horde, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                  "--expect-workers", "2", *common, "--only-summary", "--summary-json", str(workdir / "horde.json"),
                  "--journal", str(workdir / "horde.jsonl")]  # fmt: skip
        worker = [*horde, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    else:
        locust = [str(args.locust), "-f", str(LOCUST_LOCUSTFILE), "--loglevel", "WARNING"]
        master = [*locust, "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
                  "--expect-workers", "2", "--headless", *common, "--only-summary",
                  "--csv", str(workdir / "locust")]  # fmt: skip
        worker = [*locust, "--worker", "--master-host", "127.0.0.1", "--master-port", str(port)]
    return [master, worker, worker]


def reported_requests(tool: str, workdir: Path) -> int:
    if tool == "horde":
        return int(json.loads((workdir / "horde.json").read_text())["aggregated"]["num_requests"])
    with open(workdir / "locust_stats.csv", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["Name"] == "Aggregated"]
    return int(rows[0]["Request Count"])


def run_cluster(tool: str, args: argparse.Namespace, target: Target, workdir: Path) -> Run:
    for stale in ("horde.json", "horde.jsonl", "locust_stats.csv"):
        (workdir / stale).unlink(missing_ok=True)
    port = free_port()
    processes: list[subprocess.Popen[bytes]] = []
    served_start = target.served()
    try:
        for role, cmd in zip(ROLES, commands(tool, args, target, port, workdir), strict=True):
            log = (workdir / f"{tool}-{role.replace(' ', '')}.log").open("wb")
            processes.append(
                subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
            )
            log.close()
        ps = {role: psutil.Process(p.pid) for role, p in zip(ROLES, processes, strict=True)}

        def sample() -> tuple[float, int, dict[str, float]]:
            cpu = {}
            for role, proc in ps.items():
                times = proc.cpu_times()
                cpu[role] = times.user + times.system
            return time.monotonic(), target.served(), cpu

        started = time.monotonic()
        time.sleep(args.warmup)
        first = sample()
        time.sleep(max(1.0, started + args.seconds - 1.0 - time.monotonic()))
        last = sample()
        master = processes[0]
        master.wait(args.seconds + 60)
        for worker in processes[1:]:
            worker.wait(30)
        if master.returncode not in (0, 1):
            log_text = (workdir / f"{tool}-master.log").read_text(errors="replace")
            raise RuntimeError(f"{tool} master exited with code {master.returncode}:\n{log_text[-3000:]}")
    finally:
        for proc in processes:
            stop_process(proc)
    return Run(
        tool=tool,
        window=last[0] - first[0],
        served=last[1] - first[1],
        cpu={role: last[2][role] - first[2][role] for role in ROLES},
        reported=reported_requests(tool, workdir),
        served_whole=target.served() - served_start,
    )


def print_runs(runs: Sequence[Run]) -> None:
    print()
    header = (
        f"{'tool':7} | {'req/s':>8} | {'master %':>8} {'worker1 %':>9} {'worker2 %':>9} {'total %':>8} | "
        f"{'req/CPU-s':>9} | {'reported':>9} {'served':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in runs:
        total = sum(r.percent(role) for role in ROLES)
        print(
            f"{r.tool:7} | {r.rps:>8.0f} | {r.percent('master'):>8.1f} {r.percent('worker 1'):>9.1f} "
            f"{r.percent('worker 2'):>9.1f} {total:>8.1f} | {r.per_cpu:>9.0f} | {r.reported:>9} {r.served_whole:>9}"
        )
    medians: dict[str, tuple[float, float, float]] = {}
    for tool in dict.fromkeys(r.tool for r in runs):
        mine = [r for r in runs if r.tool == tool]
        medians[tool] = (
            statistics.median(r.rps for r in mine),
            statistics.median(r.per_cpu for r in mine),
            statistics.median(r.percent("master") for r in mine),
        )
        rps, per_cpu, master = medians[tool]
        print(
            f"{tool}: median of {len(mine)}: {rps:.0f} req/s, {per_cpu:.0f} req/CPU-s (cluster), master {master:.1f} %"
        )
    if "horde" in medians and "locust" in medians:
        print(
            f"horde/locust: {medians['horde'][0] / medians['locust'][0]:.2f}x req/s, "
            f"{medians['horde'][1] / medians['locust'][1]:.2f}x req/CPU-s"
        )


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="users in total, split over the 2 workers (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=1000.0)
    parser.add_argument("--seconds", type=int, default=20, help="run time of each cluster (default 20)")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds before the steady window opens")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool, alternating (default 3)")
    parser.add_argument("--tools", default="horde,locust", help="comma-separated: horde, locust")
    parser.add_argument("--target", choices=("auto", "nginx", "builtin"), default="auto")
    parser.add_argument("--locust-version", default=DEFAULT_LOCUST_VERSION)
    parser.add_argument("--locust-venv", type=Path, default=DEFAULT_CACHE / "locust-venv")
    args = parser.parse_args(argv)
    if args.seconds < args.warmup + 3:
        parser.error("--seconds must leave at least 3 s after --warmup")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    args.locust = ensure_locust(args.locust_venv, args.locust_version) if "locust" in tools else None
    with tempfile.TemporaryDirectory(prefix="horde-distributed-") as tmp:
        workdir = Path(tmp)
        target = choose_target(args.target, workdir)
        if target is None:
            return 2
        print(
            f"target: {target.name} at {target.url}; master + 2 workers, {args.users} users, {args.seconds} s, "
            f"window {args.warmup:g}-{args.seconds - 1} s; {psutil.cpu_count()} CPUs",
            flush=True,
        )
        runs: list[Run] = []
        try:
            target.start()
            for attempt in range(1, args.repeat + 1):
                for tool in tools:
                    print(f"run {attempt}/{args.repeat}: {tool} ...", flush=True)
                    runs.append(run_cluster(tool, args, target, workdir))
        finally:
            target.stop()
        print_runs(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
