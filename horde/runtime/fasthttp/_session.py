"""FastHttpUser: an HTTP/1.1 client built for throughput, with the surface of Locust's FastHttpUser.

The per-request path is kept short on purpose: the request head is a few byte concatenations over headers
precomputed per host, the socket comes from a per-host list of idle keep-alive connections (LIFO, no liveness
probe; a reused connection the server closed is retried once on a new one), and the response is framed with
``bytes.find`` on the lower-cased head. Headers are parsed into a dict only when the task reads them.
"""

from __future__ import annotations

import base64
import json as jsonlib
import socket
import ssl
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import gevent.socket
from requests.exceptions import HTTPError
from requests.structures import CaseInsensitiveDict

from horde.runtime.events import EventHook
from horde.runtime.exceptions import CatchResponseError, LocustError, ResponseError
from horde.runtime.users import User

if TYPE_CHECKING:
    from horde.runtime.environment import Environment

_REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
_RECV_SIZE = 65536
_USER_AGENT = "horde"


class HTTPProtocolError(ValueError):
    """The server's answer is not a valid HTTP/1.x response."""


class _ConnectionClosed(HTTPProtocolError):
    """The server closed the connection before the first byte of a response."""


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


def _read_chunked(sock: socket.socket, buf: bytearray) -> bytes:
    body = bytearray()
    pos = 0
    while True:
        line_end = buf.find(b"\r\n", pos)
        while line_end < 0:
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed inside a chunked body")
            buf += data
            line_end = buf.find(b"\r\n", pos)
        size_field = bytes(buf[pos:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_field, 16)
        except ValueError:
            raise HTTPProtocolError(f"invalid chunk size {size_field!r}") from None
        pos = line_end + 2
        if size == 0:
            # trailer section: lines up to an empty one
            while True:
                line_end = buf.find(b"\r\n", pos)
                while line_end < 0:
                    data = sock.recv(_RECV_SIZE)
                    if not data:
                        raise HTTPProtocolError("connection closed inside a chunked body")
                    buf += data
                    line_end = buf.find(b"\r\n", pos)
                if line_end == pos:
                    return bytes(body)
                pos = line_end + 2
        end = pos + size
        while len(buf) < end + 2:
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed inside a chunked body")
            buf += data
        body += buf[pos:end]
        pos = end + 2


def _read_response(sock: socket.socket, method: str) -> tuple[int, bytes, bytes, bytes, bool]:
    """Reads one response: (status, head up to its last CRLF, head lower-cased, body, reusable connection)."""
    data = sock.recv(_RECV_SIZE)
    if not data:
        raise _ConnectionClosed("connection closed by the server")
    while True:
        end = data.find(b"\r\n\r\n")
        while end < 0:
            more = sock.recv(_RECV_SIZE)
            if not more:
                raise HTTPProtocolError("connection closed before the end of the response headers")
            data += more
            end = data.find(b"\r\n\r\n")
        if data[:5] != b"HTTP/" or len(data) < 12:
            raise HTTPProtocolError(f"invalid status line {data[:40]!r}")
        try:
            status = int(data[9:12])
        except ValueError:
            raise HTTPProtocolError(f"invalid status line {data[:40]!r}") from None
        if status >= 200 or status == 101:
            break
        data = data[end + 4 :]  # an interim 1xx response: the final one follows
        if len(data) == 0:
            data = sock.recv(_RECV_SIZE)
            if not data:
                raise HTTPProtocolError("connection closed after an interim response")
    head = data[: end + 2]
    rest = data[end + 4 :]
    lower = head.lower()
    keep_alive = data[5:8] == b"1.1"
    i = lower.find(b"\r\nconnection:")
    if i >= 0:
        value = lower[i + 13 : lower.find(b"\r\n", i + 13)]
        if b"close" in value:
            keep_alive = False
        elif b"keep-alive" in value:
            keep_alive = True
    if method == "HEAD":
        # some servers (gevent's pywsgi among them) send a body anyway, maybe late: never reuse the connection
        return status, head, lower, b"", False
    if status in (204, 304) or status < 200:
        return status, head, lower, b"", keep_alive
    i = lower.find(b"\r\ntransfer-encoding:")
    if i >= 0 and b"chunked" in lower[i + 20 : lower.find(b"\r\n", i + 20)]:
        return status, head, lower, _read_chunked(sock, bytearray(rest)), keep_alive
    i = lower.find(b"\r\ncontent-length:")
    if i >= 0:
        try:
            length = int(lower[i + 17 : lower.find(b"\r\n", i + 17)])
        except ValueError:
            raise HTTPProtocolError("invalid Content-Length") from None
        missing = length - len(rest)
        if missing > 0:
            parts = [rest]
            while missing > 0:
                more = sock.recv(missing if missing < _RECV_SIZE else _RECV_SIZE)
                if not more:
                    raise HTTPProtocolError("connection closed before the end of the body")
                parts.append(more)
                missing -= len(more)
            rest = b"".join(parts)
        elif missing < 0:
            rest = rest[:length]
            keep_alive = False
        return status, head, lower, rest, keep_alive
    # no framing: the body runs until the server closes the connection
    parts = [rest]
    while True:
        more = sock.recv(_RECV_SIZE)
        if not more:
            break
        parts.append(more)
    return status, head, lower, b"".join(parts), False


class FastResponse:
    """An HTTP response with the attributes locustfiles use (requests-like), and, for ``catch_response=True``,
    the context manager with ``success()``/``failure()``."""

    __slots__ = (
        "_entered",
        "_event",
        "_head",
        "_headers",
        "_manual_result",
        "content",
        "error",
        "request_meta",
        "status_code",
        "url",
    )

    def __init__(self, status_code: int, head: bytes, content: bytes, url: str) -> None:
        self.status_code = status_code
        self._head = head
        self.content = content
        self.url = url
        self.error: BaseException | None = None
        self._headers: CaseInsensitiveDict[str] | None = None
        self._entered = False
        self._manual_result: bool | BaseException | None = None
        self._event: EventHook | None = None
        self.request_meta: dict[str, Any] = {}

    @property
    def headers(self) -> CaseInsensitiveDict[str]:
        if self._headers is None:
            headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
            for line in self._head.decode("latin-1").split("\r\n")[1:]:
                name, sep, value = line.partition(":")
                if not sep:
                    continue
                name, value = name.strip(), value.strip()
                if name in headers:
                    headers[name] = f"{headers[name]}, {value}"
                else:
                    headers[name] = value
            self._headers = headers
        return self._headers

    @property
    def reason(self) -> str:
        line = self._head[: self._head.find(b"\r\n")]
        return line[13:].decode("latin-1").strip()

    @property
    def encoding(self) -> str:
        content_type = self.headers.get("content-type", "")
        for param in content_type.split(";")[1:]:
            key, _, value = param.strip().partition("=")
            if key.lower() == "charset" and value:
                return value.strip("\"'")
        return "utf-8"

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding, errors="replace")

    def json(self, **kwargs: Any) -> Any:
        return jsonlib.loads(self.content, **kwargs)

    @property
    def ok(self) -> bool:
        return self.error is None and 0 < self.status_code < 400

    def _status_error(self) -> BaseException | None:
        if self.error is not None:
            return self.error
        status = self.status_code
        if status < 400:
            return None
        kind = "Client" if status < 500 else "Server"
        return HTTPError(f"{status} {kind} Error: {self.reason} for url: {self.url}", response=self)  # type: ignore[arg-type]

    def raise_for_status(self) -> None:
        error = self._status_error()
        if error is not None:
            raise error

    def __enter__(self) -> FastResponse:
        self._entered = True
        return self

    def __exit__(self, exc_type: type[BaseException] | None, value: BaseException | None, tb: Any) -> bool:
        meta = self.request_meta
        event = self._event
        assert event is not None
        if self._manual_result is not None:
            meta["exception"] = None if self._manual_result is True else self._manual_result
            event.fire(**meta)
            return exc_type is None
        if exc_type is not None:
            if isinstance(value, ResponseError):
                meta["exception"] = value
                event.fire(**meta)
                return True
            return False
        meta["exception"] = self._status_error()
        event.fire(**meta)
        return True

    def success(self) -> None:
        if not self._entered:
            raise LocustError("success() needs 'with self.client.get(..., catch_response=True) as response:'")
        self._manual_result = True

    def failure(self, exc: BaseException | str) -> None:
        if not self._entered:
            raise LocustError("failure() needs 'with self.client.get(..., catch_response=True) as response:'")
        self._manual_result = exc if isinstance(exc, BaseException) else CatchResponseError(exc)

    def __repr__(self) -> str:
        return f"<FastResponse [{self.status_code}]>"


