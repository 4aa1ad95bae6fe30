"""FastHttpSession: builds each request's bytes, exchanges them over a pooled connection, fires the request event.

A request with no headers, body, auth or cookies takes a short path: its head is a few byte concatenations over
the pool's precomputed headers. Everything else goes through `_payload`. Whatever the server does, a request
fires exactly one request event, under the method and name the task asked for; only a mistake in the task's own
arguments raises (ADR 0022).
"""

from __future__ import annotations

import base64
import functools
import ssl
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlencode, urljoin, urlsplit

from requests.exceptions import TooManyRedirects

from horde.runtime.exceptions import LocustError
from horde.runtime.fasthttp._body import encode_body
from horde.runtime.fasthttp._cookies import CookieJar, cookie_header, store_cookies
from horde.runtime.fasthttp._pool import Connections, HostPool, Proxy, client_context
from horde.runtime.fasthttp._response import FastResponse
from horde.runtime.fasthttp._wire import (
    HTTPProtocolError,
    _ConnectionClosed,
    _decode_content,
    _read_body,
    _read_head,
)
from horde.runtime.users import User
from horde.stats.recorder import StatsRecorder

if TYPE_CHECKING:
    from horde.runtime.environment import Environment
    from horde.runtime.fasthttp._socket import Connection

_REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))
#: RFC 9110 section 9.2.2: the methods a client may send again without the server doing the work twice
_IDEMPOTENT = frozenset(("GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"))
_BODY_METHODS = frozenset(("POST", "PUT", "PATCH"))
#: request fields that describe the body, dropped when a 301/302/303 turns the request into a GET
_BODY_FIELDS = ("content-length", "content-type", "content-encoding", "transfer-encoding")
_SAFE_TARGET = "/?&=%:@!$'()*+,;~#[]"

#: connections shared by the users of a class with a ``client_pool``, per pool object and origin
_shared: weakref.WeakKeyDictionary[Any, dict[tuple[str, str, int], Connections]] = weakref.WeakKeyDictionary()
_shared_by_id: dict[int, dict[tuple[str, str, int], Connections]] = {}


def _shared_connections(client_pool: Any) -> dict[tuple[str, str, int], Connections]:
    try:
        return _shared.setdefault(client_pool, {})
    except TypeError:  # an object without weak references lives as long as its class anyway
        return _shared_by_id.setdefault(id(client_pool), {})


def _basic(user: str | bytes, password: str | bytes) -> str:
    user_bytes = user.encode("latin-1") if isinstance(user, str) else user
    password_bytes = password.encode("latin-1") if isinstance(password, str) else password
    return "Basic " + base64.b64encode(user_bytes + b":" + password_bytes).decode("ascii")


def _target_bytes(target: str) -> bytes:
    try:
        encoded = target.encode("ascii")
    except UnicodeError:
        return quote(target, safe=_SAFE_TARGET).encode("ascii")
    if b" " in encoded:
        return quote(target, safe=_SAFE_TARGET).encode("ascii")
    return encoded


def _location(head: bytes) -> str | None:
    lower = head.lower()
    i = lower.find(b"\r\nlocation:")
    if i < 0:
        return None
    raw = head[i + 11 : head.find(b"\r\n", i + 11)].strip()
    try:
        text = raw.decode("utf-8")  # servers send UTF-8 bytes more often than the percent-encoding RFC 3986 asks
    except UnicodeError:
        text = raw.decode("latin-1")
    return quote(text, safe=_SAFE_TARGET) if not text.isascii() or " " in text else text


def _recorder_behind(listener: Any) -> Callable[[str, str, float | None, int, object | None], None] | None:
    """``record`` of the StatsRecorder whose own ``on_request`` is ``listener``, which only calls it; else None."""
    owner = getattr(listener, "__self__", None)
    if isinstance(owner, StatsRecorder) and getattr(listener, "__func__", None) is StatsRecorder.on_request:
        return owner.record
    return None


