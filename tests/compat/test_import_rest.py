"""FastHttpUser.rest() and rest_() against the demo target, with Locust's outcomes for each case."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from horde.runtime.environment import Environment
from horde.runtime.events import Events
from horde.runtime.fasthttp import RestResponseContextManager
from horde.runtime.locustfile import load_locustfile
from tests.support.processes import Target

LOCUSTFILES = Path(__file__).parent / "locustfiles"


@pytest.fixture
def api(fresh_target: Target) -> tuple[Any, list[dict[str, Any]]]:
    user_class = load_locustfile(str(LOCUSTFILES / "import_rest.py")).user_classes["Api"]
    environment = Environment(events=Events(), host=fresh_target.url)
    fired: list[dict[str, Any]] = []
    environment.events.request.add_listener(lambda **kwargs: fired.append(kwargs))
    return user_class(environment), fired


def test_js_is_the_parsed_body_and_the_request_succeeds(api: tuple[Any, list[dict[str, Any]]]) -> None:
    user, fired = api
    user.item()
    assert user.seen == {"id": 5}
    user.login()
    assert user.seen == "demo-token"
    assert [(f["request_type"], f["name"], f["exception"]) for f in fired] == [
        ("GET", "/items/5", None),
        ("POST", "/login", None),
    ]
    assert isinstance(fired[0]["response"], RestResponseContextManager)


def test_a_body_that_is_not_json_fails_the_request(api: tuple[Any, list[dict[str, Any]]]) -> None:
    user, fired = api
    user.not_json()
    assert user.seen is None
    assert str(fired[0]["exception"]).startswith("Could not parse response as JSON. not json, response code 200")


def test_assertions_and_errors_in_the_block_fail_the_request_not_the_task(
    api: tuple[Any, list[dict[str, Any]]],
) -> None:
    user, fired = api
    user.failed_assert()
    user.bare_assert()
    user.broken_block()
    errors = [str(f["exception"]) for f in fired]
    assert errors[0] == 'wrong id, response was {"id": 5}'
    assert errors[1] == "Assertion failed"
    assert errors[2].startswith("KeyError: 'missing' at ")
    assert "import_rest.py:" in errors[2] and errors[2].endswith('Response was {"id": 5}')


def test_rest_underscore_adds_a_timestamp_and_groups_the_name(
    api: tuple[Any, list[dict[str, Any]]], fresh_target: Target
) -> None:
    user, fired = api
    user.cache_busting()
    assert user.seen == {"id": 7}
    assert fired[0]["name"] == "/items/7?_=..."
    assert "?_=" in fired[0]["url"]
    assert fresh_target.counts() == {"GET /items/<id>": 1}


def test_the_default_headers_are_on_every_connection(api: tuple[Any, list[dict[str, Any]]]) -> None:
    user, fired = api
    user.item()
    assert fired[0]["exception"] is None
    pool = user.client._pool
    assert "X-Client" in pool.fixed_headers


def test_locust_client_attributes_are_honoured_without_a_warning(
    fresh_target: Target, caplog: pytest.LogCaptureFixture
) -> None:
    from horde.runtime.fasthttp import FastHttpUser

    class Proxied(FastHttpUser):
        host = fresh_target.url
        proxy_host = "127.0.0.1"
        proxy_port = 3128
        max_retries = 2

    user = Proxied(Environment(events=Events()))
    assert "does not support" not in caplog.text
    assert user.client.max_retries == 2 and user.client._pool.absolute  # plain HTTP goes to the proxy
    assert FastHttpUser.max_redirects == 30 and FastHttpUser.client_pool is None
