"""`horde run`: turn resolved options into a `RunSpec`, run it, turn the outcome into an exit code.

Nothing here knows how a run works: that is `horde.run`. This module knows flags (which flag a spec field came
from, to name it in an error) and the process (signals).
"""

from __future__ import annotations

import contextlib
import os
import platform
import signal
import sys
from collections.abc import Callable

import gevent
import structlog

from horde._version import __version__
from horde.cli.console import plugin_list
from horde.cli.inspect_user import print_task_ratio, print_task_ratio_json, print_user_classes
from horde.cli.keyboard import KeyboardControl, restore_terminals
from horde.cli.options import (
    NOT_YET_EFFECTIVE,
    Parser,
    RunOptions,
    UsageError,
    build_parser,
    options_for_workers,
    parsed_options,
    resolve,
    settings_of,
)
from horde.cli.web import headless_note, run_with_web_ui, serves_web_ui, web_arguments
from horde.run import (
    ClusterSpec,
    JournalSpec,
    LivenessSpec,
    LoadSpec,
    PluginChoice,
    Role,
    Run,
    RunError,
    RunSpec,
    SpecError,
    WorkerGroup,
    WorkerProcess,
)
from horde.runtime.events import events
from horde.runtime.locustfile import (
    Locustfile,
    LocustfileError,
    load_locustfile,
    select_user_classes,
    several_shapes,
)
from horde.runtime.process import setup_logging

log = structlog.get_logger("horde")

MEGABYTE = 1024 * 1024

FLAGS = {
    "users": "-u/--users",
    "spawn_rate": "-r/--spawn-rate",
    "run_time": "-t/--run-time",
    "stop_timeout": "-s/--stop-timeout",
    "locustfile": "-f/--locustfile",
    "journal.checkpoint_bytes": "--journal-checkpoint-mb",
    "journal.resume": "--resume",
    "cluster.bind_host": "--master-bind-host",
    "cluster.bind_port": "--master-bind-port",
    "cluster.master_host": "--master-host",
    "cluster.master_port": "--master-port",
}
"""The flag of each spec field whose flag is not simply `--` and the field's name."""


def flag_of(field: str) -> str:
    return FLAGS.get(field, "--" + field.rpartition(".")[2].replace("_", "-"))


def spec_from_options(options: RunOptions, argv: list[str]) -> RunSpec:
    """The spec the options describe; a value out of range is a `UsageError` naming its flag."""
    role = Role.WORKER if options.worker else Role.MASTER if options.master else Role.LOCAL
    plugins, plugin_options = plugin_list(options) if role is not Role.WORKER else ([], {})
    try:
        return RunSpec(
            locustfile=options.locustfile,
            role=role,
            load=LoadSpec(
                user_classes=tuple(options.user_classes),
                users=options.users,
                spawn_rate=options.spawn_rate,
                run_time=options.run_time,
                host=options.host,
                tags=tuple(options.tags) if options.tags is not None else None,
                exclude_tags=tuple(options.exclude_tags) if options.exclude_tags is not None else None,
                stop_timeout=options.stop_timeout,
                reset_stats=options.reset_stats,
                user_configs=tuple(options.config_users),
                equal_weights=options.equal_weights,
            ),
            liveness=LivenessSpec(options.heartbeat_interval, options.heartbeat_liveness, options.stats_interval),
            journal=JournalSpec(
                path=options.journal,
                checkpoint_bytes=round(options.journal_checkpoint_mb * MEGABYTE),
                resume=options.resume,
            ),
            cluster=ClusterSpec(
                expect_workers=options.expect_workers,
                expect_workers_max_wait=options.expect_workers_max_wait,
                bind_host=options.master_bind_host,
                bind_port=options.master_bind_port,
                master_host=options.master_host,
                master_port=options.master_port,
                quit_when_master_lost=options.quit_when_master_lost,
                auth_token=options.auth_token or "",
                master_secret_key=options.master_secret_key,
                worker_public_keys=options.worker_public_keys,
                worker_secret_key=options.worker_secret_key,
                master_public_key=options.master_public_key,
                processes=(os.cpu_count() or 1) if options.processes == -1 else options.processes,
            ),
            plugins=tuple(PluginChoice(reference, options) for reference, options in plugins),
            plugin_options=plugin_options,
            exit_code_on_error=options.exit_code_on_error,
            profile=options.profile,
            settings=settings_of(options),
            parsed_options=parsed_options(options),
            worker_options=options_for_workers(options),
            command_line=list(argv),
            secrets=tuple(_secrets(options)),
        )
    except SpecError as exc:
        raise UsageError(f"{flag_of(exc.field)} {exc.problem}") from None


def _secrets(options: RunOptions) -> list[str]:
    """What the journal must not hold: the auth token and the locustfile's `is_secret` arguments."""
    values = [options.auth_token or "", options.web_auth or ""]
    values += [str(options.custom[dest]) for dest in options.custom_secret if options.custom.get(dest)]
    return [value for value in values if value]


def without_processes_flag(argv: list[str]) -> list[str]:
    """The command line of one of the worker processes `--worker --processes N` starts: the same, minus N."""
    kept: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--processes":
            skip = True
        elif not arg.startswith("--processes="):
            kept.append(arg)
    return kept


def install_stop_signals(request_stop: Callable[[str], None]) -> None:
    """Ctrl-C or SIGTERM stops the run gracefully; a second one exits at once."""
    presses = {"count": 0}

    def on_signal(name: str) -> None:
        presses["count"] += 1
        if presses["count"] > 1:
            print("horde: second interrupt, exiting now", file=sys.stderr)
            restore_terminals()
            os._exit(130)
        print(f"\nhorde: {name} received, stopping (again to exit at once)", file=sys.stderr)
        request_stop(name)

    gevent.signal_handler(signal.SIGINT, on_signal, "SIGINT")
    gevent.signal_handler(signal.SIGTERM, on_signal, "SIGTERM")


