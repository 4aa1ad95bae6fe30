"""Flags, configuration files and environment variables of `horde run`, resolved into one `RunOptions`.

Flags keep Locust's names wherever Locust has the flag, so a command line moves over unchanged. Precedence, lowest
first: built-in defaults, `[tool.horde]` in ./pyproject.toml, ./horde.toml (or --config FILE), HORDE_* environment
variables, command-line flags.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, NoReturn


class UsageError(Exception):
    """Bad input from the person running horde: one line, exit code 2."""


_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$")


def parse_duration(text: str, flag: str) -> float:
    """Locust's duration syntax: `300`, `20s`, `3m`, `1h30m`, `1h30m20s`."""
    value = str(text).strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        match = _DURATION.match(value)
        if not value or match is None or not any(match.groups()):
            raise UsageError(f"{flag}: invalid duration {text!r} (use e.g. 300, 20s, 3m, 1h30m)") from None
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds < 0 or not math.isfinite(seconds):
        raise UsageError(f"{flag}: duration must be a positive number of seconds, got {text!r}")
    return seconds


@dataclass(slots=True)
class RunOptions:
    locustfile: str | None = None
    user_classes: list[str] = field(default_factory=list)
    users: int = 1
    spawn_rate: float = 1.0
    run_time: float | None = None
    host: str | None = None
    tags: list[str] | None = None
    exclude_tags: list[str] | None = None
    stop_timeout: float = 0.0
    journal: str | None = None
    journal_checkpoint_mb: float = 16.0
    csv: str | None = None
    json: str | None = None
    # --- plugins (horde.plugin, ADR 0008) ---
    html: str | None = None
    threshold: list[str] = field(default_factory=list)
    plugin: list[str] = field(default_factory=list)
    plugin_opt: list[str] = field(default_factory=list)
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    # --- end plugins ---
    loglevel: str = "INFO"
    only_summary: bool = False
    exit_code_on_error: int = 1
    stats_interval: float = 2.0
    heartbeat_interval: float = 1.0
    heartbeat_liveness: int = 3
    master: bool = False
    worker: bool = False
    expect_workers: int = 1
    expect_workers_max_wait: float = 0.0
    master_host: str = "127.0.0.1"
    master_port: int = 5557
    master_bind_host: str = "*"
    master_bind_port: int = 5557
    quit_when_master_lost: bool = False
    processes: int = 0
    resume: str | None = None
    auth_token: str | None = None
    headless: bool = True


