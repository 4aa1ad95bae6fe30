"""A host's idle keep-alive connections and the request headers precomputed for it."""

from __future__ import annotations

import functools
import socket
import ssl
from collections.abc import Mapping

import gevent.socket

_USER_AGENT = "horde"


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
    headers = {"Host": host_header, "User-Agent": _USER_AGENT, "Accept": "*/*"}
    headers.update(default_headers)
    fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
    return f"{scheme}://{host_header}", {name.lower(): name for name in headers}, fixed, headers


@functools.lru_cache(maxsize=2)
def _client_context(insecure: bool) -> ssl.SSLContext:
    """One TLS client context for all users (as a browser has one), not one per user's pool (tens of KiB each)."""
    context = ssl.create_default_context()
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


class _HostPool:
    """Idle keep-alive connections to one origin, plus that origin's precomputed request headers."""

    __slots__ = (
        "connection_timeout",
        "fixed",
        "fixed_headers",
        "fixed_names",
        "host",
        "idle",
        "max_idle",
        "network_timeout",
        "origin",
        "port",
        "ssl_context",
    )

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int | None,
        default_headers: Mapping[str, str],
        connection_timeout: float,
        network_timeout: float,
        max_idle: int,
        insecure: bool,
    ) -> None:
        self.host = host
        self.port = port or (443 if scheme == "https" else 80)
        self.origin, self.fixed_names, self.fixed, self.fixed_headers = _origin_headers(
            scheme, host, self.port, tuple(default_headers.items())
        )
        self.idle: list[socket.socket] = []
        self.max_idle = max_idle
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.ssl_context = _client_context(insecure) if scheme == "https" else None

    def connect(self) -> socket.socket:
        sock: socket.socket = gevent.socket.create_connection((self.host, self.port), timeout=self.connection_timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.ssl_context is not None:
            sock = self.ssl_context.wrap_socket(sock, server_hostname=self.host)
        sock.settimeout(self.network_timeout)
        return sock

    def give_back(self, sock: socket.socket) -> None:
        if len(self.idle) < self.max_idle:
            self.idle.append(sock)
        else:
            sock.close()

    def close(self) -> None:
        idle, self.idle = self.idle, []
        for sock in idle:
            sock.close()