@functools.lru_cache(maxsize=64)
def _base(base_url: str) -> tuple[str, str, int | None, str, str | None, str]:
    """A base URL's scheme, host, port, path, Authorization header from its userinfo and the URL without it:
    parsed once per URL, not once per user (it was a fifth of a user's construction)."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LocustError(f"Invalid host {base_url!r}, it must look like http://example.com")
    auth_header = None
    if parts.username is not None or parts.password is not None:
        auth_header = _basic(unquote(parts.username or ""), unquote(parts.password or ""))
        base_url = parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()
    return parts.scheme, parts.hostname, parts.port, parts.path.rstrip("/"), auth_header, base_url


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
        max_redirects: int = 30,
        max_retries: int = 0,
        concurrency: int = 10,
        default_headers: Mapping[str, str] | None = None,
        client_pool: Any = None,
        ssl_context_factory: Callable[[], ssl.SSLContext] | None = None,
        proxy_host: str | None = None,
        proxy_port: int | None = None,
    ) -> None:
        self._base_parts = parts = _base(base_url)
        base_path, self._auth_header, base_url = parts[3:]
        self.environment = environment
        self.user = user
        self.request_event = environment.events.request
        self.max_redirects = max_redirects
        self.max_retries = max_retries
        self._cookiejar: CookieJar | None = None
        self.request_name: str | None = None
        self._has_cookies = False
        self.base_url = base_url
        self._insecure = insecure
        self._ssl_context_factory = ssl_context_factory
        self._ssl_context: ssl.SSLContext | None = None
        self._connection_timeout = connection_timeout
        self._network_timeout = network_timeout
        self._proxy = Proxy(proxy_host, proxy_port or 8080) if proxy_host else None
        self._connections: dict[tuple[str, str, int], Connections] = {}
        self._owns_connections = client_pool is None
        if client_pool is not None:
            self._connections = _shared_connections(client_pool)
            # as Locust: a pool's own concurrency (geventhttpclient's HTTPClientPool keeps it in client_args)
            concurrency = int(getattr(client_pool, "client_args", {}).get("concurrency", concurrency))
        self._concurrency = concurrency
        self._default_headers = dict(default_headers or {})
        self._pools: dict[tuple[str, str, int | None], HostPool] = {}
        self._base_path = base_path  # ``_pool``, the base URL's origin, is made at the first request
        self._custom_context = user is not None and type(user).context is not User.context

    def __getattr__(self, name: str) -> HostPool:
        """Makes ``_pool`` at the first request: an idle user holds no connection state (once set, the attribute
        is read without this)."""
        if name != "_pool":
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        scheme, host, port = self._base_parts[:3]
        pool = self._pool = self._get_pool(scheme, host, port)
        return pool

    @property
    def cookiejar(self) -> CookieJar:
        """Made on first use: most users never get a cookie, and an empty jar is 600 bytes of each user."""
        if self._cookiejar is None:
            self._cookiejar = CookieJar()
        return self._cookiejar

    @cookiejar.setter
    def cookiejar(self, jar: CookieJar) -> None:
        self._cookiejar = jar

    @property
    def cookies(self) -> dict[str, str]:
        """The jar's cookies by name (a copy; the jar is ``cookiejar``)."""
        return {cookie.name: cookie.value or "" for cookie in self.cookiejar}

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            if self._ssl_context_factory is not None:
                self._ssl_context = self._ssl_context_factory()
            else:
                self._ssl_context = client_context(self._insecure)
        return self._ssl_context

    def _connections_for(self, scheme: str, host: str, port: int) -> Connections:
        key = (scheme, host, port)
        connections = self._connections.get(key)
        if connections is None:
            connections = Connections(
                scheme,
                host,
                port,
                self._connection_timeout,
                self._network_timeout,
                self._concurrency,
                self._context() if scheme == "https" else None,
                self._proxy,
            )
            self._connections[key] = connections
        return connections

    def _get_pool(self, scheme: str, host: str, port: int | None) -> HostPool:
        key = (scheme, host, port)
        pool = self._pools.get(key)
        if pool is None:
            pool = HostPool(scheme, host, port, self._default_headers, self._connections_for, self._concurrency)
            self._pools[key] = pool
        return pool

    def close(self) -> None:
        if self._owns_connections:
            for connections in self._connections.values():
                connections.close()

    @contextmanager
    def rename_request(self, name: str) -> Iterator[None]:
        """Groups every request made in the block under ``name``."""
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None

    def _resolve(self, url: str) -> tuple[HostPool, str]:
        if url[:1] == "/":
            return self._pool, self._base_path + url
        if url[:7].lower() == "http://" or url[:8].lower() == "https://":
            parts = urlsplit(url)
            if not parts.hostname:
                raise LocustError(f"Invalid URL {url!r}")
            target = parts.path or "/"
            if parts.query:
                target += "?" + parts.query
            return self._get_pool(parts.scheme.lower(), parts.hostname, parts.port), target
        return self._pool, f"{self._base_path}/{url}"

    def _payload(
        self, pool: HostPool, method: str, target: str, fields: dict[str, tuple[str, str]], body: bytes
    ) -> bytes:
        """The request's bytes: the origin's fixed headers unless ``fields`` override them, then ``fields``, the
        jar's cookies unless a Cookie field is given, and the body's length unless it is chunked or given."""
        url = pool.origin + target
        head = [method.encode(), b" ", _target_bytes(url if pool.absolute else target), b" HTTP/1.1\r\n"]
        if any(name in pool.fixed_names for name in fields):
            head.append(
                "".join(f"{k}: {v}\r\n" for k, v in pool.fixed_headers.items() if k.lower() not in fields).encode(
                    "latin-1"
                )
            )
        else:
            head.append(pool.fixed)
        for name, value in fields.values():
            head.append(f"{name}: {value}\r\n".encode("latin-1"))
        if self._has_cookies and "cookie" not in fields:
            cookie = cookie_header(self.cookiejar, url)
            if cookie:
                head.append(f"Cookie: {cookie}\r\n".encode("latin-1"))
        if "content-length" not in fields and "transfer-encoding" not in fields and (body or method in _BODY_METHODS):
            head.append(b"Content-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        head.append(body)
        return b"".join(head)

    def _exchange(
        self, pool: HostPool, payload: bytes, method: str, stream: bool
    ) -> tuple[int, bytes, bytes, bytes, Connection | None]:
        """Sends ``payload`` and reads the answer: (status, head, head lower-cased, body, socket still to read the
        body from when streaming). Sent again only when safe (see ADR 0022)."""
        connections = pool.connections
        idempotent = method in _IDEMPOTENT
        retries = self.max_retries if idempotent else 0
        stale_retry = idempotent
        slots = connections.slots
        slots.acquire()
        try:
            idle = connections.idle
            if idle and idempotent:
                sock, reused = idle.pop(), True
            else:
                sock, reused = connections.take(fresh_only=not idempotent)
            while True:
                try:
                    try:  # noqa: SIM105 - contextlib.suppress costs a context manager on every request
                        sock.sendall(payload)
                    except (BrokenPipeError, ConnectionResetError):
                        # the server may have answered early (a 413 to a large upload) and closed: that answer is
                        # the response; if there is none, _read_head says the connection closed
                        pass
                    status, head, lower, rest = _read_head(sock)
                    break
                except Exception as e:
                    sock.close()
                    if isinstance(e, _ConnectionClosed) and reused and stale_retry:
                        stale_retry = False  # a keep-alive connection the server dropped while idle: once
                    elif retries > 0 and isinstance(e, OSError | _ConnectionClosed):
                        retries -= 1
                    else:
                        raise
                    sock, reused = connections.connect(), False
            if stream and status not in _REDIRECT_CODES:
                return status, head, lower, rest, sock
            try:
                body, keep_alive = _read_body(sock, method, status, head, lower, rest)
            except BaseException:
                sock.close()
                raise
            if keep_alive:
                connections.give_back(sock, pool.max_idle)
            else:
                sock.close()
            return status, head, lower, body, None
        finally:
            slots.release()

    def request(
        self,
        method: str,
        url: str,
        name: str | None = None,
        data: Any = None,
        catch_response: bool = False,
        stream: bool = False,
        headers: Mapping[str, str] | None = None,
        auth: tuple[str | bytes, str | bytes] | None = None,
        json: Any = None,
        allow_redirects: bool = True,
        context: dict[str, Any] | None = None,
        params: Any = None,
        files: Any = None,
        **kwargs: Any,
    ) -> FastResponse:
        start_time = time.time()
        start = time.perf_counter()
        method = asked = method.upper()
        pool, target = self._resolve(url)
        if params:
            target += ("&" if "?" in target else "?") + urlencode(params, doseq=True)
        first_url = pool.origin + target
        if (
            headers is None
            and data is None
            and json is None
            and files is None
            and auth is None
            and self._auth_header is None
            and not self._has_cookies
            and not pool.absolute
        ):
            fields: dict[str, tuple[str, str]] | None = None
            body = b""
            try:
                target_bytes = target.encode("ascii")
            except UnicodeError:
                target_bytes = _target_bytes(target)
            if b" " in target_bytes:
                target_bytes = _target_bytes(target)
            payload = (
                method.encode()
                + b" "
                + target_bytes
                + b" HTTP/1.1\r\n"
                + pool.fixed
                + (b"Content-Length: 0\r\n\r\n" if method in _BODY_METHODS else b"\r\n")
            )
        else:
            body, implied = encode_body(data, json, files)
            fields = {}
            if headers:
                for key, value in headers.items():
                    fields[key.lower()] = (key, value)
            for key, value in implied:
                fields.setdefault(key.lower(), (key, value))
            if auth is not None:
                fields["authorization"] = ("Authorization", _basic(auth[0], auth[1]))
            elif self._auth_header is not None:
                fields.setdefault("authorization", ("Authorization", self._auth_header))
            payload = self._payload(pool, method, target, fields, body)
        full_url = first_url
        try:
            status, head, lower, content, sock = self._exchange(pool, payload, method, stream)
            if b"\r\nset-cookie:" in lower:
                store_cookies(self.cookiejar, full_url, head)
                self._has_cookies = True
            redirects = 0
            while allow_redirects and status in _REDIRECT_CODES:
                location = _location(head)
                if not location:
                    break
                if redirects >= self.max_redirects:
                    raise TooManyRedirects(f"Exceeded {self.max_redirects} redirects.")
                redirects += 1
                origin = pool.origin
                full_url = urljoin(full_url, location)
                if urlsplit(full_url).scheme not in ("http", "https"):
                    raise HTTPProtocolError(f"refusing to follow a redirect to {full_url!r}")
                if fields is None:
                    fields = {}
                else:
                    fields.pop("cookie", None)
                if status in (301, 302, 303) and method != "HEAD":
                    # RFC 9110 section 15.4, as Locust's FastHttpUser: the body is dropped and the method is GET
                    method, body = "GET", b""
                    for field in _BODY_FIELDS:
                        fields.pop(field, None)
                pool, target = self._resolve(full_url)
                if pool.origin != origin:
                    fields.pop("authorization", None)
                payload = self._payload(pool, method, target, fields, body)
                status, head, lower, content, sock = self._exchange(pool, payload, method, stream)
                if b"\r\nset-cookie:" in lower:
                    store_cookies(self.cookiejar, full_url, head)
                    self._has_cookies = True
            if sock is not None:
                response = FastResponse(status, head, b"", full_url)
                response._stream = (sock, method, lower, content, pool)
            else:
                if b"\r\ncontent-encoding:" in lower:
                    content = _decode_content(lower, content)
                response = FastResponse(status, head, content, full_url)
        except Exception as e:
            response = FastResponse(0, b"", b"", full_url)
            response.error = e
        response._sent = payload
        response_time = (time.perf_counter() - start) * 1000
        if self._custom_context and self.user is not None:
            context = {**self.user.context(), **(context or {})}
        elif context is None:
            context = {}
        if stream:
            length = response.headers.get("content-length", "") if response._head else ""
            response_length = int(length) if length.isdigit() else 0
        else:
            response_length = len(response._content)
        event = self.request_event
        sole = event.sole
        if sole is not None and not catch_response:
            memo = event.sole_memo
            if memo is None:
                memo = event.sole_memo = (_recorder_behind(sole),)
            record = memo[0]
            if record is not None:
                error = response._status_error() if response.error is not None or response.status_code >= 400 else None
                try:
                    record(asked, name or self.request_name or url, response_time, response_length, error)
                except Exception:
                    event.listener_failed(sole)
                return response
        meta: dict[str, Any] = {
            "request_type": asked,
            "name": name or self.request_name or url,
            "response_time": response_time,
            "response_length": response_length,
            "response": response,
            "context": context,
            "exception": None,
            "start_time": start_time,
            "url": first_url,
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
