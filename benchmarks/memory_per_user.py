"""Memory per user and spawn time: horde and Locust, one process each, idle and connected FastHttpUsers.

Run on demand, not a test: `python benchmarks/memory_per_user.py [--users 10000,50000] [--tools horde,locust]`.

Each run is one headless process of one tool with `-u N -r RATE` and a locustfile that differs between the tools
only in its import (written below). Its users are either idle (a task that does nothing, then an hour's wait) or
connected (one GET / in `on_start`, whose keep-alive connection the user keeps while it waits). The locustfile
measures itself, so both tools are measured at the same two moments and the same way:

- at `test_start` (the runner is up, no user exists yet): RSS from /proc/self/statm, after a `gc.collect()`;
- when every user exists (and, if connected, has its answer): RSS again, and the time since `test_start`, in wall
  seconds and in CPU seconds of the process (`time.process_time()`, which a shared machine does not inflate).

RSS per user is the difference over N. Spawn time is from `test_start` to the moment the last user started (for
connected users: finished its request), with `-r` equal to N by default, so both tools spawn as fast as they can.

The target is nginx (Debian's, started here on 127.0.0.1 with its own configuration) or, without nginx, horde's
built-in target. Connected users need a file descriptor each in the load process and in nginx: runs over the
hard limit (`ulimit -Hn`) are skipped and said so. Locust comes from `throughput.py`'s cached virtualenv
(~/.cache/horde-bench/locust-venv). The machine may be shared with other work: the figures are memory and a
one-off time, not CPU shares, but the spawn time moves with the machine's load; use `--repeat`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from throughput import BuiltinTarget, NginxTarget, Target, ensure_locust, find_nginx, stop_process

LOCUSTFILE = """\
import gc, os, sys, time

import gevent

from {package} import FastHttpUser, constant, events, task

CONNECTED = os.environ["MEMBENCH_CONNECTED"] == "1"
USERS = int(os.environ["MEMBENCH_USERS"])
PAGE = os.sysconf("SC_PAGE_SIZE")
marks = {{}}
ready = [0]


def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE


def report():
    while ready[0] < USERS:
        gevent.sleep(0.005)
    done, done_cpu = time.monotonic(), time.process_time()
    gc.collect()
    started, started_cpu, before = marks["start"]
    print(f"MEMBENCH users={{USERS}} spawn_s={{done - started:.4f}} spawn_cpu_s={{done_cpu - started_cpu:.4f}} "
          f"rss_before={{before}} rss_after={{rss()}}", file=sys.stderr, flush=True)


@events.test_start.add_listener
def on_test_start(**kwargs):
    gc.collect()
    marks["start"] = (time.monotonic(), time.process_time(), rss())
    gevent.spawn(report)


class Member(FastHttpUser):
    wait_time = constant(3600)

    def on_start(self):
        if CONNECTED:
            self.client.get("/")
        ready[0] += 1

    @task
    def nothing(self):
        pass
