"""Flags, configuration files and environment variables of `horde run`, resolved into one `RunOptions`.

Flags keep Locust's names wherever Locust has the flag, so a command line moves over unchanged, and Locust's
configuration is read as Locust reads it (ADR 0017). Precedence, lowest first: built-in defaults, ~/.locust.conf,
./locust.conf, `[tool.locust]` then `[tool.horde]` in ./pyproject.toml, ./horde.toml, --config FILE, LOCUST_*
then HORDE_* environment variables, command-line flags. Within one kind of source horde's spelling wins over
Locust's; across kinds the source wins (a flag beats any variable, a variable any file).

Arguments a locustfile adds through `events.init_command_line_parser` are read from every one of those sources
too (a variable only by the `env_var` the argument names, as in Locust); the CLI imports the locustfile before
it parses, as Locust does.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, NoReturn

from horde.runtime.durations import BadDuration, seconds_of


class UsageError(Exception):
    """Bad input from the person running horde: one line, exit code 2."""


def parse_duration(text: str, flag: str) -> float:
    """Locust's duration syntax: `300`, `20s`, `3m`, `1h30m`, `1h30m20s`."""
    try:
        return seconds_of(text)
    except BadDuration as exc:
        raise UsageError(f"{flag}: {exc}") from None


@dataclass(slots=True)
class RunOptions:
    locustfile: str = "locustfile"
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
    csv_full_history: bool = False
    json: bool = False
    json_file: str | None = None
    summary_json: str | None = None
    # --- plugins (horde.plugin, ADR 0008) ---
    html: str | None = None
    threshold: list[str] = field(default_factory=list)
    plugin: list[str] = field(default_factory=list)
    plugin_opt: list[str] = field(default_factory=list)
    plugin_config: dict[str, dict[str, Any]] = field(default_factory=dict)
    # --- end plugins ---
    loglevel: str = "INFO"
    logfile: str | None = None
    skip_log_setup: bool = False
    only_summary: bool = False
    print_stats: bool = False
    reset_stats: bool = False
    list_commands: bool = False
    show_task_ratio: bool = False
    show_task_ratio_json: bool = False
    autostart: bool = False
    autoquit: int = -1
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
    master_secret_key: str | None = None
    worker_public_keys: str | None = None
    worker_secret_key: str | None = None
    master_public_key: str | None = None
    quit_when_master_lost: bool = False
    processes: int = 0
    resume: str | None = None
    auth_token: str | None = None
    headless: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = 8089
    web_auth: str | None = None
    web_login: bool = False
    web_base_path: str = ""
    class_picker: bool = False
    tls_cert: str | None = None
    tls_key: str | None = None
    web_host_display_name: str | None = None
    equal_weights: bool = False
    config_users: list[dict[str, Any]] = field(default_factory=list)
    """Locust's `--config-users`: each a user class's settings (`user_class_name`, `weight`, `tasks`, ...)."""
    profile: str | None = None
    enable_rebalancing: bool = False
    otel: bool = False
    custom: dict[str, Any] = field(default_factory=dict)
    """Values of the arguments the locustfile added (`events.init_command_line_parser`), by dest."""
    custom_secret: set[str] = field(default_factory=set)
    """Dests of custom arguments marked `is_secret`: never journaled nor shown."""
    custom_defaults: dict[str, Any] = field(default_factory=dict)
    given: set[str] = field(default_factory=set)
    """The options set by any source other than the built-in defaults (`-u` for --show-task-ratio)."""
    notes: list[str] = field(default_factory=list)
    """Lines for the person running horde about how an option was read (an old spelling, say)."""


_INT_FIELDS = {
    "users",
    "exit_code_on_error",
    "heartbeat_liveness",
    "expect_workers",
    "master_port",
    "master_bind_port",
    "autoquit",
    "processes",
    "web_port",
}
_FLOAT_FIELDS = {"spawn_rate", "stats_interval", "heartbeat_interval", "journal_checkpoint_mb"}
_DURATION_FIELDS = {"run_time", "stop_timeout", "expect_workers_max_wait"}
_BOOL_FIELDS = {
    "only_summary",
    "master",
    "worker",
    "headless",
    "quit_when_master_lost",
    "csv_full_history",
    "json",
    "skip_log_setup",
    "print_stats",
    "reset_stats",
    "list_commands",
    "show_task_ratio",
    "show_task_ratio_json",
    "autostart",
    "web_login",
    "class_picker",
    "equal_weights",
    "enable_rebalancing",
    "otel",
}
_LIST_FIELDS = {"tags", "exclude_tags", "user_classes", "threshold", "plugin", "plugin_opt"}
_INTERNAL = {"custom", "custom_secret", "custom_defaults", "given", "notes"}
SECRET_OPTIONS = {"auth_token", "web_auth"}
"""Options whose value is a secret: plugins and the journal see only "<redacted>" (key options hold paths)."""
_OPTION_NAMES = {f.name for f in fields(RunOptions)} - _INTERNAL

