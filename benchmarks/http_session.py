"""CPU per request of FastHttpSession alone, and of the ways to parse a response (ADR 0022).

```
python benchmarks/http_session.py                          # this tree's session against nginx, 3 rounds
python benchmarks/http_session.py --compare /path/to/other/checkout   # interleaved with another tree's
python benchmarks/http_session.py --parsers                # parsing only: horde's framing, httptools, h11
```

The session runs in a child process (gevent-patched, one greenlet, GET / in a loop against nginx on 127.0.0.1,
``return 200 "ok"``); its CPU (user + system, from ``getrusage``) over the measured requests is the figure, so
a shared machine changes it less than wall time. With ``--compare`` the two trees alternate round by round.
``--parsers`` feeds one recorded nginx response to each parser in a loop: what the parse alone costs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from throughput import NginxTarget, find_nginx

WORKER = r"""
from gevent import monkey
monkey.patch_all()
import resource, sys
from horde import Environment, Events
from horde.runtime.fasthttp import FastHttpSession

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

url, count = sys.argv[1], int(sys.argv[2])
session = FastHttpSession(Environment(events=Events()), base_url=url)
get = session.get
for _ in range(2000):
    get("/")
start = cpu()
for _ in range(count):
    get("/")
print((cpu() - start) / count * 1e6)
"""

RESPONSE = (
    b"HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 29 Nov 2026 19:00:00 GMT\r\n"
    b"Content-Type: application/octet-stream\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"
)


def session_us_per_request(tree: Path, url: str, count: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, "-c", WORKER, url, str(count)], env=env, capture_output=True, text=True, check=True, cwd=tree
    )
    return float(out.stdout.strip().splitlines()[-1])


class _OneResponse:
    """A socket stand-in that hands out one response, for the parse-only loop."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def recv(self, size: int) -> bytes:
        data, self.data = self.data, b""
        return data


def parsers(count: int) -> None:
    from horde.runtime.fasthttp._wire import _read_body, _read_head

    def horde_framing() -> None:
        sock = _OneResponse(RESPONSE)
        status, head, lower, rest = _read_head(sock)  # type: ignore[arg-type]
        _read_body(sock, "GET", status, head, lower, rest)  # type: ignore[arg-type]

    candidates = {"horde's own framing (bytes.find + one regex)": horde_framing}
    try:
        import httptools

        class Collect:
            def __init__(self) -> None:
                self.headers: list[tuple[bytes, bytes]] = []
                self.body: list[bytes] = []
                self.done = False

            def on_header(self, name: bytes, value: bytes) -> None:
                self.headers.append((name, value))

            def on_body(self, body: bytes) -> None:
                self.body.append(body)

            def on_message_complete(self) -> None:
                self.done = True

        def with_httptools() -> None:
            sink = Collect()
            parser = httptools.HttpResponseParser(sink)
            parser.feed_data(_OneResponse(RESPONSE).recv(65536))
            parser.get_status_code()

        candidates["httptools (llhttp), headers collected"] = with_httptools
    except ImportError:
        print("httptools is not installed: pip install httptools")
    try:
        import h11

        def with_h11() -> None:
            connection = h11.Connection(h11.CLIENT)
            connection.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
            connection.send(h11.EndOfMessage())
            connection.receive_data(_OneResponse(RESPONSE).recv(65536))
            while not isinstance(connection.next_event(), h11.EndOfMessage):
                pass

        candidates["h11 (pure Python)"] = with_h11
    except ImportError:
        print("h11 is not installed: pip install h11")
    for name, parse in candidates.items():
        for _ in range(2000):
            parse()
        start = time.process_time()
        for _ in range(count):
            parse()
        print(f"{name:48} {(time.process_time() - start) / count * 1e6:6.2f} µs per response")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compare", type=Path, help="another checkout to run interleaved with this one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--parsers", action="store_true", help="measure the parsers alone")
    args = parser.parse_args()
    if args.parsers:
        parsers(200_000)
        return
    nginx = find_nginx()
    if nginx is None:
        sys.exit("nginx is needed: apt-get install -y nginx-light")
    here = Path(__file__).resolve().parent.parent
    trees = {"this tree": here}
    if args.compare:
        trees[f"{args.compare}"] = args.compare.resolve()
    with tempfile.TemporaryDirectory() as workdir:
        target = NginxTarget(Path(workdir), nginx)
        target.start()
        try:
            results: dict[str, list[float]] = {name: [] for name in trees}
            for round_ in range(args.rounds):
                for name, tree in trees.items():
                    value = session_us_per_request(tree, target.url, args.requests)
                    results[name].append(value)
                    print(f"round {round_ + 1}: {name:30} {value:6.2f} µs CPU per request", flush=True)
        finally:
            target.stop()
    for name, values in results.items():
        print(
            f"{name:30} median {statistics.median(values):6.2f} µs CPU per request "
            f"({min(values):.2f}-{max(values):.2f})"
        )


if __name__ == "__main__":
    main()
