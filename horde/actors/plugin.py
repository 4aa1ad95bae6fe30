"""Plugins: actors that receive the journal's events after the fact and may ask the Master for things (ADR 0008).

A plugin is a `Plugin` subclass (a `HordeActor`, so a greenlet on the one hub). The `PluginHost` loads the plugins a
run names (entry points of the group `horde.plugins`, or `module:Class`), configures them before the journal is
opened (a bad option is a usage error, not a half-started run), subscribes to the Journal actor and hands each plugin
the events it wants through a bounded queue of its own. The Journal's writer only appends to that queue and, when
the plugin is idle, tells it to drain: a slow plugin loses events (counted, journaled), never slows the run. A plugin
that raises (or overruns its handler timeout) is re-created up to `max_restarts` times, then disabled; both are
journaled as `plugin.<name>.restarted` / `plugin.<name>.disabled` with the reason, and logged.

Plugins never touch another actor's state: they read the merged statistics and the Master's state through the
same asks the CLI uses, and change the run only through typed requests (`StopRun`, `SetTarget`, `Note`), which
become the Master's own commands with `plugin:<name>` as their cause.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import re
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from importlib.metadata import entry_points
from typing import Any, ClassVar, cast

import gevent
import msgspec
import pykka
import structlog

from horde.actors.base import Append, HordeActor
from horde.actors.control_plane import ControlPlane
from horde.actors.journal import Flush
from horde.actors.master import MasterState, RequestStop, Start
from horde.actors.worker_proxy import WorkerProxyState
from horde.protocol.events import EVENT_NAMES, Event
from horde.protocol.journal import decode_record, iter_lines
from horde.stats.run_stats import RunStats

log = structlog.get_logger("horde.plugins")

API_VERSION = 1
"""The plugin API this horde provides. A plugin whose `api_version` differs cannot run (a clear error at start)."""

ENTRY_POINT_GROUP = "horde.plugins"
DEFAULT_QUEUE_SIZE = 10_000
DEFAULT_MAX_RESTARTS = 3
DEFAULT_HANDLER_TIMEOUT = 5.0
FINISH_TIMEOUT = 10.0
"""How long one plugin may take at the end of the run (draining what is queued, then `on_run_end`)."""
DRAIN_GRACE = 2.0
"""At the end of the run a plugin gets this long for its queued events; the rest are dropped (and counted)."""
DROP_REPORT_INTERVAL = 1.0

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
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
    """What `on_run_end` gets: the merged statistics of the whole run (the fold of its `stats.reported`)."""

    stats: RunStats
    journal_path: str
    stop_reason: str


class PluginAppend(Append):
    """An Append whose event is a plugin's own: already-encoded JSON under a `plugin.<name>.<event>` type."""

    __slots__ = ("type_name",)

    def __init__(self, source: str, cause: str, type_name: str, data: msgspec.Raw) -> None:
        super().__init__(source, cause, cast(Event, data))
        self.type_name = type_name


_encoder = msgspec.json.Encoder()


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
    """The plugin API version this plugin was written for; it must equal `horde.actors.plugin.API_VERSION`."""
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
                self.configure(dict(message.options))
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


# --- discovery ----------------------------------------------------------------------------------------------------