LOCUST_ENV_NAMES = {
    "LOCUST_MODE_MASTER": "master",
    "LOCUST_MODE_WORKER": "worker",
    "LOCUST_MASTER_NODE_HOST": "master_host",
    "LOCUST_MASTER_NODE_PORT": "master_port",
    "LOCUST_ENABLE_OPENTELEMETRY": "otel",
}
"""Locust's variables whose name is not LOCUST_ and the option's name."""

LOCUST_KEYS = {
    "num_users": "users",
    "csv_prefix": "csv",
    "html_file": "html",
    "stats_history_enabled": "csv_full_history",
}
"""Locust's attribute names, accepted as keys beside the option names."""

REFUSED = {
    "slave": "The --slave parameter has been renamed --worker",
    "expect_slaves": "The --expect-slaves parameter has been renamed --expect-workers",
    "legacy_ui": "--legacy-ui is no longer supported, remove the parameter to continue",
}
"""Locust's old flags, from any source: Locust's own one-line error, exit 2."""

NOT_YET_EFFECTIVE: dict[str, str] = {}
"""Locust's options horde accepts but cannot honour yet: set, each says so in one line on stderr."""


_EXTRAS = ("include_in_web_ui", "is_secret", "env_var", "is_required", "is_multiple")
"""What Locust's parser takes beside argparse's keywords; a locustfile's `add_argument` may pass any of them."""


