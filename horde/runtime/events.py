"""User-facing event hooks with Locust's names and keyword arguments.

Locustfiles add listeners at import time to the module-level ``events``; the Environment uses that same
instance by default so those listeners see the run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from horde.runtime.exceptions import CONTROL_FLOW_EXCEPTIONS

logger = logging.getLogger(__name__)

Listener = Callable[..., Any]


class EventHook:
    """A list of listeners called in order with keyword arguments.

    A listener that raises is logged and counted, and the others still run: one broken reporting plugin
    must not stop the load. Control-flow exceptions (StopUser, RescheduleTask, ...) pass through, since
    raising them from a request listener is how Locust users steer a user from there.

    ``sole`` is the listener when there is exactly one, else None: a caller on the hot path that recognises it
    (FastHttpUser, when only the statistics recorder listens to requests) may call it directly, sparing two
    copies of the keyword arguments per request; it reports a failure of that call with ``listener_failed``.
    ``sole_memo`` is that caller's note of what it made of ``sole``, cleared whenever the listeners change.
    """

    __slots__ = ("_handlers", "errors", "name", "sole", "sole_memo")

    def __init__(self, name: str = "") -> None:
        self._handlers: list[Listener] = []
        self.errors = 0
        self.name = name
        self.sole: Listener | None = None
        self.sole_memo: Any = None

    def _changed(self) -> None:
        self.sole = self._handlers[0] if len(self._handlers) == 1 else None
        self.sole_memo = None

    def add_listener(self, handler: Listener) -> Listener:
        self._handlers.append(handler)
        self._changed()
        return handler

    def insert_listener(self, handler: Listener) -> Listener:
        """Registers ``handler`` before every listener added so far."""
        self._handlers.insert(0, handler)
        self._changed()
        return handler

    def remove_listener(self, handler: Listener) -> None:
        self._handlers.remove(handler)
        self._changed()

    def __iadd__(self, handler: Listener) -> EventHook:
        self.add_listener(handler)
        return self

    def __isub__(self, handler: Listener) -> EventHook:
        self.remove_listener(handler)
        return self

    def __len__(self) -> int:
        return len(self._handlers)

    @property
    def listeners(self) -> tuple[Listener, ...]:
        return tuple(self._handlers)

    def fire(self, *, reverse: bool = False, **kwargs: Any) -> None:
        handlers = reversed(self._handlers) if reverse else self._handlers
        for handler in handlers:
            try:
                handler(**kwargs)
            except CONTROL_FLOW_EXCEPTIONS:
                raise
            except Exception:
                self.listener_failed(handler)

    def listener_failed(self, handler: Listener) -> None:
        """Logs and counts the exception being handled, raised by ``handler``."""
        self.errors += 1
        logger.exception("Uncaught exception in listener %r of event %s", handler, self.name or "?")

    @contextmanager
    def measure(
        self, request_type: str, name: str, response_length: int = 0, context: dict[str, Any] | None = None
    ) -> Iterator[dict[str, Any]]:
        """Times the block and fires this hook as a request, failed if the block raised.

        As in Locust the exception is recorded, not re-raised: the block is the request. The yielded dict can
        be edited (response_length, exception, ...) before it is fired.
        """
        start_time = time.time()
        start = time.perf_counter()
        request_meta: dict[str, Any] = {
            "request_type": request_type,
            "name": name,
            "response_length": response_length,
            "context": context if context is not None else {},
            "exception": None,
            "start_time": start_time,
            "response": None,
            "url": None,
        }
        try:
            yield request_meta
        except Exception as e:
            request_meta["exception"] = e
        finally:
            request_meta["response_time"] = (time.perf_counter() - start) * 1000
            self.fire(**request_meta)


class Events:
    """The event hooks of one test; the attribute names and listener keyword arguments are Locust's."""

    #: ``(parser)``: add custom command line options
    init_command_line_parser: EventHook
    #: ``(environment, runner=None, web_ui=None)``: the locustfile is loaded and the environment built
    init: EventHook
    #: ``(request_type, name, response_time, response_length, response, context, exception, start_time, url)``
    request: EventHook
    #: ``(user_instance, exception, tb)``: a task raised an exception it did not handle
    user_error: EventHook
    #: ``(client_id, data)``: a worker adds to its report to the master
    report_to_master: EventHook
    #: ``(client_id, data)``: the master received a worker's report
    worker_report: EventHook
    #: ``(client_id)``: a worker connected to the master
    worker_connect: EventHook
    #: ``(user_count)``: all users of the current target are running
    spawning_complete: EventHook
    #: ``(environment)``: the process is about to quit
    quitting: EventHook
    #: ``(exit_code)``: the process quits with this code
    quit: EventHook
    #: ``(environment)``: the test starts
    test_start: EventHook
    #: ``(environment)``: the test is about to stop, its users still run
    test_stopping: EventHook
    #: ``(environment)``: the test stopped
    test_stop: EventHook
    #: ``()``: the statistics were reset
    reset_stats: EventHook
    #: ``(environment, cpu_usage)``: this process's CPU use is too high for trustworthy numbers
    cpu_warning: EventHook
    #: ``(client_id, timestamp)``: a worker sent a heartbeat
    heartbeat_sent: EventHook
    #: ``(client_id, timestamp)``: the master received a heartbeat
    heartbeat_received: EventHook
    #: ``(environment, cpu_usage, memory_usage)``: periodic process usage sample
    usage_monitor: EventHook

    def __init__(self) -> None:
        for name in self.hook_names():
            setattr(self, name, EventHook(name))

    @classmethod
    def hook_names(cls) -> tuple[str, ...]:
        return tuple(name for name, kind in cls.__annotations__.items() if kind == "EventHook")

    @property
    def listener_errors(self) -> int:
        """How many listener calls raised, over all hooks (a run with any of them exits with code 2)."""
        return sum(getattr(self, name).errors for name in self.hook_names())


events = Events()
