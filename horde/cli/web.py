"""The web UI from the command line: `horde run` without `--headless` (a live run), `horde ui JOURNAL` and
`horde replay JOURNAL --web` (a past run). The UI itself is `horde.web`; this module wires flags to it and hands
it the two things it may not import itself: the timeline's choice of notable events and the HTML report.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from typing import TYPE_CHECKING

import gevent
import gevent.event

from horde.cli.keyboard import KeyboardControl
from horde.cli.options import Parser, RunOptions, UsageError
from horde.run import Run, RunSpec

if TYPE_CHECKING:
    from horde.web import Backend, LiveFeed, RunActions, WebArgument, WebUI

# horde.web (and Flask) is imported when a page is served, not by every `horde run`: a headless run starts as fast
# as it did without the UI.

LOCUST_HABIT_FLAGS = ("users", "run_time")
"""Given without --headless or --autostart, these mean a headless run, as horde has always run them (ADR 0023)."""


def serves_web_ui(options: RunOptions) -> bool:
    """Whether `horde run` serves the page: not headless, not a worker, not a resumed master, and either
    --autostart or none of -u/-t (which keep meaning a headless run, with a line saying so)."""
    if options.headless or options.worker or options.resume:
        return False
    return options.autostart or not (set(LOCUST_HABIT_FLAGS) & options.given)


def headless_note(options: RunOptions) -> str | None:
    if options.headless or options.worker or options.resume or options.autostart:
        return None
    given = [flag for name, flag in (("users", "-u"), ("run_time", "-t")) if name in options.given]
    if not given:
        return None
    return f"{'/'.join(given)} without --headless: running headless (add --autostart to watch it in the web UI)"


def web_arguments(parser: Parser | None, builtin: set[str]) -> dict[str, WebArgument]:
    """The locustfile's arguments registered with `include_in_web_ui`, as the form's fields."""
    if parser is None:
        return {}
    from horde.web import WebArgument

    found: dict[str, WebArgument] = {}
    for dest, action in parser.args_included_in_web_ui.items():
        if dest in builtin or dest == "help" or not action.option_strings:
            continue
        default = action.default
        if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
            kind = "bool"
        elif action.type is int or (isinstance(default, int) and not isinstance(default, bool)):
            kind = "int"
        elif action.type is float or isinstance(default, float):
            kind = "float"
        else:
            kind = "str"
        found[dest] = WebArgument(
            dest=dest,
            default=default,
            help=action.help or "",
            choices=tuple(action.choices) if action.choices is not None else None,
            is_secret=bool(getattr(action, "is_secret", False)),
            is_required=bool(getattr(action, "is_required", False)),
            kind=kind,
        )
    return found


def web_auth(options: RunOptions) -> tuple[str, str] | None:
    if not options.web_auth:
        return None
    user, _, password = options.web_auth.partition(":")
    return user, password


def new_web_ui(
    host: str,
    port: int,
    auth: tuple[str, str] | None,
    base_path: str,
    backend: Backend,
    tls: tuple[str, str] | None = None,
) -> WebUI:
    import ssl

    from horde.web import WebUI

    web = WebUI(backend, host=host, port=port, auth=auth, base_path=base_path, tls=tls)
    try:
        web.bind()
    except ssl.SSLError as exc:
        raise UsageError(f"--tls-cert/--tls-key: cannot serve HTTPS with them: {exc.reason or exc}") from None
    except OSError as exc:
        if tls is not None and exc.filename in tls:
            raise UsageError(f"--tls-cert/--tls-key: {exc.filename}: {exc.strerror or exc}") from None
        raise UsageError(f"--web-port: cannot serve on {host}:{port}: {exc.strerror or exc}") from None
    return web


def tls_files(options: RunOptions) -> tuple[str, str] | None:
    return (options.tls_cert, options.tls_key) if options.tls_cert and options.tls_key else None


def run_with_web_ui(spec: RunSpec, options: RunOptions, arguments: dict[str, WebArgument]) -> int:
    """A live run served on the page: prepare, serve, wait for Start (or start at once with --autostart), run,
    then keep the page, ready for a new test, until Ctrl-C or for --autoquit seconds after the last test."""
    from horde.plugins.html_report import render_html
    from horde.protocol.timeline import timeline
    from horde.web import Backend, LiveFeed, RunActions

    backend = Backend("", render_html, arguments=arguments)
    web = new_web_ui(
        options.web_host, options.web_port, web_auth(options), options.web_base_path, backend, tls_files(options)
    )
    try:
        run = Run.prepare(spec, web_ui=web)
    except BaseException:
        web.stop()
        raise
    feed = LiveFeed(timeline)
    feed.attach(run.control.journal, run.journal_path)
    backend.journal_path = run.journal_path
    backend.feed = feed
    backend.actions = RunActions(run, arguments, options.class_picker)
    feed.start()
    web.serve()
    print(f"horde: web UI at {options.web_host_display_name or web.url} (Ctrl-C to stop)", file=sys.stderr, flush=True)
    quit_now = gevent.event.Event()
    idle = gevent.event.Event()
    """Set while no test runs (before the first Start, between a Stop and the next): Ctrl-C then quits."""
    actions = backend.actions

    def on_signal(name: str) -> None:
        if idle.is_set() or quit_now.is_set() or not actions.started:
            quit_now.set()
            run.request_stop(name)  # a run never started: its Master goes from ready to stopped
            return
        print(f"\nhorde: {name} received, stopping (again to quit)", file=sys.stderr, flush=True)
        run.request_stop(name)

    gevent.signal_handler(signal.SIGINT, on_signal, "SIGINT")
    gevent.signal_handler(signal.SIGTERM, on_signal, "SIGTERM")
    keys = KeyboardControl(run.adjustable_target, run.change_users, web.url)
    keys.start()
    try:
        if options.autostart:
            run.start()
            actions.started = True
        run.wait()
        between_tests(run, feed, actions, options.autoquit, idle, quit_now)
    finally:
        keys.stop()
        actions.live = False
        idle.set()
        code = run.finish()
    feed.tick()
    if not quit_now.is_set() and options.autoquit < 0:
        print("horde: the run is over; the page stays up until Ctrl-C", file=sys.stderr, flush=True)
        quit_now.wait()
    web.stop()
    return code


def between_tests(
    run: Run, feed: LiveFeed, actions: RunActions, autoquit: int, idle: gevent.event.Event, quit_now: gevent.event.Event
) -> None:
    """After each test, wait for the next Start from the page (a new test, ADR 0034), for Ctrl-C, or for
    --autoquit seconds; the reports are written once, when the process quits, over the last test."""
    while not quit_now.is_set():
        feed.tick()
        actions.new_test.clear()
        idle.set()
        then = f"quitting in {autoquit} s (--autoquit)" if autoquit >= 0 else "Ctrl-C to quit"
        print(f"horde: the test is over; Start on the page runs a new one, or {then}", file=sys.stderr, flush=True)
        woken = gevent.wait([quit_now, actions.new_test], timeout=None if autoquit < 0 else autoquit, count=1)
        if not woken or quit_now.is_set():
            return
        idle.clear()
        run.control.wait_stopped()


def ui_parser(prog: str) -> Parser:
    p = Parser(prog=prog, description="Serve the web UI over a past run's journal, with a time slider.")
    p.add_argument("file", help="a journal written by horde run (--journal)")
    add_web_flags(p)
    return p


def add_web_flags(p: Parser) -> None:
    p.add_argument("--web-host", default="127.0.0.1", help="interface to serve on (default 127.0.0.1)")
    p.add_argument("--web-port", type=int, default=8089, help="port to serve on (default 8089; 0: any free port)")
    p.add_argument("--web-auth", metavar="USER:PASSWORD", help="ask for this user and password (HTTP basic auth)")
    p.add_argument("--web-base-path", default="", help="serve under this path, e.g. /horde (behind a proxy)")


def run_ui(argv: list[str], prog: str = "horde ui") -> int:
    """`horde ui JOURNAL`: the page over a past run, until Ctrl-C."""
    args = ui_parser(prog).parse_args(argv)
    return serve_journal(args.file, args.web_host, args.web_port, args.web_auth, args.web_base_path)


def serve_journal(path: str, host: str, port: int, auth_text: str | None, base_path: str) -> int:
    from horde.plugins.html_report import render_html
    from horde.protocol.journal import JournalError
    from horde.protocol.timeline import timeline
    from horde.web import Backend, JournalPage

    if not 0 <= port <= 65535:
        raise UsageError(f"--web-port must be between 0 and 65535, got {port}")
    auth = check_auth(auth_text)
    if not os.path.isfile(path):
        raise UsageError(f"{path}: no such journal")
    try:
        page = JournalPage(path, timeline)
    except JournalError as exc:
        raise UsageError(f"{path}: {exc}" if path not in str(exc) else str(exc)) from None
    web = new_web_ui(host, port, auth, base_path, Backend(path, render_html, page=page))
    web.serve()
    print(f"horde: web UI at {web.url} over {path} (Ctrl-C to quit)", file=sys.stderr, flush=True)
    quit_now = gevent.event.Event()
    gevent.signal_handler(signal.SIGINT, quit_now.set)
    gevent.signal_handler(signal.SIGTERM, quit_now.set)
    quit_now.wait()
    web.stop()
    return 0


def check_auth(text: str | None) -> tuple[str, str] | None:
    if text is None:
        return None
    user, sep, password = text.partition(":")
    if not sep or not user or not password:
        raise UsageError("--web-auth must be USER:PASSWORD")
    return user, password