def _add_with_extras(add: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> argparse.Action:
    extras = {key: kwargs.pop(key) for key in _EXTRAS if key in kwargs}
    action: argparse.Action = add(*args, **kwargs)
    action.include_in_web_ui = extras.get("include_in_web_ui", True)  # type: ignore[attr-defined]
    action.is_secret = extras.get("is_secret", False)  # type: ignore[attr-defined]
    action.env_var = extras.get("env_var")  # type: ignore[attr-defined]
    # is_required and is_multiple shape the web UI's form field for the argument
    action.is_required = extras.get("is_required", False)  # type: ignore[attr-defined]
    action.is_multiple = extras.get("is_multiple", False)  # type: ignore[attr-defined]
    return action


class _Group(argparse._ArgumentGroup):
    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        return _add_with_extras(super().add_argument, args, kwargs)


class Parser(argparse.ArgumentParser):
    """argparse, but a bad argument is a `UsageError` (one line, exit 2) like every other bad input, and
    `add_argument` takes Locust's `include_in_web_ui`, `is_secret`, `env_var`, `is_required` and `is_multiple`,
    so a locustfile's `init_command_line_parser` listener runs unchanged."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        return _add_with_extras(super().add_argument, args, kwargs)

    def add_argument_group(self, *args: Any, **kwargs: Any) -> argparse._ArgumentGroup:
        group = _Group(self, *args, **kwargs)
        self._action_groups.append(group)
        return group

    @property
    def args_included_in_web_ui(self) -> dict[str, argparse.Action]:
        return {a.dest: a for a in self._actions if getattr(a, "include_in_web_ui", False)}

    @property
    def secret_args_included_in_web_ui(self) -> dict[str, argparse.Action]:
        return {dest: a for dest, a in self.args_included_in_web_ui.items() if getattr(a, "is_secret", False)}


def build_parser() -> Parser:
    parser = Parser(
        prog="horde run",
        description="Run a load test described by a locustfile, locally or as master/worker.",
        argument_default=argparse.SUPPRESS,
        allow_abbrev=False,
    )
    parser.add_argument("user_classes", nargs="*", metavar="UserClass", help="only run these User classes")
    parser.add_argument(
        "-f",
        "--locustfile",
        help="Python file, directory of files, comma-separated files or module with User classes "
        "(default: locustfile.py here or in a parent folder; '-' on a worker: ask the master)",
    )
    parser.add_argument(
        "--config", help="a config file: Locust's key = value format, or TOML if it ends with .toml (read last)"
    )
    parser.add_argument("-u", "--users", help="peak number of concurrent users (default 1)")
    parser.add_argument("-r", "--spawn-rate", help="users started per second, fractions allowed (default 1)")
    parser.add_argument("-t", "--run-time", help="stop after this long, e.g. 300s, 20m, 1h30m (default: forever)")
    parser.add_argument("-H", "--host", help="base URL of the system under test, e.g. http://127.0.0.1:8080")
    parser.add_argument(
        "--headless", action="store_true", help="no web UI: start at once (implied by -u or -t without --autostart)"
    )
    parser.add_argument("--autostart", action="store_true", help="serve the web UI and start the run at once")
    parser.add_argument("--autoquit", metavar="SECONDS", help="with the web UI: quit this long after the run ends")
    parser.add_argument("--web-host", help="interface the web UI serves on (default 127.0.0.1)")
    parser.add_argument("-P", "--web-port", help="port of the web UI (default 8089; 0: any free port)")
    parser.add_argument("--web-auth", metavar="USER:PASSWORD", help="the web UI asks for this user and password")
    parser.add_argument("--web-login", action="store_true", help="the web UI asks for a login (needs --web-auth)")
    parser.add_argument("--web-base-path", metavar="PATH", help="serve the web UI under PATH, e.g. /horde")
    parser.add_argument(
        "--class-picker", action="store_true", help="the web UI's form chooses a test's User classes and LoadTestShape"
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve the web UI over HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="the private key (PEM) of --tls-cert")
    parser.add_argument(
        "--web-host-display-name", metavar="URL", help="the web UI's address as printed, e.g. behind a proxy"
    )
    parser.add_argument(
        "-l", "--list", action="store_true", dest="list_commands", help="print the User classes and exit"
    )
    parser.add_argument(
        "--config-users",
        nargs="*",
        metavar="JSON|FILE.json",
        help='user class settings as JSON or a .json file, e.g. \'{"user_class_name": "A", "weight": 3}\'; '
        "an array, or several, for several classes",
    )
    parser.add_argument(
        "--equal-weights",
        action="store_true",
        help="every User class weight 1 and every task equally likely, whatever the locustfile's weights",
    )
    parser.add_argument("--profile", metavar="NAME", help="a name grouping test runs, shown in the reports")
    parser.add_argument(
        "--show-task-ratio", action="store_true", help="print the task ratio of each User class and in total, and exit"
    )
    parser.add_argument("--show-task-ratio-json", action="store_true", help="print the task ratios as JSON and exit")
    parser.add_argument("-V", "--version", action="store_true", help="print horde's version and exit")
    parser.add_argument("-T", "--tags", nargs="*", help="only run tasks with any of these tags")
    parser.add_argument("-E", "--exclude-tags", nargs="*", help="do not run tasks with any of these tags")
    parser.add_argument("-s", "--stop-timeout", help="time users get to finish their task on stop (default 0)")
    parser.add_argument(
        "--journal",
        help="where to write the run's event journal, compressed unless the path ends in .jsonl"
        " (default: ./horde-runs/<start time>-<run id>.journal)",
    )
    parser.add_argument(
        "--journal-checkpoint-mb",
        metavar="MB",
        help="journal megabytes between the checkpoints that make replay and --resume fast (default 16; 0: none)",
    )
    parser.add_argument("--csv", metavar="PREFIX", help="write Locust-compatible CSV files PREFIX_stats.csv etc.")
    parser.add_argument(
        "--csv-full-history",
        action="store_true",
        help="PREFIX_stats_history.csv gets a row per endpoint too, as Locust's (needs --csv)",
    )
    parser.add_argument(
        "--json",
        nargs="?",
        const=True,
        metavar="PATH",
        help="print the final statistics as JSON to stdout, as Locust does (--json PATH: old --summary-json)",
    )
    parser.add_argument(
        "--json-file", metavar="PATH", help="write the final statistics as Locust's --json-file (.json added if absent)"
    )
    parser.add_argument(
        "--summary-json",
        metavar="PATH",
        help="write horde's summary (percentiles, errors, exceptions) as JSON to PATH (- for stdout)",
    )
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
    parser.add_argument("--logfile", metavar="PATH", help="write the log to PATH instead of stderr")
    parser.add_argument(
        "--skip-log-setup", action="store_true", help="leave logging as the locustfile or Python sets it up"
    )
    parser.add_argument("--only-summary", action="store_true", help="print only the final summary")
    parser.add_argument(
        "--print-stats", action="store_true", help="print the statistics table periodically (horde always does)"
    )
    parser.add_argument(
        "--reset-stats", action="store_true", help="reset the statistics once spawning is complete (as Locust)"
    )
    parser.add_argument("--exit-code-on-error", help="exit code when any request failed (default 1)")
    parser.add_argument("--stats-interval", help="seconds between a worker's statistics reports (default 2)")
    parser.add_argument("--heartbeat-interval", help="seconds between heartbeats, both ways (default 1)")
    parser.add_argument("--heartbeat-liveness", help="missed heartbeats before a worker counts as missing (default 3)")
    parser.add_argument("--master", action="store_true", help="run as master: workers run the users")
    parser.add_argument("--worker", action="store_true", help="run as worker of a master")
    parser.add_argument("--expect-workers", help="workers to wait for before starting (default 1)")
    parser.add_argument("--expect-workers-max-wait", help="give up waiting for workers after this long (0: never)")
    parser.add_argument(
        "--enable-rebalancing",
        action="store_true",
        help="accepted for Locust's command lines: horde always moves users at once when a worker joins or leaves",
    )
    parser.add_argument("--otel", action="store_true", help="OpenTelemetry: not supported by horde (an error)")
    for flag, message in REFUSED.items():
        parser.add_argument("--" + flag.replace("_", "-"), action=_refused(message), help=argparse.SUPPRESS)
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
        help="a shared secret the master and its workers derive their CURVE keys from (better: HORDE_AUTH_TOKEN, "
        "and better still: keys); never travels, never journaled",
    )
    parser.add_argument(
        "--master-secret-key",
        metavar="FILE",
        help="the master's key pair (NAME.key_secret from horde keys generate): every connection is CURVE",
    )
    parser.add_argument(
        "--worker-public-keys",
        metavar="DIR|FILE",
        help="the public keys (*.key) of the workers the master admits; re-read on each connection",
    )
    parser.add_argument("--worker-secret-key", metavar="FILE", help="a worker's key pair (NAME.key_secret)")
    parser.add_argument("--master-public-key", metavar="FILE", help="the public key (NAME.key) of the master")
    parser.add_argument(
        "--resume",
        metavar="JOURNAL",
        help="with --master: take over the run a killed master was driving, from its journal",
    )
    return parser


def _refused(message: str) -> type[argparse.Action]:
    class Refused(argparse.Action):
        def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: Any) -> None:
            super().__init__(option_strings, dest, nargs=0, **kwargs)

        def __call__(self, *args: Any, **kwargs: Any) -> NoReturn:
            raise UsageError(message)

    return Refused


def user_configs(value: Any, where: str) -> list[dict[str, Any]]:
    """Locust's `--config-users` values: JSON objects (or arrays of them), given as text, as a `.json` file's
    path, or as TOML tables; each names its class in `user_class_name`."""
    items = value if isinstance(value, list | tuple) else [value]
    configs: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, str):
            text = item.strip()
            try:
                if text.endswith(".json"):
                    with open(text, encoding="utf-8") as f:
                        item = json.load(f)
                else:
                    item = json.loads(text)
            except OSError as exc:
                raise UsageError(f"{where}: cannot read {text!r}: {exc.strerror or exc}") from None
            except ValueError as exc:
                raise UsageError(f"{where}: not valid JSON ({exc}): {text[:80]!r}") from None
        for config in item if isinstance(item, list) else [item]:
            if not isinstance(config, dict) or not isinstance(config.get("user_class_name"), str):
                raise UsageError(f"{where}: each user config must be a JSON object with a user_class_name")
            configs.append(config)
    return configs


def _coerce(name: str, value: Any, origin: str) -> Any:
    flag = f"--{name.replace('_', '-')}"
    where = f"{flag} ({origin})" if origin != "command line" else flag
    if name == "config_users":
        return user_configs(value, where)
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
            if not isinstance(value, list | tuple):  # e.g. `tags = 5` in a TOML file
                raise ValueError
            return [str(part) for part in value]
        return None if value is None else str(value)
    except (ValueError, TypeError):
        raise UsageError(f"{where}: invalid value {value!r}") from None


class _CustomArguments:
    """The arguments a locustfile added to the parser, found by any of their names in files and variables."""

    def __init__(self, actions: Sequence[argparse.Action]) -> None:
        self.actions = {action.dest: action for action in actions}
        self.by_key: dict[str, argparse.Action] = {}
        for action in actions:
            self.by_key[action.dest] = action
            for option in action.option_strings:
                self.by_key[option.lstrip("-").replace("-", "_")] = action

    def defaults(self) -> dict[str, Any]:
        defaults: dict[str, Any] = {}
        for dest, action in self.actions.items():
            default = action.default
            if default is argparse.SUPPRESS:
                default = (
                    False
                    if isinstance(action, argparse._StoreTrueAction)
                    else True
                    if isinstance(action, argparse._StoreFalseAction)
                    else None
                )
            elif isinstance(default, str) and callable(action.type):
                default = self.value(action, default, "default")
            defaults[dest] = default
        return defaults

    def secret(self) -> set[str]:
        return {dest for dest, action in self.actions.items() if getattr(action, "is_secret", False)}

    def value(self, action: argparse.Action, value: Any, origin: str) -> Any:
        """A value from a file or a variable, converted as the command line would convert it."""
        flag = action.option_strings[-1] if action.option_strings else action.dest
        convert: Any = action.type if callable(action.type) else str
        try:
            if isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction):
                on = _coerce("only_summary", value, origin)  # Locust's true/false words
                return on if isinstance(action, argparse._StoreTrueAction) else not on
            if action.nargs in ("*", "+") or isinstance(action.nargs, int) or isinstance(value, list):
                items = value if isinstance(value, list) else [p for p in re.split(r"[,\s]+", str(value)) if p]
                converted: Any = [convert(item) for item in items]
            else:
                converted = convert(value if isinstance(value, str) else str(value))
        except UsageError:
            raise UsageError(f"{flag} ({origin}): invalid value {value!r}") from None
        except (ValueError, TypeError, argparse.ArgumentTypeError):
            raise UsageError(f"{flag} ({origin}): invalid value {value!r}") from None
        if action.choices is not None:
            for item in converted if isinstance(converted, list) else [converted]:
                if item not in action.choices:
                    choices = ", ".join(map(str, action.choices))
                    raise UsageError(f"{flag} ({origin}): invalid choice {item!r} (choose from {choices})")
        return converted


_NO_CUSTOM = _CustomArguments([])


def _from_mapping(
    values: Mapping[str, Any], origin: str, custom: _CustomArguments = _NO_CUSTOM, partial: bool = False
) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    for key, value in values.items():
        name = key.replace("-", "_")
        name = LOCUST_KEYS.get(name, name)
        if name in REFUSED:
            raise UsageError(f"{REFUSED[name]} ({origin})")
        if name == "plugins":  # [plugins.NAME] tables configure plugins (ADR 0008)
            if not isinstance(value, dict) or not all(isinstance(t, dict) for t in value.values()):
                raise UsageError(f"{origin}: [plugins] must hold one table per plugin, e.g. [plugins.prometheus]")
            resolved["plugin_config"] = value
            continue
        action = custom.by_key.get(name)
        if action is not None and name not in _OPTION_NAMES:
            resolved.setdefault("custom", {})[action.dest] = custom.value(action, value, origin)
            continue
        if name not in _OPTION_NAMES:
            if partial:
                continue  # perhaps an argument the locustfile adds: known only once it is imported
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


_CONF_LINE = re.compile(r"^(?P<key>[^:=;#\s]+)\s*(?:[:=\s]\s*(?P<value>.*?))?\s*$")


def read_locust_conf(path: str) -> dict[str, Any]:
    """A config file in Locust's format: `key = value` (or `key: value`, `key value`) lines with the long flag
    names, `#` and `;` comments, `[section]` lines ignored, `true`/`false` for flags, `[a, b]` for lists."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        raise UsageError(f"config file {path!r} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"config file {path!r}: {exc}") from None
    values: dict[str, Any] = {}
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line[0] in "#;" or (line.startswith("[") and line.endswith("]")):
            continue
        match = _CONF_LINE.match(line)
        if match is None:
            raise UsageError(f"config file {path!r} line {number}: expected key = value, got {line!r}")
        value = match.group("value")
        if value is None or value == "":
            values[match.group("key")] = "true"
            continue
        value = re.sub(r"\s+[#;].*$", "", value)  # a trailing comment
        if value.startswith("[") and value.endswith("]") and not _json_of_objects(value):
            values[match.group("key")] = [_unquote(item) for item in value[1:-1].split(",") if item.strip()]
        else:
            values[match.group("key")] = _unquote(value)
    return values


