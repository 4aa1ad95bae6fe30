"""The plugin API: the base class a plugin subclasses, what it receives, and what it may send (ADR 0008).

A plugin is a `Plugin` subclass (a `HordeActor`, so a greenlet on the one hub). Plugin authors import these names
from `horde.plugin`; the host that loads the plugins a run names, feeds them the journal's events and supervises
them is `horde.actors.plugin_host`, which alone sends a plugin the private messages its shell answers.

Plugins never touch another actor's state: they read the merged statistics and the Master's state through the
same asks the CLI uses, and change the run only through typed requests (`StopRun`, `SetTarget`, `Note`), which
become the Master's own commands with `plugin:<name>` as their cause.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import gevent
import msgspec
import structlog

from horde.actors.base import HordeActor
from horde.actors.master import MasterState
from horde.actors.worker_proxy import WorkerProxyState
from horde.runtime.users import User
from horde.stats.run_stats import RunStats

if TYPE_CHECKING:
    from horde.actors.plugin_host import PluginHost, _Slot

log = structlog.get_logger("horde.plugins")

API_VERSION = 1
"""The plugin API this horde provides. A plugin whose `api_version` differs cannot run (a clear error at start)."""

DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_MAX_RESTARTS = 3
DEFAULT_HANDLER_TIMEOUT = 5.0

_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginError(Exception):
    """A plugin cannot be found, loaded, versioned or configured: one line for the person running horde."""


class PluginTimeout(Exception):
    """A plugin's handler ran longer than its `handler_timeout`."""


# --- what a plugin receives and sends ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One journal event as a plugin sees it: `data` is the decoded event struct for horde's own types
    (`horde.protocol.events`), a dict for plugin events and types this horde does not know."""

    seq: int
    type: str
    source: str
    cause: str
    mono_ns: int
    wall_ns: int
    data: Any


@dataclass(frozen=True, slots=True)
class StopRun:
    """Ask the Master to stop the run (it goes through `stopping`, so users finish as on any other stop)."""

    reason: str


@dataclass(frozen=True, slots=True)
class SetTarget:
    """Ask the Master for a new user target, as `-u`/`-r` would; `user_classes` None means all classes."""

    users: int
    rate: float
    user_classes: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Note:
    """A remark for the record: journaled as `plugin.<name>.note` and logged."""

    text: str


Request = StopRun | SetTarget | Note


@dataclass(frozen=True, slots=True)
class RunEnd:
    """What `on_run_end` gets: the merged statistics of the whole run (the fold of its `stats.merged`)."""

    stats: RunStats
    journal_path: str
    stop_reason: str
    user_classes: tuple[type[User], ...] = ()
    """The run's user classes (what the journal does not hold: their tasks, for the report's task ratios)."""
    unwritten: dict[str, str] = field(default_factory=dict)
    """Files a reporter could not write at the end, with why: filled in load order by the reporters, read by the
    summary after them, so it never says a file was written when it was not."""


class PluginContext:
    """A plugin's only handle on the run: typed requests to the Master, its own events, read-only queries."""

    def __init__(self, name: str, settings: Mapping[str, Any], host: PluginHost) -> None:
        self.name = name
        self.settings = settings
        """The run's resolved options (as in the journal header's `config`), read-only."""
        self._host = host

    # requests ----------------------------------------------------------------------------------------------------

    def send(self, request: Request) -> None:
        self._host.request(self.name, request)

    def stop_run(self, reason: str) -> None:
        self.send(StopRun(reason))

    def set_target(self, users: int, rate: float, user_classes: tuple[str, ...] | None = None) -> None:
        self.send(SetTarget(users, rate, user_classes))

    def note(self, text: str) -> None:
        self.send(Note(text))

    def emit(self, event: str, data: Mapping[str, Any] | msgspec.Struct) -> None:
        """Append `plugin.<name>.<event>` to the journal; `data` must encode as a JSON object."""
        if not _EVENT_NAME.match(event):
            raise ValueError(f"plugin event name {event!r} must match {_EVENT_NAME.pattern}")
        self._host.journal(self.name, event, data)

    # queries -----------------------------------------------------------------------------------------------------

    def stats(self) -> RunStats:
        """The StatsAggregator's merged statistics, live: read them, never change them."""
        return self._host.control.stats()

    def master_state(self) -> MasterState:
        return self._host.control.master_state()

    def workers(self) -> dict[str, WorkerProxyState]:
        return self._host.control.workers()


# --- the plugin base ----------------------------------------------------------------------------------------------


class _Configure:
    __slots__ = ("options", "strict")

    def __init__(self, options: dict[str, Any], strict: bool) -> None:
        self.options = options
        self.strict = strict


class _Refused:
    """A plugin's answer to a strict `_Configure` whose options it cannot take: the error, as a value."""

    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


class _Started:
    __slots__ = ()


class _Drain:
    __slots__ = ()


