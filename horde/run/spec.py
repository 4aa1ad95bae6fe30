"""What a run is asked to do, as one typed value that is valid by construction.

A `RunSpec` is all a `Run` needs, whoever builds it: the command line (`horde.cli`), a library user, and next the
web UI and `--processes`. Each part groups the settings of one concern, so a reader sees at a glance which
settings the load, the cluster, the journal or the worker process use. Validation lives here, not in the CLI, so
a spec from any source is checked the same way; a `SpecError` names the field, and each front end says it in its
own words (the CLI as a flag).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from horde.actors.journal import CHECKPOINT_MIN_BYTES


class SpecError(ValueError):
    """A setting out of its range; `field` is the setting's name (`users`, `cluster.expect_workers`)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field} {problem}")
        self.field = field
        self.problem = problem


class Role(StrEnum):
    """What this process is in the run: all of it, its master, or one of its workers."""

    LOCAL = "local"
    MASTER = "master"
    WORKER = "worker"


_HOST = re.compile(r"[A-Za-z0-9_]([A-Za-z0-9_.-]{0,252})|\[?[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?\]?")
"""What ZeroMQ can connect to or bind: a DNS name (underscores allowed, as resolvers do), an IPv4 or IPv6
address; anything else (`bad host!`) would only fail later, inside libzmq, with a traceback."""


