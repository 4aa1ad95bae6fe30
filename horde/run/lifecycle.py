"""The life of a run, one sequence for every kind of run: prepare, start, wait, finish.

A local run, a distributed master and (next) `--processes` and a run started from the web UI differ only in their
`Cluster` (how the master reaches its workers) and in who calls `start`: the command line at once, the UI when a
person presses Start. Everything else happens here, in this order, once:

1. prepare: load the locustfile and the plugins (before the journal exists, ADR 0008), build the Environment, open
   the journal (or reopen a killed master's, `--resume`), assemble the control plane, let the plugins subscribe,
   bring the workers, fire `init`;
2. start: set the target (or let the LoadTestShape drive it);
3. wait: until the expected workers are there, then until the Master says the run stopped;
4. finish: release the workers, read the merged statistics, fire `quitting`, let the plugins write their reports
   and give their verdict, stop every actor, fire `quit`, return the exit code.
"""

from __future__ import annotations

import os
import random
import time
import uuid
from typing import IO, Any

import structlog

from horde._version import __version__
from horde.actors.control_plane import ControlPlane, ShapeFunction
from horde.actors.journal import (
    JournalUnwritable,
    journal_format_for,
    journal_header,
    open_journal_file,
    reopen_journal_file,
)
from horde.actors.plugin import PluginError
from horde.actors.plugin_host import PluginHost
from horde.actors.replay import ReplayedFile, replay_file
from horde.actors.runners import MasterRunner
from horde.protocol.dispatcher_vocabulary import UserClassSpec
from horde.protocol.events import RunConfigured
from horde.protocol.journal import Header, JournalError
from horde.protocol.states import RunState
from horde.run.cluster import Cluster, ClusterError, LocalCluster, ProcessCluster, ZmqCluster
from horde.run.secrets import scrub, scrub_settings
from horde.run.spec import Role, RunSpec
from horde.runtime.environment import Environment
from horde.runtime.locustfile import Locustfile, LocustfileError, load_locustfile, select_user_classes
from horde.runtime.memory_guard import too_many_users
from horde.runtime.shape import shape_target
from horde.runtime.users import User
from horde.stats.locust_api import RequestStats
from horde.stats.run_stats import RunStats

log = structlog.get_logger("horde")


class RunError(Exception):
    """What stops a run from being prepared or makes it pointless: one line for the person.

    The exit code is 2 (bad input) unless Locust gives another for the same fault, e.g. 1 when an init listener
    raised, or the code a locustfile passed to ``sys.exit`` while being imported.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def default_journal_path(run_id: str) -> str:
    return f"horde-runs/{time.strftime('%Y%m%d-%H%M%S')}-{run_id}.journal"


def load_user_classes(locustfile_path: str, names: tuple[str, ...]) -> tuple[Locustfile, dict[str, type[User]]]:
    try:
        locustfile = load_locustfile(locustfile_path)
        return locustfile, select_user_classes(locustfile, list(names))
    except LocustfileError as exc:
        raise RunError(str(exc), exc.exit_code) from None


def class_specs(classes: dict[str, type[User]]) -> list[UserClassSpec]:
    """What the Dispatcher needs of each User class, in name order."""
    return [
        UserClassSpec(name, float(getattr(cls, "weight", 1)), int(getattr(cls, "fixed_count", 0) or 0))
        for name, cls in sorted(classes.items())
    ]


def run_configuration(spec: RunSpec, classes: dict[str, type[User]], shaped: bool = False) -> RunConfigured:
    """The run's settings as the journal's first event records them, for the Master and for replay.

    A run driven by a LoadTestShape has no run time of its own: as in Locust, the shape decides when it ends
    (`--run-time` reaches it only through `parsed_options`, for a shape with `use_common_options`).
    """
    return RunConfigured(
        user_classes={c.name: (c.weight, c.fixed_count) for c in class_specs(classes)},
        expect_workers=spec.expected_workers,
        run_time=None if shaped else spec.load.run_time,
        stop_timeout=spec.load.stop_timeout,
        heartbeat_interval=spec.liveness.heartbeat_interval,
        heartbeat_liveness=spec.liveness.heartbeat_liveness,
        host=spec.load.host,
        reset_stats=spec.load.reset_stats,
    )


def make_environment(
    spec: RunSpec, classes: dict[str, type[User]], locustfile: Locustfile | None, recorder: Any
) -> Environment:
    """The Environment of every kind of process: a master has no recorder, a worker no shape. The user classes
    get the run's `--config-users` and `--equal-weights` here, before the Dispatcher reads their weights."""
    load = spec.load
    environment = Environment(
        user_classes=list(classes.values()),
        host=load.host,
        tags=list(load.tags) if load.tags is not None else None,
        exclude_tags=list(load.exclude_tags) if load.exclude_tags is not None else None,
        stop_timeout=load.stop_timeout,
        parsed_options=spec.parsed_options,
        reset_stats=load.reset_stats,
        shape_class=locustfile.shape_class if locustfile is not None else None,
        stats=recorder,
        profile=spec.profile,
    )
    configure_user_classes(environment, load.user_configs, load.equal_weights)
    return environment


