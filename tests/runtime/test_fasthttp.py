"""FastHttpUser against a real local server: same surface as HttpUser, keep-alive, framing, and speed."""

from __future__ import annotations

import socket
import time

import gevent
import pytest
import requests

from horde import Environment, Events, FastHttpUser, LocustError, task
from horde.runtime.exceptions import CatchResponseError, ResponseError
from tests.support.demo_server import CountingRecorder, DemoServer


class Client(FastHttpUser):
    @task
    def noop(self) -> None:
        pass


def make_user(host: str, recorder: CountingRecorder) -> Client:
    return Client(Environment([Client], Events(), host=host, stats=recorder))


def free_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port: int = sock.getsockname()[1]
    sock.close()
    return port


def test_request_is_reported_with_locust_kwargs(server: DemoServer, recorder: CountingRecorder) -> None:
    recorder.keep_calls = True
    user = make_user(server.url, recorder)
    response = user.client.get("/items/42")
    assert response.status_code == 200 and response.ok
    assert response.json() == {"id": "42"} and response.text == '{"id": "42"}'
    assert response.headers["content-type"] == "application/json"
    (call,) = recorder.calls
    assert call["request_type"] == "GET" and call["name"] == "/items/42"
    assert call["url"] == f"{server.url}/items/42" and call["response"] is response
    assert call["exception"] is None and call["response_length"] == len(response.content)
    assert 0 < call["response_time"] < 1000 and call["start_time"] > 0 and call["context"] == {}


def test_methods_bodies_params_and_headers(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    echoed = user.client.post("/echo", json={"a": 1}).json()
    assert echoed["method"] == "POST" and echoed["body"] == '{"a": 1}'
    assert echoed["content_type"] == "application/json"
    echoed = user.client.put("/echo", data={"x": "1 2"}).json()
    assert echoed["body"] == "x=1+2" and echoed["content_type"] == "application/x-www-form-urlencoded"
    echoed = user.client.patch("/echo", data=b"raw").json()
    assert echoed["method"] == "PATCH" and echoed["body"] == "raw"
    echoed = user.client.get("/echo", params={"q": "a b", "n": 2}, headers={"X-Test": "yes"}).json()
    assert echoed["query"] == "q=a+b&n=2" and echoed["headers"]["X_TEST"] == "yes"
    echoed = user.client.request("DELETE", "/echo", headers={"User-Agent": "custom"}).json()
    assert echoed["method"] == "DELETE" and echoed["headers"]["USER_AGENT"] == "custom"
    head = user.client.head("/items/1")
    assert head.status_code == 200 and head.content == b""
    assert user.client.get("/").status_code == 200  # the connection is still in sync after HEAD
    assert sum(recorder.requests.values()) == 7 and not recorder.failures


def test_keep_alive_reuses_one_connection(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    for _ in range(20):
        user.client.get("/")
    assert len(server.peers) == 1
    user.client.get("/close")
    user.client.get("/")
    assert len(server.peers) == 2


def test_framing_chunked_large_and_redirect(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    assert user.client.get("/chunked").content == b"part1-part2-part3"
    assert len(user.client.get("/big").content) == 300_000
    redirected = user.client.get("/redirect")
    assert redirected.status_code == 200 and redirected.json() == {"id": "7"}
    assert recorder.requests[("GET", "/redirect")] == 1
    assert user.client.get("/redirect", allow_redirects=False).status_code == 302
    assert not recorder.failures


def test_http_error_status_is_a_failure(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    response = user.client.get("/status/500", name="err")
    assert response.status_code == 500 and not response.ok
    with pytest.raises(requests.HTTPError):
        response.raise_for_status()
    assert recorder.failures == {("GET", "err"): 1}
    assert "500 Server Error" in str(recorder.errors[0])


def test_catch_response(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    with user.client.get("/status/404", catch_response=True) as response:
        response.success()
    with user.client.get("/", catch_response=True) as response:
        response.failure("unexpected body")
    with user.client.get("/", name="raised", catch_response=True):
        raise ResponseError("bad")
    with user.client.get("/status/503", name="untouched", catch_response=True):
        pass
    assert recorder.failures == {("GET", "/"): 1, ("GET", "raised"): 1, ("GET", "untouched"): 1}
    assert recorder.requests[("GET", "/status/404")] == 1
    assert isinstance(recorder.errors[0], CatchResponseError)
    with pytest.raises(LocustError):
        user.client.get("/", catch_response=True).failure("outside the block")


def test_cookies_from_login_are_sent_back(server: DemoServer, recorder: CountingRecorder) -> None:
    user = make_user(server.url, recorder)
    assert user.client.post("/login", json={"user": "a"}).json()["token"] == "secret-token"
    assert "session=abc123" in user.client.get("/cart").json()["cookie"]


def test_connection_refused_and_dns_failure_are_failures(recorder: CountingRecorder) -> None:
    user = make_user(f"http://127.0.0.1:{free_port()}", recorder)
    response = user.client.get("/")
    assert response.status_code == 0 and isinstance(response.error, ConnectionRefusedError)
    with gevent.Timeout(10):
        dns = make_user("http://no-such-host.invalid", recorder).client.get("/", name="dns")
    assert dns.status_code == 0 and isinstance(dns.error, OSError)
    assert recorder.failures == {("GET", "/"): 1, ("GET", "dns"): 1}


def test_server_closing_idle_connection_is_retried(recorder: CountingRecorder) -> None:
    """A keep-alive connection the server dropped while idle must not turn into a failed request."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list[int] = []

    def serve_one_request_per_connection() -> None:
        while True:
            conn, _ = listener.accept()
            accepted.append(1)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            gevent.sleep(0.01)
            conn.close()  # an idle timeout of 10 ms, without saying Connection: close

    acceptor = gevent.spawn(serve_one_request_per_connection)
    try:
        user = make_user(f"http://127.0.0.1:{listener.getsockname()[1]}", recorder)
        for _ in range(3):
            assert user.client.get("/").content == b"ok"
            gevent.sleep(0.05)
        assert len(accepted) == 3 and not recorder.failures
    finally:
        acceptor.kill()
        listener.close()


def test_single_user_throughput(server: DemoServer, recorder: CountingRecorder) -> None:
    """One greenlet in a request loop: a floor far below what it does, to catch a pathologically slow path."""
    user = make_user(server.url, recorder)
    get = user.client.get
    deadline = time.perf_counter() + 0.5
    count = 0
    while time.perf_counter() < deadline:
        get("/")
        count += 1
    assert count / 0.5 > 300, f"{count / 0.5:.0f} requests/s"
    assert recorder.requests[("GET", "/")] == count and not recorder.failures