def _json_of_objects(text: str) -> bool:
    """Whether a bracketed value is a JSON array holding more than strings (`--config-users`): kept whole."""
    try:
        items = json.loads(text)
    except ValueError:
        return False
    return isinstance(items, list) and not all(isinstance(item, str) for item in items)


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _read_config(path: str) -> dict[str, Any]:
    """--config FILE: TOML if it ends with .toml (its [tool.locust] and [tool.horde] tables if it has them, else
    its top level), else Locust's format."""
    if not path.endswith(".toml"):
        return read_locust_conf(path)
    data = _read_toml(path)
    tool = data.get("tool")
    if isinstance(tool, dict) and ("locust" in tool or "horde" in tool):
        merged = dict(tool.get("locust", {}))
        merged.update(tool.get("horde", {}))
        return merged
    return data


def _environment(environ: Mapping[str, str], custom: _CustomArguments) -> tuple[dict[str, str], dict[str, str]]:
    """LOCUST_* and HORDE_* variables by option name; a custom argument's `env_var` counts as LOCUST_*."""
    locust: dict[str, str] = {}
    horde: dict[str, str] = {}
    for key, value in environ.items():
        if key in LOCUST_ENV_NAMES:
            locust[LOCUST_ENV_NAMES[key]] = value
        elif key.startswith("LOCUST_") and key[len("LOCUST_") :].lower() in _OPTION_NAMES | REFUSED.keys():
            locust[key[len("LOCUST_") :].lower()] = value
        elif key.startswith("HORDE_") and key[len("HORDE_") :].lower() in _OPTION_NAMES | REFUSED.keys():
            horde[key[len("HORDE_") :].lower()] = value
    for dest, action in custom.actions.items():
        env_var = getattr(action, "env_var", None)
        if env_var and env_var in environ:
            locust[dest] = environ[env_var]
    return locust, horde