def _check(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise SpecError(name, problem)


def _positive(value: float, name: str) -> None:
    _check(value > 0 and math.isfinite(value), name, f"must be a number above 0, got {value:g}")


@dataclass(frozen=True, slots=True)
class LoadSpec:
    """The load: which users, how many, how fast, against what, for how long. A LoadTestShape overrides the
    counts and rates; `users` and `spawn_rate` are then only what a person would start by hand."""

    user_classes: tuple[str, ...] = ()
    users: int = 1
    spawn_rate: float = 1.0
    run_time: float | None = None
    host: str | None = None
    tags: tuple[str, ...] | None = None
    exclude_tags: tuple[str, ...] | None = None
    stop_timeout: float = 0.0
    reset_stats: bool = False
    """Locust's `--reset-stats`: the statistics start afresh each time a ramp completes (ADR 0020)."""
    user_configs: tuple[Mapping[str, Any], ...] = ()
    """Locust's `--config-users`: settings for user classes (`user_class_name`, `weight`, `tasks`, ...), applied
    before the Dispatcher reads the weights, and sent to the workers with each spawn."""
    equal_weights: bool = False
    """Locust's `--equal-weights`: every class weight 1 and every task equally likely."""

    def __post_init__(self) -> None:
        _check(self.users >= 0, "users", f"must be 0 or more, got {self.users}")
        _positive(self.spawn_rate, "spawn_rate")
        _check(self.run_time is None or self.run_time > 0, "run_time", "must be above 0")
        _check(self.stop_timeout >= 0 and math.isfinite(self.stop_timeout), "stop_timeout", "must be 0 or more")


@dataclass(frozen=True, slots=True)
class LivenessSpec:
    """How often master and workers hear from each other, and how much silence means one is gone (ADR 0007)."""

    heartbeat_interval: float = 1.0
    heartbeat_liveness: int = 3
    stats_interval: float = 2.0

    def __post_init__(self) -> None:
        _positive(self.heartbeat_interval, "heartbeat_interval")
        _positive(self.stats_interval, "stats_interval")
        _check(self.heartbeat_liveness >= 1, "heartbeat_liveness", "must be 1 or more")


@dataclass(frozen=True, slots=True)
class JournalSpec:
    """Where the journal goes (None: `horde-runs/<start>-<run id>.journal`), its checkpoint spacing (ADR 0009,
    0: none), and `resume`, the journal of a killed master whose run this one carries on."""

    path: str | None = None
    checkpoint_bytes: int = CHECKPOINT_MIN_BYTES
    resume: str | None = None

    def __post_init__(self) -> None:
        _check(self.checkpoint_bytes >= 0, "journal.checkpoint_bytes", "must be 0 or more")


@dataclass(frozen=True, slots=True)
class ClusterSpec:
    """How the master and its workers find each other. A local run ignores all of it but the auth token."""

    expect_workers: int = 1
    expect_workers_max_wait: float = 0.0
    bind_host: str = "*"
    bind_port: int = 5557
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    quit_when_master_lost: bool = False
    auth_token: str = field(default="", repr=False)
    master_secret_key: str | None = None
    """The master's key pair file (`NAME.key_secret`); with `worker_public_keys`, only those workers join."""
    worker_public_keys: str | None = None
    """A folder of `*.key` files (or one file): the workers the master admits, read again on each connection."""
    worker_secret_key: str | None = None
    """A worker's key pair file; with `master_public_key`, the worker only talks to that master (ADR 0024)."""
    master_public_key: str | None = None
    processes: int = 0
    """Worker processes the run starts on this machine (Locust's `--processes`): a local run becomes a master
    on 127.0.0.1 with that many local workers, a master adds them to its remote ones. 0: none."""

    def __post_init__(self) -> None:
        _check(self.expect_workers >= 1, "cluster.expect_workers", "must be 1 or more")
        _check(self.processes >= 0, "cluster.processes", f"must be 0 or more, got {self.processes}")
        _check(self.expect_workers_max_wait >= 0, "cluster.expect_workers_max_wait", "must be 0 or more")
        master_keys = (self.master_secret_key, self.worker_public_keys)
        worker_keys = (self.worker_secret_key, self.master_public_key)
        for pair, other in ((master_keys, "--worker-public-keys"), (worker_keys, "--master-public-key")):
            field_name = "cluster.master_secret_key" if pair is master_keys else "cluster.worker_secret_key"
            _check(all(pair) or not any(pair), field_name, f"and {other} go together")
        _check(
            not (self.auth_token and any(master_keys + worker_keys)),
            "cluster.auth_token",
            "or keys: give one or the other (keys are stronger)",
        )
        for name, port in (("bind_port", self.bind_port), ("master_port", self.master_port)):
            _check(0 <= port <= 65535, f"cluster.{name}", f"must be a port number (0-65535), got {port}")
        _check(
            _HOST.fullmatch(self.master_host) is not None,
            "cluster.master_host",
            f"must be a host name or an IP address, got {self.master_host!r}",
        )
        _check(
            self.bind_host == "*" or _HOST.fullmatch(self.bind_host) is not None,
            "cluster.bind_host",
            f"must be *, an interface, a host name or an IP address, got {self.bind_host!r}",
        )


@dataclass(frozen=True, slots=True)
class PluginChoice:
    """One plugin to load: an entry-point name or `module:Class`, and its options (ADR 0008)."""

    reference: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunSpec:
    """A whole run. `settings` is every resolved option by name, as locustfiles (`environment.parsed_options`) and
    plugins (`context.options`) read them; `command_line` goes into the journal's header, secrets redacted."""

    locustfile: str
    role: Role = Role.LOCAL
    load: LoadSpec = field(default_factory=LoadSpec)
    liveness: LivenessSpec = field(default_factory=LivenessSpec)
    journal: JournalSpec = field(default_factory=JournalSpec)
    cluster: ClusterSpec = field(default_factory=ClusterSpec)
    plugins: tuple[PluginChoice, ...] = ()
    plugin_options: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Options by plugin name, on top of the chosen plugin of that name; a name no chosen plugin has is loaded as
    the installed plugin of that name (ADR 0008)."""
    exit_code_on_error: int = 1
    profile: str | None = None
    """Locust's `--profile`: a name grouping test runs (`environment.profile`, shown in the HTML report)."""
    settings: Mapping[str, Any] = field(default_factory=dict)
    parsed_options: Any = None
    worker_options: Mapping[str, Any] = field(default_factory=dict)
    """Options the master hands its workers with each spawn, as Locust does: a locustfile's own arguments
    (`init_command_line_parser`) that are not at their default. Plain values only: they cross the wire."""
    command_line: Sequence[str] = ()
    secrets: tuple[str, ...] = field(default=(), repr=False)
    """Values never to be written (a locustfile's `is_secret` arguments); the auth token is always one."""

    @property
    def secret_values(self) -> tuple[str, ...]:
        return tuple(v for v in (*self.secrets, self.cluster.auth_token) if v)

    def __post_init__(self) -> None:
        _check(bool(self.locustfile), "locustfile", "must be given")
        _check(
            self.locustfile != "-" or self.role is Role.WORKER,
            "locustfile",
            "'-' (ask the master for it) only works on a worker",
        )
        _check(self.journal.resume is None or self.role is Role.MASTER, "journal.resume", "needs the master role")
        _check(0 <= self.exit_code_on_error <= 255, "exit_code_on_error", "must be 0-255")

    @property
    def expected_workers(self) -> int:
        """The workers the run waits for before it spawns: a local run has exactly its own (one in this process,
        or its `--processes`); a master its `--expect-workers`, and at least its own local processes."""
        if self.role is Role.LOCAL:
            return self.cluster.processes or 1
        return max(self.cluster.expect_workers, self.cluster.processes)