_INT_FIELDS = {
    "users",
    "exit_code_on_error",
    "heartbeat_liveness",
    "expect_workers",
    "master_port",
    "master_bind_port",
    "processes",
}
_FLOAT_FIELDS = {"spawn_rate", "stats_interval", "heartbeat_interval", "journal_checkpoint_mb"}
_DURATION_FIELDS = {"run_time", "stop_timeout", "expect_workers_max_wait"}
_BOOL_FIELDS = {"only_summary", "master", "worker", "headless", "quit_when_master_lost"}
_LIST_FIELDS = {"tags", "exclude_tags", "user_classes", "threshold", "plugin", "plugin_opt"}
_OPTION_NAMES = {f.name for f in fields(RunOptions)}


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is a `UsageError` (one line, exit 2) like every other bad input."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="horde run",
        description="Run a load test described by a locustfile, locally or as master/worker.",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    parser.add_argument("user_classes", nargs="*", metavar="UserClass", help="only run these User classes")
    parser.add_argument("-f", "--locustfile", help="Python file with User classes ('-' on a worker: ask the master)")
    parser.add_argument("--config", help="a TOML file of options (default: ./horde.toml if present)")
    parser.add_argument("-u", "--users", help="peak number of concurrent users (default 1)")
    parser.add_argument("-r", "--spawn-rate", help="users started per second, fractions allowed (default 1)")
    parser.add_argument("-t", "--run-time", help="stop after this long, e.g. 300s, 20m, 1h30m (default: forever)")
    parser.add_argument("-H", "--host", help="base URL of the system under test, e.g. http://127.0.0.1:8080")
    parser.add_argument("--headless", action="store_true", help="accepted for Locust compatibility; always on")
    parser.add_argument("-T", "--tags", nargs="*", help="only run tasks with any of these tags")
    parser.add_argument("-E", "--exclude-tags", nargs="*", help="do not run tasks with any of these tags")
    parser.add_argument("-s", "--stop-timeout", help="time users get to finish their task on stop (default 0)")
    parser.add_argument(
        "--journal",
        help="where to write the run's event journal (default: ./horde-runs/<start time>-<run id>.jsonl)",
    )
    parser.add_argument(
        "--journal-checkpoint-mb",
        metavar="MB",
        help="journal megabytes between the checkpoints that make replay and --resume fast (default 16; 0: none)",
    )
    parser.add_argument("--csv", metavar="PREFIX", help="write Locust-compatible CSV files PREFIX_stats.csv etc.")
    parser.add_argument("--json", metavar="PATH", help="write the final summary as JSON to PATH ('-' = stdout)")
    # --- plugins (horde.plugin, ADR 0008) ---
    parser.add_argument("--html", metavar="PATH", help="write a self-contained HTML report to PATH")
    parser.add_argument(
        "--threshold", action="append", metavar="RULE", help="pass/fail rule, e.g. 'p95<500', 'fail_ratio<0.01'"
    )
    parser.add_argument("--plugin", action="append", metavar="NAME|module:Class", help="load a plugin (repeatable)")
    parser.add_argument(
        "--plugin-opt", action="extend", nargs="+", metavar="NAME.key=value", help="configure a plugin (repeatable)"
    )
    # --- end plugins ---
    parser.add_argument("-L", "--loglevel", help="DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO)")
    parser.add_argument("--only-summary", action="store_true", help="print only the final summary")
    parser.add_argument("--exit-code-on-error", help="exit code when any request failed (default 1)")
    parser.add_argument("--stats-interval", help="seconds between a worker's statistics reports (default 2)")
    parser.add_argument("--heartbeat-interval", help="seconds between heartbeats, both ways (default 1)")
    parser.add_argument("--heartbeat-liveness", help="missed heartbeats before a worker counts as missing (default 3)")
    parser.add_argument("--master", action="store_true", help="run as master: workers run the users")
    parser.add_argument("--worker", action="store_true", help="run as worker of a master")
    parser.add_argument("--expect-workers", help="workers to wait for before starting (default 1)")
    parser.add_argument("--expect-workers-max-wait", help="give up waiting for workers after this long (0: never)")
    parser.add_argument("--master-host", help="the master a worker connects to (default 127.0.0.1)")
    parser.add_argument("--master-port", help="the master's port (default 5557)")
    parser.add_argument("--master-bind-host", help="interface the master binds (default *: all)")
    parser.add_argument("--master-bind-port", help="port the master binds (default 5557)")
    parser.add_argument(
        "--processes",
        metavar="N",
        help="start N worker processes on this machine (-1: one per core); without --worker, this process is "
        "their master",
    )
    parser.add_argument(
        "--quit-when-master-lost",
        action="store_true",
        help="a worker exits when the master is gone instead of reconnecting",
    )
    parser.add_argument(
        "--auth-token",
        metavar="TOKEN",
        help="a shared secret workers must present to the master (better: HORDE_AUTH_TOKEN); never journaled",
    )
    parser.add_argument(
        "--resume",
        metavar="JOURNAL",
        help="with --master: take over the run a killed master was driving, from its journal",
    )
    return parser


def _coerce(name: str, value: Any, origin: str) -> Any:
    flag = f"--{name.replace('_', '-')}"
    where = f"{flag} ({origin})" if origin != "command line" else flag
    try:
        if name in _INT_FIELDS:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(str(value).strip())
        if name in _FLOAT_FIELDS:
            return float(value)
        if name in _DURATION_FIELDS:
            return parse_duration(str(value), where)
        if name in _BOOL_FIELDS:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off", ""):
                return False
            raise ValueError
        if name in _LIST_FIELDS:
            if isinstance(value, str):
                return [part for part in re.split(r"[,\s]+", value) if part]
            return [str(part) for part in value]
        return None if value is None else str(value)
    except ValueError:
        raise UsageError(f"{where}: invalid value {value!r}") from None