ParserHook = Callable[[Parser], None]


def resolve(
    argv: Sequence[str],
    environ: Mapping[str, str] | None = None,
    cwd: str = ".",
    extend: ParserHook | None = None,
    partial: bool = False,
    home: str | None = None,
) -> RunOptions:
    """The options of a run from every source (see the module's docstring). `extend` is called with the parser
    before parsing (the CLI fires `init_command_line_parser` there); `partial` parses only what is known before
    the locustfile is imported (to find it): unknown arguments and keys are then left for the full parse."""
    environ = os.environ if environ is None else environ
    parser = build_parser()
    builtin = {action.dest for action in parser._actions}
    if extend is not None:
        extend(parser)
    custom = _CustomArguments([a for a in parser._actions if a.dest not in builtin])
    defaults = {action: action.default for action in custom.actions.values()}
    for action in defaults:  # so that only what the command line gives is in `cli`, not a default over a file
        action.default = argparse.SUPPRESS
    try:
        cli = vars(parser.parse_known_args(list(argv))[0] if partial else parser.parse_args(list(argv)))
    finally:
        for action, default in defaults.items():
            action.default = default
    config_path = cli.pop("config", None)
    notes: list[str] = []
    if isinstance(cli.get("json"), str):
        notes.append(f"--json PATH is --summary-json PATH now: writing {cli['json']} (Locust's --json is stdout)")
        cli["summary_json"] = cli.pop("json")
    files: list[tuple[str, str, Sequence[str]]] = []  # (path, origin, TOML table) lowest first
    home = home if home is not None else os.path.expanduser("~")
    for path, origin in (
        (os.path.join(home, ".locust.conf"), "~/.locust.conf"),
        (os.path.join(cwd, "locust.conf"), "locust.conf"),
    ):
        if os.path.isfile(path):
            files.append((path, origin, ()))
    pyproject = os.path.join(cwd, "pyproject.toml")
    if os.path.exists(pyproject):
        files.append((pyproject, "pyproject.toml [tool.locust]", ("tool", "locust")))
        files.append((pyproject, "pyproject.toml [tool.horde]", ("tool", "horde")))
    if os.path.exists(os.path.join(cwd, "horde.toml")):
        files.append((os.path.join(cwd, "horde.toml"), "horde.toml", ("",)))
    if config_path is not None:
        files.append((os.path.join(cwd, config_path), os.path.basename(config_path), ("--config",)))
    layers: list[dict[str, Any]] = []
    for path, origin, table in files:
        if table == ("--config",):
            values = _read_config(path)
        elif table == ("",):
            values = _read_toml(path)
        elif table:
            values = _read_toml(path, table)
        else:
            values = read_locust_conf(path)
        layers.append(_from_mapping(values, origin, custom, partial))
    locust_env, horde_env = _environment(environ, custom)
    layers.append(_from_mapping(locust_env, "environment", custom, partial))
    layers.append(_from_mapping(horde_env, "environment", custom, partial))
    flags = {name: value for name, value in cli.items() if name in custom.actions}
    layers.append({name: _coerce(name, value, "command line") for name, value in cli.items() if name not in flags})
    layers[-1]["custom"] = flags
    options = RunOptions()
    options.custom = custom.defaults()
    options.custom_defaults = dict(options.custom)
    options.custom_secret = custom.secret()
    for layer in layers:
        for name, value in layer.items():
            if name == "custom":
                options.custom.update(value)
            else:
                setattr(options, name, value)
                options.given.add(name)
    options.notes = notes
    if not partial:
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
        raise UsageError("-f/--locustfile is empty")
    if options.csv_full_history and not options.csv:
        raise UsageError("--csv-full-history needs --csv PREFIX")
    if not 0 <= options.web_port <= 65535:
        raise UsageError(f"--web-port must be between 0 and 65535, got {options.web_port}")
    if options.web_auth is not None and not re.match(r"^[^:]+:.+$", options.web_auth):
        raise UsageError("--web-auth must be USER:PASSWORD")
    if options.web_login and not options.web_auth:
        raise UsageError("--web-login needs --web-auth USER:PASSWORD (the login it asks for)")
    if options.otel:
        raise UsageError("--otel: OpenTelemetry is not supported by horde")
    if bool(options.tls_cert) != bool(options.tls_key):
        raise UsageError("--tls-cert and --tls-key go together: give both to serve the web UI over HTTPS")
    for flag, path in (("--tls-cert", options.tls_cert), ("--tls-key", options.tls_key)):
        if path and not os.path.isfile(path):
            raise UsageError(f"{flag}: no such file {path!r}")
    if options.locustfile == "-" and not options.worker:
        raise UsageError("-f - (ask the master for the locustfile) only works with --worker")