def configure_user_classes(environment: Environment, configs: Any, equal_weights: bool) -> None:
    """Locust's order: each `--config-users` setting, then `--equal-weights`; a class the run does not have is
    a `RunError` (one line, exit 2)."""
    try:
        environment.configure_user_classes(configs, equal_weights)
    except ValueError as exc:
        raise RunError(f"--config-users: {exc}" if configs else f"--equal-weights: {exc}") from None


def shape_clock(locustfile: Locustfile, environment: Environment, started_at: float | None) -> ShapeFunction | None:
    """The LoadTestShape's tick as the control plane calls it; `started_at` (monotonic seconds) is when a resumed
    run's shape clock started, so it carries on counting from there."""
    if locustfile.shape_class is None:
        return None
    shape = locustfile.shape_class()
    shape.runner = environment.runner
    shape.reset_time()
    if started_at is not None:  # perf_counter and monotonic share no epoch: carry the elapsed time over
        shape.start_time -= time.monotonic() - started_at

    return lambda: shape_target(shape.tick())


def resumed_run(path: str) -> ReplayedFile:
    """The state a killed master left in its journal, if that run can still be carried on."""
    try:
        replayed = replay_file(path)
    except JournalError as exc:
        raise RunError(str(exc)) from None
    state = replayed.state
    if state.master.config is None:
        raise RunError(f"{path}: the journal ends before the run was configured; nothing to resume")
    if state.master.run_state == RunState.STOPPED:
        raise RunError(f"{path}: that run already stopped; nothing to resume")
    return replayed


def cluster_for(spec: RunSpec, say: Any = print) -> Cluster:
    if spec.role is Role.LOCAL and not spec.cluster.processes:
        return LocalCluster(spec)
    if spec.role in (Role.LOCAL, Role.MASTER):
        try:
            return ProcessCluster(spec, say) if spec.cluster.processes else ZmqCluster(spec, say)
        except ClusterError as exc:
            raise RunError(str(exc)) from None
    raise RunError("a worker takes part in a run; it does not run one (see horde.run.WorkerProcess)")


