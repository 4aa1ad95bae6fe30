"""An origin's connections (idle keep-alive sockets, a cap on how many are open) and its precomputed headers."""

from __future__ import annotations

import functools
import select
import socket
import ssl
from collections.abc import Callable, Mapping

import gevent.lock
import gevent.socket

from horde.runtime.fasthttp._wire import HTTPProtocolError, _read_body, _read_head

_USER_AGENT = "horde"
#: what Locust's FastHttpSession adds to every request unless the request sets it
_ACCEPT_ENCODING = "gzip, deflate, br"


class Proxy:
    """An HTTP proxy (Locust's ``proxy_host``/``proxy_port``): plain requests go to it in absolute form, TLS ones
    through a CONNECT tunnel."""

    __slots__ = ("host", "port")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port


class Connections:
    """The connections to one origin: idle keep-alive sockets (LIFO) and a semaphore of ``concurrency`` open ones.

    Users of a class with a ``client_pool`` share one per origin; otherwise each user has its own.
    """

    __slots__ = (
        "connection_timeout",
        "host",
        "idle",
        "network_timeout",
        "port",
        "proxy",
        "slots",
        "ssl_context",
    )

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        connection_timeout: float,
        network_timeout: float,
        concurrency: int,
        ssl_context: ssl.SSLContext | None,
        proxy: Proxy | None,
    ) -> None:
        self.host = host
        self.port = port
        self.idle: list[socket.socket] = []
        self.slots = gevent.lock.BoundedSemaphore(max(1, concurrency))
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.ssl_context = ssl_context if scheme == "https" else None
        self.proxy = proxy

    def connect(self) -> socket.socket:
        proxy = self.proxy
        address = (proxy.host, proxy.port) if proxy is not None else (self.host, self.port)
        sock: socket.socket = gevent.socket.create_connection(address, timeout=self.connection_timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.settimeout(self.network_timeout)
            if self.ssl_context is not None:
                if proxy is not None:
                    self._tunnel(sock)
                sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        return sock

    def _tunnel(self, sock: socket.socket) -> None:
        authority = f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
        sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode("idna"))
        status, head, lower, rest = _read_head(sock)
        if status // 100 != 2:
            _read_body(sock, "CONNECT", status, head, lower, rest)
            line = head[: head.find(b"\r\n")].decode("latin-1")
            raise HTTPProtocolError(f"the proxy refused the tunnel to {authority}: {line}")

    def take(self, fresh_only: bool) -> tuple[socket.socket, bool]:
        """A connection and whether it was reused; with ``fresh_only`` an idle one is taken only if the server
        has not closed it meanwhile (a request that must not be resent should not find out the hard way)."""
        idle = self.idle
        while idle:
            sock = idle.pop()
            if not fresh_only:
                return sock, True
            readable, _, _ = select.select([sock], [], [], 0)
            if not readable:
                return sock, True
            sock.close()  # closed by the server, or out of step: either way not for this request
        return self.connect(), False

    def give_back(self, sock: socket.socket, max_idle: int) -> None:
        if len(self.idle) < max_idle:
            self.idle.append(sock)
        else:
            sock.close()

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for sock in idle:
            sock.close()


@functools.lru_cache(maxsize=256)
def _origin_headers(
    scheme: str, host: str, port: int, default_headers: tuple[tuple[str, str], ...]
) -> tuple[str, dict[str, str], bytes, dict[str, str]]:
    """An origin's request headers, computed once and shared (read-only) by every user's pool for that origin:
    a pool per user made them a thousand bytes of each user's memory."""
    default_port = port == (443 if scheme == "https" else 80)
    host_header = f"[{host}]" if ":" in host else host
    if not default_port:
        host_header += f":{port}"
    headers = {"Host": host_header, "User-Agent": _USER_AGENT, "Accept-Encoding": _ACCEPT_ENCODING, "Accept": "*/*"}
    lowered = {name.lower(): name for name in headers}
    for name, value in default_headers:
        previous = lowered.pop(name.lower(), None)
        if previous is not None:
            del headers[previous]
        headers[name] = value
        lowered[name.lower()] = name
    fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
    return f"{scheme}://{host_header}", lowered, fixed, headers


@functools.lru_cache(maxsize=2)
def client_context(insecure: bool) -> ssl.SSLContext:
    """One TLS client context for all users (as a browser has one), not one per user (tens of KiB each)."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class HostPool:
    """One origin as a session sees it: its connections and the request headers precomputed for it."""

    __slots__ = ("absolute", "connections", "fixed", "fixed_headers", "fixed_names", "host", "max_idle", "origin")

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int | None,
        default_headers: Mapping[str, str],
        connections_for: Callable[[str, str, int], Connections],
        max_idle: int,
    ) -> None:
        self.host = host
        port = port or (443 if scheme == "https" else 80)
        self.origin, self.fixed_names, self.fixed, self.fixed_headers = _origin_headers(
            scheme, host, port, tuple(default_headers.items())
        )
        self.connections = connections_for(scheme, host, port)
        # through a plain HTTP proxy the request target is the absolute URL
        self.absolute = self.connections.proxy is not None and scheme == "http"
        self.max_idle = max_idle
