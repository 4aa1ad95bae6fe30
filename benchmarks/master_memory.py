"""How fast the master's merged statistics grow over a long run (ADR 0011, ADR 0012).

Run on demand, not a test: `python benchmarks/master_memory.py [--minutes 30] [--rps 1000] [--endpoints 20]`.

A `StatsRecorder` on a simulated clock records `--rps` requests a second over `--endpoints` endpoints (lognormal
response times, median about 20 ms, 1 % failures); every 2 s its delta is merged into a `RunStats`, as the
StatsAggregator does. Memory is what tracemalloc sees allocated (numpy's arrays included), measured once the run is
past the first packed seconds (3 minutes in) and at the end; the growth is given per hour and per day.
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
from collections.abc import Sequence

REPORT_SECONDS = 2
WARM_UP_SECONDS = 180


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--rps", type=int, default=1000)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument(
        "--warm-up", type=int, default=WARM_UP_SECONDS, help="simulated seconds before the first measure (180)"
    )
    args = parser.parse_args(argv)

    from horde.stats.recorder import StatsRecorder
    from horde.stats.run_stats import RunStats

    rng = random.Random(5)
    now = 1_700_000_000.0
    recorder = StatsRecorder(clock=lambda: now)
    stats = RunStats()
    names = [f"/api/endpoint/{n:02d}" for n in range(args.endpoints)]
    tracemalloc.start()
    started = time.perf_counter()
    at_warm_up = 0
    total_seconds = int(args.minutes * 60)
    for second in range(total_seconds):
        for n in range(args.rps):
            now = 1_700_000_000.0 + second + n / args.rps
            failed = rng.random() < 0.01
            recorder.record("GET", names[n % len(names)], rng.lognormvariate(3, 0.8), 500, failed or None)
        if second % REPORT_SECONDS == REPORT_SECONDS - 1:
            stats.merge(recorder.take_delta(), "worker")
        if second == args.warm_up:
            at_warm_up = tracemalloc.get_traced_memory()[0]
    at_end = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    grown = (at_end - at_warm_up) / (total_seconds - args.warm_up) * 3600
    print(f"{args.minutes:g} simulated minutes at {args.rps} requests/s over {args.endpoints} endpoints")
    print(
        f"  merged statistics: {at_warm_up / 1e6:.1f} MB at {args.warm_up / 60:g} min, {at_end / 1e6:.1f} MB at the end"
    )
    print(f"  growth: {grown / 1e6:.1f} MB an hour, {grown * 24 / 1e9:.2f} GB a day")
    print(f"  (simulated in {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
