"""Environment as a library, as Locust documents it: `env.create_local_runner()`, `runner.start(...)`,
`runner.greenlet.join()`, then `env.stats`.

Each create_*_runner builds the same `Run` the command line builds (`Run.prepare_loaded` for a local run or a
master, `WorkerProcess.prepare_loaded` for a worker), over the script's own Environment and user classes, and
drives it from a greenlet in `runner.greenlet`: wait until the run stops, finish it (final statistics, `quitting`,
every actor stopped), then end the other greenlets of the group, so `runner.greenlet.join()` returns once the run
is over, as Locust's does after `runner.quit()`. Importing this module installs it as the Environment's
`runner_factory` (ADR 0016).
"""

from __future__ import annotations

import weakref
from typing import Any

import gevent
import gevent.monkey
import gevent.pool

from horde.run.lifecycle import Run, RunError
from horde.run.spec import ClusterSpec, LoadSpec, Role, RunSpec
from horde.run.worker_process import WorkerProcess
from horde.runtime.environment import Environment

LIBRARY_RUN_NAME = "<environment>"
"""What the journal names as the run's locustfile: the classes came from a script's Environment."""


_runs: weakref.WeakKeyDictionary[Environment, Run] = weakref.WeakKeyDictionary()
"""The run each Environment's local or master runner drives, for the web UI a script creates over it."""


def run_of(environment: Environment) -> Run | None:
    """The run `create_local_runner` or `create_master_runner` made for `environment` (None: neither was called)."""
    return _runs.get(environment)


def library_spec(environment: Environment, role: Role, cluster: ClusterSpec | None = None) -> RunSpec:
    """The spec of a run the script will start itself (`runner.start`): the Environment's host, tags and stop
    timeout; everything else horde's defaults (the journal in `horde-runs/`)."""
    return RunSpec(
        LIBRARY_RUN_NAME,
        role=role,
        load=LoadSpec(
            host=environment.host,
            tags=tuple(environment.tags) if environment.tags is not None else None,
            exclude_tags=tuple(environment.exclude_tags) if environment.exclude_tags is not None else None,
            stop_timeout=float(environment.stop_timeout or 0.0),
            reset_stats=bool(environment.reset_stats),
        ),
        cluster=cluster or ClusterSpec(),
        parsed_options=environment.parsed_options,
    )


def _require_gevent() -> None:
    """Users, actors and the script share one thread of greenlets only once the standard library is patched."""
    if not gevent.monkey.is_module_patched("threading"):
        raise RunError(
            "horde as a library needs gevent's patching first: put "
            "`from gevent import monkey; monkey.patch_all()` at the top of the script"
        )


def _end_group(group: gevent.pool.Group) -> None:
    """The run is over: end the group's other greenlets (a stats printer, a custom loop), as Locust's quit."""
    current = gevent.getcurrent()
    for greenlet in list(group):
        if greenlet is not current:
            greenlet.kill(block=False)


def _drive_run(run: Run, group: gevent.pool.Group) -> int:
    try:
        run.wait()
        return run.finish()
    finally:
        _end_group(group)


def _drive_worker(process: WorkerProcess, group: gevent.pool.Group) -> int:
    try:
        return process.execute()
    finally:
        _end_group(group)


class LibraryRunners:
    """The RunnerFactory: what `Environment.create_*_runner` calls."""

    def local(self, environment: Environment) -> Any:
        _require_gevent()
        run = Run.prepare_loaded(library_spec(environment, Role.LOCAL), environment)
        _runs[environment] = run
        return self._driven(environment.runner, _drive_run, run)

    def master(self, environment: Environment, bind_host: str, bind_port: int) -> Any:
        _require_gevent()
        cluster = ClusterSpec(bind_host=bind_host, bind_port=bind_port)
        run = Run.prepare_loaded(library_spec(environment, Role.MASTER, cluster), environment)
        _runs[environment] = run
        return self._driven(environment.runner, _drive_run, run)

    def worker(self, environment: Environment, master_host: str, master_port: int) -> Any:
        _require_gevent()
        cluster = ClusterSpec(master_host=master_host, master_port=master_port)
        process = WorkerProcess.prepare_loaded(library_spec(environment, Role.WORKER, cluster), environment)
        return self._driven(environment.runner, _drive_worker, process)

    @staticmethod
    def _driven(runner: Any, drive: Any, subject: Any) -> Any:
        runner.greenlet.spawn(drive, subject, runner.greenlet)
        return runner


Environment.runner_factory = LibraryRunners()
