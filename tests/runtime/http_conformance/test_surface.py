"""What a locustfile passes and reads besides the body: headers, auth, params, names, catch_response,
response.request, stream=True, and FastHttpUser's rest()."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from horde.runtime.exceptions import ResponseError
from tests.runtime.http_conformance.conftest import Client, assert_recorded, assert_successes
from tests.runtime.http_conformance.server import Conn, ScriptedServer, _allocate_lock, answer, ok

Make = Callable[..., Client]
Serve = Callable[..., ScriptedServer]


def test_auth_tuple(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request("GET", "/private", auth=("aladdin", "opensesame"))
    assert server.received[0].all("Authorization") == ["Basic YWxhZGRpbjpvcGVuc2VzYW1l"]
    assert_successes(client, 1)


def test_credentials_in_the_host(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, f"http://us%40r:p%3Ass@127.0.0.1:{server.port}")
    client.request("GET", "/private")
    (received,) = server.received
    assert received.all("Authorization") == ["Basic dXNAcjpwOnNz"] and received.target == "/private"
    assert received.header("Host") == f"127.0.0.1:{server.port}"
    assert_recorded(client, "GET", "/private", ok=True)


def test_params_are_encoded_into_the_query(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request("GET", "/search?lang=en", params={"q": "a b&c", "n": [1, 2]})
    target = "/search?lang=en&q=a+b%26c&n=1&n=2"
    assert server.received[0].target == target
    # Locust's FastHttpUser names a request by the url it was given, its HttpUser by the path sent (they differ)
    assert_recorded(client, "GET", "/search?lang=en" if kind == "fast" else target, ok=True)


def test_non_ascii_path_is_percent_encoded(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request("GET", "/münchen")
    assert server.received[0].target == "/m%C3%BCnchen"
    assert_successes(client, 1)


def test_name_and_rename_request(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request("GET", "/items/1", name="/items/[id]")
    with client.client.rename_request("grouped"):
        client.request("GET", "/items/2")
        client.request("POST", "/items/3")
    assert [(c["request_type"], c["name"]) for c in client.calls] == [
        ("GET", "/items/[id]"),
        ("GET", "grouped"),
        ("POST", "grouped"),
    ]
    assert [r.target for r in server.received] == ["/items/1", "/items/2", "/items/3"]


def test_task_headers_override_the_defaults_once(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request("GET", "/", headers={"user-agent": "mine/1", "Accept": "text/html", "Accept-Encoding": "identity"})
    (received,) = server.received
    assert received.all("User-Agent") == ["mine/1"] and received.all("Accept") == ["text/html"]
    assert received.all("Accept-Encoding") == ["identity"] and len(received.all("Host")) == 1
    assert_successes(client, 1)


def test_default_headers_attribute(serve: Serve, make_client: Make) -> None:
    """FastHttpUser only: Locust's ``default_headers`` go with every request, a request's own win."""
    server = serve(answer(ok()))
    client = make_client("fast", server.url, default_headers={"X-Tenant": "t1", "User-Agent": "bot/2"})
    client.request("GET", "/a")
    client.request("GET", "/b", headers={"X-Tenant": "t2"})
    first, second = server.received
    assert first.all("X-Tenant") == ["t1"] and first.all("User-Agent") == ["bot/2"]
    assert second.all("X-Tenant") == ["t2"] and second.all("User-Agent") == ["bot/2"]
    assert_successes(client, 2)


@pytest.mark.parametrize(
    ("status", "decide", "ok_expected"),
    [(500, "success", True), (200, "failure", False), (404, None, False), (200, None, True), (200, "raise", False)],
    ids=["500-success", "200-failure", "404-untouched", "200-untouched", "response-error"],
)
def test_catch_response(
    kind: str, serve: Serve, make_client: Make, status: int, decide: str | None, ok_expected: bool
) -> None:
    server = serve(answer(b"HTTP/1.1 %d X\r\nContent-Length: 2\r\n\r\nok" % status))
    client = make_client(kind, server.url)
    with client.request("GET", "/c", catch_response=True) as response:
        assert client.calls == []  # reported when the block ends
        if decide == "success":
            response.success()
        elif decide == "failure":
            response.failure("wrong body")
        elif decide == "raise":
            raise ResponseError("checked and wrong")
    assert_recorded(client, "GET", "/c", ok=ok_expected, length=2)
    assert len(server.received) == 1


def test_response_request_is_what_was_sent(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    response = client.request("POST", "/r", data=b"sent", headers={"X-Trace": "t"})
    request = response.request
    assert request.method == "POST" and request.headers["X-Trace"] == "t"
    assert request.url == f"{server.url}/r"
    assert request.body == b"sent"
    assert_successes(client, 1)


def test_stream_does_not_time_the_download(kind: str, serve: Serve, make_client: Make) -> None:
    """With stream=True the time is to the head; the length recorded is Content-Length; the body reads later."""
    body_held = _allocate_lock()  # a real lock: the server's thread, not the client, waits on it
    body_held.acquire()

    def slow_body(conn: Conn) -> None:
        conn.read_request()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        body_held.acquire(timeout=10)  # the body goes out only once the request has returned
        conn.send(b"0123456789")
        conn.wait_closed()

    server = serve(slow_body)
    client = make_client(kind, server.url)
    response = client.request("GET", "/big", stream=True)
    body_held.release()
    call = assert_recorded(client, "GET", "/big", ok=True, length=10)
    assert call["response_time"] < 5000  # a request that waited for the body would have failed or taken 10 s
    assert response.content == b"0123456789"


def test_rest_parses_json_and_fails_on_a_failed_assert(serve: Serve, make_client: Make) -> None:
    """FastHttpUser only (Locust's HttpUser has rest() since 2.x too, but horde's HttpUser does not yet)."""
    body = b'{"id": 7}'
    server = serve(answer(ok(body, b"Content-Type: application/json\r\n")))
    client = make_client("fast", server.url)
    with client.user.rest("POST", "/api", json={"q": 1}) as response:
        assert response.js == {"id": 7}
    with client.user.rest("GET", "/api") as response:
        assert response.js["id"] == 8, "wrong id"
    assert [(c["request_type"], c["name"], c["exception"] is None) for c in client.calls] == [
        ("POST", "/api", True),
        ("GET", "/api", False),
    ]
    assert "wrong id" in str(client.calls[1]["exception"])
    first = server.received[0]
    assert first.header("Content-Type") == "application/json" and first.header("Accept") == "application/json"


def test_rest_underscore_adds_a_cache_buster(serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok(b"{}")))
    client = make_client("fast", server.url)
    with client.user.rest_("GET", "/api?x=1"):
        pass
    assert server.received[0].target.startswith("/api?x=1&_=")
    assert_recorded(client, "GET", "/api?x=1&_=...", ok=True)
