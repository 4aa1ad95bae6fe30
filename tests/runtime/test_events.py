"""Event hooks: listener management, error isolation, control flow, measure(), the shared instance."""

from __future__ import annotations

import logging
from typing import Any

import gevent
import pytest

import horde
from horde import Environment, Events, StopUser
from horde.runtime.events import EventHook
from tests.support.demo_server import CountingRecorder

LOCUST_HOOKS = {
    "init",
    "init_command_line_parser",
    "test_start",
    "test_stopping",
    "test_stop",
    "request",
    "user_error",
    "spawning_complete",
    "quitting",
    "quit",
    "report_to_master",
    "worker_report",
    "cpu_warning",
    "heartbeat_sent",
    "heartbeat_received",
    "usage_monitor",
    "reset_stats",
}


def test_events_have_locusts_hooks_each_its_own() -> None:
    events = Events()
    assert set(Events.hook_names()) >= LOCUST_HOOKS
    hooks = [getattr(events, name) for name in LOCUST_HOOKS]
    assert all(isinstance(hook, EventHook) for hook in hooks)
    assert len({id(hook) for hook in hooks}) == len(hooks)
    assert Events().request is not events.request


def test_listeners_added_removed_and_called_in_order() -> None:
    hook = EventHook()
    calls: list[tuple[str, Any]] = []

    def first(**kwargs: Any) -> None:
        calls.append(("first", kwargs))

    def second(value: int) -> None:
        calls.append(("second", value))

    hook.add_listener(first)
    hook += second
    hook.fire(value=1)
    hook -= first
    hook.fire(value=2)
    hook.remove_listener(second)
    hook.fire(value=3)
    assert calls == [("first", {"value": 1}), ("second", 1), ("second", 2)]


def test_failing_listener_is_logged_counted_and_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = Events()
    seen: list[int] = []

    def broken(**kwargs: Any) -> None:
        raise ValueError("listener bug")

    events.test_start.add_listener(broken)
    events.test_start.add_listener(lambda environment: seen.append(1))
    with caplog.at_level(logging.ERROR):
        events.test_start.fire(environment=None)
        events.test_start.fire(environment=None)
    assert seen == [1, 1]
    assert events.listener_errors == 2
    assert "listener bug" in caplog.text and "Traceback" in caplog.text


def test_control_flow_exceptions_pass_through() -> None:
    hook = EventHook()

    def stop(**kwargs: Any) -> None:
        raise StopUser()

    hook.add_listener(stop)
    with pytest.raises(StopUser):
        hook.fire()
    assert hook.errors == 0


def test_measure_reports_success_and_swallowed_failure() -> None:
    events = Events()
    recorder = CountingRecorder()
    recorder.keep_calls = True
    events.request.add_listener(recorder.on_request)
    with events.request.measure("grpc", "ok-call", response_length=5) as meta:
        gevent.sleep(0.01)
        meta["response_length"] = 7
    with events.request.measure("grpc", "bad-call"):
        raise RuntimeError("remote failed")
    ok, bad = recorder.calls
    assert ok["name"] == "ok-call" and ok["exception"] is None and ok["response_length"] == 7
    assert ok["response_time"] >= 10 and ok["context"] == {} and ok["start_time"] > 0
    assert bad["name"] == "bad-call" and isinstance(bad["exception"], RuntimeError)


def test_environment_uses_the_importable_events_and_puts_the_recorder_first() -> None:
    seen: list[str] = []

    def user_listener(**kwargs: Any) -> None:
        seen.append("user")

    class Recorder(CountingRecorder):
        def on_request(self, *args: Any, **kwargs: Any) -> None:
            seen.append("recorder")

    horde.events.request.add_listener(user_listener)
    environment = Environment([], stats=Recorder())
    try:
        assert environment.events is horde.events
        horde.events.request.fire(request_type="GET", name="/", response_time=1.0, response_length=0, exception=None)
        assert seen == ["recorder", "user"]
    finally:
        environment.detach_stats()
        horde.events.request.remove_listener(user_listener)
    assert len(horde.events.request) == 0


def test_importing_horde_patches_nothing() -> None:
    import subprocess
    import sys

    code = "import sys, horde, socket; print('gevent.monkey' in sys.modules, socket.socket.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["False", "socket"]
