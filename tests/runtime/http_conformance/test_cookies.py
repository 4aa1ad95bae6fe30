"""The cookie jar: the standard scoping rules (Path, Domain, Secure, expiry, host), one Cookie header, and a
Cookie header the task sets wins over the jar."""

from __future__ import annotations

from collections.abc import Callable

from tests.runtime.http_conformance.conftest import Client, assert_successes
from tests.runtime.http_conformance.server import Conn, ScriptedServer, answer, ok

Make = Callable[..., Client]
Serve = Callable[..., ScriptedServer]


def set_cookies(*lines: bytes) -> Callable[[Conn], None]:
    """The first answer sets the cookies, the others are plain."""
    first = ok(extra=b"".join(b"Set-Cookie: %s\r\n" % line for line in lines))
    return answer(first, ok())


def cookies_sent(server: ScriptedServer) -> list[list[str]]:
    return [r.all("Cookie") for r in server.received]


def test_cookie_is_sent_back_in_one_header(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(set_cookies(b"a=1", b"b=2; Path=/"))
    client = make_client(kind, server.url)
    client.request("GET", "/login")
    client.request("GET", "/page")
    assert cookies_sent(server) == [[], [server.received[1].header("Cookie") or ""]]
    assert sorted((server.received[1].header("Cookie") or "").split("; ")) == ["a=1", "b=2"]
    assert_successes(client, 2)


def test_path_scopes_a_cookie(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(set_cookies(b"scoped=1; Path=/account"))
    client = make_client(kind, server.url)
    client.request("GET", "/account/login")
    client.request("GET", "/other")
    client.request("GET", "/account/profile")
    assert cookies_sent(server) == [[], [], ["scoped=1"]]
    assert_successes(client, 3)


def test_expired_cookie_is_removed(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok(extra=b"Set-Cookie: gone=1\r\n"), ok(extra=b"Set-Cookie: gone=; Max-Age=0\r\n"), ok()))
    client = make_client(kind, server.url)
    for path in ("/set", "/unset", "/after"):
        client.request("GET", path)
    assert cookies_sent(server) == [[], ["gone=1"], []]
    assert_successes(client, 3)


def test_cookie_for_another_domain_is_refused(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(set_cookies(b"foreign=1; Domain=example.com", b"mine=1"))
    client = make_client(kind, server.url)
    client.request("GET", "/set")
    client.request("GET", "/next")
    assert cookies_sent(server) == [[], ["mine=1"]]
    assert_successes(client, 2)


def test_secure_cookie_is_not_sent_over_plain_http(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(set_cookies(b"secret=1; Secure", b"plain=1"))
    client = make_client(kind, server.url)
    client.request("GET", "/set")
    client.request("GET", "/next")
    assert cookies_sent(server) == [[], ["plain=1"]]
    assert_successes(client, 2)


def test_cookie_stays_with_its_host(kind: str, serve: Serve, make_client: Make) -> None:
    """A cookie 127.0.0.1 set is not sent to localhost (another host, though the same machine)."""
    other = serve(answer(ok()))
    server = serve(set_cookies(b"host=1"))
    client = make_client(kind, server.url)
    client.request("GET", "/set")
    client.request("GET", f"http://localhost:{other.port}/elsewhere")
    client.request("GET", "/again")
    assert cookies_sent(other) == [[]]
    assert cookies_sent(server) == [[], ["host=1"]]
    assert_successes(client, 3)


def test_task_cookie_header_is_not_doubled(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(set_cookies(b"jar=1"))
    client = make_client(kind, server.url)
    client.request("GET", "/set")
    client.request("GET", "/mine", headers={"Cookie": "own=2"})
    assert cookies_sent(server)[1] == ["own=2"]
    assert_successes(client, 2)


def test_cookie_value_is_replaced(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok(extra=b"Set-Cookie: v=1\r\n"), ok(extra=b"Set-Cookie: v=2\r\n"), ok()))
    client = make_client(kind, server.url)
    for path in ("/1", "/2", "/3"):
        client.request("GET", path)
    assert cookies_sent(server) == [[], ["v=1"], ["v=2"]]
    assert_successes(client, 3)
