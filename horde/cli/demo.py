"""`horde demo`: a real load test, end to end, with nothing to set up.

The target runs in its own process so that it does not share a CPU core's event loop with the load it serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from importlib import resources

from horde.cli.options import UsageError

DEMO_SECONDS = "15s"
USAGE = """usage: horde demo [horde run options]

Starts a demo target on 127.0.0.1 and runs a real load test against it for 15 s with 20 users, keeping the
journal, CSV and JSON summary under horde-runs/. Any `horde run` option is passed on (e.g. -u 50 -t 30s)."""


def start_target() -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-m", "horde.cli.target", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise UsageError("the demo target did not start")
    return process, int(line.split()[-1])


def run_demo(argv: list[str]) -> int:
    from horde.cli.options import resolve
    from horde.cli.run import run_command
    from horde.runtime.process import setup_logging

    if "-h" in argv or "--help" in argv:
        print(USAGE)
        return 0
    locustfile = str(resources.files("horde.examples").joinpath("demo_locustfile.py"))
    out_dir = os.path.join("horde-runs", f"demo-{time.strftime('%Y%m%d-%H%M%S')}")
    os.makedirs(out_dir, exist_ok=True)
    target, port = start_target()
    try:
        host = f"http://127.0.0.1:{port}"
        print(f"horde demo: target started on {host} (fast /, slow /slow, flaky /flaky, /items/<id>, /cart)")
        print(f"horde demo: running {locustfile} for {DEMO_SECONDS} with 20 users\n", flush=True)
        args = [
            "-f", locustfile, "-H", host, "-u", "20", "-r", "10", "-t", DEMO_SECONDS, "--headless",
            "--journal", os.path.join(out_dir, "journal.jsonl"),
            "--csv", os.path.join(out_dir, "demo"),
            "--summary-json", os.path.join(out_dir, "summary.json"),
            *argv,
        ]  # fmt: skip
        options = resolve(args)
        setup_logging(options.loglevel)
        code = run_command(options, args)
    finally:
        target.terminate()
        try:
            target.wait(timeout=5)
        except subprocess.TimeoutExpired:
            target.kill()
    print(f"\nhorde demo: journal, CSV and JSON are in {out_dir}/ (try: horde events {out_dir}/journal.jsonl)")
    # /flaky fails one time in ten on purpose: those failures are the demo, not a broken run.
    return 0 if code in (0, 1) else code
