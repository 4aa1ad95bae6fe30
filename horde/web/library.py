"""`Environment.create_web_ui(...)` for a script that uses horde as a library, as Locust's `use_as_lib` does:
the same page `horde run` serves, over the run the script's runner drives.

The page follows that run's journal (`LiveFeed`) and steers it with the same commands as the command line's page
(`RunActions`), so a script's own `runner.start(...)` and a person's Start on the page are one run, journaled
alike. Importing this module installs it as the Environment's `web_ui_factory`.

Its `/stats/report` is the `--html` report, as the command line's page serves it. The web package may not import
the bundled plugins (they sit beside it, not below), and a script has no command line to hand the report function
over, so the report's module is named here and imported on the first download, as the runtime names
`horde.run.library` (ADR 0016).
"""

from __future__ import annotations

import importlib
from typing import Any

from horde.protocol.timeline import timeline
from horde.run import RunError
from horde.run.library import run_of
from horde.runtime.environment import Environment
from horde.stats.run_stats import RunStats
from horde.web.actions import RunActions
from horde.web.app import Backend
from horde.web.feed import LiveFeed
from horde.web.server import WebUI

HTML_REPORT_MODULE = "horde.plugins.html_report"


def html_report(stats: RunStats, journal_path: str) -> str:
    """The `--html` report of the run so far, from the bundled plugin's `render_html`."""
    render: Any = importlib.import_module(HTML_REPORT_MODULE).render_html
    return str(render(stats, journal_path))


class LibraryWebUI(WebUI):
    """Locust's `environment.web_ui` over a library run: serving from `start()`, closed by `stop()`."""

    def __init__(
        self, backend: Backend, feed: LiveFeed, host: str, port: int, base_path: str, tls: tuple[str, str] | None
    ) -> None:
        super().__init__(backend, host=host, port=port, base_path=base_path, tls=tls)
        self.feed = feed

    def start(self) -> None:
        """Bind and serve (a taken port is one line, as `--web-port`'s), and follow the run from now on."""
        try:
            self.bind()
        except OSError as exc:
            raise RunError(f"create_web_ui: cannot serve on {self.host}:{self.port}: {exc.strerror or exc}") from None
        self.feed.start()
        self.serve()


class LibraryWebUIs:
    """The WebUIFactory: what `Environment.create_web_ui` calls."""

    def web_ui(
        self,
        environment: Environment,
        host: str,
        port: int,
        web_base_path: str | None,
        web_login: bool,
        tls_cert: str | None,
        tls_key: str | None,
        delayed_start: bool,
    ) -> Any:
        run = run_of(environment)
        if run is None:
            raise RunError(
                "create_web_ui: create the runner first (environment.create_local_runner() or "
                "create_master_runner()): the page shows and steers its run"
            )
        if web_login:
            raise RunError("create_web_ui: web_login is not supported by horde's page; serve it on 127.0.0.1")
        if bool(tls_cert) != bool(tls_key):
            raise RunError("create_web_ui: tls_cert and tls_key go together (both serve the page over HTTPS)")
        feed = LiveFeed(timeline)
        feed.attach(run.control.journal, run.journal_path)
        backend = Backend(run.journal_path, html_report, feed=feed, actions=RunActions(run, {}))
        tls = (tls_cert, tls_key) if tls_cert and tls_key else None
        web = LibraryWebUI(backend, feed, host, port, web_base_path or "", tls)
        if not delayed_start:
            web.start()
        return web


Environment.web_ui_factory = LibraryWebUIs()
