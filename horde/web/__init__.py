"""The web UI: start, watch, steer and stop a run from a browser, or scrub through a past run's journal (ADR 0023).

`server` (Flask on gevent's WSGI server, Locust's `environment.web_ui`), `app` (Locust's routes and horde's),
`feed` (the live event stream, a consumer of the journal's events), `postmortem` (a past run at any moment),
`fold` and `view` (what the page shows, from replay's fold), `actions` (the page's requests as the Master's
commands), `static/` (the page: plain ES modules, no build step, shipped in the wheel).
"""

from horde.web.actions import RunActions, WebArgument
from horde.web.app import Backend
from horde.web.feed import LiveFeed
from horde.web.postmortem import JournalPage
from horde.web.server import WebUI

__all__ = ["Backend", "JournalPage", "LiveFeed", "RunActions", "WebArgument", "WebUI"]
