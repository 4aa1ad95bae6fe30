"""The web UI's server: Flask on gevent's WSGI server, a greenlet on the same hub as every actor (ADR 0023).

`WebUI` is also what a locustfile finds as `environment.web_ui`, with Locust's names: `app` (add routes with
`app.route`), `greenlet`, `server`, `stop()` and `auth_required_if_enabled`, so Locust's `extend_web_ui` examples
run unchanged.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import ipaddress
import ssl
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import gevent
import structlog
from flask import Flask, Response
from gevent.pywsgi import WSGIServer

from horde.web.app import Backend, create_app

log = structlog.get_logger("horde.web")


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach `host` (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


F = TypeVar("F", bound=Callable[..., Any])
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class WebUI:
    """The server of one page, live or post-mortem; `start()` binds and serves, `stop()` closes."""

    def __init__(
        self,
        backend: Backend,
        host: str = "127.0.0.1",
        port: int = 8089,
        auth: tuple[str, str] | None = None,
        base_path: str = "",
        tls: tuple[str, str] | None = None,
    ) -> None:
        self.backend = backend
        self.tls = tls
        """(certificate, private key) PEM files: the page is served over HTTPS (Locust's --tls-cert/--tls-key)."""
        self.app: Flask = create_app(backend)
        self.host = host
        self.port = port
        self.auth = auth
        self.base_path = "/" + base_path.strip("/") if base_path.strip("/") else ""
        self.server: WSGIServer | None = None
        self.greenlet: gevent.Greenlet | None = None
        self.template_args: dict[str, Any] = {}

    # --- Locust's names ---------------------------------------------------------------------------------------------

    def auth_required_if_enabled(self, view_func: F) -> F:
        """Locust's decorator for routes a locustfile adds: the whole server checks auth already, so it passes."""

        @functools.wraps(view_func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return view_func(*args, **kwargs)

        return cast(F, wrapper)

    def update_template_args(self) -> None:
        """Locust's hook for the page's template values; horde's page reads `/config` instead."""

    # --- serving ----------------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host = self.host if self.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        if ":" in host:
            host = f"[{host}]"
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}{self.base_path}/"

    def start(self) -> None:
        self.bind()
        self.serve()

    def bind(self) -> None:
        """Take the port now (a taken port is an OSError for the caller to report), before the run is prepared;
        with TLS the certificate and key are loaded now too, so a bad pair is reported before any load (an
        `ssl.SSLError` is an OSError)."""
        tls: dict[str, Any] = {}
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(certfile=self.tls[0], keyfile=self.tls[1])
            tls["ssl_context"] = context
        self.server = WSGIServer((self.host, self.port), self._wsgi, log=None, error_log=_ErrorLog(), **tls)
        self.server.init_socket()
        self.port = self.server.server_port

    def serve(self) -> None:
        """Answer requests from now on, in a greenlet of the hub every actor runs on."""
        assert self.server is not None
        self.greenlet = gevent.spawn(self.server.serve_forever)
        if not is_loopback(self.host) and self.auth is None:
            log.warning(
                "the web UI is reachable from other machines without a password (use --web-auth user:password)",
                host=self.host,
                port=self.port,
            )

    def stop(self) -> None:
        if self.backend.feed is not None:
            self.backend.feed.stop()
        if self.server is not None:
            self.server.stop(timeout=1)
        if self.greenlet is not None:
            self.greenlet.kill(block=False)

    def _wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.auth is not None and not self._authorised(environ.get("HTTP_AUTHORIZATION", "")):
            return Response(
                "authentication required\n",
                401,
                {"WWW-Authenticate": 'Basic realm="horde"'},
                mimetype="text/plain",
            )(environ, start_response)
        if self.base_path:
            path = environ.get("PATH_INFO", "")
            if path == self.base_path:
                return Response("", 308, {"Location": self.base_path + "/"})(environ, start_response)
            if not path.startswith(self.base_path + "/"):
                return Response("not found\n", 404, mimetype="text/plain")(environ, start_response)
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.base_path
            environ["PATH_INFO"] = path[len(self.base_path) :]
        return cast(WsgiApp, self.app.wsgi_app)(environ, start_response)

    def _authorised(self, header: str) -> bool:
        assert self.auth is not None
        kind, _, encoded = header.partition(" ")
        if kind.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self.auth[0]) and hmac.compare_digest(password, self.auth[1])


class _ErrorLog:
    """gevent's WSGI error log, into the structured log rather than onto stderr."""

    def write(self, text: str) -> None:
        if text.strip():
            log.warning("web server", message=text.strip()[:500])

    def flush(self) -> None:
        pass
