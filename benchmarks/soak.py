"""Soak: a master and 2 workers for N minutes against a local target, printing their RSS and CPU over time.

Run on demand, not a test: `python benchmarks/soak.py [--minutes 10] [--users 20] [--sample 30]`.

What it shows: whether memory stays flat over a long run. The master merges every report into its RunStats and
journals it; the workers record requests and report every 2 s. A master whose statistics grew with the run's
length (per-second counts for every entry and every second, ADR 0029) shows a steady slope; a flat one does not.

Load: `--users` FastHttpUsers (20 by default, `constant(0.02)`: about 1,000 requests/s in all) over 20 endpoint
names, against nginx (started here on 127.0.0.1, as `throughput.py` does) or horde's built-in target. Every
`--sample` seconds it prints each process's RSS and CPU seconds (user + system); at the end, the RSS slope of each
process over the second half of the run, in MB per hour. The machine may be shared with other work: CPU seconds,
not shares, are printed. `--pythonpath` runs another checkout of horde (e.g. an older commit, `git archive`d).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import BuiltinTarget, NginxTarget, Target, find_nginx, stop_process

LOCUSTFILE = """\
import itertools

from horde import FastHttpUser, constant, task

NAMES = itertools.cycle([f"/endpoint/{n:02d}" for n in range(20)])


class Soak(FastHttpUser):
    wait_time = constant(0.02)

    @task
    def one(self):
        self.client.get("/", name=next(NAMES))
"""


def slope_mb_per_hour(samples: list[tuple[float, int]]) -> float:
    """Least-squares slope of RSS over time, over the second half of the samples."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return float("nan")
    n = len(half)
    mean_t = sum(t for t, _ in half) / n
    mean_r = sum(r for _, r in half) / n
    var = sum((t - mean_t) ** 2 for t, _ in half)
    if not var:
        return float("nan")
    cov = sum((t - mean_t) * (r - mean_r) for t, r in half)
    return cov / var * 3600 / 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--sample", type=float, default=30.0, help="seconds between samples (default 30)")
    parser.add_argument("--pythonpath", default="", help="a directory holding another horde package to run")
    args = parser.parse_args(argv)

    env = dict(os.environ)
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="horde-soak-") as tmp:
        workdir = Path(tmp)
        (workdir / "soak.py").write_text(LOCUSTFILE)
        nginx = find_nginx()
        target: Target = NginxTarget(workdir, nginx) if nginx else BuiltinTarget(workdir)
        target.start()
        try:
            seconds = int(args.minutes * 60)
            master = subprocess.Popen(
                [sys.executable, "-m", "horde", "run", "-f", "soak.py", "--master", "--master-bind-host", "127.0.0.1",
                 "--master-bind-port", "0", "--expect-workers", "2", "-H", target.url, "-u", str(args.users),
                 "-r", str(args.users), "-t", f"{seconds + 30}s", "--only-summary", "--journal", "soak.jsonl",
                 "--loglevel", "WARNING"],
                cwd=workdir, env=env, stdout=subprocess.PIPE, stderr=(workdir / "master.log").open("wb"),
                start_new_session=True,
            )  # fmt: skip
            processes.append(master)
            assert master.stdout is not None
            line = master.stdout.readline().decode()
            if "listening on port" not in line:
                raise RuntimeError(f"the master did not start: {line!r}")
            port = line.split("listening on port ")[1].split(",")[0]
            for n in range(2):
                worker = subprocess.Popen(
                    [sys.executable, "-m", "horde", "run", "-f", "soak.py", "--worker", "--master-port", port,
                     "--loglevel", "WARNING"],
                    cwd=workdir, env=env, stdout=subprocess.DEVNULL,
                    stderr=(workdir / f"worker{n}.log").open("wb"), start_new_session=True,
                )  # fmt: skip
                processes.append(worker)
            names = ["master", "worker 1", "worker 2"]
            ps = [psutil.Process(p.pid) for p in processes]
            started = time.monotonic()
            served_at_start = target.served()
            history: list[list[tuple[float, int]]] = [[] for _ in ps]
            print(f"{'minute':>6} | " + " | ".join(f"{n + ' RSS MB':>16} {'CPU s':>7}" for n in names) + " | req/s")
            last_served, last_time = served_at_start, started
            while time.monotonic() - started < seconds:
                time.sleep(args.sample)
                now = time.monotonic()
                row = []
                for k, process in enumerate(ps):
                    rss = process.memory_info().rss
                    times = process.cpu_times()
                    history[k].append((now - started, rss))
                    row.append(f"{rss / 1e6:>16.1f} {times.user + times.system:>7.1f}")
                served = target.served()
                rate = (served - last_served) / (now - last_time)
                last_served, last_time = served, now
                print(f"{(now - started) / 60:>6.1f} | " + " | ".join(row) + f" | {rate:,.0f}", flush=True)
            journal = workdir / "soak.jsonl"
            print()
            print(f"{args.minutes:g} minutes, {args.users} users, target {target.name}, "
                  f"{(target.served() - served_at_start) / (time.monotonic() - started):,.0f} req/s on average; "
                  f"journal {journal.stat().st_size / 1e6:.0f} MB")  # fmt: skip
            for name, samples in zip(names, history, strict=True):
                first, last = samples[0][1], samples[-1][1]
                print(
                    f"{name:>8}: RSS {first / 1e6:.1f} -> {last / 1e6:.1f} MB; slope over the second half "
                    f"{slope_mb_per_hour(samples):+.1f} MB/hour"
                )
        finally:
            for process in processes:
                stop_process(process)
            target.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
