"""A live `horde run` serving the web UI, and a past run's journal served by `horde ui`, as real processes."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import HordeProcess
from tests.support.waiting import wait_for_line

HERE = Path(__file__).resolve().parent
LOCUSTFILE = str(HERE / "web_locustfile.py")
GREETING = str(HERE / "greeting_locustfile.py")


@dataclass
class Page:
    """A served web UI: its process and its address."""

    process: HordeProcess
    url: str

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        return request(self.url + path, headers=headers)

    def post(self, path: str, form: dict[str, str] | None = None) -> tuple[int, bytes]:
        status, body, _ = request(self.url + path, data=urllib.parse.urlencode(form or {}).encode())
        return status, body

    def json(self, path: str) -> Any:
        status, body, _ = self.get(path)
        assert status == 200, body
        return json.loads(body)


def request(
    url: str, data: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    req = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


def serve(args: list[str], cwd: Path, name: str = "web UI") -> Page:
    process = HordeProcess(args, cwd=cwd, name=name)
    (line,) = wait_for_line(process.err, "web UI at http://", alive=[process])
    return Page(process, line.split("web UI at ")[1].split()[0])


def serve_master(locustfile: str, host: str, cwd: Path) -> tuple[Page, list[str]]:
    """A master serving the page, that reports and beats every 0.5 s and gives users a stop timeout (its counts
    are compared with the target's), and the `horde` arguments of a worker for it."""
    page = serve(
        ["run", "-f", locustfile, "-H", host, "--web-port", "0", "--journal", "run.jsonl", "-s", "5",
         "--stats-interval", "0.5", "--heartbeat-interval", "0.5", "--autoquit", "60",
         "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0"],
        cwd,
    )  # fmt: skip
    (line,) = wait_for_line(page.process.out, "listening on port ", alive=[page.process])
    port = int(line.split("listening on port ")[1].split(",")[0])
    return page, ["run", "-f", locustfile, "--worker", "--master-port", str(port), "--heartbeat-interval", "0.5"]


def close(page: Page) -> None:
    if page.process.poll() is None:
        page.process.kill()
    page.process.communicate(timeout=10)


@pytest.fixture
def live_page(tmp_path: Path, target: Any) -> Iterator[Page]:
    """`horde run` without --headless: the page waits for Start; --autoquit ends the process after the run."""
    page = serve(
        ["run", "-f", LOCUSTFILE, "-H", target.url, "--web-port", "0", "--journal", "run.jsonl", "--autoquit", "30"],
        tmp_path,
    )
    try:
        yield page
    finally:
        close(page)
