"""Request bodies of every kind a locustfile passes, byte for byte as the server received them, with the
headers they imply sent once (a header the task sets wins)."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator

import pytest

from tests.runtime.http_conformance.conftest import Client, assert_recorded, assert_successes
from tests.runtime.http_conformance.server import ScriptedServer, answer, ok

Make = Callable[..., Client]
Serve = Callable[..., ScriptedServer]


def chunks() -> Iterator[bytes]:
    yield b"first,"
    yield b"second"


@pytest.mark.parametrize(
    ("kwargs", "body", "content_type"),
    [
        ({"data": b"raw bytes"}, b"raw bytes", None),
        ({"data": "text é"}, "text é".encode(), None),
        ({"data": {"a": "1 2", "b": ["x", "y"]}}, b"a=1+2&b=x&b=y", "application/x-www-form-urlencoded"),
        ({"data": [("k", "v"), ("k", "w")]}, b"k=v&k=w", "application/x-www-form-urlencoded"),
        ({"data": lambda: io.BytesIO(b"from a file")}, b"from a file", None),
        ({"data": bytearray(b"mutable")}, b"mutable", None),
        ({"json": {"n": 1, "s": "x"}}, json.dumps({"n": 1, "s": "x"}).encode(), "application/json"),
        ({}, b"", None),
    ],
    ids=["bytes", "str", "dict", "pairs", "file", "bytearray", "json", "empty"],
)
def test_body(
    kind: str,
    serve: Serve,
    make_client: Make,
    kwargs: dict[str, object],
    body: bytes,
    content_type: str | None,
) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    made = {key: value() if callable(value) else value for key, value in kwargs.items()}
    client.request("POST", "/submit", name="submit", **made)
    (received,) = server.received
    assert received.body == body and received.all("Content-Length") == [str(len(body))]
    assert received.header("Content-Type") == content_type
    assert_recorded(client, "POST", "submit", ok=True, length=2)


def test_generator_is_sent_chunked(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request("POST", "/stream", data=chunks())
    (received,) = server.received
    assert received.chunked and received.body == b"first,second" and received.header("Content-Length") is None
    assert_recorded(client, "POST", "/stream", ok=True)


def test_files_are_sent_as_multipart(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    files = {"upload": ("report.csv", io.BytesIO(b"a,b\n1,2\n"), "text/csv")}
    client.request("POST", "/upload", files=files, data={"title": "T"})
    (received,) = server.received
    content_type = received.header("Content-Type") or ""
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1].encode()
    assert received.body.count(b"--" + boundary) == 3
    assert b'name="title"\r\n\r\nT\r\n' in received.body
    assert b'name="upload"; filename="report.csv"\r\nContent-Type: text/csv\r\n\r\na,b\n1,2\n\r\n' in received.body
    assert received.header("Content-Length") == str(len(received.body))
    assert_recorded(client, "POST", "/upload", ok=True)


def test_task_content_headers_are_sent_once(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request(
        "POST", "/j", json={"a": 1}, headers={"Content-Type": "application/vnd.x+json", "Accept": "text/plain"}
    )
    client.request("PUT", "/f", data={"a": "1"}, headers={"content-type": "text/x-form"})
    first, second = server.received
    assert first.all("Content-Type") == ["application/vnd.x+json"] and first.all("Accept") == ["text/plain"]
    assert second.all("content-type") == ["text/x-form"] and second.all("Content-Length") == ["3"]
    assert_successes(client, 2)


def test_task_content_length_is_sent_once(kind: str, serve: Serve, make_client: Make) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request("POST", "/l", data=b"four", headers={"Content-Length": "4", "Cookie": "c=1"})
    (received,) = server.received
    assert received.all("Content-Length") == ["4"] and received.all("Cookie") == ["c=1"] and received.body == b"four"
    assert_successes(client, 1)


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS"])
def test_methods_with_a_body(kind: str, serve: Serve, make_client: Make, method: str) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request(method, "/r", data=b"body")
    (received,) = server.received
    assert (received.method, received.body, received.header("Content-Length")) == (method, b"body", "4")
    assert_recorded(client, method, "/r", ok=True)


@pytest.mark.parametrize("method", ["GET", "HEAD", "DELETE"])
def test_bodyless_methods_send_no_length(kind: str, serve: Serve, make_client: Make, method: str) -> None:
    server = serve(answer(ok()))
    client = make_client(kind, server.url)
    client.request(method, "/r")
    (received,) = server.received
    # requests sends "Content-Length: 0" on a DELETE without a body (the clients differ; both are valid)
    length = "0" if kind == "http" and method == "DELETE" else None
    assert received.method == method and received.header("Content-Length") == length and received.body == b""
    assert_successes(client, 1)
