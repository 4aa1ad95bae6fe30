"""`horde run` on one machine: the master's actors and one Worker in the same process (ADR 0001).

There is no separate local runner: the control plane is the one a distributed master builds, and the single
worker talks to it over an in-process link carrying the same typed messages as ZeroMQ would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import signal
import sys
import time
import uuid
from typing import Any

import gevent
import structlog

from horde import __version__
from horde.actors.control_plane import ControlPlane
from horde.actors.journal import JournalUnwritable, journal_header, open_journal_file
from horde.actors.runners import LocalRunner
from horde.actors.worker import WorkerSettings, start_in_process
from horde.cli.console import load_plugins
from horde.cli.options import RunOptions, UsageError
from horde.protocol.dispatch import LOCAL_WORKER_ID, UserClassSpec
from horde.protocol.events import RunConfigured
from horde.protocol.messages import MasterQuit
from horde.protocol.transport import InProcessLink
from horde.runtime.environment import Environment
from horde.runtime.locustfile import Locustfile, LocustfileError, load_locustfile, select_user_classes
from horde.runtime.shape import LoadTestShape
from horde.runtime.users import User
from horde.stats.recorder import StatsRecorder
from horde.stats.run_stats import RunStats

log = structlog.get_logger("horde")

WORKER_QUIT_TIMEOUT = 5.0


def default_journal_path(run_id: str) -> str:
    return os.path.join("horde-runs", f"{time.strftime('%Y%m%d-%H%M%S')}-{run_id}.jsonl")


def load_classes(options: RunOptions) -> tuple[Locustfile, dict[str, type[User]]]:
    assert options.locustfile is not None
    try:
        locustfile = load_locustfile(options.locustfile)
        return locustfile, select_user_classes(locustfile, options.user_classes)
    except LocustfileError as exc:
        raise UsageError(str(exc)) from None


def make_environment(
    options: RunOptions,
    classes: dict[str, type[User]],
    shape_class: type[LoadTestShape] | None = None,
    recorder: StatsRecorder | None = None,
) -> Environment:
    """The Environment of every kind of process: a master has no recorder, a worker no shape."""
    return Environment(
        user_classes=list(classes.values()),
        host=options.host,
        tags=options.tags,
        exclude_tags=options.exclude_tags,
        stop_timeout=options.stop_timeout,
        parsed_options=options,
        shape_class=shape_class,
        stats=recorder,
    )


def class_specs(classes: dict[str, type[User]]) -> list[UserClassSpec]:
    return [
        UserClassSpec(name, float(getattr(cls, "weight", 1)), int(getattr(cls, "fixed_count", 0) or 0))
        for name, cls in sorted(classes.items())
    ]


def run_configuration(options: RunOptions, classes: dict[str, type[User]], expect_workers: int) -> RunConfigured:
    return RunConfigured(
        user_classes={spec.name: (spec.weight, spec.fixed_count) for spec in class_specs(classes)},
        expect_workers=expect_workers,
        run_time=options.run_time,
        stop_timeout=options.stop_timeout,
        heartbeat_interval=options.heartbeat_interval,
        heartbeat_liveness=options.heartbeat_liveness,
        host=options.host,
    )


def open_journal(options: RunOptions, argv: list[str]) -> tuple[Any, Any, str]:
    run_id = uuid.uuid4().hex[:8]
    path = options.journal or default_journal_path(run_id)
    try:
        file = open_journal_file(path)
    except JournalUnwritable as exc:
        raise UsageError(str(exc)) from None
    seed = random.randrange(2**32)
    random.seed(seed)
    config = dataclasses.asdict(options)
    if config.get("auth_token"):
        config["auth_token"] = "<redacted>"
    command_line = ["<redacted>" if arg == options.auth_token else arg for arg in argv]
    header = journal_header(run_id, ["horde", "run", *command_line], config, seed, __version__)
    return file, header, path


def checkpoint_bytes(options: RunOptions) -> int:
    return round(options.journal_checkpoint_mb * 1024 * 1024)


def shape_function(locustfile: Locustfile, environment: Environment, started_at: float | None = None) -> Any:
    """The shape's tick; `started_at` (monotonic seconds, a resumed run's) is when the shape's clock started."""
    if locustfile.shape_class is None:
        return None
    shape = locustfile.shape_class()
    shape.runner = environment.runner
    shape.reset_time()
    if started_at is not None:  # perf_counter and monotonic share no epoch: carry the elapsed time over
        shape.start_time -= time.monotonic() - started_at

    def tick() -> tuple[int, float, tuple[str, ...] | None] | None:
        result = shape.tick()
        if result is None:
            return None
        users, rate, *rest = result
        classes = tuple(sorted(c if isinstance(c, str) else c.__name__ for c in rest[0])) if rest and rest[0] else None
        return int(users), float(rate), classes

    return tick