class _RunEnded:
    __slots__ = ("result",)

    def __init__(self, result: RunEnd) -> None:
        self.result = result


_MOVED = object()


class Plugin(HordeActor):
    """Base class of every plugin. Override the hooks, never `on_receive` (the shell isolates the hooks).

    Lifecycle: `configure(options)` before the run's journal is opened; `on_started()` once the plugin is subscribed
    (the events before that are replayed to it first); `on_event(record)` for each event it wants, in seq order;
    `on_run_end(result)` once the run stopped, with the final statistics (return a non-zero int to make it the exit
    code); `on_stopped()` last. A restarted plugin is a new instance: `configure` and `on_started` run again.
    """

    name: ClassVar[str] = ""
    """Names its options (`--plugin-opt NAME.key=value`, `[plugins.NAME]`) and its events (`plugin.NAME.*`)."""
    api_version: ClassVar[int] = API_VERSION
    """The plugin API version this plugin was written for; it must equal `horde.plugin.API_VERSION`."""
    event_types: ClassVar[tuple[str, ...]] = ()
    """fnmatch patterns of the event types wanted (`("stats.reported", "worker.*")`); empty means all."""
    queue_size: ClassVar[int] = DEFAULT_QUEUE_SIZE
    """Events waiting for this plugin beyond this many are dropped, counted and journaled."""
    handler_timeout: ClassVar[float] = DEFAULT_HANDLER_TIMEOUT
    max_restarts: ClassVar[int] = DEFAULT_MAX_RESTARTS

    def __init__(self, context: PluginContext) -> None:
        super().__init__()
        self.context = context

    # hooks -------------------------------------------------------------------------------------------------------

    def configure(self, options: dict[str, Any]) -> None:
        """Check and keep the options; raise `PluginError` (or ValueError) with a one-line reason if they are bad."""

    def on_started(self) -> None:
        """The run is about to start: open servers, spawn greenlets."""

    def on_event(self, record: EventRecord) -> None:
        """One journal event, after it was written. May be slow; a slow plugin drops events, not the run."""

    def on_run_end(self, result: RunEnd) -> int | None:
        """The run stopped: write reports, judge it. A non-zero return value becomes horde's exit code."""
        return None

    def on_stopped(self) -> None:
        """Release what `on_started` took."""

    # shell -------------------------------------------------------------------------------------------------------

    @property
    def _slot(self) -> _Slot:
        return self.context._host.slot(self.context.name)

    def on_receive(self, message: Any) -> Any:
        slot = self._slot
        if isinstance(message, _Drain):
            self._drain(slot)
        elif isinstance(message, _Configure):
            if message.strict:
                try:
                    self.configure(dict(message.options))
                except Exception as exc:  # answered, not raised: pykka would log a traceback for a bad option
                    return _Refused(exc)
            else:
                self._guard(slot, "configure", lambda: self.configure(dict(message.options)))
        elif isinstance(message, _Started):
            self._guard(slot, "on_started", self.on_started)
        elif isinstance(message, _RunEnded):
            self._drain(slot)
            if slot.ref is not self.actor_ref:
                return _MOVED
            return self.on_run_end(message.result)
        return None

    def _guard(self, slot: _Slot, hook: str, call: Callable[[], object]) -> bool:
        try:
            with gevent.Timeout(self.handler_timeout, PluginTimeout(f"{hook} took over {self.handler_timeout:g} s")):
                call()
        except Exception as exc:
            slot.host.failed(slot, self.actor_ref, f"{hook} raised {exc!r}", exc)
            return False
        return True

    def _drain(self, slot: _Slot) -> None:
        while slot.queue and slot.ref is self.actor_ref and not slot.disabled:
            if slot.deadline is not None and time.monotonic() > slot.deadline:
                slot.dropped(len(slot.queue))
                slot.queue.clear()
                break
            record = slot.queue.popleft()
            if not self._guard(slot, f"on_event (seq {record.seq}, {record.type})", partial(self.on_event, record)):
                return
        if slot.ref is self.actor_ref:
            slot.scheduled = False

    def on_stop(self) -> None:
        try:
            self.on_stopped()
        except Exception as exc:
            log.warning("plugin raised in on_stopped", plugin=self.context.name, error=repr(exc))

    def on_failure(self, exception_type: Any, exception_value: Any, traceback: Any) -> None:
        log.error("plugin actor crashed", plugin=self.context.name, error=repr(exception_value))


def option(options: Mapping[str, Any], key: str, convert: Callable[[Any], Any], default: Any) -> Any:
    """Read one option with a clear error: `option(opts, "port", int, 0)`."""
    if key not in options:
        return default
    try:
        return convert(options[key])
    except (TypeError, ValueError):
        kind = getattr(convert, "__name__", "value")
        raise PluginError(f"option {key}={options[key]!r} is not a valid {kind}") from None
