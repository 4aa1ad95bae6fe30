"""A master fires the test events in its own process too, as Locust's does: listeners that set up or tear down
what a whole distributed test shares run there, once, in Locust's order."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import Target, horde

LOCUSTFILE = """\
from locust import HttpUser, constant, events, task
from locust.runners import MasterRunner


def note(environment, what):
    role = "master" if isinstance(environment.runner, MasterRunner) else "worker"
    with open("events.log", "a") as log:
        log.write(f"{role} {what}\\n")


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    note(environment, "test_start")


@events.test_stopping.add_listener
def on_test_stopping(environment, **kwargs):
    note(environment, "test_stopping")


@events.test_stop.add_listener
def on_test_stop(environment, **kwargs):
    note(environment, "test_stop")


@events.quitting.add_listener
def on_quitting(environment, **kwargs):
    note(environment, "quitting")


class Visitor(HttpUser):
    wait_time = constant(0.1)

    @task
    def home(self):
        self.client.get("/")
"""


def _events(cwd: Path, role: str) -> list[str]:
    lines = (cwd / "events.log").read_text().splitlines()
    return [line.split(" ", 1)[1] for line in lines if line.startswith(f"{role} ")]


def test_a_master_fires_test_start_stopping_and_stop_once_each_before_quitting(
    tmp_path: Path, fresh_target: Target
) -> None:
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    result = horde(
        "run", "-f", "locustfile.py", "-H", fresh_target.url, "--headless", "-u", "2", "-r", "10", "-t", "1s",
        "-s", "5", "--processes", "1", "--only-summary",
        cwd=tmp_path, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert _events(tmp_path, "master") == ["test_start", "test_stopping", "test_stop", "quitting"]
    worker = _events(tmp_path, "worker")
    assert worker.count("test_start") == 1 and worker.count("test_stop") == 1, worker
    assert worker.index("test_start") < worker.index("test_stop")
