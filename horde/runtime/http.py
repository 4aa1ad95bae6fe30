"""HttpUser: a requests-based client that reports every request to the request hook, as Locust's HttpUser."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse, urlunparse

import requests
from requests import Request, Response
from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema, RequestException

from horde.runtime.events import EventHook
from horde.runtime.exceptions import CatchResponseError, LocustError, ResponseError
from horde.runtime.users import User

if TYPE_CHECKING:
    from horde.runtime.environment import Environment


class LocustResponse(Response):
    """A requests Response that may carry the connection error instead of an HTTP answer."""

    error: BaseException | None = None

    def raise_for_status(self) -> None:
        if self.error is not None:
            raise self.error
        Response.raise_for_status(self)


class ResponseContextManager(LocustResponse):
    """The response of a ``catch_response=True`` request: the request is reported when the block ends, as a
    success or failure decided by ``success()``/``failure()``, an exception, or the status code."""

    _manual_result: bool | BaseException | None = None
    _entered = False

    def __init__(self, response: Response, request_event: EventHook, request_meta: dict[str, Any]) -> None:
        self.__dict__ = response.__dict__
        self._request_event = request_event
        self.request_meta = request_meta

    def __enter__(self) -> ResponseContextManager:
        self._entered = True
        return self

    def __exit__(  # type: ignore[override]
        self, exc_type: type[BaseException] | None, value: BaseException | None, tb: Any
    ) -> bool:
        meta = self.request_meta
        if self._manual_result is not None:
            meta["exception"] = None if self._manual_result is True else self._manual_result
            self._request_event.fire(**meta)
            return exc_type is None
        if exc_type is not None:
            if isinstance(value, ResponseError):
                meta["exception"] = value
                self._request_event.fire(**meta)
                return True
            return False
        try:
            self.raise_for_status()
        except RequestException as e:
            meta["exception"] = e
        self._request_event.fire(**meta)
        return True

    def success(self) -> None:
        if not self._entered:
            raise LocustError(
                "success() called on a request outside its with-block; use "
                "'with self.client.get(..., catch_response=True) as response:'"
            )
        self._manual_result = True

    def failure(self, exc: BaseException | str) -> None:
        if not self._entered:
            raise LocustError(
                "failure() called on a request outside its with-block; use "
                "'with self.client.get(..., catch_response=True) as response:'"
            )
        self._manual_result = exc if isinstance(exc, BaseException) else CatchResponseError(exc)


class HttpSession(requests.Session):
    """A requests Session with a base URL whose requests are timed and fired to the request hook.

    Connection errors do not raise: the request is reported as failed and a response with status 0 and
    ``error`` set is returned, so the user goes on.
    """

    def __init__(
        self, base_url: str, request_event: EventHook, user: User | None = None, *args: Any, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = base_url
        self.request_event = request_event
        self.user = user
        self.request_name: str | None = None
        self._custom_context = user is not None and type(user).context is not User.context

    def _build_url(self, path: str) -> str:
        if urlparse(path).scheme:
            return path
        return f"{self.base_url.rstrip('/')}/{path.lstrip('/')}" if path else self.base_url

    @contextmanager
    def rename_request(self, name: str) -> Iterator[None]:
        """Groups every request made in the block under ``name``."""
        self.request_name = name
        try:
            yield
        finally:
            self.request_name = None

    def request(  # type: ignore[override]
        self,
        method: str,
        url: str,
        name: str | None = None,
        catch_response: bool = False,
        context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if not name and self.request_name:
            name = self.request_name
        url = self._build_url(url)
        start_time = time.time()
        start = time.perf_counter()
        response = self._send_request_safe_mode(method, url, **kwargs)
        response_time = (time.perf_counter() - start) * 1000
        first = response.history[0] if response.history else response
        request_before_redirect = first.request
        if request_before_redirect is not None:
            url = request_before_redirect.url or url
            if not name:
                name = request_before_redirect.path_url
        if self._custom_context and self.user is not None:
            context = {**self.user.context(), **(context or {})}
        elif context is None:
            context = {}
        if kwargs.get("stream"):
            response_length = int(response.headers.get("content-length") or 0)
        else:
            response_length = len(response.content or b"")
        request_meta: dict[str, Any] = {
            "request_type": method,
            "name": name,
            "response_time": response_time,
            "response_length": response_length,
            "response": response,
            "context": context,
            "exception": None,
            "start_time": start_time,
            "url": url,
        }
        manager = ResponseContextManager(response, self.request_event, request_meta)
        if catch_response:
            return manager
        with manager:
            pass
        return response

    # requests' verb methods are typed without Locust's extras (name=, catch_response=); these keep them typed.
    def get(self, url: str | bytes, **kwargs: Any) -> Any:
        return self.request("GET", str(url), **kwargs)

    def post(self, url: str | bytes, data: Any = None, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", str(url), data=data, json=json, **kwargs)

    def put(self, url: str | bytes, data: Any = None, **kwargs: Any) -> Any:
        return self.request("PUT", str(url), data=data, **kwargs)

    def patch(self, url: str | bytes, data: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", str(url), data=data, **kwargs)

    def delete(self, url: str | bytes, **kwargs: Any) -> Any:
        return self.request("DELETE", str(url), **kwargs)

    def head(self, url: str | bytes, **kwargs: Any) -> Any:
        kwargs.setdefault("allow_redirects", False)
        return self.request("HEAD", str(url), **kwargs)

    def options(self, url: str | bytes, **kwargs: Any) -> Any:
        return self.request("OPTIONS", str(url), **kwargs)

    def _send_request_safe_mode(self, method: str, url: str, **kwargs: Any) -> Response:
        try:
            return super().request(method, url, **kwargs)
        except (MissingSchema, InvalidSchema, InvalidURL):
            raise
        except RequestException as e:
            response = LocustResponse()
            response.error = e
            response.status_code = 0
            response.url = url
            response.request = Request(method, url).prepare()
            return response


class HttpUser(User):
    """A user with ``self.client``, an HttpSession whose base URL is the user's host."""

    abstract = True
    client: HttpSession

    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        if self.host is None:
            raise LocustError(
                "You must specify the base host. Either in the host attribute in the User class, "
                "or on the command line using the --host option."
            )
        parsed = urlparse(self.host)
        if not parsed.scheme or not parsed.netloc:
            raise LocustError(f"Invalid host {self.host!r}, it must look like http://example.com")
        self.client = HttpSession(urlunparse(parsed), environment.events.request, user=self)
        self.client.trust_env = False

    def _release(self) -> None:
        self.client.close()
