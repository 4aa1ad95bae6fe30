"""How long one dispatch decision takes, horde against Locust's UsersDispatcher, at the same sizes.

Run on demand, not a test: `python benchmarks/dispatch.py [--users 1000000] [--workers 1000] [--classes 10]`.

Two cases, each timed as the best of `--repeat` runs with the garbage collector off:

- full dispatch: from an idle cluster, one step to all the users (spawn rate = user count), so the whole
  assignment is computed at once. horde: `decide(RampTo)` plus `apply`. Locust: `new_dispatch` plus the
  first `next()`.
- rebalance: with all the users running, one worker leaves. horde: `decide(RemoveWorker)` plus `apply`. Locust:
  `remove_worker` plus `new_dispatch` and `next()`, which is what its runner does.

Locust runs in its own virtualenv in a cache directory outside the repository (created and filled from PyPI
on first use, shared with benchmarks/throughput.py), through a small snippet in a subprocess, so it never
mixes with horde's dependencies. `--locust-users` also times Locust at another size (by default 100,000, the
size of the reference figure of about 100 ms) in case the full size is too slow to repeat.

Goals (ADR 0006): horde's full dispatch of 1,000,000 users over 1,000 workers at most 100 ms and at least 10x
faster than Locust at the same size; the rebalance at most 20 ms.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

from horde.actors.dispatcher_logic import apply, decide, initial_state
from horde.protocol.dispatcher_vocabulary import AddWorker, DispatchState, RampTo, RemoveWorker, UserClassSpec

LOCUST_VERSION = "2.47.0"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "horde-bench"


def best_of(repeat: int, run: Callable[[], object]) -> float:
    """Best wall time in seconds; the minimum is the figure least disturbed by the rest of the machine."""
    times = []
    gc.disable()
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
            gc.collect()
    finally:
        gc.enable()
    return min(times)


def class_specs(count: int) -> list[UserClassSpec]:
    return [UserClassSpec(f"User{i:02d}", weight=float(i + 1)) for i in range(count)]


def worker_ids(count: int) -> list[str]:
    return [f"worker-{i:04d}" for i in range(count)]


def idle_cluster(classes: int, workers: int) -> DispatchState:
    state = initial_state(class_specs(classes))
    for worker in worker_ids(workers):
        for step in decide(state, AddWorker(0.0, worker)):
            state = apply(state, step)
    return state


def fold(state: DispatchState, command: RampTo | RemoveWorker) -> DispatchState:
    for step in decide(state, command):
        state = apply(state, step)
    return state


def measure_horde(users: int, workers: int, classes: int, repeat: int) -> dict[str, float]:
    idle = idle_cluster(classes, workers)
    ramp_to = RampTo(1.0, users, float(users))
    full = best_of(repeat, lambda: fold(idle, ramp_to))
    running = fold(idle, ramp_to)
    leave = RemoveWorker(2.0, worker_ids(workers)[workers // 2], "left")
    rebalance = best_of(repeat, lambda: fold(running, leave))
    return {"full_dispatch": full, "rebalance": rebalance}


LOCUST_SNIPPET = textwrap.dedent(
    """
    import gc, json, sys, time
    from locust import User, constant, task
    from locust.dispatch import UsersDispatcher
    from locust.runners import WorkerNode

    users, workers, classes, repeat = (int(arg) for arg in sys.argv[1:5])

    def make_class(i):
        return type(f"User{i:02d}", (User,), {"weight": i + 1, "wait_time": constant(0),
                                             "tasks": [lambda user: None]})

    user_classes = [make_class(i) for i in range(classes)]

    def nodes():
        return [WorkerNode(f"worker-{i:04d}") for i in range(workers)]

    def full():
        dispatcher = UsersDispatcher(worker_nodes=nodes(), user_classes=user_classes)
        started = time.perf_counter()
        dispatcher.new_dispatch(target_user_count=users, spawn_rate=users)
        next(dispatcher)
        return time.perf_counter() - started, dispatcher

    def rebalance():
        _, dispatcher = full()
        leaver = dispatcher._worker_nodes[workers // 2]
        started = time.perf_counter()
        dispatcher.remove_worker(leaver)
        dispatcher.new_dispatch(target_user_count=users, spawn_rate=users)
        next(dispatcher)
        return time.perf_counter() - started

    gc.disable()
    full_times, rebalance_times = [], []
    for _ in range(repeat):
        full_times.append(full()[0])
        gc.collect()
        rebalance_times.append(rebalance())
        gc.collect()
    print(json.dumps({"full_dispatch": min(full_times), "rebalance": min(rebalance_times)}))
    """
)


def ensure_locust(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"creating a virtualenv for Locust in {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    installed = subprocess.run(
        [str(python), "-c", "import locust; print(locust.__version__)"], capture_output=True, text=True
    )
    if installed.stdout.strip() != LOCUST_VERSION:
        print(f"installing locust=={LOCUST_VERSION} into {venv}", flush=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", f"locust=={LOCUST_VERSION}"], check=True)
    return python


def measure_locust(python: Path, users: int, workers: int, classes: int, repeat: int) -> dict[str, float]:
    done = subprocess.run(
        [str(python), "-c", LOCUST_SNIPPET, str(users), str(workers), str(classes), str(repeat)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def milliseconds(seconds: float) -> str:
    return f"{seconds * 1000:9.1f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1_000)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--locust-repeat", type=int, default=3)
    parser.add_argument("--locust-users", type=int, default=100_000, help="an extra, smaller size for Locust")
    parser.add_argument("--locust-venv", type=Path, default=DEFAULT_CACHE / "locust-venv")
    parser.add_argument("--no-locust", action="store_true")
    args = parser.parse_args()

    print(f"{args.users:,} users, {args.classes} classes, {args.workers:,} workers; best of {args.repeat}")
    horde = measure_horde(args.users, args.workers, args.classes, args.repeat)
    print(f"horde  full dispatch {milliseconds(horde['full_dispatch'])}   (goal <= 100 ms)")
    print(f"horde  rebalance     {milliseconds(horde['rebalance'])}   (goal <= 20 ms, one of the workers leaves)")
    ok = horde["full_dispatch"] <= 0.100 and horde["rebalance"] <= 0.020
    if args.no_locust:
        return 0 if ok else 1

    python = ensure_locust(args.locust_venv)
    for users in dict.fromkeys([args.locust_users, args.users]):
        locust = measure_locust(python, users, args.workers, args.classes, args.locust_repeat)
        print(
            f"locust {LOCUST_VERSION} at {users:,} users: full dispatch {milliseconds(locust['full_dispatch'])}, "
            f"rebalance {milliseconds(locust['rebalance'])}"
        )
    speedup = locust["full_dispatch"] / horde["full_dispatch"]
    rebalance_speedup = locust["rebalance"] / horde["rebalance"]
    print(
        f"at {args.users:,} users horde is {speedup:,.0f}x faster on the full dispatch (goal >= 10x) and "
        f"{rebalance_speedup:,.0f}x on the rebalance"
    )
    ok = ok and speedup >= 10
    print("goals met" if ok else "GOALS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
