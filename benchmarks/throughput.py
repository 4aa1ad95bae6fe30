"""Requests per CPU-second of one horde process and one Locust process, FastHttpUser against nginx.

Run on demand, not a test: `python benchmarks/throughput.py [--users 50] [--seconds 20] [--profile]`.

Why requests per CPU-second and not requests per second: a load generator's job is to spend as little CPU
as possible per request, so that one core drives as much load as it can; req/s alone depends on how fast
the target answers and on whether the generator even saturates its core. Both tools run the same
locustfile (only the import differs, see benchmarks/locustfiles/) against the same target, one process
each, one after the other.

What is measured, for each tool:

- whole run: the requests the tool itself reports (horde's --summary-json, Locust's --csv stats), the
  process's wall time and its CPU time (user + system, from ``os.wait4`` on the child, so nothing is
  missed between a last sample and the exit). This includes start-up (imports) and ramp-up.
- steady window: from ``--warmup`` seconds after start to one second before the run ends, CPU from psutil
  samples of the process and requests counted by the target itself (nginx's stub_status, or the built-in
  target's /__counts), so neither start-up costs nor a tool's own accounting can flatter the figure. This
  is the headline number.

The target is nginx on 127.0.0.1 (a config written to a temporary directory, one worker, no access log, a
2-byte ``return 200``); without nginx on PATH the script says how to install it and uses horde's built-in
target, which is much slower and shares the CPU, so the figures are then only indicative. Locust lives in
its own virtualenv in a cache directory outside the repository (created on first use), so it never mixes
with horde's dependencies.

``--profile`` adds a third horde run sampled by py-spy (``pip install py-spy``), writes a flame graph and
the collapsed stacks, and prints where horde's CPU goes per request.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

BENCH_DIR = Path(__file__).resolve().parent
HORDE_LOCUSTFILE = BENCH_DIR / "locustfiles" / "fast_root.py"
LOCUST_LOCUSTFILE = BENCH_DIR / "locustfiles" / "fast_root_locust.py"
DEFAULT_LOCUST_VERSION = "2.47.0"
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "horde-bench"

# no proxy, ever: the counters live on 127.0.0.1 and an http_proxy variable must not reroute them
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    server {{
        listen 127.0.0.1:{port};
        location = /__nginx_status {{ stub_status; }}
        location / {{ return 200 "ok"; }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_process(proc: subprocess.Popen[bytes] | None) -> None:
    """Ends a process this script started, and its process group (nginx's worker, a tool's helpers)."""
    if proc is None or proc.returncode is not None:
        return
    for sig, grace in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            continue


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"target exited with code {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Target:
    """A local HTTP server to load, which also counts the requests it served (the cross-check)."""

    name = "target"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        raise NotImplementedError

    def served(self) -> int:
        """Requests of the load served so far (GET / only, the counter's own requests left out)."""
        raise NotImplementedError

    def stop(self) -> None:
        stop_process(self.proc)

    def cpu_seconds(self) -> float:
        """CPU used so far by the target and its children (nginx's worker): shows whether it was the limit."""
        return 0.0 if self.proc is None else tree_cpu_seconds(self.proc.pid)


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds used so far by a process and all its children alive now."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        for proc in [root, *root.children(recursive=True)]:
            times = proc.cpu_times()
            total += times.user + times.system
    except psutil.Error:
        pass
    return total


class NginxTarget(Target):
    name = "nginx"

    def __init__(self, workdir: Path, nginx: str) -> None:
        super().__init__(workdir)
        self.nginx = nginx
        self._status_reads = 0

    def start(self) -> None:
        prefix = self.workdir / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        conf.write_text(NGINX_CONF.format(prefix=prefix, port=self.port))
        log = (prefix / "nginx.log").open("wb")
        self.proc = subprocess.Popen(
            [self.nginx, "-c", str(conf), "-p", str(prefix)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for_port(self.port, self.proc)

    def served(self) -> int:
        # stub_status: "Active connections: N\nserver accepts handled requests\n A H R\n..."; R counts every
        # request including each status read itself, so those are taken off
        with _OPENER.open(f"{self.url}/__nginx_status", timeout=5) as response:
            text = response.read().decode()
        self._status_reads += 1
        total = int(text.splitlines()[2].split()[2])
        return total - self._status_reads


class BuiltinTarget(Target):
    name = "horde built-in target"

    def start(self) -> None:
        log = (self.workdir / "target.log").open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "horde.cli.target", "--port", str(self.port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=self.workdir,
        )
        log.close()
        wait_for_port(self.port, self.proc)

    def served(self) -> int:
        with _OPENER.open(f"{self.url}/__counts", timeout=5) as response:
            counts: dict[str, int] = json.loads(response.read())
        return int(counts.get("GET /", 0))


def find_nginx() -> str | None:
    """nginx lives in /usr/sbin on Debian, which a non-root PATH often lacks."""
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin:/usr/local/nginx/sbin")


def ensure_locust(venv: Path, version: str) -> Path:
    """Locust in its own virtualenv, reused across runs: its gevent pins never touch horde's."""
    locust = venv / "bin" / "locust"
    if locust.exists():
        probe = subprocess.run([str(locust), "--version"], capture_output=True, text=True, check=False)
        if f"locust {version} " in probe.stdout + probe.stderr:
            return locust
    if not (venv / "bin" / "python").exists():
        print(f"creating a virtualenv for Locust in {venv}", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    print(f"installing locust=={version} into {venv}", flush=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", f"locust=={version}"], check=True)
    return locust


@dataclass
class Result:
    tool: str
    requests: int  # as the tool reports them, whole run
    failures: int
    wall: float  # process lifetime, seconds
    cpu: float  # user + system of the process, whole run
    window_requests: int  # counted by the target inside the steady window
    window_wall: float
    window_cpu: float
    window_target_cpu: float
    journal_bytes: int | None = None

    @property
    def per_cpu(self) -> float:
        return self.requests / self.cpu if self.cpu else 0.0

    @property
    def window_per_cpu(self) -> float:
        return self.window_requests / self.window_cpu if self.window_cpu else 0.0


@dataclass
class Window:
    """Samples at the edges of the steady window: (monotonic time, load process CPU s, target's count,
    target CPU s)."""

    start: tuple[float, float, int, float] | None = None
    end: tuple[float, float, int, float] | None = None


def run_load(
    tool: str,
    cmd: Sequence[str],
    workdir: Path,
    target: Target,
    seconds: float,
    warmup: float,
    on_window_start: Callable[[int], None] | None = None,
) -> tuple[float, float, Window]:
    """Runs one load process to its end; returns (wall, CPU seconds, steady window samples).

    CPU of the whole run comes from ``os.wait4``: the kernel's own account of the child, exact at exit. The
    window's CPU comes from psutil while the process runs.
    """
    out = (workdir / f"{tool}.log").open("wb")
    started = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, start_new_session=True)
    out.close()
    window = Window()
    try:
        ps = psutil.Process(proc.pid)

        def sample() -> tuple[float, float, int, float]:
            times = ps.cpu_times()
            return time.monotonic(), times.user + times.system, target.served(), target.cpu_seconds()

        window_start = started + warmup
        window_end = started + seconds - 1.0
        deadline = started + seconds + 60.0
        rusage = None
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                rusage = usage
                break
            now = time.monotonic()
            if window.start is None and now >= window_start:
                window.start = sample()
                if on_window_start is not None:
                    on_window_start(proc.pid)
            elif window.start is not None and window.end is None and now >= window_end:
                window.end = sample()
            if now > deadline:
                raise RuntimeError(f"{tool} did not stop within 60 s of its run time")
            time.sleep(0.02)
        wall = time.monotonic() - started
    finally:
        stop_process(proc)
    if proc.returncode not in (0, 1):  # 1: some requests failed, the figures still stand
        log = (workdir / f"{tool}.log").read_text(errors="replace")
        raise RuntimeError(f"{tool} exited with code {proc.returncode}:\n{log[-3000:]}")
    if window.start is None or window.end is None:
        raise RuntimeError(f"{tool} ended before the steady window closed; use more --seconds")
    return wall, rusage.ru_utime + rusage.ru_stime, window


def run_horde(target: Target, args: argparse.Namespace, workdir: Path, profile_dir: Path | None = None) -> Result:
    summary = workdir / "horde-summary.json"
    journal = workdir / "horde-journal.jsonl"
    for path in (summary, journal):
        path.unlink(missing_ok=True)
    cmd = [
        sys.executable,
        "-m",
        "horde",
        "run",
        "-f",
        str(HORDE_LOCUSTFILE),
        "-H",
        target.url,
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.seconds}s",
        "--only-summary",
        "--summary-json",
        str(summary),
        "--journal",
        str(journal),
        "--loglevel",
        "WARNING",
    ]
    spies: list[subprocess.Popen[bytes]] = []

    def start_spies(pid: int) -> None:
        assert profile_dir is not None
        duration = str(max(1, int(args.seconds - args.warmup - 1)))
        for fmt, name in (("flamegraph", "profile.svg"), ("raw", "profile.collapsed.txt")):
            spies.append(
                subprocess.Popen(
                    [
                        args.py_spy,
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        duration,
                        "--rate",
                        str(args.profile_rate),
                        "--nonblocking",
                        "--format",
                        fmt,
                        "-o",
                        str(profile_dir / name),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=(profile_dir / f"py-spy-{fmt}.log").open("wb"),
                    start_new_session=True,
                )
            )

    try:
        wall, cpu, window = run_load(
            "horde",
            cmd,
            workdir,
            target,
            args.seconds,
            args.warmup,
            start_spies if profile_dir is not None else None,
        )
        for spy in spies:
            spy.wait(30)
    finally:
        for spy in spies:
            stop_process(spy)
    aggregated = json.loads(summary.read_text())["aggregated"]
    return make_result(
        "horde",
        int(aggregated["num_requests"]),
        int(aggregated["num_failures"]),
        wall,
        cpu,
        window,
        journal.stat().st_size if journal.exists() else None,
    )


def run_locust(target: Target, locust: Path, args: argparse.Namespace, workdir: Path) -> Result:
    prefix = workdir / "locust"
    cmd = [
        str(locust),
        "-f",
        str(LOCUST_LOCUSTFILE),
        "-H",
        target.url,
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        f"{args.seconds}s",
        "--headless",
        "--only-summary",
        "--csv",
        str(prefix),
        "--loglevel",
        "WARNING",
    ]
    wall, cpu, window = run_load("locust", cmd, workdir, target, args.seconds, args.warmup)
    with open(f"{prefix}_stats.csv", newline="") as file:
        rows = [row for row in csv.DictReader(file) if row["Name"] == "Aggregated"]
    return make_result("locust", int(rows[0]["Request Count"]), int(rows[0]["Failure Count"]), wall, cpu, window)


def make_result(
    tool: str,
    requests: int,
    failures: int,
    wall: float,
    cpu: float,
    window: Window,
    journal: int | None = None,
) -> Result:
    assert window.start is not None and window.end is not None
    return Result(
        tool=tool,
        requests=requests,
        failures=failures,
        wall=wall,
        cpu=cpu,
        window_requests=window.end[2] - window.start[2],
        window_wall=window.end[0] - window.start[0],
        window_cpu=window.end[1] - window.start[1],
        window_target_cpu=window.end[3] - window.start[3],
        journal_bytes=journal,
    )


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def print_results(results: list[Result]) -> None:
    """One row per run; the ratio is of the tools' medians, since one run on a small machine is noisy."""
    print()
    whole = "whole run (tool-reported requests, CPU from wait4)"
    steady = "steady window (requests counted by the target)"
    print(f"{'':8} | {whole:^56} | {steady:^69}")
    header = (
        f"{'tool':8} | {'requests':>10} {'fails':>6} {'wall s':>7} {'CPU s':>7} {'req/s':>8} "
        f"{'req/CPU-s':>10} | {'requests':>10} {'wall s':>7} {'CPU s':>7} {'CPU %':>6} {'req/s':>8} "
        f"{'req/CPU-s':>10} {'target %':>8}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.tool:8} | {r.requests:>10} {r.failures:>6} {r.wall:>7.2f} {r.cpu:>7.2f} "
            f"{r.requests / r.wall:>8.0f} {r.per_cpu:>10.0f}"
            f" | {r.window_requests:>10} {r.window_wall:>7.2f} {r.window_cpu:>7.2f} "
            f"{100 * r.window_cpu / r.window_wall:>6.1f} {r.window_requests / r.window_wall:>8.0f} "
            f"{r.window_per_cpu:>10.0f} {100 * r.window_target_cpu / r.window_wall:>8.1f}"
        )
    tools = list(dict.fromkeys(r.tool for r in results))
    steady: dict[str, float] = {}
    whole_run: dict[str, float] = {}
    for tool in tools:
        runs = [r for r in results if r.tool == tool]
        steady[tool] = median([r.window_per_cpu for r in runs])
        whole_run[tool] = median([r.per_cpu for r in runs])
        print(
            f"{tool}: median of {len(runs)} run(s): {steady[tool]:.0f} req/CPU-s steady "
            f"({1e6 / steady[tool]:.1f} us of CPU per request), {whole_run[tool]:.0f} req/CPU-s whole run"
        )
        journals = [r.journal_bytes for r in runs if r.journal_bytes is not None]
        if journals:
            print(f"{tool} journal (on): {journals[-1]} bytes ({journals[-1] / 1024:.1f} KiB) for the last run")
    if "horde" in steady and "locust" in steady:
        steady_ratio = steady["horde"] / steady["locust"]
        whole_ratio = whole_run["horde"] / whole_run["locust"]
        print(
            f"ratio horde/locust, requests per CPU-second: steady window {steady_ratio:.2f}x, "
            f"whole run {whole_ratio:.2f}x"
        )


_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")

# inclusive-time buckets: a sample counts in a bucket if any of its frames matches (function, file suffix)
BUCKETS: list[tuple[str, str, str]] = [
    ("user loop: TaskSet.run (all of a task and its wait)", "TaskSet.run", "horde/runtime/tasks.py"),
    ("  task body FastRoot.root", "FastRoot.root", "fast_root.py"),
    ("    FastHttpSession.request (whole request)", "FastHttpSession.request", "horde/runtime/fasthttp/_session.py"),
    ("      _exchange (socket round trip)", "FastHttpSession._exchange", "horde/runtime/fasthttp/_session.py"),
    ("        HubSocket.sendall (send(2))", "HubSocket.sendall", "horde/runtime/fasthttp/_socket.py"),
    ("        _read_head", "_read_head", "horde/runtime/fasthttp/_wire.py"),
    ("        _read_body", "_read_body", "horde/runtime/fasthttp/_wire.py"),
    ("          HubSocket.recv (recv(2) and waits)", "HubSocket.recv", "horde/runtime/fasthttp/_socket.py"),
    ("            HubSocket._wait (to the hub and back)", "HubSocket._wait", "horde/runtime/fasthttp/_socket.py"),
    ("        gevent socket (TLS connections)", "", "gevent/_socketcommon.py"),
    ("      FastResponse.__init__", "FastResponse.__init__", "horde/runtime/fasthttp/_response.py"),
    ("      EventHook.fire (events.request)", "EventHook.fire", "horde/runtime/events.py"),
    ("        StatsRecorder.record", "StatsRecorder.record", "horde/stats/recorder.py"),
    ("  TaskSet.wait (gevent.sleep(0) back to the hub)", "TaskSet.wait", "horde/runtime/tasks.py"),
    ("  random.choice (task pick)", "Random.choice", "random.py"),
    ("gevent timeouts (Timeout start/cancel)", "", "gevent/timeout.py"),
    ("gevent hub loop, self (libev, switches, epoll_wait)", "Hub.run", "gevent/hub.py"),
    ("horde control plane (actors, journal)", "", "horde/actors/"),
    ("protocol (codec, transport)", "", "horde/protocol/"),
]


def short_frame(frame: str) -> tuple[str, str]:
    match = _FRAME.match(frame.strip())
    if match is None:
        return frame.strip(), ""
    path = match["file"]
    for marker in ("site-packages/", "/lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    else:
        if "/horde/" in path:
            path = "horde/" + path.rsplit("/horde/", 1)[1]
        elif "/benchmarks/" in path:
            path = path.rsplit("/", 1)[1]
    return match["func"], path


def summarize_profile(collapsed: Path, cpu_us_per_request: float, top: int = 20) -> None:
    """Self and inclusive time per function from py-spy's collapsed stacks, as µs of CPU per request."""
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    buckets: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [short_frame(f) for f in stack.split(";") if " (" in f]
        if not frames:
            continue
        total += count
        func, path = frames[-1]
        self_time[f"{func} ({path})"] += count
        for name in {f"{func} ({path})" for func, path in frames}:
            inclusive[name] += count
        for label, want_func, want_path in BUCKETS:
            if want_func == "Hub.run":  # the hub's own time only: everything else runs below it
                hit = frames[-1] == (want_func, "gevent/hub.py")
            else:
                hit = any((not want_func or f == want_func) and want_path in p for f, p in frames)
            if hit:
                buckets[label] += count
    if not total:
        print("py-spy recorded no samples")
        return

    def line(name: str, count: int) -> str:
        share = count / total
        return f"  {100 * share:5.1f} %  {share * cpu_us_per_request:6.2f} us/req  {name}"

    print(
        f"\nprofile: {total} samples of horde's busy time; "
        f"us/req = share x {cpu_us_per_request:.1f} us of CPU per request"
    )
    print("where the time goes (inclusive):")
    for label, _, _ in BUCKETS:
        print(line(label, buckets[label]))
    print(f"top {top} functions by self time:")
    for name, count in self_time.most_common(top):
        print(line(name, count))
    print(f"top {top} functions by inclusive time:")
    for name, count in inclusive.most_common(top):
        print(line(name, count))


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=50, help="concurrent users per tool (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=1000.0, help="users started per second")
    parser.add_argument("--seconds", type=int, default=20, help="run time of each tool (default 20)")
    parser.add_argument("--warmup", type=float, default=4.0, help="seconds before the steady window opens")
    parser.add_argument("--target", choices=("auto", "nginx", "builtin"), default="auto")
    parser.add_argument("--tools", default="horde,locust", help="comma-separated: horde, locust")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool, alternating (default 3)")
    parser.add_argument("--locust-version", default=DEFAULT_LOCUST_VERSION)
    parser.add_argument("--locust-venv", type=Path, default=DEFAULT_CACHE / "locust-venv")
    parser.add_argument("--profile", action="store_true", help="one more horde run, sampled by py-spy")
    parser.add_argument("--profile-rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--profile-dir", type=Path, default=None, help="where profile.svg goes (default: temp)")
    parser.add_argument("--py-spy", default=None, help="py-spy executable (default: next to python, or PATH)")
    args = parser.parse_args(argv)
    if args.seconds < args.warmup + 3:
        parser.error("--seconds must leave at least 3 s after --warmup")
    return args


def choose_target(choice: str, workdir: Path) -> Target | None:
    """nginx when asked for or found ("auto"), else the built-in target; None when nginx was required but is missing."""
    nginx = find_nginx() if choice != "builtin" else None
    if nginx is not None:
        return NginxTarget(workdir, nginx)
    if choice == "nginx":
        print("nginx is not installed: apt-get install -y nginx", file=sys.stderr)
        return None
    if choice == "auto":
        print(
            "nginx not found (install it with `apt-get install -y nginx`); falling back to horde's "
            "built-in target, which shares the CPU with the load: figures are only indicative",
            file=sys.stderr,
        )
    return BuiltinTarget(workdir)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if args.profile:
        args.py_spy = (
            args.py_spy or shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
        )
        if args.py_spy is None:
            print("--profile needs py-spy: pip install py-spy", file=sys.stderr)
            return 2
    locust = ensure_locust(args.locust_venv, args.locust_version) if "locust" in tools else None

    with tempfile.TemporaryDirectory(prefix="horde-throughput-") as tmp:
        workdir = Path(tmp)
        target = choose_target(args.target, workdir)
        if target is None:
            return 2
        print(
            f"target: {target.name} at {target.url}; {args.users} users, {args.seconds} s per tool, "
            f"steady window from {args.warmup:g} s to {args.seconds - 1} s; {os.cpu_count()} CPUs",
            flush=True,
        )
        results: list[Result] = []
        try:
            target.start()
            for attempt in range(1, args.repeat + 1):
                for tool in tools:
                    print(f"run {attempt}/{args.repeat}: {tool} ...", flush=True)
                    if tool == "horde":
                        results.append(run_horde(target, args, workdir))
                    elif tool == "locust" and locust is not None:
                        results.append(run_locust(target, locust, args, workdir))
                    else:
                        raise SystemExit(f"unknown tool {tool!r}")
            print_results(results)
            if args.profile:
                profile_dir = args.profile_dir or Path(tempfile.mkdtemp(prefix="horde-profile-"))
                profile_dir.mkdir(parents=True, exist_ok=True)
                print("\nprofiling horde with py-spy ...", flush=True)
                profiled = run_horde(target, args, workdir, profile_dir)
                print(
                    f"profiled run: {profiled.window_per_cpu:.0f} req/CPU-s, "
                    f"{100 * profiled.window_cpu / profiled.window_wall:.0f} % CPU in the window "
                    f"(py-spy --nonblocking perturbs it a little); flame graph: {profile_dir / 'profile.svg'}"
                )
                collapsed = profile_dir / "profile.collapsed.txt"
                if collapsed.exists():
                    summarize_profile(collapsed, 1e6 / profiled.window_per_cpu)
                else:
                    print(f"py-spy wrote no profile; see {profile_dir}/py-spy-raw.log")
        finally:
            target.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
