"""FastHttpSession: builds each request's bytes, exchanges them over a pooled connection, fires the request event.

The request head is serialised inline in `request`: a few byte concatenations over the pool's precomputed headers.
"""

from __future__ import annotations

import base64
import json as jsonlib
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

from horde.runtime.exceptions import LocustError
from horde.runtime.fasthttp._pool import _HostPool
from horde.runtime.fasthttp._response import FastResponse
from horde.runtime.fasthttp._wire import HTTPProtocolError, _ConnectionClosed, _decode_content, _read_response
from horde.runtime.users import User

if TYPE_CHECKING:
    from horde.runtime.environment import Environment

_REDIRECT_CODES = frozenset((301, 302, 303, 307, 308))


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
