"""A host's idle keep-alive connections and the request headers precomputed for it."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Mapping

import gevent.socket

_USER_AGENT = "horde"


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
        default_port = self.port == (443 if scheme == "https" else 80)
        host_header = f"[{host}]" if ":" in host else host
        if not default_port:
            host_header += f":{self.port}"
        self.origin = f"{scheme}://{host_header}"
        headers = {"Host": host_header, "User-Agent": _USER_AGENT, "Accept": "*/*"}
        headers.update(default_headers)
        self.fixed_names = {name.lower(): name for name in headers}
        self.fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
        self.fixed_headers: dict[str, str] = headers
        self.idle: list[socket.socket] = []
        self.max_idle = max_idle
        self.connection_timeout = connection_timeout
        self.network_timeout = network_timeout
        self.ssl_context: ssl.SSLContext | None = None
        if scheme == "https":
            context = ssl.create_default_context()
            if insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            self.ssl_context = context

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
