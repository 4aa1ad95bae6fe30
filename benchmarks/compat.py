"""Which locustfiles of a directory behave under horde as under Locust: exit codes, hangs, requests made.

Run on demand, not a test: `python benchmarks/compat.py DIR [--seconds 4] [--no-locust]`.

Every `*.py` file under DIR that mentions `locust` is run headless, unmodified (`from locust import ...` included:
horde aliases it while loading a locustfile), for a few seconds with a few users, against a catch-all HTTP server
on 127.0.0.1 that answers 200 with a small JSON body to any method and path and counts what it served. Where
Locust is available (its own virtualenv in a cache directory, as benchmarks/throughput.py makes it), the same file
runs under Locust too. Per file it prints what each tool did: its exit code (or `hung` past the timeout), the
requests the target served, and the first error line; and at the end `N of M files behave as under Locust`, where
behaving alike means: both exited with the same code (or both were still running at the timeout), and both made
requests or neither did.

Locust's own examples are a good DIR: they are public in its repository; fetch them outside this repository (for
example `git clone https://github.com/locustio/locust ../locust-src`, then `python benchmarks/compat.py
../locust-src/examples`). Files that need an external service (a database, a gRPC server) fail under both tools
alike, which counts as behaving alike.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from throughput import DEFAULT_CACHE, DEFAULT_LOCUST_VERSION, ensure_locust

BODY = json.dumps({"ok": True, "id": 1, "token": "t", "args": {}, "json": {}}).encode()


class CatchAll(BaseHTTPRequestHandler):
    """200 and a little JSON for everything; the server counts each request it answered."""

    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(BODY)
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.served += 1  # type: ignore[attr-defined]

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _answer

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: thousands of requests."""


class QuietServer(ThreadingHTTPServer):
    """A client that drops its connection (a run ending mid-request) is no news here."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass


@dataclass
class Outcome:
    code: int | None  # None: hung (killed at the timeout)
    served: int
    first_error: str

    def describe(self) -> str:
        code = "hung" if self.code is None else f"exit {self.code}"
        return f"{code:>7}, {self.served:>6} requests" + (f", {self.first_error}" if self.first_error else "")


def first_error_line(stderr: str) -> str:
    for line in stderr.splitlines():
        if re.search(r"error|Error|Traceback|exception", line) and "DeprecationWarning" not in line:
            return line.strip()[:140]
    return ""


def run(command: list[str], server: QuietServer, timeout: float, cwd: Path) -> Outcome:
    with server.lock:  # type: ignore[attr-defined]
        server.served = 0  # type: ignore[attr-defined]
    process = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        code = None
    return Outcome(code, server.served, first_error_line(stderr or ""))  # type: ignore[attr-defined]


def locustfiles(directory: Path) -> list[Path]:
    found = []
    for path in sorted(directory.rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        if re.search(r"^\s*(from|import)\s+locust", text, re.M) and "class " in text:
            found.append(path)
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seconds", type=float, default=4.0, help="run time of each file (default 4)")
    parser.add_argument("--users", type=int, default=4)
    parser.add_argument("--no-locust", action="store_true", help="horde only")
    parser.add_argument("--locust-version", default=DEFAULT_LOCUST_VERSION)
    parser.add_argument("--locust-venv", type=Path, default=DEFAULT_CACHE / "locust-venv")
    args = parser.parse_args()
    files = locustfiles(args.directory)
    if not files:
        print(f"no locustfile under {args.directory}", file=sys.stderr)
        return 2
    locust = None if args.no_locust else ensure_locust(args.locust_venv, args.locust_version)
    server = QuietServer(("127.0.0.1", 0), CatchAll)
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    server.served = 0  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = f"http://127.0.0.1:{server.server_address[1]}"
    common = [
        "-H",
        host,
        "-u",
        str(args.users),
        "-r",
        "100",
        "-t",
        f"{args.seconds:g}s",
        "--headless",
        "--only-summary",
    ]
    timeout = args.seconds + 20
    alike = 0
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    os.environ.update(env)
    try:
        for path in files:
            name = str(path.relative_to(args.directory))
            horde = run([sys.executable, "-m", "horde", "run", "-f", str(path), *common], server, timeout, path.parent)
            line = f"{name:<50} horde: {horde.describe()}"
            if locust is not None:
                theirs = run([str(locust), "-f", str(path), *common], server, timeout, path.parent)
                # Still running at the timeout under both (a LoadTestShape outlasting -t) counts as alike too.
                same = horde.code == theirs.code and (horde.served > 0) == (theirs.served > 0)
                alike += same
                line += f"\n{'':<50} locust: {theirs.describe()}{'' if same else '   <- differs'}"
            print(line, flush=True)
    finally:
        server.shutdown()
    if locust is not None:
        print(f"{alike} of {len(files)} files behave as under Locust")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
