"""The web UI's flags and commands from the command line: bad input is one line and exit 2, Locust's habits of
-u/-t keep a run headless, auth and a base path guard and place the page."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

from tests.support.processes import Target, horde
from tests.web.conftest import LOCUSTFILE, close, request, serve


def one_error_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def test_bad_web_flags_are_one_line_and_exit_2(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        cases = [
            (["run", "-f", LOCUSTFILE, "--web-auth", "nopassword"], "--web-auth must be USER:PASSWORD"),
            (["run", "-f", LOCUSTFILE, "--web-login"], "--web-login needs --web-auth"),
            (["run", "-f", LOCUSTFILE, "--web-port", "70000"], "--web-port must be between 0 and 65535"),
            (
                ["run", "-f", LOCUSTFILE, "--web-port", port, "--journal", "x.jsonl"],
                f"cannot serve on 127.0.0.1:{port}",
            ),
            (["ui", "no-such.jsonl", "--web-port", "0"], "no-such.jsonl: no such journal"),
            (["replay", "no-such.jsonl", "--web", "--web-port", "0"], "no-such.jsonl: no such journal"),
        ]
        for args, needle in cases:
            result = horde(*args, cwd=tmp_path, timeout=30)
            assert result.returncode == 2, (args, result.stderr)
            assert needle in one_error_line(result.stderr), (args, result.stderr)
    (tmp_path / "bad.jsonl").write_text("not a journal\n")
    result = horde("ui", "bad.jsonl", "--web-port", "0", cwd=tmp_path, timeout=30)
    assert result.returncode == 2 and "bad.jsonl" in one_error_line(result.stderr)


def test_users_or_run_time_without_headless_run_headless_and_say_so(tmp_path: Path, fresh_target: Target) -> None:
    result = horde(
        "run", "-f", LOCUSTFILE, "-H", fresh_target.url, "-u", "1", "-t", "1s", "--journal", "run.jsonl",
        "--only-summary", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "horde: -u/-t without --headless: running headless (add --autostart" in result.stderr
    assert "web UI at" not in result.stderr and fresh_target.served() > 0


def test_auth_and_base_path_guard_and_place_the_page(tmp_path: Path, target: Target) -> None:
    page = serve(
        ["run", "-f", LOCUSTFILE, "-H", target.url, "--web-port", "0", "--journal", "run.jsonl",
         "--web-auth", "alice:s3cret", "--web-base-path", "/horde/"],
        tmp_path,
    )  # fmt: skip
    try:
        assert page.url.endswith("/horde/")
        good = {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}
        bad = {"Authorization": "Basic " + base64.b64encode(b"alice:guess").decode()}
        assert page.get("config")[0] == 401 and page.get("config", bad)[0] == 401
        assert page.get("config")[2]["WWW-Authenticate"].startswith("Basic")
        assert page.get("config", good)[0] == 200 and page.get("static/app.js", good)[0] == 200
        root = page.url[: -len("horde/")]
        assert request(root + "config", headers=good)[0] == 404  # only under the base path
        assert request(page.url.rstrip("/"), headers=good)[0] == 200  # /horde redirects to /horde/
        assert b"<redacted>" in (tmp_path / "run.jsonl").read_bytes().splitlines()[0]  # the password is not journaled
        assert b"s3cret" not in (tmp_path / "run.jsonl").read_bytes()
    finally:
        close(page)


def test_only_loopback_addresses_count_as_private() -> None:
    from horde.web.server import is_loopback

    assert all(is_loopback(host) for host in ("127.0.0.1", "127.0.0.2", "::1", "localhost"))
    assert not any(is_loopback(host) for host in ("", "0.0.0.0", "::", "10.1.2.3", "example.org"))