def available_plugins() -> dict[str, str]:
    """Entry-point name -> `module:attr` of every installed plugin (group `horde.plugins`)."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load_plugin_class(reference: str) -> tuple[str, type[Plugin]]:
    """`NAME` (an entry point) or `module:Class` -> (plugin name, class), version-checked."""
    if ":" in reference:
        target, fallback = reference, ""
    else:
        installed = available_plugins()
        if reference not in installed:
            known = ", ".join(sorted(installed)) or "none installed"
            raise PluginError(f"no plugin named {reference!r} (entry points {ENTRY_POINT_GROUP!r}: {known})")
        target, fallback = installed[reference], reference
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        cls = module
        for part in attr.split("."):
            cls = getattr(cls, part)
    except Exception as exc:
        raise PluginError(f"plugin {reference!r}: cannot load {target!r}: {exc!r}") from None
    if not (isinstance(cls, type) and issubclass(cls, Plugin)):
        raise PluginError(f"plugin {reference!r}: {target!r} is not a subclass of horde.actors.plugin.Plugin")
    if cls.api_version != API_VERSION:
        raise PluginError(
            f"plugin {reference!r} needs plugin API version {cls.api_version!r}; this horde provides {API_VERSION}"
        )
    name = cls.name or fallback or cls.__name__.lower()
    if not _NAME.match(name):
        raise PluginError(f"plugin {reference!r}: name {name!r} must match {_NAME.pattern}")
    return name, cls


# --- the host -----------------------------------------------------------------------------------------------------


class _Slot:
    """The host's side of one plugin: its queue, its current actor, its failure count."""

    def __init__(self, host: PluginHost, name: str, cls: type[Plugin], options: dict[str, Any]) -> None:
        self.host = host
        self.name = name
        self.cls = cls
        self.options = options
        self.source = f"plugin:{name}"
        self.queue: deque[EventRecord] = deque()
        self.ref: pykka.ActorRef[Any] | None = None
        self.scheduled = False
        self.disabled = False
        self.restarts = 0
        self.dropped_total = 0
        self.dropped_unreported = 0
        self.deadline: float | None = None
        self._wants: dict[str, bool] = {}

    def wants(self, type_name: str) -> bool:
        wanted = self._wants.get(type_name)
        if wanted is None:
            patterns = self.cls.event_types
            wanted = not patterns or any(fnmatch.fnmatchcase(type_name, p) for p in patterns)
            self._wants[type_name] = wanted
        return wanted

    def offer(self, record: EventRecord) -> None:
        """Called by the Journal's writer: never blocks, never raises."""
        if len(self.queue) >= self.cls.queue_size:
            self.dropped(1)
            return
        self.queue.append(record)
        self.wake()

    def wake(self) -> None:
        if self.scheduled or self.ref is None or not self.queue:
            return
        self.scheduled = True
        try:
            self.ref.tell(_Drain())
        except pykka.ActorDeadError:
            self.scheduled = False

    def dropped(self, count: int) -> None:
        self.dropped_total += count
        self.dropped_unreported += count


