"""Redirects as Locust's FastHttpUser follows them: recorded once, under the method and name the task asked
for; 301/302/303 turn a POST into a GET without its body, 307/308 keep both; the task's headers go along,
Authorization only to the same origin; the limit is a failure, not a 3xx counted as a success."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.runtime.http_conformance.conftest import Client, assert_recorded, assert_successes
from tests.runtime.http_conformance.server import Conn, ScriptedServer, answer, ok

Make = Callable[..., Client]
Serve = Callable[..., ScriptedServer]


def redirect(status: int, location: str | bytes, extra: bytes = b"") -> bytes:
    target = location.encode() if isinstance(location, str) else location
    return b"HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 0\r\n%s\r\n" % (status, target, extra)


def routes(table: dict[str, bytes]) -> Callable[[Conn], None]:
    """Answers each request by its path (the query left out); unknown paths get a 404."""

    def script(conn: Conn) -> None:
        while (request := conn.read_request()) is not None:
            conn.send(table.get(request.target.split("?")[0], b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))

    return script


@pytest.mark.parametrize("status", [301, 302, 303])
def test_post_redirected_by_301_302_303_becomes_a_get_recorded_as_the_post(
    kind: str, serve: Serve, make_client: Make, status: int
) -> None:
    server = serve(routes({"/form": redirect(status, "/done"), "/done": ok(b"done")}))
    client = make_client(kind, server.url)
    response = client.request("POST", "/form", data={"a": "1"}, name="submit")
    assert response.status_code == 200 and response.content == b"done"
    first, second = server.received
    assert (first.method, first.target, first.body) == ("POST", "/form", b"a=1")
    assert (second.method, second.target, second.body) == ("GET", "/done", b"")
    assert second.header("Content-Length") is None and second.header("Content-Type") is None
    assert_recorded(client, "POST", "submit", ok=True, length=4)


@pytest.mark.parametrize("status", [307, 308])
def test_307_308_keep_method_and_body(kind: str, serve: Serve, make_client: Make, status: int) -> None:
    server = serve(routes({"/form": redirect(status, "/done"), "/done": ok(b"done")}))
    client = make_client(kind, server.url)
    client.request("POST", "/form", data=b"payload", headers={"Content-Type": "text/plain"})
    _, second = server.received
    assert (second.method, second.target, second.body) == ("POST", "/done", b"payload")
    assert second.header("Content-Type") == "text/plain" and second.header("Content-Length") == "7"
    assert_recorded(client, "POST", "/form", ok=True, length=4)


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_get_redirect_is_one_request_event(kind: str, serve: Serve, make_client: Make, status: int) -> None:
    server = serve(routes({"/old": redirect(status, "/new"), "/new": ok(b"new")}))
    client = make_client(kind, server.url)
    assert client.request("GET", "/old").content == b"new"
    assert [(r.method, r.target) for r in server.received] == [("GET", "/old"), ("GET", "/new")]
    assert_recorded(client, "GET", "/old", ok=True, length=3)


def test_redirect_not_followed_when_asked(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(routes({"/old": redirect(302, "/new")}))
    client = make_client(kind, server.url)
    assert client.request("GET", "/old", allow_redirects=False).status_code == 302
    assert len(server.received) == 1
    assert_recorded(client, "GET", "/old", ok=True, length=0)


def test_redirect_loop_is_a_failure_after_the_limit(kind: str, serve: Serve, make_client: Make) -> None:
    """Locust's limit is 30 redirects for both user classes: the 31st 3xx is not followed, and the request fails."""
    server = serve(routes({"/loop": redirect(302, "/loop")}))
    client = make_client(kind, server.url)
    client.request("GET", "/loop")
    assert len(server.received) == 31
    assert_recorded(client, "GET", "/loop", ok=False, error="redirects")


def test_max_redirects_attribute(serve: Serve, make_client: Make) -> None:
    """FastHttpUser only (HttpUser has no such attribute)."""
    server = serve(routes({"/loop": redirect(302, "/loop")}))
    client = make_client("fast", server.url, max_redirects=2)
    client.request("GET", "/loop")
    assert len(server.received) == 3
    assert_recorded(client, "GET", "/loop", ok=False, error="Exceeded 2 redirects")


