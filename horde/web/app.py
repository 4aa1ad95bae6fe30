"""The Flask application: Locust's routes (so scripts that drive Locust's UI keep working) and horde's own (the
event stream, the journal, a past run's moments).

One app serves both modes. A live run has a `LiveFeed` and `RunActions`; a past run (`horde ui JOURNAL`) has a
`JournalPage` and no actions, so what would change a run answers 409.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Callable
from importlib import resources
from typing import Any, cast

import msgspec
from flask import Flask, Response, abort, redirect, request, send_file

from horde.runtime.process import recent_log_lines
from horde.runtime.reports import write_csv
from horde.runtime.task_ratio import task_ratio_report
from horde.stats.run_stats import RunStats
from horde.web.actions import BadRequest, Refused, RunActions, WebArgument, parse_swarm
from horde.web.feed import LiveFeed
from horde.web.postmortem import JournalPage
from horde.web.view import exceptions_view

ReportFunction = Callable[[RunStats, str], str]
"""The HTML report `--html` writes, called with the statistics and the journal's path."""

_encoder = msgspec.json.Encoder()


def json_response(data: Any, status: int = 200) -> Response:
    return Response(_encoder.encode(data), status=status, mimetype="application/json")


def one_line(message: str, status: int) -> Response:
    """An error as Locust answers it (`success: false` and a message), on one line."""
    return json_response({"success": False, "message": message.splitlines()[0] if message else ""}, status)


class Backend:
    """What the routes read and act on: a live run or a past one."""

    def __init__(
        self,
        journal_path: str,
        report: ReportFunction | None,
        feed: LiveFeed | None = None,
        actions: RunActions | None = None,
        page: JournalPage | None = None,
        arguments: dict[str, WebArgument] | None = None,
    ) -> None:
        self.journal_path = journal_path
        self.report = report
        self.feed = feed
        self.actions = actions
        self.page = page
        self.arguments = arguments or {}

    @property
    def mode(self) -> str:
        return "journal" if self.page is not None else "live"

    def moment(self) -> float | None:
        """`?at=SECONDS` on a past run: the moment asked for (None: the end)."""
        text = request.args.get("at")
        if text is None or self.page is None:
            return None
        try:
            return float(text)
        except ValueError:
            raise BadRequest(f"at must be a number of seconds, got {text!r}") from None

    def view(self) -> dict[str, Any]:
        if self.page is not None:
            return self.page.view(self.moment())
        assert self.feed is not None
        return self.feed.view()

    def stats(self) -> RunStats:
        if self.page is not None:
            return self.page.stats(self.moment())
        assert self.feed is not None
        return self.feed.stats()


def who() -> str:
    user = request.authorization.username if request.authorization else ""
    address = request.remote_addr or "unknown"
    return f"{user}@{address}" if user else address


def csv_text(stats: RunStats, which: str) -> str:
    """One of the CSV files `--csv` writes, written by the same function into a scratch folder."""
    with tempfile.TemporaryDirectory(prefix="horde-web-") as folder:
        prefix = os.path.join(folder, "run")
        write_csv(prefix, stats, {})
        with open(f"{prefix}_{which}.csv", encoding="utf-8", newline="") as f:
            return f.read()


def csv_response(text: str, name: str) -> Response:
    return Response(text, mimetype="text/csv", headers={"Content-Disposition": f"attachment; filename={name}"})


