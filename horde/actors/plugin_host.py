"""The plugin host: loads a run's plugins, feeds them the journal's events and supervises them (ADR 0008).

The `PluginHost` loads the plugins a run names (entry points of the group `horde.plugins`, or `module:Class`),
configures them before the journal is opened (a bad option is a usage error, not a half-started run), subscribes
to the Journal actor and hands each plugin the events it wants through a bounded queue of its own. The Journal's
writer only appends to that queue and, when the plugin is idle, tells it to drain: a slow plugin loses events
(counted, journaled), never slows the run. A plugin that raises (or overruns its handler timeout) is re-created up
to `max_restarts` times, then disabled; both are journaled as `plugin.<name>.restarted` /
`plugin.<name>.disabled` with the reason, and logged.

The API plugins are written against is `horde.actors.plugin` (public as `horde.plugin`); this module is the
master's side of it, which no plugin imports.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import re
import time
from collections import deque
from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import Any, cast

import gevent
import msgspec
import pykka
import structlog

from horde.actors.base import Append
from horde.actors.control_plane import ControlPlane
from horde.actors.journal import Flush
from horde.actors.master import RequestStop, Start
from horde.actors.plugin import (
    _MOVED,
    API_VERSION,
    EventRecord,
    Note,
    Plugin,
    PluginContext,
    PluginError,
    Request,
    RunEnd,
    SetTarget,
    StopRun,
    _Configure,
    _Drain,
    _Refused,
    _RunEnded,
    _Started,
)
from horde.protocol.events import EVENT_NAMES, Event
from horde.protocol.journal import decode_record, iter_lines
from horde.runtime.users import User
from horde.stats.run_stats import RunStats

log = structlog.get_logger("horde.plugins")

ENTRY_POINT_GROUP = "horde.plugins"
FINISH_TIMEOUT = 10.0
"""How long one plugin may take at the end of the run (draining what is queued, then `on_run_end`)."""
DRAIN_GRACE = 2.0
"""At the end of the run a plugin gets this long for its queued events; the rest are dropped (and counted)."""
DROP_REPORT_INTERVAL = 1.0

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class PluginAppend(Append):
    """An Append whose event is a plugin's own: already-encoded JSON under a `plugin.<name>.<event>` type."""

    __slots__ = ("type_name",)

    def __init__(self, source: str, cause: str, type_name: str, data: msgspec.Raw) -> None:
        super().__init__(source, cause, cast(Event, data))
        self.type_name = type_name


_encoder = msgspec.json.Encoder()


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
        raise PluginError(f"plugin {reference!r}: {target!r} is not a subclass of horde.plugin.Plugin")
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

    def load(
        self, plugins: list[tuple[str, dict[str, Any]]], named: Mapping[str, Mapping[str, Any]] | None = None
    ) -> None:
        """Load and configure each `(reference, options)`, in order; a problem is a PluginError naming it.

        `named` holds options by plugin name (`[plugins.NAME]` tables, `--plugin-opt`): they go on top of the
        options of the plugin of that name, and a name no listed plugin has is loaded as an installed plugin.
        """
        named = named or {}
        try:
            chosen = [(*load_plugin_class(reference), options) for reference, options in plugins]
            listed = {name for name, _, _ in chosen}
            chosen += [(*load_plugin_class(name), {}) for name in named if name not in listed]
            for name, cls, options in chosen:
                if name in self._slots:
                    raise PluginError(f"plugin {name!r} is named twice")
                slot = self._slots[name] = _Slot(self, name, cls, {**options, **named.get(name, {})})
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
                answer = ref.ask(_Configure(slot.options, strict=True), timeout=slot.cls.handler_timeout)
                if isinstance(answer, _Refused):
                    raise answer.error
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

    def finish(self, stats: RunStats, journal_path: str, user_classes: tuple[type[User], ...] = ()) -> int:
        """Give every plugin the run's end, in load order (reporters write, thresholds judge); -> exit code or 0."""
        stop_reason = ""
        with contextlib.suppress(Exception):
            stop_reason = self.control.master_state().stop_reason
        result = RunEnd(stats, journal_path, stop_reason, user_classes)
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
