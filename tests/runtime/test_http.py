"""HttpUser against a real local server: naming, failures, catch_response, connection errors, event kwargs."""

from __future__ import annotations

import pytest
import requests

from horde import Environment, Events, HttpUser, LocustError, task
from horde.runtime.exceptions import CatchResponseError, ResponseError
from tests.support.demo_server import CountingRecorder, DemoServer


class Client(HttpUser):
    @task
    def noop(self) -> None:
        pass


def make_user(host: str, recorder: CountingRecorder) -> Client:
    return Client(Environment([Client], Events(), host=host, stats=recorder))


def test_request_is_reported_with_locust_kwargs(server: DemoServer, recorder: CountingRecorder) -> None:
    recorder.keep_calls = True
    user = make_user(server.url, recorder)
    response = user.client.get("/items/42")
    assert response.status_code == 200 and response.json() == {"id": "42"}
    (call,) = recorder.calls
    assert call["request_type"] == "GET" and call["name"] == "/items/42"
    assert call["url"] == f"{server.url}/items/42"
    assert call["response"] is response and call["exception"] is None
    assert call["response_length"] == len(response.content)
    assert 0 < call["response_time"] < 1000
    assert call["context"] == {} and call["start_time"] > 0
    assert server.counts["GET /items"] == 1


def test_name_groups_urls(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    for i in range(3):
        user.client.get(f"/items/{i}", name="/items/[id]")
    with user.client.rename_request("/items/renamed"):
        user.client.get("/items/9")
    assert recorder.requests == {("GET", "/items/[id]"): 3, ("GET", "/items/renamed"): 1}


def test_http_error_status_is_a_failure(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    assert user.client.get("/status/500").status_code == 500
    user.client.get("/status/404")
    user.client.post("/cart", json={"item": 1})
    assert recorder.failures == {("GET", "/status/500"): 1, ("GET", "/status/404"): 1}
    assert all(isinstance(e, requests.HTTPError) for e in recorder.errors)
    assert recorder.requests[("POST", "/cart")] == 1


def test_catch_response_success_failure_and_response_error(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    with user.client.get("/status/404", catch_response=True) as response:
        response.success()
    with user.client.get("/", catch_response=True) as response:
        response.failure("body was not what we wanted")
    with user.client.get("/", name="raised", catch_response=True):
        raise ResponseError("bad content")
    with user.client.get("/status/503", name="untouched", catch_response=True):
        pass
    assert recorder.failures == {("GET", "/"): 1, ("GET", "raised"): 1, ("GET", "untouched"): 1}
    assert recorder.requests[("GET", "/status/404")] == 1
    assert isinstance(recorder.errors[0], CatchResponseError)
    assert str(recorder.errors[0]) == "body was not what we wanted"
    with pytest.raises(LocustError):
        user.client.get("/", catch_response=True).success()


def test_other_exceptions_in_catch_response_block_propagate(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    with pytest.raises(KeyError), user.client.get("/", catch_response=True):
        raise KeyError("x")
    assert recorder.requests == {}


def test_connection_refused_is_a_failure_and_returns(recorder: CountingRecorder) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    user = make_user(f"http://127.0.0.1:{port}", recorder)
    response = user.client.get("/")
    assert response.status_code == 0 and response.error is not None
    assert recorder.failures == {("GET", "/"): 1}
    assert isinstance(recorder.errors[0], requests.ConnectionError)


def test_login_token_and_cookies_flow(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    with user.client.post("/login", json={"user": "a"}, catch_response=True) as response:
        token = response.json()["token"]
        response.success()
    cart = user.client.get("/cart", headers={"Authorization": f"Bearer {token}"}).json()
    assert token == "secret-token" and "session=abc123" in cart["cookie"]


def test_host_is_required_and_environment_host_wins(server: DemoServer) -> None:
    with pytest.raises(LocustError, match="host"):
        Client(Environment([Client], Events()))

    class WithHost(HttpUser):
        host = "http://127.0.0.1:1"

    user = WithHost(Environment([WithHost], Events(), host=server.url))
    assert user.client.get("/").status_code == 200


def test_request_context_merges_user_context(server: DemoServer, recorder: CountingRecorder) -> None:
    class Tenant(HttpUser):
        def context(self) -> dict[str, str]:
            return {"tenant": "acme"}

    recorder.keep_calls = True
    user = Tenant(Environment([Tenant], Events(), host=server.url, stats=recorder))
    user.client.get("/", context={"step": 1})
    assert recorder.calls[0]["context"] == {"tenant": "acme", "step": 1}
