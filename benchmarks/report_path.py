"""The master's work per statistics report, step by step: decode, merge, journal line (ADR 0012).

Run on demand, not a test: `python benchmarks/report_path.py [--endpoints 20] [--rounds 7]`.

The report has the shape `master_capacity.py`'s fake workers send: 20 endpoints of 50-150 lognormal response
times (median about 20 ms) spread over 2 s, recorded into a real `StatsRecorder`, so about one histogram bucket per
request. Each step is timed alone, the minimum over `--rounds` rounds, in us per report; the master does all three
for every report it receives.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable, Sequence


def per_report_us(step: Callable[[], object], rounds: int, number: int = 500) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(number):
            step()
        best = min(best, (time.perf_counter() - started) / number)
    return best * 1e6


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)

    from horde.protocol import codec
    from horde.protocol.events import StatsReported
    from horde.protocol.journal import encode_record
    from horde.protocol.messages import StatsReport
    from horde.stats.recorder import StatsRecorder
    from horde.stats.run_stats import RunStats

    rng = random.Random(1)
    start = 1_700_000_000.5  # fixed, so every run builds the same report
    recorder = StatsRecorder(clock=lambda: start + rng.random() * 2)
    for n in range(args.endpoints):
        for _ in range(rng.randint(50, 150)):
            recorder.record("GET", f"/api/endpoint/{n:02d}", rng.lognormvariate(3, 0.8), 100, None)
    delta = recorder.take_delta()
    frames = codec.encode(StatsReport("inc", 1, delta, start))
    event = StatsReported("w", "inc", 1, delta, start, False)
    stats = RunStats()
    buckets = sum(len(e.buckets) for e in delta.entries) + sum(len(s.buckets) for s in delta.seconds)

    print(f"one report: {args.endpoints} endpoints, {len(delta.seconds)} seconds, {buckets} histogram buckets")
    line = encode_record(1, 1, 1, "stats", "stats", event)
    print(f"  frame {sum(len(f) for f in frames):>8,} bytes   journal line {len(line):>8,} bytes")
    steps: list[tuple[str, Callable[[], object]]] = [
        ("decode + validate", lambda: codec.decode_from_worker(frames)),
        ("merge into RunStats", lambda: stats.merge(delta)),
        ("journal line", lambda: encode_record(1, 1, 1, "stats", "stats", event)),
    ]
    for label, step in steps:
        print(f"  {label:<20} {per_report_us(step, args.rounds):8.1f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