"""

NGINX_CONF = """\
worker_processes 1;
worker_rlimit_nofile {files};
daemon off;
pid {prefix}/nginx.pid;
error_log stderr warn;
events {{ worker_connections {files}; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/tmp;
    proxy_temp_path {prefix}/tmp;
    fastcgi_temp_path {prefix}/tmp;
    uwsgi_temp_path {prefix}/tmp;
    scgi_temp_path {prefix}/tmp;
    keepalive_requests 100000000;
    keepalive_timeout 3600s;
    server {{
        listen 127.0.0.1:{port} backlog=65535;
        location = /__nginx_status {{ stub_status; }}
        location / {{ return 200 "ok"; }}
    }}
}}
"""


class ManyConnectionsNginx(NginxTarget):
    """throughput.py's nginx, allowed as many connections as this process may open files."""

    def start(self) -> None:
        prefix = self.workdir / "nginx"
        (prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf = prefix / "nginx.conf"
        files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        conf.write_text(NGINX_CONF.format(prefix=prefix, port=self.port, files=files))
        log = (prefix / "nginx.log").open("wb")
        self.proc = subprocess.Popen(
            [self.nginx, "-c", str(conf), "-p", str(prefix)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_raise_file_limit,
        )
        log.close()
        from throughput import wait_for_port

        wait_for_port(self.port, self.proc)


def _raise_file_limit() -> None:
    """In the child: as many open files as the hard limit allows (a connected user holds one)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


@dataclass
class Measure:
    tool: str
    kind: str
    users: int
    spawn_s: float
    spawn_cpu_s: float
    rss_before: int
    rss_after: int

    @property
    def per_user_kib(self) -> float:
        return (self.rss_after - self.rss_before) / self.users / 1024


def run_one(tool: str, kind: str, users: int, rate: int, target: Target, workdir: Path, locust: Path | None) -> Measure:
    package = "horde" if tool == "horde" else "locust"
    locustfile = workdir / f"member_{package}.py"
    locustfile.write_text(LOCUSTFILE.format(package=package))
    common = ["-f", str(locustfile), "-H", target.url, "-u", str(users), "-r", str(rate), "-t", "10m"]
    if tool == "horde":
        cmd = [sys.executable, "-m", "horde", "run", *common, "--only-summary", "--loglevel", "WARNING"]
    else:
        assert locust is not None
        cmd = [str(locust), "--headless", *common, "--only-summary", "--loglevel", "WARNING"]
    env = {**os.environ, "MEMBENCH_CONNECTED": "1" if kind == "connected" else "0", "MEMBENCH_USERS": str(users)}
    log = workdir / f"{tool}-{kind}-{users}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=out, cwd=workdir, env=env, start_new_session=True,
            preexec_fn=_raise_file_limit,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 120 + users / 500
        while time.monotonic() < deadline:
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("MEMBENCH "):
                    fields = dict(part.split("=") for part in line.split()[1:])
                    return Measure(
                        tool,
                        kind,
                        users,
                        float(fields["spawn_s"]),
                        float(fields["spawn_cpu_s"]),
                        int(fields["rss_before"]),
                        int(fields["rss_after"]),
                    )
            if process.poll() is not None:
                raise RuntimeError(f"{tool} exited with {process.returncode}: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        raise RuntimeError(f"{tool} did not spawn {users} users in time: {log.read_text()[-2000:]}")
    finally:
        stop_process(process)  # type: ignore[arg-type]


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", default="10000,50000", help="comma-separated user counts (default 10000,50000)")
    parser.add_argument("--rate", type=int, default=0, help="spawn rate (default: the user count, all at once)")
    parser.add_argument("--kinds", default="idle,connected", help="idle, connected or both (default)")
    parser.add_argument("--tools", default="horde,locust")
    parser.add_argument("--repeat", type=int, default=1, help="runs per figure, alternating tools; medians printed")
    parser.add_argument("--locust-venv", type=Path, default=Path.home() / ".cache" / "horde-bench" / "locust-venv")
    parser.add_argument("--locust-version", default="2.47.0")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    kinds = [k for k in args.kinds.split(",") if k]
    counts = [int(n) for n in args.users.split(",") if n]
    locust = ensure_locust(args.locust_venv, args.locust_version) if "locust" in tools else None
    files = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    results: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="horde-memory-") as tmp:
        workdir = Path(tmp)
        nginx = find_nginx()
        target: Target = ManyConnectionsNginx(workdir, nginx) if nginx else BuiltinTarget(workdir)
        target.start()
        try:
            for users in counts:
                for kind in kinds:
                    if kind == "connected" and users + 200 > files:
                        print(f"skipped: {users} connected users need more open files than the hard limit ({files})")
                        continue
                    for _ in range(args.repeat):
                        for tool in tools:
                            measure = run_one(tool, kind, users, args.rate or users, target, workdir, locust)
                            results.append(measure)
                            print(
                                f"{tool:>6} {kind:>9} {users:>6} users: {measure.per_user_kib:6.2f} KiB/user, "
                                f"spawn {measure.spawn_s:.3f} s ({measure.spawn_cpu_s:.3f} CPU s)",
                                flush=True,
                            )
        finally:
            target.stop()
    print()
    print(f"target: {target.name}; RSS per user = (RSS with every user - RSS at test_start) / users; medians")
    print("spawn: wall seconds and CPU seconds of the load process (the CPU figure holds on a shared machine)")
    header = " | ".join(f"{t + ' KiB/user':>16} {t + ' spawn s':>14} {t + ' CPU s':>12}" for t in tools)
    print(f"{'users':>6} {'kind':>9} | " + header)
    for users in counts:
        for kind in kinds:
            row = []
            for tool in tools:
                runs = [m for m in results if (m.tool, m.kind, m.users) == (tool, kind, users)]
                if not runs:
                    row.append(f"{'-':>16} {'-':>14} {'-':>12}")
                    continue
                kib = statistics.median(m.per_user_kib for m in runs)
                spawn = statistics.median(m.spawn_s for m in runs)
                cpu = statistics.median(m.spawn_cpu_s for m in runs)
                row.append(f"{kib:>16.2f} {spawn:>14.3f} {cpu:>12.3f}")
            print(f"{users:>6} {kind:>9} | " + " | ".join(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
