"""The cost of the HTML report of a long run: `render_html(stats, journal_path)` on an hour of statistics.

Run on demand, not a test: `python benchmarks/html_report.py [--minutes 60] [--endpoints 20] [--workers 10]`.

It builds, once and deterministically, what a master holds at the end of such a run: the merged statistics of
`--workers` workers each reporting every 2 s (20 endpoints of lognormal response times, median about 20 ms,
about 100 requests a second in all), and the journal of it (header, configuration, dispatch steps, run states,
a heartbeat per worker per second, every `stats.reported`). Then it times `render_html` as the `--html` plugin
and the web UI call it, the journal read included, in CPU seconds (`time.process_time`), the least of
`--rounds`. `render_html` has had the same name and arguments since the first report, so the same script
measures an older horde: put its checkout first on PYTHONPATH and compare interleaved runs.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--endpoints", type=int, default=20)
    parser.add_argument("--workers", type=int, default=10)
    parser.add_argument("--rate", type=int, default=100, help="requests per second, all workers together")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    import horde
    from horde.plugins.reports import render_html
    from horde.protocol.events import RunConfigured, RunStateChanged, StatsReported, WorkerHeartbeat, WorkerJoined
    from horde.protocol.journal import FORMAT_NAME, FORMAT_VERSION, Header, encode_header, encode_record
    from horde.protocol.states import RunState, WorkerState
    from horde.stats.recorder import StatsRecorder
    from horde.stats.run_stats import RunStats

    rng = random.Random(1)
    t0 = 1_700_000_000
    seconds = args.minutes * 60
    stats = RunStats()
    workdir = tempfile.mkdtemp(prefix="horde-report-bench-")
    journal = os.path.join(workdir, "run.jsonl")
    started = time.process_time()
    seq = 0
    with open(journal, "wb") as f:
        config = {"locustfile": "bench.py", "host": "http://127.0.0.1"}
        header = Header(FORMAT_NAME, FORMAT_VERSION, "bench", "bench", ["horde"], config, "b", 1, 1, t0 * 10**9, 0)

        def write(at: float, source: str, event: object) -> None:
            nonlocal seq
            seq += 1
            f.write(encode_record(seq, round(at * 1e9), round(at * 1e9), source, "", event))  # type: ignore[arg-type]

        f.write(encode_header(header))
        write(t0, "master", RunConfigured({"U": (1.0, 0)}, args.workers, float(seconds), 0.0, 1.0, 3, "http://h"))
        for n in range(args.workers):
            write(t0 + 0.1, "master", WorkerJoined(f"w{n}", f"i{n}", n, "host", n, 2, "bench", ("U",), 0.0))
        write(t0 + 0.2, "master", RunStateChanged(RunState.SPAWNING, RunState.READY, "workers ready", 0.0))
        write(t0 + 1, "master", RunStateChanged(RunState.RUNNING, RunState.SPAWNING, "ramp finished", 0.0))
        per_report = max(1, args.rate * 2 // args.workers)
        for second in range(0, seconds, 2):
            for n in range(args.workers):
                clock = [float(t0 + second)]
                recorder = StatsRecorder(clock=lambda c=clock: c[0])  # type: ignore[misc]
                for _ in range(per_report):
                    clock[0] = t0 + second + rng.random() * 2
                    endpoint = rng.randrange(args.endpoints)
                    recorder.record("GET", f"/api/endpoint/{endpoint:02d}", rng.lognormvariate(3, 0.8), 100, None)
                delta = recorder.take_delta()
                stats.merge(delta, f"w{n}")
                for beat in (0, 1):
                    write(t0 + second + beat, f"worker:w{n}",
                          WorkerHeartbeat(f"w{n}", WorkerState.RUNNING, 10.0, 1, 1, 0.0, 0.0))  # fmt: skip
                write(t0 + second + 2, "stats", StatsReported(f"w{n}", f"i{n}", second // 2, delta, 0.0, False))
        write(t0 + seconds, "master", RunStateChanged(RunState.STOPPED, RunState.STOPPING, "run time reached", 0.0))
    built = time.process_time() - started
    size = os.path.getsize(journal)
    print(f"horde {horde.__file__}")
    print(f"{args.minutes} min, {args.workers} workers, {args.endpoints} endpoints, {stats.total.num_requests:,} "
          f"requests; journal {size / 1e6:.1f} MB, {seq:,} records (built in {built:.1f} CPU s)")  # fmt: skip
    best = float("inf")
    page = ""
    for _ in range(args.rounds):
        started = time.process_time()
        page = render_html(stats, journal)
        best = min(best, time.process_time() - started)
    print(f"render_html: {best:.3f} CPU s (least of {args.rounds}), page {len(page) / 1e3:.0f} kB")
    try:  # the parts, where this horde has them (ADR 0030)
        from horde.plugins.report_story import RunStory
    except ImportError:
        RunStory = None  # type: ignore[assignment,misc]
    if RunStory is not None:
        reads, renders = [], []
        for _ in range(args.rounds):
            started = time.process_time()
            story = RunStory.from_journal(journal)
            reads.append(time.process_time() - started)
            started = time.process_time()
            render_html(stats, journal, story)  # type: ignore[call-arg]
            renders.append(time.process_time() - started)
        print(f"  of which the journal's story {min(reads):.3f} CPU s; the rest (the --html plugin's whole cost, "
              f"its story folded as the run goes) {min(renders):.3f} CPU s")  # fmt: skip
    os.remove(journal)
    os.rmdir(workdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
