"""Locust's `--profile`: kept as `environment.profile`, shown in the HTML report, and set from the web UI's form."""

from __future__ import annotations

from pathlib import Path

from tests.support.processes import Target, horde
from tests.support.waiting import wait_until
from tests.web.conftest import LOCUSTFILE, close, serve

PROFILE_PROBE = """
from horde import HttpUser, constant, events, task


@events.test_start.add_listener
def say_profile(environment, **_kwargs):
    print(f"profile is {environment.profile!r}", flush=True)


class Visitor(HttpUser):
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/")
"""


def test_a_headless_runs_profile_is_the_environments_and_in_the_report(tmp_path: Path, target: Target) -> None:
    (tmp_path / "probe.py").write_text(PROFILE_PROBE)
    (tmp_path / "locust.conf").write_text("profile = from-the-file\n")
    result = horde(
        "run", "-f", "probe.py", "-H", target.url, "-u", "1", "-t", "1s", "--headless", "--only-summary",
        "--profile", "nightly <b>", "--html", "report.html", cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "profile is 'nightly <b>'" in result.stdout
    report = (tmp_path / "report.html").read_text()
    assert "<dt>Profile</dt><dd>nightly &lt;b&gt;</dd>" in report


def test_the_forms_profile_is_the_runs_from_then_on(tmp_path: Path, target: Target) -> None:
    page = serve(
        ["run", "-f", LOCUSTFILE, "-H", target.url, "--web-port", "0", "--journal", "run.jsonl",
         "--profile", "first"],
        tmp_path,
    )  # fmt: skip
    try:
        assert page.json("config")["profile"] == "first"
        status, body = page.post("swarm", {"user_count": "1", "spawn_rate": "10", "profile": "second"})
        assert status == 200, body
        assert page.json("config")["profile"] == "second"
        # the report is told from the journal, where the form's web.swarm is written
        wait_until(lambda: b"<dt>Profile</dt><dd>second</dd>" in page.get("stats/report")[1], message="the report")
    finally:
        close(page)
