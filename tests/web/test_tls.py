"""`--tls-cert`/`--tls-key`: the page over HTTPS with a certificate made for the test, checked by a real client
that trusts only that certificate; a bad pair is one line before any load."""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import HordeProcess, Output, Target, horde
from tests.support.waiting import wait_for_exit, wait_for_line
from tests.web.conftest import LOCUSTFILE

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")


def test_the_page_is_served_over_https(tmp_path: Path, target: Target, certificate: tuple[str, str]) -> None:
    cert, key = certificate
    process = HordeProcess(
        ["run", "-f", LOCUSTFILE, "-H", target.url, "--web-port", "0", "--journal", "run.jsonl",
         "--tls-cert", cert, "--tls-key", key],
        cwd=tmp_path, name="web UI over TLS",
    )  # fmt: skip
    try:
        (line,) = wait_for_line(process.err, "web UI at https://127.0.0.1:", alive=[process])
        url = line.split("web UI at ")[1].split()[0]
        trusting = ssl.create_default_context(cafile=cert)  # verifies the chain and that it is 127.0.0.1's
        with urllib.request.urlopen(url + "config", timeout=10, context=trusting) as response:
            assert response.status == 200 and json.loads(response.read())["mode"] == "live"
        with pytest.raises(urllib.error.URLError):  # no trust in it: the handshake fails, nothing falls back
            urllib.request.urlopen(url + "config", timeout=10, context=ssl.create_default_context())
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=10)


def test_a_bad_certificate_or_key_is_one_line(tmp_path: Path, certificate: tuple[str, str]) -> None:
    cert, key = certificate
    (tmp_path / "garbage.pem").write_text("not a certificate\n")
    for args, needle in (
        (["--tls-cert", "garbage.pem", "--tls-key", key], "--tls-cert/--tls-key: cannot serve HTTPS with them"),
        (["--tls-cert", key, "--tls-key", cert], "--tls-cert/--tls-key: cannot serve HTTPS with them"),
        (["--tls-cert", cert], "--tls-cert and --tls-key go together"),
    ):
        result = horde("run", "-f", LOCUSTFILE, "--web-port", "0", "--journal", "run.jsonl", *args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and needle in lines[0], result.stderr
        assert not (tmp_path / "run.jsonl").exists()  # refused before the run was prepared


LIBRARY_SCRIPT = """
import sys

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402

from horde import HttpUser, constant, events, task  # noqa: E402
from horde.env import Environment  # noqa: E402


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/")


env = Environment(user_classes=[Reader], host=sys.argv[1], events=events)
runner = env.create_local_runner()
web_ui = env.create_web_ui("127.0.0.1", 0, tls_cert=sys.argv[2], tls_key=sys.argv[3])
print(f"page: https://127.0.0.1:{web_ui.port}/", flush=True)
runner.start(1, spawn_rate=10)
gevent.spawn_later(120, runner.quit)
runner.greenlet.join()
web_ui.stop()
"""


def test_a_library_scripts_page_over_https(tmp_path: Path, target: Target, certificate: tuple[str, str]) -> None:
    cert, key = certificate
    (tmp_path / "script.py").write_text(LIBRARY_SCRIPT)
    process = subprocess.Popen(
        [sys.executable, "script.py", target.url, cert, key], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None and process.stderr is not None
        out, err = Output(process.stdout, "the script's stdout"), Output(process.stderr, "the script's stderr")
        (line,) = wait_for_line(out, "page: https://", alive=[process])
        url = line.split("page: ")[1].strip()
        trusting = ssl.create_default_context(cafile=cert)
        with urllib.request.urlopen(url + "stop", timeout=10, context=trusting) as response:
            assert json.loads(response.read())["success"] is True
        assert wait_for_exit(process, timeout=60) == 0, err.text()
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