def create_app(backend: Backend) -> Flask:
    app = Flask("horde.web", static_folder=str(resources.files("horde.web") / "static"), static_url_path="/static")
    app.config["horde.backend"] = backend

    @app.errorhandler(BadRequest)
    def bad_request(exc: BadRequest) -> Response:
        return one_line(str(exc), 400)

    @app.errorhandler(Refused)
    def refused(exc: Refused) -> Response:
        return one_line(str(exc), 409)

    def live_actions() -> RunActions:
        if backend.actions is None:
            raise Refused("this page shows a past run's journal; it cannot change it")
        return backend.actions

    @app.get("/")
    def index() -> Response:
        page = (resources.files("horde.web") / "static" / "index.html").read_text(encoding="utf-8")
        return Response(page, mimetype="text/html")

    @app.get("/config")
    def config() -> Response:
        """What the page needs before the stream: the mode, the form's fields, the run's defaults."""
        actions = backend.actions
        shaped = bool(actions is not None and actions.shaped)
        data: dict[str, Any] = {
            "mode": backend.mode,
            "journal": os.path.basename(backend.journal_path),
            "shape": shaped,
            "arguments": [argument.as_json() for argument in backend.arguments.values()],
        }
        if actions is not None:
            spec = actions.run.spec.load
            data.update(
                {
                    "user_count": spec.users,
                    "spawn_rate": spec.spawn_rate,
                    "host": actions.run.environment.host or "",
                    "profile": actions.run.environment.profile or "",
                    "started": actions.started,
                    "class_picker": actions.available_classes,
                    "shape_classes": actions.shape_choices,
                }
            )
        return json_response(data)

    @app.post("/swarm")
    def swarm() -> Response:
        actions = live_actions()
        parsed = parse_swarm(
            request.form.to_dict(),
            backend.arguments,
            actions.shaped,
            request.form.getlist("user_classes"),
            actions.available_classes,
            actions.shape_choices,
        )
        message = actions.swarm(parsed, who())
        answer: dict[str, Any] = {"success": True, "message": message, "host": actions.run.environment.host}
        if parsed.run_time is not None:
            answer["run_time"] = parsed.run_time  # as Locust answers
        return json_response(answer)

    @app.route("/stop", methods=["GET", "POST"])
    def stop() -> Response:
        live_actions().stop(who())
        return json_response({"success": True, "message": "Test stopped"})

    @app.route("/stats/reset", methods=["GET", "POST"])
    def reset() -> Response:
        live_actions().reset(who())
        return Response("ok", mimetype="text/plain")

    @app.get("/stats/requests")
    def stats_requests() -> Response:
        return json_response(backend.view())

    @app.get("/stats/requests/csv")
    def requests_csv() -> Response:
        return csv_response(csv_text(backend.stats(), "stats"), "requests.csv")

    @app.get("/stats/requests_full_history/csv")
    def history_csv() -> Response:
        return csv_response(csv_text(backend.stats(), "stats_history"), "requests_full_history.csv")

    @app.get("/stats/failures/csv")
    def failures_csv() -> Response:
        return csv_response(csv_text(backend.stats(), "failures"), "failures.csv")

    @app.get("/exceptions")
    def exceptions() -> Response:
        return json_response({"exceptions": exceptions_view(backend.stats())})

    @app.get("/exceptions/csv")
    def exceptions_csv() -> Response:
        rows = io.StringIO()
        writer = csv.writer(rows)
        writer.writerow(["Count", "Message", "Traceback", "Nodes"])
        for e in exceptions_view(backend.stats()):
            writer.writerow([e["count"], e["msg"], e["traceback"], e["nodes"]])
        return csv_response(rows.getvalue(), "exceptions.csv")

    @app.get("/stats/report")
    def report() -> Response:
        if backend.report is None:
            abort(404)
        text = backend.report(backend.stats(), backend.journal_path)
        headers = {}
        if request.args.get("download"):
            headers["Content-Disposition"] = "attachment; filename=horde-report.html"
        return Response(text, mimetype="text/html", headers=headers)

    @app.get("/tasks")
    def tasks() -> Response:
        """Locust's task ratios, per class and of all tasks, for the users running now (none: every ratio 0, as
        in Locust). A past run's page has no locustfile loaded, and no ratios."""
        if backend.actions is None:
            return json_response({"per_class": {}, "total": {}})
        classes = list(backend.actions.run.environment.user_classes)
        return json_response(task_ratio_report(classes, backend.view()["user_classes"]))

    @app.get("/logs")
    def logs() -> Response:
        """Locust's recent log lines: this process's last 500, and each worker process's last 500 as its
        heartbeats brought them (ADR 0038). A past run's page has only its journal, which keeps no log lines."""
        if backend.actions is None:
            return json_response({"master": [], "workers": {}})
        workers = backend.actions.run.control.worker_logs.view()
        return json_response({"master": recent_log_lines(), "workers": workers})

    @app.get("/worker-count")
    def worker_count() -> Response:
        return json_response({"worker_count": backend.view()["worker_count"]})

    @app.get("/login")
    def login() -> Response:
        """Locust's login page: horde asks with HTTP basic auth (`--web-auth`), so whoever got here is in."""
        return cast(Response, redirect(request.script_root + "/", 302))

    @app.route("/user", methods=["POST"])
    def user() -> Response:
        """Locust's user class editor (with its class picker): horde's user classes are the locustfile's."""
        raise Refused("horde does not edit user classes from the page; set them in the locustfile")

    @app.get("/journal")
    def journal() -> Response:
        """The run's journal as written so far (a live run's is flushed at least once a second)."""
        if not os.path.isfile(backend.journal_path):
            abort(404)
        return send_file(
            os.path.abspath(backend.journal_path),
            mimetype="application/x-ndjson",
            as_attachment=True,
            download_name=os.path.basename(backend.journal_path),
        )

    @app.get("/events")
    def events() -> Response:
        """Server-sent events: a `hello` with the story so far, then a `tick` a second (live runs)."""
        headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
        if backend.page is not None:
            return Response(backend.page.hello(), mimetype="text/event-stream", headers=headers)
        assert backend.feed is not None
        return Response(backend.feed.stream(), mimetype="text/event-stream", headers=headers)

    @app.get("/replay/state")
    def replay_state() -> Response:
        """A past run's panels at `?at=SECONDS` after its start (horde's addition; a live run: now)."""
        return json_response(backend.view())

    return app
