"""FastHttpUser: a User whose client is a FastHttpSession, closed when the user stops; and its JSON helpers."""

from __future__ import annotations

import os
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from horde.runtime.exceptions import LocustError
from horde.runtime.fasthttp._response import RestResponseContextManager
from horde.runtime.fasthttp._session import FastHttpSession
from horde.runtime.users import User

if TYPE_CHECKING:
    from horde.runtime.environment import Environment


class FastHttpUser(User):
    """A user whose ``self.client`` is a FastHttpSession: fewer features, much less CPU per request.

    The class attributes are Locust's; set them in a subclass before its users start.
    """

    abstract = True
    network_timeout: float = 60.0
    connection_timeout: float = 60.0
    max_redirects: int = 30
    #: how many times an idempotent request is sent again after a timeout or a connection lost before any byte of
    #: the answer (a reused keep-alive connection the server had closed is retried once regardless)
    max_retries: int = 0
    insecure: bool = True
    default_headers: Mapping[str, str] | None = None
    concurrency: int = 10
    #: any object (Locust's is geventhttpclient's ``HTTPClientPool``): the users of classes naming the same one
    #: share its connections, ``concurrency`` of them per origin
    client_pool: Any = None
    #: an HTTP proxy: plain requests are sent to it in absolute form, TLS ones through a CONNECT tunnel
    proxy_host: str | None = None
    proxy_port: int | None = None
    #: called once per user for the TLS context (default: verifying, or not with ``insecure``)
    ssl_context_factory: Callable[[], Any] | None = None
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
            max_retries=self.max_retries,
            concurrency=self.concurrency,
            default_headers=self.default_headers,
            client_pool=self.client_pool,
            ssl_context_factory=self.ssl_context_factory,
            proxy_host=self.proxy_host,
            proxy_port=self.proxy_port,
        )

    def _release(self) -> None:
        self.client.close()

    @contextmanager
    def rest(
        self, method: str, url: str, headers: Mapping[str, str] | None = None, **kwargs: Any
    ) -> Iterator[RestResponseContextManager]:
        """A JSON request whose outcome the block decides, as Locust's ``rest``.

        JSON ``Content-Type`` and ``Accept`` unless given; ``js`` is the parsed body and a body that is not JSON
        fails the request; a failed ``assert`` or any exception in the block fails the request with its message
        instead of ending the task, so the request is always reported.
        """
        headers = dict(headers or {})
        lowered = {name.lower() for name in headers}
        if "content-type" not in lowered:
            headers["Content-Type"] = "application/json"
        if "accept" not in lowered:
            headers["Accept"] = "application/json"
        with self.client.request(method, url, catch_response=True, headers=headers, **kwargs) as plain:
            response: RestResponseContextManager = plain  # type: ignore[assignment]
            response.__class__ = RestResponseContextManager
            response.js = None
            if response.error is not None:
                response.failure(str(response.error))
            elif response.content:
                try:
                    response.js = response.json()
                except ValueError as e:
                    response.failure(
                        f"Could not parse response as JSON. {response.text[:250]}, "
                        f"response code {response.status_code}, error {e}"
                    )
            try:
                yield response
            except AssertionError as e:
                message = str(e.args[0]) if e.args else ""
                if not message:
                    response.failure("Assertion failed")
                elif message.endswith(","):
                    response.failure(f"{message[:-1]}, response was {response.text[:200]}")
                else:
                    response.failure(message)
            except Exception as e:
                response.failure(f"{type(e).__name__}: {e} at {_where(e)}. Response was {response.text[:200]}")

    @contextmanager
    def rest_(
        self, method: str, url: str, name: str | None = None, **kwargs: Any
    ) -> Iterator[RestResponseContextManager]:
        """``rest`` with a ``_=<milliseconds>`` query parameter against caches, grouped under ``url?_=...``."""
        separator = "&" if "?" in url else "?"
        if name is None:
            name = f"{url}{separator}_=..."
        with self.rest(method, f"{url}{separator}_={int(time.time() * 1000)}", name=name, **kwargs) as response:
            yield response


def _where(error: BaseException) -> str:
    """The user's frames of ``error``'s traceback, ``file:line in function``, home directories shortened."""
    home = os.path.expanduser("~")
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__]
    return ", ".join(f"{frame.filename.replace(home, '~', 1)}:{frame.lineno} in {frame.name}" for frame in frames)