def _from_mapping(values: Mapping[str, Any], origin: str) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        if name == "plugins":  # [plugins.NAME] tables configure plugins (ADR 0008)
            if not isinstance(value, dict) or not all(isinstance(t, dict) for t in value.values()):
                raise UsageError(f"{origin}: [plugins] must hold one table per plugin, e.g. [plugins.prometheus]")
            resolved["plugin_config"] = value
            continue
        if name not in _OPTION_NAMES:
            raise UsageError(f"{origin}: unknown option {key!r}")
        resolved[name] = _coerce(name, value, origin)
    return resolved


def _read_toml(path: str, table: Sequence[str] = ()) -> dict[str, Any]:
    try:
        with open(path, "rb") as f:
            data: dict[str, Any] = tomllib.load(f)
    except FileNotFoundError:
        raise UsageError(f"config file {path!r} does not exist") from None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise UsageError(f"config file {path!r}: {exc}") from None
    for key in table:
        data = data.get(key, {})
        if not isinstance(data, dict):
            raise UsageError(f"config file {path!r}: [{'.'.join(table)}] is not a table")
    return data


def resolve(argv: Sequence[str], environ: Mapping[str, str] | None = None, cwd: str = ".") -> RunOptions:
    environ = os.environ if environ is None else environ
    cli = vars(build_parser().parse_args(list(argv)))
    config_path = cli.pop("config", None)
    layers: list[dict[str, Any]] = []
    pyproject = os.path.join(cwd, "pyproject.toml")
    if os.path.exists(pyproject):
        layers.append(_from_mapping(_read_toml(pyproject, ("tool", "horde")), "pyproject.toml [tool.horde]"))
    default_config = os.path.join(cwd, "horde.toml")
    if config_path is not None or os.path.exists(default_config):
        path = config_path or default_config
        layers.append(_from_mapping(_read_toml(path), os.path.basename(path)))
    env_values = {
        key[len("HORDE_") :].lower(): value
        for key, value in environ.items()
        if key.startswith("HORDE_") and key[len("HORDE_") :].lower() in _OPTION_NAMES
    }
    layers.append(_from_mapping(env_values, "environment"))
    layers.append({name: _coerce(name, value, "command line") for name, value in cli.items()})
    options = RunOptions()
    for layer in layers:
        for name, value in layer.items():
            setattr(options, name, value)
    _validate(options)
    return options


def _validate(options: RunOptions) -> None:
    if options.users < 0:
        raise UsageError(f"-u/--users must be 0 or more, got {options.users}")
    if not (options.spawn_rate > 0 and math.isfinite(options.spawn_rate)):
        raise UsageError(f"-r/--spawn-rate must be a number above 0, got {options.spawn_rate:g}")
    if options.run_time is not None and options.run_time <= 0:
        raise UsageError("-t/--run-time must be above 0")
    if options.stats_interval <= 0 or options.heartbeat_interval <= 0:
        raise UsageError("--stats-interval and --heartbeat-interval must be above 0")
    if not (options.journal_checkpoint_mb >= 0 and math.isfinite(options.journal_checkpoint_mb)):
        raise UsageError(f"--journal-checkpoint-mb must be 0 or more, got {options.journal_checkpoint_mb:g}")
    if options.heartbeat_liveness < 1:
        raise UsageError("--heartbeat-liveness must be 1 or more")
    if options.resume and not options.master:
        raise UsageError("--resume JOURNAL takes over a distributed run: it needs --master")
    if options.master and options.worker:
        raise UsageError("--master and --worker cannot be combined")
    if options.processes < -1:
        raise UsageError(f"--processes must be -1 (one per core), 0 or more, got {options.processes}")
    if options.expect_workers < 1:
        raise UsageError("--expect-workers must be 1 or more")
    if options.loglevel.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise UsageError(f"-L/--loglevel: unknown level {options.loglevel!r}")
    if not options.locustfile:
        raise UsageError("no locustfile given: use -f FILE (or set locustfile in horde.toml)")
    if options.locustfile == "-" and not options.worker:
        raise UsageError("-f - (ask the master for the locustfile) only works with --worker")
