"""Cost of the statistics hot path: ns per StatsRecorder.record(), and per take_delta() + RunStats.merge().

Run on demand: `python benchmarks/record_path.py [--profile]`. Twenty endpoints, log-normal response times,
1 % failures, a real wall clock; the report interval holds 3 seconds of requests at the chosen rate.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import random
import time

from horde.stats.recorder import StatsRecorder
from horde.stats.run_stats import RunStats

ENDPOINTS = [("GET" if i % 3 else "POST", f"/api/endpoint/{i}") for i in range(20)]


def workload(count: int, seed: int = 1) -> list[tuple[str, str, float, int, object | None]]:
    rng = random.Random(seed)
    failure = ConnectionError("connection refused")
    return [
        (
            *rng.choice(ENDPOINTS),
            rng.lognormvariate(3.5, 0.8),
            rng.randrange(100, 5000),
            failure if rng.random() < 0.01 else None,
        )
        for _ in range(count)
    ]


def time_record(requests: list[tuple[str, str, float, int, object | None]], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        recorder = StatsRecorder()
        record = recorder.record
        start = time.perf_counter_ns()
        for method, name, response_time, length, error in requests:
            record(method, name, response_time, length, error)
        best = min(best, (time.perf_counter_ns() - start) / len(requests))
    return best


def time_delta_and_merge(requests_per_interval: int, seconds: int, repeats: int) -> float:
    """One report interval: `requests_per_interval` requests spread over `seconds` seconds."""
    requests = workload(requests_per_interval, seed=2)
    best = float("inf")
    now = [0.0]
    for _ in range(repeats):
        recorder = StatsRecorder(lambda: now[0])
        for index, (method, name, response_time, length, error) in enumerate(requests):
            now[0] = 1_700_000_000.0 + seconds * index / len(requests)
            recorder.record(method, name, response_time, length, error)
        stats = RunStats()
        start = time.perf_counter_ns()
        stats.merge(recorder.take_delta())
        best = min(best, time.perf_counter_ns() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200_000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of record()")
    args = parser.parse_args()

    requests = workload(args.requests)
    print(f"record():              {time_record(requests, repeats=5):8.0f} ns per call (20 endpoints)")
    for rate in (1_000, 10_000):
        cost = time_delta_and_merge(rate * 3, seconds=3, repeats=5)
        print(f"take_delta()+merge():  {cost / 1e6:8.2f} ms per 3 s report at {rate} requests/s")

    if args.profile:
        recorder = StatsRecorder()
        profiler = cProfile.Profile()
        profiler.enable()
        for method, name, response_time, length, error in requests:
            recorder.record(method, name, response_time, length, error)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("tottime").print_stats(8)


if __name__ == "__main__":
    main()
