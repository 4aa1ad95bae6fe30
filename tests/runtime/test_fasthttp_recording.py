"""FastHttpUser calls the statistics recorder directly when it is the request hook's only listener: the numbers
must be those the hook would have recorded, and any other listener must bring the hook back."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from horde import Environment, Events, FastHttpUser, task
from horde.protocol.stats import StatsDelta
from horde.stats.recorder import StatsRecorder
from tests.support.processes import Target


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def requests_of(target: Target, recorder: StatsRecorder, events: Events) -> StatsDelta:
    """The same requests, whatever listens: successes, a renamed one, a 404, a POST and a refused connection."""
    cls = type("Case", (FastHttpUser,), {"host": target.url, "tasks": [task(lambda user: None)]})
    user = cls(Environment([cls], events, host=target.url, stats=recorder))
    client = user.client
    for _ in range(3):
        client.get("/")
    client.get("/items/7", name="/items/[id]")
    client.get("/nowhere")
    client.post("/login", data=b"user=a")
    with client.rename_request("grouped"):
        client.get("/text")
    client.request("GET", closed_port_url() + "/gone", name="refused")
    client.close()
    return recorder.take_delta()


def summary(delta: StatsDelta) -> list[tuple[Any, ...]]:
    """What must agree: per entry requests, failures, bytes and timings counted; the errors table."""
    entries = [
        (e.method, e.name, e.num_requests, e.num_failures, e.total_content_length, sum(e.buckets.as_dict().values()))
        for e in delta.entries
    ]
    errors = [(e.method, e.name, e.error.split(":")[0], e.occurrences) for e in delta.errors]
    return entries + errors


def test_the_recorder_alone_records_what_the_hook_records_with_another_listener(fresh_target: Target) -> None:
    alone = Events()
    direct = requests_of(fresh_target, StatsRecorder(), alone)
    assert alone.request.sole is not None

    seen: list[tuple[str, str]] = []
    watched = Events()
    watched.request.add_listener(lambda request_type, name, **kwargs: seen.append((request_type, name)))
    fired = requests_of(fresh_target, StatsRecorder(), watched)

    assert summary(direct) == summary(fired)
    assert sorted(seen) == sorted(
        [("GET", "/")] * 3
        + [("GET", "/items/[id]"), ("GET", "/nowhere"), ("POST", "/login"), ("GET", "grouped"), ("GET", "refused")]
    )
    assert {(e.method, e.name): (e.num_requests, e.num_failures) for e in direct.entries} == {
        ("GET", "/"): (3, 0),
        ("GET", "/items/[id]"): (1, 0),
        ("GET", "/nowhere"): (1, 1),
        ("POST", "/login"): (1, 0),
        ("GET", "grouped"): (1, 0),
        ("GET", "refused"): (1, 1),
    }
    assert fresh_target.counts()["GET /"] == 6  # the target served each request once


class BrokenRecorder(StatsRecorder):
    def record(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("broken")


def test_a_failing_recorder_is_counted_as_a_failing_listener_and_the_task_goes_on(
    fresh_target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    events = Events()
    cls = type("Case", (FastHttpUser,), {"host": fresh_target.url, "tasks": [task(lambda user: None)]})
    user = cls(Environment([cls], events, host=fresh_target.url, stats=BrokenRecorder()))
    response = user.client.get("/")
    user.client.close()
    assert response.status_code == 200
    assert events.request.errors == 1
    assert "Uncaught exception in listener" in caplog.text


def test_a_recorder_attached_later_gets_the_requests_that_follow(fresh_target: Target) -> None:
    events = Events()
    cls = type("Case", (FastHttpUser,), {"host": fresh_target.url, "tasks": [task(lambda user: None)]})
    first, second = StatsRecorder(), StatsRecorder()
    environment = Environment([cls], events, host=fresh_target.url, stats=first)
    user = cls(environment)
    user.client.get("/", name="one")
    environment.attach_stats(second)
    user.client.get("/", name="two")
    seen: list[str] = []
    events.request.add_listener(lambda name, **kwargs: seen.append(name))
    user.client.get("/", name="three")
    user.client.close()
    assert [(e.name, e.num_requests) for e in first.take_delta().entries] == [("one", 1)]
    assert [(e.name, e.num_requests) for e in second.take_delta().entries] == [("three", 1), ("two", 1)]
    assert seen == ["three"]