def install_stop_signals(request_stop: Any) -> None:
    presses = {"count": 0}

    def on_signal(name: str) -> None:
        presses["count"] += 1
        if presses["count"] > 1:
            print("horde: second interrupt, exiting now", file=sys.stderr)
            os._exit(130)
        print(f"\nhorde: {name} received, stopping (again to exit at once)", file=sys.stderr)
        request_stop(name)

    gevent.signal_handler(signal.SIGINT, on_signal, "SIGINT")
    gevent.signal_handler(signal.SIGTERM, on_signal, "SIGTERM")


def exit_code(options: RunOptions, environment: Environment, stats: RunStats) -> int:
    if environment.process_exit_code is not None:
        return int(environment.process_exit_code)
    if stats.total.num_failures or stats.exceptions:
        return options.exit_code_on_error
    return 0


def run_local(options: RunOptions, argv: list[str]) -> int:
    locustfile, classes = load_classes(options)
    plugins = load_plugins(options)  # plugins: configured before the journal exists (ADR 0008)
    recorder = StatsRecorder()
    environment = make_environment(options, classes, locustfile.shape_class, recorder)
    journal_file, header, journal_path = open_journal(options, argv)
    link = InProcessLink(LOCAL_WORKER_ID)
    control = ControlPlane(
        run_configuration(options, classes, expect_workers=1),
        class_specs(classes),
        journal_file,
        header,
        link.master_side,
        shape=None,
        checkpoint_bytes=checkpoint_bytes(options),
    )
    plugins.attach(control, journal_path)  # plugins: fed from the journal from here on
    link.on_master_receive(control.on_worker_message)
    settings = WorkerSettings(
        options.heartbeat_interval, options.stats_interval, options.stop_timeout, options.heartbeat_liveness
    )
    worker = start_in_process(link, environment, recorder, settings, control.handlers)
    environment.runner = LocalRunner(control, environment.runner)
    control.environment = environment
    environment.events.init.fire(environment=environment, runner=environment.runner, web_ui=None)
    shape = shape_function(locustfile, environment)
    if shape is not None:
        control.set_shape(shape)
    else:
        control.start(options.users, options.spawn_rate)
    install_stop_signals(control.request_stop)
    try:
        control.wait_stopped()
    finally:
        worker.tell(MasterQuit("the run is over"))
        with contextlib.suppress(Exception):
            worker.stop(timeout=WORKER_QUIT_TIMEOUT)
        stats = control.stats()
        environment.events.quitting.fire(environment=environment)  # as Locust: before the summary is printed
        plugin_code = plugins.finish(stats, journal_path)  # plugins: reports, summary, thresholds
        plugins.stop()
        control.shutdown()
    code = exit_code(options, environment, stats)
    if plugin_code and environment.process_exit_code is None:  # plugins: e.g. a failed threshold
        code = plugin_code
    environment.events.quit.fire(exit_code=code)
    environment.detach_stats()
    return code
