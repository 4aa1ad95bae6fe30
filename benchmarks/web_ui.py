"""The web UI's cost: one real master with 1,000 simulated workers, with and without the UI and 3 event-stream
clients; the master's CPU and the latency from a statistics report to the page's event.

Run on demand, not a test: `python benchmarks/web_ui.py [--workers 1000] [--window 20] [--repeat 2]`.

The simulated workers are `master_capacity.py`'s (zmq.green DEALER greenlets speaking the real protocol: a
heartbeat a second, a 20-endpoint `StatsReport` every stats interval). Runs alternate, without then with the UI,
so that a shared machine's drift falls on both alike. With the UI the master runs `--autostart --web-port 0` (the
same run, served), and a separate process holds 3 `GET /events` streams, as 3 open pages would.

Figures, over a steady window after every worker joined and the ramp ended:

- master CPU, user + system seconds from psutil at the window's edges, as % of one core (goal: the UI adds under
  5 points);
- report-to-page latency (UI runs): a report carries its send time (`worker_time`); the master journals its
  `stats.reported` with a seq; each `tick` the page receives carries the seq its panels were folded up to. The
  latency of a report is the arrival time of the first tick whose seq reaches the report's, minus its send time
  (goal: p95 under one stats interval + 1 s). Same clock, same machine.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from master_capacity import IDLE_LOCUSTFILE, USERS_PER_WORKER, _cpu, _stop, _wait_until_running, reference_us

CLIENTS = 3
SEQ = re.compile(rb'"seq":(\d+)')


# --- the pages (a child process of this script) --------------------------------------------------------------------


def pages(url: str, count: int, out: str) -> int:
    """Holds `count` event streams open; writes `arrival_time seq` per tick received, per stream, until SIGTERM."""
    from gevent import monkey

    monkey.patch_all()

    import urllib.request

    import gevent

    lines: list[str] = []
    drops: dict[int, int] = {}

    def page(index: int) -> None:
        """One page: reconnects when the master drops it for falling behind, as a browser's EventSource does."""
        while True:
            with urllib.request.urlopen(url + "events", timeout=60) as stream:
                for raw in stream:
                    if raw.startswith(b"data: "):
                        arrived = time.time()
                        # the view's seq is the message's first; reading it costs no parse of the whole view
                        found = SEQ.search(raw)
                        if found is not None:
                            lines.append(f"{index} {arrived:.6f} {found.group(1).decode()}\n")
            drops[index] = drops.get(index, 0) + 1

    greenlets = [gevent.spawn(page, i) for i in range(count)]

    def finish() -> None:
        gevent.killall(greenlets)
        with open(out, "w") as f:
            f.writelines(lines)
        if drops:
            print(f"  the pages reconnected {sum(drops.values())} time(s) after falling behind", flush=True)

    gevent.signal_handler(signal.SIGTERM, finish)
    gevent.joinall(greenlets)
    finish()
    return 0


# --- the conductor --------------------------------------------------------------------------------------------------


@dataclass
class Measure:
    ui: bool
    window: float
    master_cpu: float
    fakes_cpu: float
    reference_us: float
    latencies: list[float] = field(default_factory=list)
    """Report sent -> the page's event received, seconds."""
    merges: list[float] = field(default_factory=list)
    """Report sent -> the StatsAggregator's decision (the journal's `wall_ns`): the master's part, UI or not."""
    ticks: int = 0

    @property
    def master_percent(self) -> float:
        return 100 * self.master_cpu / self.window

    def latency(self, quantile: float, of: list[float] | None = None) -> float:
        values = self.latencies if of is None else of
        if not values:
            return float("nan")
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(quantile * len(ordered)))]


