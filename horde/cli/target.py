"""The built-in demo target: a small HTTP service on 127.0.0.1 for `horde demo` and the test suite.

It counts what it serves per route (GET /__counts), so a test can compare horde's numbers with the target's own.
Run it alone with `python -m horde.cli.target --port 8089`; it prints `listening on PORT` once ready.
"""

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import argparse
import contextlib
import json
import random
import re
import socket
import sys
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer

StartResponse = Callable[..., Any]
_ITEM = re.compile(r"^/items/(\d+)$")


class DemoTarget:
    """A WSGI app: `/` fast, `/slow` about 100 ms, `/flaky` a 500 one time in ten, `/items/<id>`, login and cart;
    `/text` is plain text, for clients that expect JSON."""

    def __init__(self, seed: int = 0, slow_seconds: float = 0.1) -> None:
        self.counts: Counter[str] = Counter()
        self._random = random.Random(seed)
        self._slow = slow_seconds

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method, path = environ["REQUEST_METHOD"], environ.get("PATH_INFO", "/")
        if path == "/__counts":
            return self._reply(start_response, 200, dict(self.counts))
        if path == "/__reset":
            self.counts.clear()
            return self._reply(start_response, 200, {})
        item = _ITEM.match(path)
        route = f"{method} {'/items/<id>' if item else path}"
        self.counts[route] += 1
        if path == "/" and method == "GET":
            return self._reply(start_response, 200, {"hello": "horde"})
        if path == "/slow" and method == "GET":
            gevent.sleep(self._slow)
            return self._reply(start_response, 200, {"slow": True})
        if path == "/flaky" and method == "GET":
            if self._random.random() < 0.1:
                return self._reply(start_response, 500, {"error": "flaky"})
            return self._reply(start_response, 200, {"flaky": False})
        if path == "/text" and method == "GET":
            return self._reply(start_response, 200, "not json", text=True)
        if item and method == "GET":
            return self._reply(start_response, 200, {"id": int(item.group(1))})
        if path == "/login" and method == "POST":
            _read_body(environ)
            return self._reply(start_response, 200, {"token": "demo-token"})
        if path == "/cart" and method in ("GET", "POST"):
            _read_body(environ)
            return self._reply(start_response, 200, {"items": []})
        return self._reply(start_response, 404, {"error": "not found"})

    @staticmethod
    def _reply(start_response: StartResponse, status: int, body: Any, text: bool = False) -> list[bytes]:
        data = body.encode() if text else json.dumps(body).encode()
        kind = "text/plain" if text else "application/json"
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}[status]
        start_response(f"{status} {reason}", [("Content-Type", kind), ("Content-Length", str(len(data)))])
        return [data]


def _read_body(environ: dict[str, Any]) -> bytes:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body: bytes = environ["wsgi.input"].read(length) if length else b""
    return body


class _NoDelayServer(WSGIServer):  # type: ignore[misc]
    """Replies go out at once: with Nagle's algorithm a small response can wait 40 ms for a delayed ACK."""

    def handle(self, sock: socket.socket, address: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


def serve(port: int = 0, host: str = "127.0.0.1") -> WSGIServer:
    server = _NoDelayServer((host, port), DemoTarget(), log=None, error_log=None)
    server.start()
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m horde.cli.target")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    server = serve(args.port)
    print(f"listening on {server.server_port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
