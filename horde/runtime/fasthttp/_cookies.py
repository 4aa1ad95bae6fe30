"""The session's cookie jar: the standard library's ``http.cookiejar`` (RFC 6265 scoping by host, Domain, Path,
Secure and expiry), fed through two small adapters instead of urllib's request and response classes."""

from __future__ import annotations

from http.cookiejar import CookieJar
from urllib.parse import urlsplit

__all__ = ["CookieJar", "cookie_header", "store_cookies"]


class _JarRequest:
    """What ``CookieJar`` reads of a request (urllib.request.Request's interface, the part it uses)."""

    def __init__(self, url: str, unverifiable: bool = False) -> None:
        self._url = url
        parts = urlsplit(url)
        self.type = parts.scheme
        self.host = parts.netloc
        self.origin_req_host = parts.hostname or ""
        self.unverifiable = unverifiable
        self.cookie: str | None = None

    def get_full_url(self) -> str:
        return self._url

    def get_host(self) -> str:
        return self.host

    def get_type(self) -> str:
        return self.type

    def get_origin_req_host(self) -> str:
        return self.origin_req_host

    def is_unverifiable(self) -> bool:
        return self.unverifiable

    def has_header(self, name: str) -> bool:
        return False

    def get_header(self, name: str, default: str | None = None) -> str | None:
        return default

    def header_items(self) -> list[tuple[str, str]]:
        return []

    def add_unredirected_header(self, name: str, value: str) -> None:
        self.cookie = value


class _Headers:
    def __init__(self, values: list[str]) -> None:
        self._values = values

    def get_all(self, name: str, default: list[str] | None = None) -> list[str] | None:
        if name.lower() == "set-cookie":
            return self._values
        return default


class _JarResponse:
    def __init__(self, values: list[str]) -> None:
        self._headers = _Headers(values)

    def info(self) -> _Headers:
        return self._headers


def store_cookies(jar: CookieJar, url: str, head: bytes) -> None:
    """Puts the cookies a response head sets for ``url`` into ``jar`` (the jar applies the scoping rules)."""
    values = []
    for line in head.decode("latin-1").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "set-cookie":
            values.append(value.strip())
    jar.extract_cookies(_JarResponse(values), _JarRequest(url))  # type: ignore[arg-type]


def cookie_header(jar: CookieJar, url: str) -> str | None:
    """The Cookie header value ``jar`` has for a request to ``url``, None when no cookie applies."""
    request = _JarRequest(url)
    jar.add_cookie_header(request)  # type: ignore[arg-type]
    return request.cookie