def version_line() -> str:
    """As Locust's -V: the version, where it is installed, and the Python running it."""
    return f"horde {__version__} from {os.path.dirname(os.path.dirname(__file__))} (python {platform.python_version()})"


def load_for_options(argv: list[str], quiet: bool = False) -> Locustfile | None:
    """The locustfile `-f` names (from any source), imported before the full parse so that its
    `init_command_line_parser` listeners can add arguments, as Locust does; None for a worker's `-f -`.
    `quiet`: a locustfile that cannot be loaded is None rather than an error (for --help)."""
    found = resolve([a for a in argv if a not in ("-h", "--help")], partial=True)
    if found.locustfile == "-":
        return None
    try:
        return load_locustfile(found.locustfile)
    except LocustfileError:
        if quiet:
            return None
        raise


def warn_of_options_a_shape_ignores(options: RunOptions, locustfile: Locustfile) -> None:
    """Locust's two warnings when -t, -u or -r are given to a run that a LoadTestShape drives: the shape decides
    (ADR 0021)."""
    shape = locustfile.shape_class
    flags = (("run_time", "--run-time"), ("users", "--users"), ("spawn_rate", "--spawn-rate"))
    ignored = [flag for name, flag in flags if name in options.given]
    if shape is None or getattr(shape, "use_common_options", False) or not ignored:
        return
    log.warning(
        "--run-time, --users or --spawn-rate have no impact on LoadShapes unless the shape class explicitly reads "
        "them. See: docs.locust.io/en/stable/custom-load-shape.html#use-common-options"
    )
    log.warning(f"The following option(s) will be ignored: {', '.join(ignored)}")


def _fire_parser_event(parser: Parser) -> None:
    events.init_command_line_parser.fire(parser=parser)


def run_main(argv: list[str]) -> int:
    """`horde run ARGS`: parse (importing the locustfile first), then list, show or run."""
    if "-V" in argv or "--version" in argv:
        print(version_line())
        return 0
    if "-h" in argv or "--help" in argv:
        parser = build_parser()
        if load_for_options(argv, quiet=True) is not None:
            _fire_parser_event(parser)
        parser.print_help()
        return 0
    try:
        locustfile = load_for_options(argv)
    except LocustfileError as exc:
        return failed(str(exc), exc.exit_code)
    extended: list[Parser] = []

    def extend(parser: Parser) -> None:
        _fire_parser_event(parser)
        extended.append(parser)

    options = resolve(argv, extend=extend if locustfile is not None else None)
    for note in options.notes:
        print(f"horde: {note}", file=sys.stderr)
    for name, text in NOT_YET_EFFECTIVE.items():
        if name in options.given and getattr(options, name) not in (False, -1):
            print(f"horde: {text}", file=sys.stderr)
    if not options.skip_log_setup:
        try:
            setup_logging(options.loglevel, options.logfile)
        except OSError as exc:  # before any load: a run whose log goes nowhere is not started
            return failed(f"--logfile {options.logfile!r}: {exc.strerror or exc}", 2)
    if locustfile is not None:
        problem = several_shapes(locustfile)
        if problem and not options.worker and not options.class_picker:  # a worker never runs a shape
            return failed(problem, 1)
        warn_of_options_a_shape_ignores(options, locustfile)
    if locustfile is not None and (options.list_commands or options.show_task_ratio or options.show_task_ratio_json):
        try:
            classes = list(select_user_classes(locustfile, options.user_classes).values())
        except LocustfileError as exc:
            return failed(str(exc), exc.exit_code)
        users = options.users if "users" in options.given else None
        if options.list_commands:
            print_user_classes(classes)
        elif options.show_task_ratio:
            print_task_ratio(classes, users)
        else:
            print_task_ratio_json(classes, users)
        return 0
    return run_command(options, argv, extended[-1] if extended else None)


def run_command(options: RunOptions, argv: list[str], parser: Parser | None = None) -> int:
    """`horde run` in any role: the exit code, or a `UsageError` for the person running it."""
    web_ui = serves_web_ui(options)
    note = headless_note(options)
    options.headless = not web_ui  # what the run is, as `parsed_options.headless` and the journal's header say
    spec = spec_from_options(options, argv)
    try:
        if web_ui:
            builtin = {action.dest for action in build_parser()._actions}
            return run_with_web_ui(spec, options, web_arguments(parser, builtin))
        if spec.role is Role.WORKER and spec.cluster.processes:
            group = WorkerGroup.start(spec.cluster.processes, without_processes_flag(argv))
            install_stop_signals(group.forward)
            return group.wait()
        if spec.role is Role.WORKER:
            worker = WorkerProcess.prepare(spec)
            install_stop_signals(lambda name: worker.request_quit(f"{name} received"))
            return worker.execute()
        run = Run.prepare(spec)
        if note is not None:  # once the run is ready, so that bad input still gets one line alone
            with contextlib.suppress(OSError):  # stderr may be a closed pipe (`horde run ... 2>&1 | head`)
                print(f"horde: {note}", file=sys.stderr)
        install_stop_signals(run.request_stop)
        keys = KeyboardControl(run.adjustable_target, run.change_users)
        keys.start()
        try:
            return run.execute()
        finally:
            keys.stop()
    except RunError as exc:
        return failed(str(exc), exc.exit_code)


def failed(message: str, exit_code: int) -> int:
    """One line; the exit code Locust gives for the fault, or a `UsageError` (2) for bad input."""
    if exit_code == 2:
        raise UsageError(message)
    print(f"horde: error: {message}", file=sys.stderr)
    return exit_code
