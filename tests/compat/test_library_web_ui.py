"""Environment as a library with a web UI: `create_web_ui` serves the page over the script's own run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.support.processes import Output, Target
from tests.support.waiting import wait_for_exit, wait_for_line, wait_until

SCRIPT = Path(__file__).resolve().parent / "locustfiles" / "api_web_ui_lib.py"


def get_json(url: str) -> dict[str, object]:
    with urllib.request.urlopen(url, timeout=10) as response:
        data: dict[str, object] = json.loads(response.read())
    return data


def test_a_library_scripts_web_ui_shows_its_run_and_stops_it(fresh_target: Target, tmp_path: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), fresh_target.url],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        out, err = Output(process.stdout, "the script's stdout"), Output(process.stderr, "the script's stderr")
        line = wait_for_line(out, "page: ", alive=[process], timeout=60)[0]
        page = re.search(r"page: (\S+)", line)
        assert page, line
        url = page.group(1)

        def requests_on_the_page() -> int:
            stats = get_json(url + "stats/requests")
            total = [row for row in stats["stats"] if row["name"] == "Aggregated"]  # type: ignore[attr-defined]
            return int(total[0]["num_requests"]) if total else 0

        wait_until(lambda: requests_on_the_page() >= 10, timeout=60, message="the page shows the script's requests")
        # The HTML report, as the command line's page serves it: shown, or downloaded as an attachment.
        with urllib.request.urlopen(url + "stats/report", timeout=30) as response:
            assert response.headers.get_content_type() == "text/html"
            assert "Content-Disposition" not in response.headers
            report = response.read().decode()
        assert "<html" in report.lower() and "Aggregated" in report and "GET" in report, report[:500]
        with urllib.request.urlopen(url + "stats/report?download=1", timeout=30) as response:
            assert response.headers["Content-Disposition"] == "attachment; filename=horde-report.html"
            assert "Aggregated" in response.read().decode()
        with urllib.request.urlopen(url + "stop", timeout=10) as response:
            assert json.loads(response.read())["success"] is True
        code = wait_for_exit(process, timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    out.join(10)
    err.join(10)
    assert code == 0, out.text() + err.text()
    counted = re.search(r"counted: (\d+) failures=(\d+)", out.text())
    assert counted, out.text() + err.text()
    # Stopped from the page with no stop timeout: a user stopped mid-request may leave a served request uncounted.
    served = fresh_target.counts()["GET /"]
    assert served - 3 <= int(counted.group(1)) <= served and int(counted.group(2)) == 0
    assert int(counted.group(1)) >= 10


def test_a_web_ui_asked_for_before_its_runner_is_refused_in_one_line() -> None:
    from horde import Environment, User, task
    from horde.run import RunError

    class Idle(User):
        @task
        def nothing(self) -> None:
            pass

    environment = Environment(user_classes=[Idle])
    with pytest.raises(RunError, match=r"^create_web_ui: create the runner first \(environment.create_local_runner"):
        environment.create_web_ui("127.0.0.1", 0)
    assert environment.web_ui is None
