"""`horde run`: turn resolved options into a `RunSpec`, run it, turn the outcome into an exit code.

Nothing here knows how a run works: that is `horde.run`. This module knows flags (which flag a spec field came
from, to name it in an error) and the process (signals).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from collections.abc import Callable

import gevent

from horde.cli.console import plugin_list
from horde.cli.options import RunOptions, UsageError
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

MEGABYTE = 1024 * 1024

FLAGS = {
    "users": "-u/--users",
    "spawn_rate": "-r/--spawn-rate",
    "run_time": "-t/--run-time",
    "stop_timeout": "-s/--stop-timeout",
    "locustfile": "-f/--locustfile",
    "journal.checkpoint_bytes": "--journal-checkpoint-mb",
    "journal.resume": "--resume",
}
"""The flag of each spec field whose flag is not simply `--` and the field's name."""


def flag_of(field: str) -> str:
    return FLAGS.get(field, "--" + field.rpartition(".")[2].replace("_", "-"))


def spec_from_options(options: RunOptions, argv: list[str]) -> RunSpec:
    """The spec the options describe; a value out of range is a `UsageError` naming its flag."""
    assert options.locustfile is not None
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
                processes=(os.cpu_count() or 1) if options.processes == -1 else options.processes,
            ),
            plugins=tuple(PluginChoice(reference, options) for reference, options in plugins),
            plugin_options=plugin_options,
            exit_code_on_error=options.exit_code_on_error,
            settings=dataclasses.asdict(options),
            parsed_options=options,
            command_line=[_redact(arg, options.auth_token) for arg in argv],
        )
    except SpecError as exc:
        raise UsageError(f"{flag_of(exc.field)} {exc.problem}") from None


def _redact(arg: str, secret: str | None) -> str:
    if not secret:
        return arg
    if arg == secret:
        return "<redacted>"
    return arg.replace(secret, "<redacted>")


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
            os._exit(130)
        print(f"\nhorde: {name} received, stopping (again to exit at once)", file=sys.stderr)
        request_stop(name)

    gevent.signal_handler(signal.SIGINT, on_signal, "SIGINT")
    gevent.signal_handler(signal.SIGTERM, on_signal, "SIGTERM")


def run_command(options: RunOptions, argv: list[str]) -> int:
    """`horde run` in any role: the exit code, or a `UsageError` for the person running it."""
    spec = spec_from_options(options, argv)
    try:
        if spec.role is Role.WORKER and spec.cluster.processes:
            group = WorkerGroup.start(spec.cluster.processes, without_processes_flag(argv))
            install_stop_signals(group.forward)
            return group.wait()
        if spec.role is Role.WORKER:
            worker = WorkerProcess.prepare(spec)
            install_stop_signals(lambda name: worker.request_quit(f"{name} received"))
            return worker.execute()
        run = Run.prepare(spec)
        install_stop_signals(run.request_stop)
        return run.execute()
    except RunError as exc:
        if exc.exit_code != 2:  # a fault Locust gives its own exit code for, still said in one line
            print(f"horde: error: {exc}", file=sys.stderr)
            return exc.exit_code
        raise UsageError(str(exc)) from None
