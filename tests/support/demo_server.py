"""In-process stand-ins: a small real HTTP server with the demo routes, and a recorder that counts requests."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import gevent
from gevent.pywsgi import WSGIServer

StartResponse = Callable[..., Any]


class NoDelayWSGIServer(WSGIServer):
    """pywsgi writes the head and the body of a response separately; with Nagle on, the body then waits for
    the client's delayed ACK (about 40 ms a request)."""

    def handle(self, sock: socket.socket, address: Any) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().handle(sock, address)


class DemoServer:
    """Serves the demo routes; ``counts`` is keyed by "METHOD /route" (``/items/<id>`` as ``/items``)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.peers: set[str] = set()
        self.flaky_rng = random.Random(1)
        self._lock = threading.Lock()
        self._server = NoDelayWSGIServer(("127.0.0.1", 0), self.app, log=None, error_log=None)
        self._server.start()
        self.port: int = self._server.server_port
        self.url = f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        self.counts.clear()
        self.peers.clear()

    def stop(self) -> None:
        self._server.stop(timeout=1)

    def app(self, environ: dict[str, Any], start_response: StartResponse) -> Any:
        method = environ["REQUEST_METHOD"]
        path = environ["PATH_INFO"]
        route = "/items" if path.startswith("/items/") else path
        self.counts[f"{method} {route}"] += 1
        self.peers.add(f"{environ['REMOTE_ADDR']}:{environ['REMOTE_PORT']}")
        body = environ["wsgi.input"].read() if method in ("POST", "PUT", "PATCH") else b""

        def reply(status: str, payload: bytes, content_type: str = "text/plain", **extra: str) -> list[bytes]:
            headers = [("Content-Type", content_type), ("Content-Length", str(len(payload)))]
            headers += [(k.replace("_", "-"), v) for k, v in extra.items()]
            start_response(status, headers)
            return [payload]

        def reply_json(value: Any, status: str = "200 OK") -> list[bytes]:
            return reply(status, json.dumps(value).encode(), "application/json")

        if path == "/" and method == "GET":
            return reply("200 OK", b"ok")
        if path == "/slow":
            gevent.sleep(0.1)
            return reply("200 OK", b"slow")
        if path == "/flaky":
            if self.flaky_rng.random() < 0.1:
                return reply("500 Internal Server Error", b"flaky failure")
            return reply("200 OK", b"ok")
        if path.startswith("/items/"):
            return reply_json({"id": path.rsplit("/", 1)[1]})
        if path == "/login" and method == "POST":
            return reply(
                "200 OK",
                json.dumps({"token": "secret-token"}).encode(),
                "application/json",
                Set_Cookie="session=abc123; Path=/",
            )
        if path == "/cart":
            return reply_json({"items": [], "cookie": environ.get("HTTP_COOKIE", "")})
        if path.startswith("/status/"):
            code = int(path.rsplit("/", 1)[1])
            return reply(f"{code} STATUS", b"status")
        if path == "/echo":
            return reply_json(
                {
                    "method": method,
                    "query": environ.get("QUERY_STRING", ""),
                    "body": body.decode("latin-1"),
                    "content_type": environ.get("CONTENT_TYPE", ""),
                    "headers": {k[5:]: v for k, v in environ.items() if k.startswith("HTTP_")},
                }
            )
        if path == "/redirect":
            start_response("302 Found", [("Location", "/items/7"), ("Content-Length", "0")])
            return [b""]
        if path == "/chunked":
            start_response("200 OK", [("Content-Type", "text/plain")])
            return iter([b"part1-", b"part2-", b"part3"])
        if path == "/big":
            return reply("200 OK", b"x" * 300_000)
        if path == "/close":
            return reply("200 OK", b"bye", Connection="close")
        return reply("404 Not Found", b"not found")


class CountingRecorder:
    """Stands in for the statistics recorder: counts requests, failures and exceptions."""

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str]] = Counter()
        self.failures: Counter[tuple[str, str]] = Counter()
        self.errors: list[BaseException] = []
        self.exceptions: list[tuple[str, str]] = []
        self.calls: list[dict[str, Any]] = []
        self.keep_calls = False

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        exception: BaseException | None = None,
        **kwargs: Any,
    ) -> None:
        key = (request_type, name)
        self.requests[key] += 1
        if exception is not None:
            self.failures[key] += 1
            self.errors.append(exception)
        if self.keep_calls:
            self.calls.append(
                {
                    "request_type": request_type,
                    "name": name,
                    "response_time": response_time,
                    "response_length": response_length,
                    "exception": exception,
                    **kwargs,
                }
            )

    def record_exception(self, message: str, traceback: str, at_start: bool = False) -> None:
        self.exceptions.append((message, traceback))