class Run:
    """One load test from its first event to its exit code. Build it with `Run.prepare(spec)`."""

    def __init__(
        self,
        spec: RunSpec,
        locustfile: Locustfile,
        environment: Environment,
        plugins: PluginHost,
        cluster: Cluster,
        control: ControlPlane,
        journal_path: str,
        replayed: ReplayedFile | None,
    ) -> None:
        self.spec = spec
        self.locustfile = locustfile
        self.environment = environment
        self.plugins = plugins
        self.cluster = cluster
        self.control = control
        self.journal_path = journal_path
        self.replayed = replayed
        self._gave_up = ""
        """Why the run could not start (its workers never came), or empty."""
        self._listener_errors_before = 0

    # --- 1. prepare ---------------------------------------------------------------------------------------------

    @classmethod
    def prepare(cls, spec: RunSpec, cluster: Cluster | None = None, say: Any = print, web_ui: Any = None) -> Run:
        """Everything up to the moment the run can be told to start; a `RunError` leaves nothing running.

        `say` prints a line for the person watching (the master's progress), `print` unless told otherwise.
        `web_ui` is the web UI serving this run, `environment.web_ui` from before `init` fires (as in Locust).
        """
        if spec.role is Role.WORKER:
            raise RunError("a worker takes part in a run; it does not run one (see horde.run.WorkerProcess)")
        locustfile, classes = load_user_classes(spec.locustfile, spec.load.user_classes)
        if spec.role is Role.LOCAL and not spec.cluster.processes and locustfile.shape_class is None:
            problem = too_many_users(spec.load.users)  # they would all live in this process
            if problem:
                raise RunError(f"-u/--users: {problem}")
        return cls._assemble(spec, locustfile, classes, None, cluster, say, fire_init=True, web_ui=web_ui)

    @classmethod
    def prepare_loaded(
        cls, spec: RunSpec, environment: Environment, cluster: Cluster | None = None, say: Any = print
    ) -> Run:
        """`prepare` for user classes already loaded, in an Environment made by user code (Environment as a
        library): the run uses that Environment, and `spec.locustfile` only names the run in its journal. As in
        Locust, the script fires `init` itself once it has its runner."""
        if spec.role is Role.WORKER:
            raise RunError("a worker takes part in a run; it does not run one (see horde.run.WorkerProcess)")
        if not environment.user_classes:
            raise RunError("the Environment has no user classes to run")
        classes = environment.user_classes_by_name
        shape = environment.shape_class if isinstance(environment.shape_class, type) else None
        locustfile = Locustfile(spec.locustfile, classes, shape)
        return cls._assemble(spec, locustfile, classes, environment, cluster, say, fire_init=False)

    @classmethod
    def _assemble(
        cls,
        spec: RunSpec,
        locustfile: Locustfile,
        classes: dict[str, type[User]],
        environment: Environment | None,
        cluster: Cluster | None,
        say: Any,
        fire_init: bool,
        web_ui: Any = None,
    ) -> Run:
        plugins = PluginHost(dict(spec.settings))
        try:
            plugins.load([(choice.reference, dict(choice.options)) for choice in spec.plugins], spec.plugin_options)
        except PluginError as exc:
            raise RunError(str(exc)) from None
        replayed = resumed_run(spec.journal.resume) if spec.journal.resume else None
        if replayed is not None:
            state = replayed.state
            say(
                f"horde master: resuming the run of {spec.journal.resume} after event {state.seq} "
                f"({state.master.run_state})",
                flush=True,
            )
        cluster = cluster or cluster_for(spec, say)
        try:
            if environment is None:
                environment = make_environment(spec, classes, locustfile, cluster.recorder)
            elif cluster.recorder is not None:
                environment.attach_stats(cluster.recorder)
            journal_file, header, journal_path, config = cls._open_journal(
                spec, classes, replayed, locustfile.shape_class is not None
            )
        except BaseException:
            cluster.close()
            raise
        control = ControlPlane(
            config,
            class_specs(classes),
            journal_file,
            header,
            cluster.transport,
            locustfile=_locustfile_for_workers(spec, locustfile),
            resume=replayed.state if replayed else None,
            checkpoint_bytes=spec.journal.checkpoint_bytes,
            worker_options=spec.worker_options,
        )
        plugins.attach(control, journal_path)  # plugins: fed from the journal from here on
        control.listen()
        environment.runner = cluster.join(control, environment)
        control.environment = environment
        # a worker's recorder stays its own `stats`; a local run's is where `log_request` records
        environment.stats = RequestStats(control.stats, recorder=environment.recorder)
        listener_errors = environment.events.listener_errors  # the hooks may be shared with an earlier run
        if web_ui is not None:
            environment.web_ui = web_ui
        if fire_init:
            init_errors = environment.events.init.errors
            environment.events.init.fire(environment=environment, runner=environment.runner, web_ui=web_ui)
            if environment.events.init.errors > init_errors:  # as Locust: fatal, exit code 1, traceback above
                plugins.stop()
                control.shutdown()
                cluster.close()
                raise RunError("an init event listener raised an exception (see above); the run does not start", 1)
        run = cls(spec, locustfile, environment, plugins, cluster, control, journal_path, replayed)
        run._listener_errors_before = listener_errors
        return run

    @staticmethod
    def _open_journal(
        spec: RunSpec, classes: dict[str, type[User]], replayed: ReplayedFile | None, shaped: bool
    ) -> tuple[IO[bytes], Header | None, str, RunConfigured]:
        if replayed is not None:
            assert spec.journal.resume is not None and replayed.state.master.config is not None
            try:
                file = reopen_journal_file(spec.journal.resume)
            except JournalUnwritable as exc:
                raise RunError(str(exc)) from None
            return file, None, spec.journal.resume, replayed.state.master.config
        run_id = uuid.uuid4().hex[:8]
        path = spec.journal.path or default_journal_path(run_id)
        try:
            file = open_journal_file(path)
        except JournalUnwritable as exc:
            raise RunError(str(exc)) from None
        seed = random.randrange(2**32)
        random.seed(seed)
        secrets = spec.secret_values
        command_line = ["horde", "run", *(scrub(arg, secrets) for arg in spec.command_line)]
        settings = scrub_settings(spec.settings, secrets)
        header = journal_header(run_id, command_line, settings, seed, __version__, journal_format_for(path))
        return file, header, path, run_configuration(spec, classes, shaped)

    # --- 2. start -----------------------------------------------------------------------------------------------

    def start(self, users: int | None = None, spawn_rate: float | None = None) -> None:
        """Set the target (the spec's unless a person asks for another), or let the LoadTestShape drive it; a
        resumed run keeps the target its journal says it had."""
        started_at = self.replayed.header.started_mono_ns / 1e9 if self.replayed else None
        shape = shape_clock(self.locustfile, self.environment, started_at)
        if shape is not None:
            self.control.set_shape(shape)
        elif self.replayed is None:
            load = self.spec.load
            self.control.start(load.users if users is None else users, spawn_rate or load.spawn_rate)

    def request_stop(self, reason: str) -> None:
        self.control.request_stop(reason)

    def adjustable_target(self) -> int | None:
        """The target user count a person may change now (keys w/W/s/S), or None: no test is spawning or running,
        or a LoadTestShape sets the target itself."""
        if self.control.shape_running:
            return None
        state = self.control.master_state()
        if state.run_state not in (RunState.SPAWNING, RunState.RUNNING):
            return None
        return state.target_users or 0

    def change_users(self, users: int, spawn_rate: float) -> None:
        """A new target for the test that runs, with the user classes it runs (a class picker's choice stays)."""
        self.control.start(users, spawn_rate, self.control.master_state().user_classes)

    # --- 3. wait ------------------------------------------------------------------------------------------------

    def wait(self) -> None:
        """Until the run stopped; gives up if the expected workers never came (`finish` then says so)."""
        try:
            if not self.cluster.wait_for_workers(self.control):
                cluster = self.spec.cluster
                self._gave_up = (
                    f"only {self.cluster.workers_connected(self.control)} of {self.spec.expected_workers} workers "
                    f"connected within {cluster.expect_workers_max_wait:g} s (--expect-workers-max-wait)"
                )
        except ClusterError as exc:
            self._gave_up = str(exc)
        if self._gave_up:
            self.control.request_stop("expected workers did not connect")
        self.control.wait_stopped()

    # --- 4. finish ----------------------------------------------------------------------------------------------

    def finish(self) -> int:
        """Release the workers, report, stop every actor; the exit code (a `RunError` if workers never came)."""
        environment = self.environment
        try:
            self.cluster.release(self.control)
            stats = self.control.stats()
            if isinstance(environment.stats, RequestStats):
                environment.stats.freeze(stats)  # what `quitting` listeners read: every request of the run
            if isinstance(environment.runner, MasterRunner):
                environment.runner.settle_test_events()  # the master's test_stop comes before `quitting`
            if not self._gave_up:
                environment.events.quitting.fire(environment=environment)  # as Locust: before the summary
            plugin_code = self.plugins.finish(stats, self.journal_path, tuple(environment.user_classes))
        finally:
            self.plugins.stop()
            self.control.shutdown()
            self.cluster.close()
        if self._gave_up:
            raise RunError(self._gave_up)
        code = self.exit_code(stats)
        if plugin_code and environment.process_exit_code is None:  # e.g. a failed threshold
            code = plugin_code
        environment.events.quit.fire(exit_code=code)
        if self.cluster.recorder is not None:
            environment.detach_stats()
        return code

    def exit_code(self, stats: RunStats) -> int:
        """Locust's rule: a locustfile's own `process_exit_code` first, then any failure or exception of a running
        user, then 2 if an event listener or a `User.__init__` raised (Locust's "unhandled greenlet exception":
        its spawning greenlet dies of it; ADR 0025)."""
        if self.environment.process_exit_code is not None:
            return int(self.environment.process_exit_code)
        if stats.total.num_failures or any(not e.at_start for e in stats.exceptions.values()):
            return self.spec.exit_code_on_error
        if self.environment.events.listener_errors > self._listener_errors_before:
            return 2
        if stats.exceptions:
            return 2
        return 0

    def execute(self) -> int:
        """The whole run as the command line drives it: start at once, wait, finish."""
        try:
            self.start()
            self.wait()
        finally:
            code = self.finish()
        return code


LOCUSTFILE_MAX_BYTES = 1024 * 1024
"""The largest locustfile a master hands to workers started with `-f -`."""


def _locustfile_for_workers(spec: RunSpec, locustfile: Locustfile) -> tuple[str, str] | None:
    """What the master hands to a worker started with `-f -`: the file's name and text, if it is one file small
    enough (several files, from a directory or a list, are not handed out)."""
    if spec.role is not Role.MASTER:
        return None
    if len(locustfile.paths) > 1:
        return None
    path = locustfile.paths[0] if locustfile.paths else locustfile.path
    try:
        if os.path.getsize(path) > LOCUSTFILE_MAX_BYTES:
            log.warning("locustfile too large to hand to workers", limit=LOCUSTFILE_MAX_BYTES)
            return None
        with open(path, encoding="utf-8") as f:
            return os.path.basename(path), f.read()
    except OSError:
        return None