def test_headers_go_along_and_auth_stays_on_the_same_origin(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(routes({"/a": redirect(302, "/b"), "/b": ok()}))
    client = make_client(kind, server.url)
    client.request("GET", "/a", headers={"X-Custom": "yes", "User-Agent": "agent/1"}, auth=("user", "pass"))
    _, second = server.received
    assert second.header("X-Custom") == "yes" and second.header("User-Agent") == "agent/1"
    assert second.header("Authorization") == "Basic dXNlcjpwYXNz"
    assert len(second.all("Authorization")) == 1
    assert_successes(client, 1)


@pytest.mark.parametrize("status", [302, 307, 308])
def test_authorization_is_not_sent_to_another_origin(kind: str, serve: Serve, make_client: Make, status: int) -> None:
    other = serve(answer(ok(b"other")))
    server = serve(routes({"/a": redirect(status, f"{other.url}/landing")}))
    client = make_client(kind, server.url)
    response = client.request("GET", "/a", headers={"Authorization": "Bearer secret", "X-Custom": "kept"})
    assert response.content == b"other"
    (landing,) = other.received
    assert landing.target == "/landing" and landing.header("Authorization") is None
    assert landing.header("X-Custom") == "kept" and landing.header("Host") == f"127.0.0.1:{other.port}"
    assert_recorded(client, "GET", "/a", ok=True, length=5)


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/b?x=1", "/b?x=1"),
        ("b", "/dir/b"),
        ("../up", "/up"),
        ("//127.0.0.1:{port}/abs", "/abs"),
        ("http://127.0.0.1:{port}/full", "/full"),
    ],
    ids=["absolute-path-query", "relative", "dot-dot", "scheme-relative", "absolute-url"],
)
def test_location_forms(kind: str, serve: Serve, make_client: Make, location: str, target: str) -> None:
    def script(conn: Conn) -> None:
        if conn.read_request() is not None:
            conn.send(redirect(302, location.format(port=conn.server.port)))
        while conn.read_request() is not None:
            conn.send(ok())

    server = serve(script)
    client = make_client(kind, server.url)
    client.request("GET", "/dir/start")
    assert [r.target for r in server.received] == ["/dir/start", target]
    assert_recorded(client, "GET", "/dir/start", ok=True)


def test_non_ascii_location_is_percent_encoded(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(routes({"/a": redirect(302, "/café".encode()), "/caf%C3%A9": ok()}))
    client = make_client(kind, server.url)
    assert client.request("GET", "/a").status_code == 200
    assert [r.target for r in server.received] == ["/a", "/caf%C3%A9"]
    assert_recorded(client, "GET", "/a", ok=True)


def test_3xx_without_location_is_the_answer(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(b"HTTP/1.1 300 Multiple Choices\r\nContent-Length: 3\r\n\r\nabc"))
    client = make_client(kind, server.url)
    assert client.request("GET", "/m").status_code == 300
    assert len(server.received) == 1
    assert_recorded(client, "GET", "/m", ok=True, length=3)


def test_cookie_set_by_the_redirect_is_sent_once(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(routes({"/login": redirect(303, "/home", b"Set-Cookie: sid=abc; Path=/\r\n"), "/home": ok()}))
    client = make_client(kind, server.url)
    client.request("POST", "/login", data=b"u=1")
    _, home = server.received
    assert home.all("Cookie") == ["sid=abc"]
    client.request("GET", "/home")
    assert server.received[-1].all("Cookie") == ["sid=abc"]
    assert_successes(client, 2)


def test_redirect_to_an_error_is_a_failure_under_the_first_name(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(routes({"/a": redirect(302, "/gone")}))
    client = make_client(kind, server.url)
    assert client.request("GET", "/a", name="a").status_code == 404
    assert_recorded(client, "GET", "a", ok=False)