def _web_url(log: Path, master: subprocess.Popen[bytes], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if master.poll() is not None:
            raise RuntimeError(f"the master exited with code {master.returncode}; see {log}")
        for line in log.read_text(errors="replace").splitlines():
            if "web UI at " in line:
                return line.split("web UI at ")[1].split()[0]
        time.sleep(0.2)
    raise RuntimeError(f"the master never served its web UI; see {log}")


def measure(ui: bool, args: argparse.Namespace, workdir: Path, reference: float) -> Measure:
    import psutil

    from horde.protocol.events import StatsMerged, StatsReported
    from horde.protocol.journal import read_journal

    locustfile = workdir / "idle.py"
    locustfile.write_text(IDLE_LOCUSTFILE)
    tag = "ui" if ui else "plain"
    journal = workdir / f"web-{tag}.jsonl"
    journal.unlink(missing_ok=True)
    log_path = workdir / f"master-{tag}.log"
    ticks_path = workdir / f"ticks-{tag}.txt"
    ticks_path.unlink(missing_ok=True)
    master: subprocess.Popen[bytes] | None = None
    fakes: list[subprocess.Popen[bytes]] = []
    page_process: subprocess.Popen[bytes] | None = None
    with log_path.open("wb") as log:
        try:
            command = [
                sys.executable, "-m", "horde", "run", "-f", str(locustfile), "--master",
                "--master-bind-host", "127.0.0.1", "--master-bind-port", "0", "--expect-workers", str(args.workers),
                "-u", str(args.workers * USERS_PER_WORKER), "-r", "1000", "-t", "1h", "--only-summary",
                "--journal", str(journal), "--stats-interval", str(args.stats_interval),
                "--heartbeat-interval", str(args.heartbeat_interval), "--loglevel", "WARNING",
            ]  # fmt: skip
            command += ["--autostart", "--web-port", "0", "--autoquit", "0"] if ui else ["--headless"]
            master = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, cwd=workdir)
            assert master.stdout is not None
            line = master.stdout.readline().decode()
            if "listening on port" not in line:
                raise RuntimeError(f"the master did not start: {line!r}; see {log_path}")
            port = int(line.split("listening on port ")[1].split(",")[0])
            if ui:
                url = _web_url(log_path, master)
                page_process = subprocess.Popen(
                    [sys.executable, __file__, "--pages", url, "--out", str(ticks_path)], cwd=workdir
                )
            per_process = [
                args.workers // args.processes + (k < args.workers % args.processes) for k in range(args.processes)
            ]
            for k, count in enumerate(per_process):
                fakes.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            str(Path(__file__).parent / "master_capacity.py"),
                            "--fake-workers",
                            str(count),
                            "--port",
                            str(port),
                            "--prefix",
                            f"fake{k}",
                            "--stats-interval",
                            str(args.stats_interval),
                            "--heartbeat-interval",
                            str(args.heartbeat_interval),
                        ],
                        stdout=subprocess.DEVNULL,
                        cwd=workdir,
                    )
                )
            _wait_until_running(journal, master, args.workers, timeout=60 + args.workers / 20, max_rss_mb=4000)
            time.sleep(args.warmup)
            master_ps = psutil.Process(master.pid)
            fake_ps = [psutil.Process(f.pid) for f in fakes]
            start = time.time(), _cpu(master_ps), sum(_cpu(p) for p in fake_ps)
            time.sleep(args.window)
            end = time.time(), _cpu(master_ps), sum(_cpu(p) for p in fake_ps)
            if page_process is not None:
                page_process.send_signal(signal.SIGTERM)
                page_process.wait(20)
            master.send_signal(signal.SIGTERM)
            master.wait(60)
        finally:
            _stop(page_process)
            _stop(master)
            for fake in fakes:
                _stop(fake)
    result = Measure(ui, end[0] - start[0], end[1] - start[1], end[2] - start[2], reference)
    records = read_journal(journal).records
    # (journal seq, wall time it was journaled, when its worker sent it) of every report in the window; a
    # `stats.merged` (ADR 0027) carries many reports, one `stats.reported` (older journals) one
    sent_reports = [
        (r.seq, r.wall_ns / 1e9, worker_time)
        for r in records
        for worker_time in (
            [ref.worker_time for ref in r.event.reports]
            if isinstance(r.event, StatsMerged)
            else [r.event.worker_time]
            if isinstance(r.event, StatsReported)
            else []
        )
        if start[0] <= worker_time <= end[0] - 5
    ]
    result.merges = [journaled - sent for _, journaled, sent in sent_reports]
    if ui:
        ticks = sorted(
            (float(arrived), int(seq))
            for _, arrived, seq in (line.split() for line in ticks_path.read_text().splitlines())
        )
        result.ticks = len(ticks)
        for seq, _, sent in sent_reports:
            arrival = next((arrived for arrived, shown in ticks if shown >= seq and arrived >= sent), None)
            if arrival is not None:
                result.latencies.append(arrival - sent)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=1000)
    parser.add_argument("--processes", type=int, default=4, help="fake-worker processes (default 4)")
    parser.add_argument("--window", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--stats-interval", type=float, default=2.0)
    parser.add_argument("--heartbeat-interval", type=float, default=1.0)
    parser.add_argument("--repeat", type=int, default=2, help="pairs of runs (without, with the UI)")
    parser.add_argument("--pages", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.pages:
        return pages(args.pages, CLIENTS, args.out)
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="horde-web-bench-") as tmp:
        for run in range(args.repeat):
            for ui in (False, True):
                print(f"run {run + 1} of {args.repeat}, {'with' if ui else 'without'} the UI ...", flush=True)
                reference = reference_us(None)
                results.append(measure(ui, args, Path(tmp), reference))
                m = results[-1]
                extra = f", page latency p95 {m.latency(0.95):.2f} s over {len(m.latencies)} reports" if ui else ""
                extra += f", merge p95 {m.latency(0.95, m.merges):.2f} s"
                print(f"  master {m.master_percent:.1f} % of a core{extra}; reference {reference:.0f} us", flush=True)
    print()
    print(
        f"{os.cpu_count()} CPUs (shared: say so when quoting), {args.workers} simulated workers in {args.processes} "
        f"processes, a report every {args.stats_interval:g} s per worker, window {args.window:g} s, "
        f"{CLIENTS} event-stream clients on UI runs"
    )
    header = (
        f"{'UI':>4} | {'master CPU %':>12} | {'fakes CPU %':>11} | {'merge p95 s':>11} | "
        f"{'page p50 s':>10} {'p95 s':>6} {'max s':>6} {'reports':>8} | {'ref us':>6}"
    )
    print(header)
    print("-" * len(header))
    for m in results:
        latency = (
            f"{m.latency(0.5):>10.2f} {m.latency(0.95):>6.2f} {max(m.latencies, default=float('nan')):>6.2f} "
            f"{len(m.latencies):>8}"
            if m.ui
            else f"{'':>10} {'':>6} {'':>6} {'':>8}"
        )
        print(
            f"{'yes' if m.ui else 'no':>4} | {m.master_percent:>12.1f} | {100 * m.fakes_cpu / m.window:>11.1f} | "
            f"{m.latency(0.95, m.merges):>11.2f} | {latency} | {m.reference_us:>6.0f}"
        )
    plain = statistics.median(m.master_percent for m in results if not m.ui)
    served = statistics.median(m.master_percent for m in results if m.ui)
    all_latencies = [x for m in results if m.ui for x in m.latencies]
    p95 = sorted(all_latencies)[int(0.95 * (len(all_latencies) - 1))] if all_latencies else float("nan")
    print(f"median master CPU: {plain:.1f} % without the UI, {served:.1f} % with it: {served - plain:+.1f} points")
    print(f"report-to-page latency p95 over all UI runs: {p95:.2f} s (goal under {args.stats_interval + 1:g} s)")
    print("merge p95: report sent -> merged by the master (with or without the UI); page: sent -> on the page")
    return 0


if __name__ == "__main__":
    sys.exit(main())
