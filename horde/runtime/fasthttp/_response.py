"""The response a FastHttpSession returns: requests-like attributes, and Locust's ``catch_response`` protocol."""

from __future__ import annotations

import json as jsonlib
from typing import Any

from requests.exceptions import HTTPError
from requests.structures import CaseInsensitiveDict

from horde.runtime.events import EventHook
from horde.runtime.exceptions import CatchResponseError, LocustError, ResponseError
from horde.runtime.fasthttp._wire import _decode_content, _read_body


class FastRequest:
    """The request a response answers (``response.request``), parsed from the bytes that were sent."""

    __slots__ = ("body", "headers", "method", "url")

    def __init__(self, sent: bytes, url: str) -> None:
        end = sent.find(b"\r\n\r\n")
        lines = sent[:end].decode("latin-1").split("\r\n")
        self.method = lines[0].split(" ", 1)[0]
        self.url = url
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name] = value.strip()
        self.body = sent[end + 4 :]

    def __repr__(self) -> str:
        return f"<FastRequest [{self.method}]>"


class FastResponse:
    """An HTTP response with the attributes locustfiles use (requests-like), and, for ``catch_response=True``,
    the context manager with ``success()``/``failure()``."""

    __slots__ = (
        "_content",
        "_entered",
        "_event",
        "_head",
        "_headers",
        "_manual_result",
        "_sent",
        "_stream",
        "error",
        "js",
        "request_meta",
        "status_code",
        "url",
    )

    def __init__(self, status_code: int, head: bytes, content: bytes, url: str) -> None:
        self.status_code = status_code
        self._head = head
        self._content = content
        self.url = url
        self._sent = b""
        self._stream: tuple[Any, str, bytes, bytes, Any] | None = None
        self.error: BaseException | None = None
        self._headers: CaseInsensitiveDict[str] | None = None
        self._entered = False
        self._manual_result: bool | BaseException | None = None
        self._event: EventHook | None = None
        self.request_meta: dict[str, Any] = {}

    @property
    def content(self) -> bytes:
        """The body; with ``stream=True`` read on first access (the request's time does not include it)."""
        if self._stream is not None:
            sock, method, lower, rest, pool = self._stream
            self._stream = None
            try:
                body, keep_alive = _read_body(sock, method, self.status_code, self._head, lower, rest)
                if b"\r\ncontent-encoding:" in lower:
                    body = _decode_content(lower, body)
            except Exception as e:
                sock.close()
                self.error = e
                return self._content
            if keep_alive:
                pool.connections.give_back(sock, pool.max_idle)
            else:
                sock.close()
            self._content = body
        return self._content

    def iter_content(self, chunk_size: int = 1024, decode_content: bool = True) -> Any:
        content = self.content
        for i in range(0, len(content), chunk_size):
            yield content[i : i + chunk_size]

    @property
    def request(self) -> FastRequest:
        return FastRequest(self._sent, self.url)

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


class RestResponseContextManager(FastResponse):
    """The response ``FastHttpUser.rest()`` yields: ``js`` is the parsed JSON body (None when there is none)."""

    __slots__ = ()
    js: Any