class FastHttpSession:
    """The client of a FastHttpUser: Locust's FastHttpSession request surface over keep-alive sockets."""

    def __init__(
        self,
        environment: Environment,
        base_url: str,
        user: User | None = None,
        insecure: bool = True,
        connection_timeout: float = 60.0,
        network_timeout: float = 60.0,
        max_redirects: int = 5,
        concurrency: int = 10,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise LocustError(f"Invalid host {base_url!r}, it must look like http://example.com")
        self.environment = environment
        self.base_url = base_url
        self.user = user
        self.request_event = environment.events.request
        self.max_redirects = max_redirects
        self.cookies: dict[str, str] = {}
        self.request_name: str | None = None
        self._cookie_header = b""
        self._insecure = insecure
        self._connection_timeout = connection_timeout
        self._network_timeout = network_timeout
        self._concurrency = concurrency
        self._default_headers = dict(default_headers or {})
        self._pools: dict[tuple[str, str, int | None], _HostPool] = {}
        self._pool = self._get_pool(parts.scheme, parts.hostname, parts.port)
        self._base_path = parts.path.rstrip("/")
        self._custom_context = user is not None and type(user).context is not User.context

    def _get_pool(self, scheme: str, host: str, port: int | None) -> _HostPool:
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = _HostPool(
                scheme,
                host,
                port,
                self._default_headers,
                self._connection_timeout,
                self._network_timeout,
                self._concurrency,
                self._insecure,
            )
            self._pools[key] = pool
        return pool

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()

    @contextmanager
    def rename_request(self, name: str) -> Iterator[None]:
        """Groups every request made in the block under ``name``."""
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None

    def _resolve(self, url: str) -> tuple[_HostPool, str]:
        if url[:1] == "/":
            return self._pool, self._base_path + url
        if url.startswith(("http://", "https://")):
            parts = urlsplit(url)
            if not parts.hostname:
                raise LocustError(f"Invalid URL {url!r}")
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            return self._get_pool(parts.scheme, parts.hostname, parts.port), target
        return self._pool, f"{self._base_path}/{url}"

    def _exchange(self, pool: _HostPool, payload: bytes, method: str) -> tuple[int, bytes, bytes, bytes]:
        reused = bool(pool.idle)
        sock = pool.idle.pop() if reused else pool.connect()
        try:
            sock.sendall(payload)
            status, head, lower, body, keep_alive = _read_response(sock, method)
        except (_ConnectionClosed, ConnectionResetError, BrokenPipeError):
            sock.close()
            if not reused:
                raise
            # the server dropped an idle keep-alive connection: one retry on a new one
            sock = pool.connect()
            try:
                sock.sendall(payload)
                status, head, lower, body, keep_alive = _read_response(sock, method)
            except BaseException:
                sock.close()
                raise
        except BaseException:
            sock.close()
            raise
        if keep_alive:
            pool.give_back(sock)
        else:
            sock.close()
        return status, head, lower, body

    def _store_cookies(self, head: bytes) -> None:
        for line in head.decode("latin-1").split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() != "set-cookie":
                continue
            pair = value.split(";", 1)[0].strip()
            cookie_name, sep, cookie_value = pair.partition("=")
            if sep:
                self.cookies[cookie_name.strip()] = cookie_value.strip()
        self._update_cookie_header()

    def _update_cookie_header(self) -> None:
        self._cookie_header = (
            ("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()) + "\r\n").encode("latin-1")
            if self.cookies
            else b""
        )

    def request(
        self,
        method: str,
        url: str,
        name: str | None = None,
        data: Any = None,
        catch_response: bool = False,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        json: Any = None,
        allow_redirects: bool = True,
        context: dict[str, Any] | None = None,
        params: Any = None,
        **kwargs: Any,
    ) -> FastResponse:
        start_time = time.time()
        start = time.perf_counter()
        method = method.upper()
        pool, target = self._resolve(url)
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params, doseq=True)
        body = b""
        extra = self._cookie_header
        if json is not None:
            body = jsonlib.dumps(json).encode()
            extra += b"Content-Type: application/json\r\n"
        elif data is not None:
            if isinstance(data, bytes):
                body = data
            elif isinstance(data, str):
                body = data.encode()
            else:
                body = urlencode(data, doseq=True).encode()
                extra += b"Content-Type: application/x-www-form-urlencoded\r\n"
        if body or method in ("POST", "PUT", "PATCH"):
            extra += b"Content-Length: %d\r\n" % len(body)
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            extra += f"Authorization: Basic {token}\r\n".encode()
        fixed = pool.fixed
        if headers:
            if any(k.lower() in pool.fixed_names for k in headers):
                merged = {k: v for k, v in pool.fixed_headers.items() if k.lower() not in {h.lower() for h in headers}}
                fixed = "".join(f"{k}: {v}\r\n" for k, v in merged.items()).encode("latin-1")
            extra += "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode("latin-1")
        try:
            target_bytes = target.encode("ascii")
            if b" " in target_bytes:
                raise UnicodeError
        except UnicodeError:
            target_bytes = quote(target, safe="/?&=%:@!$'()*+,;~#[]").encode("ascii")
        payload = method.encode() + b" " + target_bytes + b" HTTP/1.1\r\n" + fixed + extra + b"\r\n" + body
        full_url = pool.origin + target
        try:
            status, head, lower, content = self._exchange(pool, payload, method)
            if b"\nset-cookie:" in lower:
                self._store_cookies(head)
            redirects = 0
            while allow_redirects and status in _REDIRECT_CODES and redirects < self.max_redirects:
                location = FastResponse(status, head, b"", full_url).headers.get("location")
                if not location:
                    break
                redirects += 1
                full_url = urljoin(full_url, location)
                if status == 303 or (status in (301, 302) and method == "POST"):
                    method, body = "GET", b""
                    extra = self._cookie_header
                pool, target = self._resolve(full_url)
                payload = (
                    method.encode()
                    + b" "
                    + target.encode("ascii")
                    + b" HTTP/1.1\r\n"
                    + pool.fixed
                    + self._cookie_header
                    + (extra if body else b"")
                    + b"\r\n"
                    + body
                )
                status, head, lower, content = self._exchange(pool, payload, method)
                if b"\nset-cookie:" in lower:
                    self._store_cookies(head)
            if b"\ncontent-encoding:" in lower:
                content = _decode_content(head, content)
            response = FastResponse(status, head, content, full_url)
        except (OSError, HTTPProtocolError) as e:
            response = FastResponse(0, b"", b"", full_url)
            response.error = e
        response_time = (time.perf_counter() - start) * 1000
        if self._custom_context and self.user is not None:
            context = {**self.user.context(), **(context or {})}
        elif context is None:
            context = {}
        meta: dict[str, Any] = {
            "request_type": method,
            "name": name or self.request_name or url,
            "response_time": response_time,
            "response_length": len(response.content),
            "response": response,
            "context": context,
            "exception": None,
            "start_time": start_time,
            "url": full_url,
        }
        if catch_response:
            response.request_meta = meta
            response._event = self.request_event
            return response
        if response.error is not None or response.status_code >= 400:
            meta["exception"] = response._status_error()
        self.request_event.fire(**meta)
        return response

    def get(self, url: str, **kwargs: Any) -> FastResponse:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, data: Any = None, json: Any = None, **kwargs: Any) -> FastResponse:
        return self.request("POST", url, data=data, json=json, **kwargs)

    def put(self, url: str, data: Any = None, **kwargs: Any) -> FastResponse:
        return self.request("PUT", url, data=data, **kwargs)

    def patch(self, url: str, data: Any = None, **kwargs: Any) -> FastResponse:
        return self.request("PATCH", url, data=data, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> FastResponse:
        return self.request("DELETE", url, **kwargs)

    def head(self, url: str, **kwargs: Any) -> FastResponse:
        return self.request("HEAD", url, **kwargs)

    def options(self, url: str, **kwargs: Any) -> FastResponse:
        return self.request("OPTIONS", url, **kwargs)


def _decode_content(head: bytes, content: bytes) -> bytes:
    lower = head.lower()
    i = lower.find(b"\ncontent-encoding:")
    coding = lower[i + 18 : lower.find(b"\r\n", i + 18)].strip()
    if coding in (b"gzip", b"x-gzip"):
        return zlib.decompress(content, 16 + zlib.MAX_WBITS)
    if coding == b"deflate":
        try:
            return zlib.decompress(content)
        except zlib.error:
            return zlib.decompress(content, -zlib.MAX_WBITS)
    return content


class FastHttpUser(User):
    """A user whose ``self.client`` is a FastHttpSession: fewer features, much less CPU per request."""

    abstract = True
    network_timeout: float = 60.0
    connection_timeout: float = 60.0
    max_redirects: int = 5
    insecure: bool = True
    default_headers: Mapping[str, str] | None = None
    concurrency: int = 10
    client: FastHttpSession

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if self.host is None:
            raise LocustError(
                "You must specify the base host. Either in the host attribute in the User class, "
                "or on the command line using the --host option."
            )
        self.client = FastHttpSession(
            environment,
            base_url=self.host,
            user=self,
            insecure=self.insecure,
            connection_timeout=self.connection_timeout,
            network_timeout=self.network_timeout,
            max_redirects=self.max_redirects,
            concurrency=self.concurrency,
            default_headers=self.default_headers,
        )

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.client.close()