class PluginHost:
    """Loads, feeds, supervises and finishes a run's plugins (one per master process)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self._settings = settings
        self._slots: dict[str, _Slot] = {}
        self._control: ControlPlane | None = None
        self._backfilling = True
        self._pending: list[tuple[int, Append]] = []
        self._closed = False
        self._reporter: gevent.Greenlet | None = None

    @property
    def names(self) -> list[str]:
        return list(self._slots)

    @property
    def control(self) -> ControlPlane:
        if self._control is None:
            raise RuntimeError("the plugin host is not attached to a run yet")
        return self._control

    def slot(self, name: str) -> _Slot:
        return self._slots[name]

    # loading -----------------------------------------------------------------------------------------------------

    def load(self, plugins: list[tuple[str, dict[str, Any]]]) -> None:
        """Load and configure each `(reference, options)`, in order; a problem is a PluginError naming it."""
        try:
            for reference, options in plugins:
                name, cls = load_plugin_class(reference)
                if name in self._slots:
                    raise PluginError(f"plugin {name!r} is named twice")
                slot = self._slots[name] = _Slot(self, name, cls, dict(options))
                self._spawn(slot, strict=True)
        except BaseException:
            self.stop()
            raise

    def _spawn(self, slot: _Slot, *, strict: bool) -> None:
        context = PluginContext(slot.name, self._settings, self)
        ref = slot.cls.start(context)
        slot.ref = ref
        slot.scheduled = False
        if strict:
            try:
                ref.ask(_Configure(slot.options, strict=True), timeout=slot.cls.handler_timeout)
            except PluginError as exc:
                raise PluginError(f"plugin {slot.name!r}: {exc}") from None
            except Exception as exc:
                raise PluginError(f"plugin {slot.name!r}: bad options {slot.options!r}: {exc}") from None
        else:
            ref.tell(_Configure(slot.options, strict=False))
            ref.tell(_Started())
            slot.wake()

    # feeding -----------------------------------------------------------------------------------------------------

    def attach(self, control: ControlPlane, journal_path: str) -> None:
        """Subscribe to the Journal, replay what it wrote before, then start the plugins."""
        self._control = control
        if not self._slots:
            return
        last_seq = cast(int, control.journal.proxy().subscribe(self._on_append).get())
        control.journal.ask(Flush())
        self._backfill(journal_path, last_seq)
        while self._pending:
            seq, item = self._pending.pop(0)
            self._dispatch(seq, item)
        self._backfilling = False
        for slot in self._slots.values():
            if slot.ref is not None:
                slot.ref.tell(_Started())
        self._reporter = gevent.spawn(self._report_drops_forever)

    def _backfill(self, journal_path: str, last_seq: int) -> None:
        if last_seq <= 0:
            return
        with contextlib.suppress(OSError):
            for number, line in enumerate(iter_lines(journal_path)):
                if number == 0:
                    continue
                try:
                    record = decode_record(line)
                except (msgspec.DecodeError, msgspec.ValidationError):
                    break
                if record.seq > last_seq:
                    break
                data = msgspec.json.decode(record.event) if isinstance(record.event, msgspec.Raw) else record.event
                self._deliver(
                    EventRecord(
                        record.seq, record.type, record.source, record.cause, record.mono_ns, record.wall_ns, data
                    )
                )

    def _on_append(self, seq: int, item: Append) -> None:
        """The Journal's subscriber: runs in the writer, so it only queues; it must never raise."""
        if self._closed:
            return
        try:
            if self._backfilling:
                self._pending.append((seq, item))
            else:
                self._dispatch(seq, item)
        except Exception as exc:
            log.error("plugin delivery failed", seq=seq, error=repr(exc))

    def _dispatch(self, seq: int, item: Append) -> None:
        if isinstance(item, PluginAppend):
            type_name, data = item.type_name, msgspec.json.decode(cast(msgspec.Raw, item.event))
        else:
            type_name, data = EVENT_NAMES.get(type(item.event), type(item.event).__name__), item.event
        self._deliver(EventRecord(seq, type_name, item.source, item.cause, item.mono_ns, item.wall_ns, data))

    def _deliver(self, record: EventRecord) -> None:
        for slot in self._slots.values():
            if not slot.disabled and record.source != slot.source and slot.wants(record.type):
                slot.offer(record)

    # supervision -------------------------------------------------------------------------------------------------

    def failed(self, slot: _Slot, ref: pykka.ActorRef[Any], reason: str, exc: BaseException | None) -> None:
        """A hook of `ref` raised or overran: re-create the plugin, or disable it once it used its restarts."""
        if slot.ref is not ref or slot.disabled:
            return
        ref.stop(block=False)
        if slot.restarts >= slot.cls.max_restarts:
            self.disable(slot, f"{reason}; it already was restarted {slot.restarts} time(s)")
            return
        slot.restarts += 1
        log.warning("plugin restarted", plugin=slot.name, reason=reason, restart=slot.restarts, exc_info=exc)
        self.journal(slot.name, "restarted", {"reason": reason, "restart": slot.restarts})
        slot.ref = None
        if not self._closed:
            self._spawn(slot, strict=False)

    def disable(self, slot: _Slot, reason: str) -> None:
        if slot.disabled:
            return
        slot.disabled = True
        slot.dropped(len(slot.queue))
        slot.queue.clear()
        if slot.ref is not None:
            with contextlib.suppress(pykka.ActorDeadError):
                slot.ref.stop(block=False)
        log.error("plugin disabled", plugin=slot.name, reason=reason)
        self.journal(slot.name, "disabled", {"reason": reason, "restarts": slot.restarts})

    def _report_drops_forever(self) -> None:
        while True:
            gevent.sleep(DROP_REPORT_INTERVAL)
            self._report_drops()

    def _report_drops(self) -> None:
        for slot in self._slots.values():
            if slot.dropped_unreported:
                count, slot.dropped_unreported = slot.dropped_unreported, 0
                if count == slot.dropped_total:
                    log.warning("plugin too slow: events dropped", plugin=slot.name, queue_size=slot.cls.queue_size)
                self.journal(
                    slot.name,
                    "dropped",
                    {"dropped": count, "total": slot.dropped_total, "queue_size": slot.cls.queue_size},
                )

    # requests ----------------------------------------------------------------------------------------------------

    def request(self, name: str, request: Request) -> None:
        """A plugin's typed request becomes the Master's own command, with the plugin as its cause."""
        cause = f"plugin:{name}"
        control = self.control
        now = time.monotonic()
        with contextlib.suppress(pykka.ActorDeadError):
            if isinstance(request, StopRun):
                log.info("plugin stops the run", plugin=name, reason=request.reason)
                control.master.tell(RequestStop(now, f"plugin {name}: {request.reason}", cause=cause))
            elif isinstance(request, SetTarget):
                log.info("plugin sets the target", plugin=name, users=request.users, rate=request.rate)
                control.master.tell(Start(now, request.users, request.rate, request.user_classes, cause=cause))
            elif isinstance(request, Note):
                log.info("plugin note", plugin=name, text=request.text)
                self.journal(name, "note", {"text": request.text})
            else:
                raise TypeError(f"not a plugin request: {request!r}")

    def journal(self, name: str, event: str, data: Mapping[str, Any] | msgspec.Struct) -> None:
        encoded = _encoder.encode(data)
        if not encoded.startswith(b"{"):
            raise ValueError(f"plugin event data must be a JSON object, got {data!r}")
        raw = msgspec.Raw(encoded)
        if self._control is None:
            log.info("plugin event before the run", plugin=name, type=f"plugin.{name}.{event}")
            return
        item = PluginAppend(f"plugin:{name}", f"plugin:{name}", f"plugin.{name}.{event}", raw)
        with contextlib.suppress(pykka.ActorDeadError):
            self._control.append(item)

    # the end -----------------------------------------------------------------------------------------------------

    def finish(self, stats: RunStats, journal_path: str) -> int:
        """Give every plugin the run's end, in load order (reporters write, thresholds judge); -> exit code or 0."""
        stop_reason = ""
        with contextlib.suppress(Exception):
            stop_reason = self.control.master_state().stop_reason
        result = RunEnd(stats, journal_path, stop_reason)
        code = 0
        for slot in self._slots.values():
            slot.deadline = time.monotonic() + DRAIN_GRACE
            answer: Any = _MOVED
            for _ in range(slot.cls.max_restarts + 2):
                if slot.disabled or slot.ref is None:
                    break
                try:
                    answer = slot.ref.ask(_RunEnded(result), timeout=FINISH_TIMEOUT)
                except pykka.Timeout:
                    self.disable(slot, f"did not finish within {FINISH_TIMEOUT:g} s at the end of the run")
                except pykka.ActorDeadError:
                    gevent.sleep(0)
                    continue
                except Exception as exc:
                    self.disable(slot, f"on_run_end raised {exc!r}")
                if answer is not _MOVED:
                    break
            if isinstance(answer, int) and not isinstance(answer, bool) and answer and not code:
                code = answer
        self._report_drops()
        return code

    def stop(self) -> None:
        """Stop every plugin (their `on_stopped`), before the Journal closes."""
        self._closed = True
        if self._reporter is not None:
            self._reporter.kill(block=False)
        for slot in self._slots.values():
            if slot.ref is not None:
                with contextlib.suppress(Exception):
                    slot.ref.stop(timeout=FINISH_TIMEOUT)


def parse_plugin_opts(items: list[str]) -> dict[str, dict[str, str]]:
    """`NAME.key=value` strings -> {NAME: {key: value}}; anything else is a PluginError."""
    parsed: dict[str, dict[str, str]] = {}
    for item in items:
        head, sep, value = item.partition("=")
        name, dot, key = head.partition(".")
        if not sep or not dot or not name or not key:
            raise PluginError(f"--plugin-opt {item!r}: expected NAME.key=value")
        parsed.setdefault(name.strip(), {})[key.strip()] = value
    return parsed


def option(options: Mapping[str, Any], key: str, convert: Callable[[Any], Any], default: Any) -> Any:
    """Read one option with a clear error: `option(opts, "port", int, 0)`."""
    if key not in options:
        return default
    try:
        return convert(options[key])
    except (TypeError, ValueError):
        kind = getattr(convert, "__name__", "value")
        raise PluginError(f"option {key}={options[key]!r} is not a valid {kind}") from None