LOCUST_ATTRIBUTES = {
    "num_users": "users",
    "csv_prefix": "csv",
    "html_file": "html",
    "stats_history_enabled": "csv_full_history",
}
"""Locust's `parsed_options` attribute names whose horde option has another name; both are set."""


def settings_of(options: RunOptions) -> dict[str, Any]:
    """Every option by name as plugins read it and the journal's header records it: custom arguments too (as
    their repr if they are not plain data), but never a secret one."""
    settings = {f.name: getattr(options, f.name) for f in fields(RunOptions) if f.name not in _INTERNAL}
    settings.update({name: "<redacted>" for name in SECRET_OPTIONS if settings.get(name)})
    for dest, value in options.custom.items():
        if dest not in options.custom_secret and dest not in settings:
            settings[dest] = value if _plain(value) else repr(value)
    return settings


def parsed_options(options: RunOptions) -> argparse.Namespace:
    """What a locustfile reads as `environment.parsed_options`: horde's option names, Locust's attribute names
    beside them, and the custom arguments."""
    values = {f.name: getattr(options, f.name) for f in fields(RunOptions) if f.name not in _INTERNAL}
    for locust_name, name in LOCUST_ATTRIBUTES.items():
        values[locust_name] = values[name]
    values.update(options.custom)
    return argparse.Namespace(**values)


def options_for_workers(options: RunOptions) -> dict[str, Any]:
    """The custom arguments the master sends its workers with each spawn, as Locust does: those not at their
    default, of types that cross the wire as they are. `--config-users` and `--equal-weights` go too, so every
    worker runs the classes as the master weighs them (Locust's workers need the flags given to each)."""
    sent = {
        dest: value
        for dest, value in options.custom.items()
        if value != options.custom_defaults.get(dest) and _plain(value)
    }
    if options.config_users:
        sent["config_users"] = options.config_users
    if options.equal_weights:
        sent["equal_weights"] = True
    return sent


def _plain(value: Any) -> bool:
    if value is None or isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(_plain(item) for item in value)
    return False
