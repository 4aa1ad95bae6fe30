"""Locust's web API and horde's additions, over real HTTP against a real `horde run` and a real `horde ui`."""

from __future__ import annotations

import csv
import io
import json
import signal
import urllib.request
from pathlib import Path

from tests.support.processes import LOCUSTFILES, Target, horde
from tests.support.waiting import JournalWatch, wait_for_event, wait_for_exit, wait_until
from tests.web.conftest import LOCUSTFILE, Page, close, serve

LOCUST_ENTRY_KEYS = {
    "method", "name", "num_requests", "num_failures", "min_response_time", "max_response_time", "current_rps",
    "current_fail_per_sec", "avg_response_time", "median_response_time", "total_rps", "total_fail_per_sec",
    "response_time_percentile_0.95", "response_time_percentile_0.99", "avg_content_length",
}  # fmt: skip
LOCUST_TOP_KEYS = {
    "stats", "errors", "current_rps", "current_fail_per_sec", "total_rps", "total_fail_per_sec", "fail_ratio",
    "current_response_time_percentiles", "state", "user_count", "workers", "worker_count",
}  # fmt: skip


def one_line_400(page: Page, form: dict[str, str], needle: str) -> None:
    status, body = page.post("swarm", form)
    answer = json.loads(body)
    assert status == 400 and answer["success"] is False, body
    assert needle in answer["message"] and "\n" not in answer["message"], answer


def test_live_api_start_steer_reset_stop(live_page: Page, tmp_path: Path) -> None:
    page = live_page
    status, body, headers = page.get("")
    assert status == 200 and b"<title>horde</title>" in body and headers["Content-Type"].startswith("text/html")
    config = page.json("config")
    assert config["mode"] == "live" and config["started"] is False
    assert [a["dest"] for a in config["arguments"]] == ["greeting"]  # include_in_web_ui=False stays off the form
    assert page.json("added") == {"added": True, "greeting": "hello"}  # a route a locustfile added to web_ui.app

    # Bad input: one line, HTTP 400, and the run does not move.
    one_line_400(page, {"user_count": "-1", "spawn_rate": "1"}, "user_count must be between 0")
    one_line_400(page, {"user_count": "ten", "spawn_rate": "1"}, "user_count must be a whole number")
    one_line_400(page, {"user_count": "1", "spawn_rate": "fast"}, "spawn_rate must be a number")
    one_line_400(page, {"user_count": "1", "spawn_rate": "0"}, "spawn_rate must be a number above 0")
    one_line_400(page, {"user_count": "1", "spawn_rate": "1", "frobnicate": "1"}, "unknown field(s): frobnicate")
    one_line_400(page, {"user_count": "1", "spawn_rate": "1", "host": "ftp://x"}, "host must start with http")
    one_line_400(page, {"user_count": "1", "spawn_rate": "1", "run_time": "soon"}, "run_time: invalid duration 'soon'")
    assert page.json("stats/requests")["state"] == "ready"
    watch = JournalWatch(tmp_path / "run.jsonl")
    assert watch.of_type("run.target_changed") == [] and watch.of_type("web.swarm") == []

    status, body = page.post("swarm", {"user_count": "2", "spawn_rate": "50", "greeting": "bonjour"})
    assert status == 200 and json.loads(body)["success"] is True, body
    assert page.json("added")["greeting"] == "bonjour"  # the form's custom argument reached parsed_options
    (started,) = wait_for_event(watch, "run.target_changed", alive=[page.process])
    assert started.cause == "web:127.0.0.1" and started.event.user_count == 2  # type: ignore[union-attr]
    (swarm,) = watch.of_type("web.swarm")
    assert json.loads(bytes(swarm.event)) == {  # type: ignore[arg-type]
        "user_count": 2, "spawn_rate": 50.0, "host": None, "arguments": {"greeting": "bonjour"}, "by": "127.0.0.1",
    }  # fmt: skip

    stats = wait_until(lambda: (s := page.json("stats/requests"))["stats"][-1]["num_requests"] >= 20 and s)
    assert set(stats) >= LOCUST_TOP_KEYS and stats["state"] == "running" and stats["user_count"] == 2
    assert {(e["method"], e["name"]) for e in stats["stats"]} == {
        ("GET", "/"),
        ("GET", "/items/[id]"),
        ("", "Aggregated"),
    }
    assert all(set(entry) >= LOCUST_ENTRY_KEYS for entry in stats["stats"])
    assert stats["workers"][0]["state"] == "running"

    # Locust's other routes: task ratios, recent log lines, the worker count, its login page and user editor.
    visitor = {"ratio": 1.0, "tasks": {"home": {"ratio": 0.75}, "item": {"ratio": 0.25}}}
    assert page.json("tasks") == {"per_class": {"Visitor": visitor}, "total": {"Visitor": visitor}}
    logs = page.json("logs")
    assert logs["workers"] == {} and any("run state" in line and "running" in line for line in logs["master"]), logs
    assert page.json("worker-count") == {"worker_count": 1}
    status, body, _ = page.get("login")  # horde asks with basic auth: the login page is the page
    assert status == 200 and b"<title>horde</title>" in body
    status, body = page.post("user", {"user_class_name": "Visitor", "weight": "2"})
    assert status == 409 and "locustfile" in json.loads(body)["message"]

    # Every download: Locust's CSV headers, the exceptions, the report, the journal.
    status, body, headers = page.get("stats/requests/csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert rows[0][:4] == ["Type", "Name", "Request Count", "Failure Count"] and rows[-1][1] == "Aggregated"
    assert page.get("stats/failures/csv")[1].decode().splitlines()[0] == "Method,Name,Error,Occurrences"
    assert page.get("stats/requests_full_history/csv")[1].decode().startswith("Timestamp,User Count")
    assert page.json("exceptions") == {"exceptions": []}
    assert page.get("exceptions/csv")[1].decode().splitlines() == ["Count,Message,Traceback,Nodes"]
    status, body, headers = page.get("stats/report?download=1")
    assert status == 200 and b"<html" in body.lower() and "attachment" in headers["Content-Disposition"]
    status, body, _ = page.get("journal")
    assert status == 200 and json.loads(body.splitlines()[0])["format"] == "horde-journal"

    # The event stream: the story so far, then a tick a second with the table and a chart point.
    with urllib.request.urlopen(page.url + "events", timeout=10) as stream:
        events = []
        while len(events) < 2:
            line = stream.readline().decode()
            if line.startswith("event: "):
                events.append((line.split()[1], json.loads(stream.readline().decode()[len("data: ") :])))
    (hello_name, hello), (tick_name, tick) = events
    assert hello_name == "hello" and hello["mode"] == "live" and hello["view"]["state"] == "running"
    assert any("target: 2 users" in m["text"] for m in hello["markers"])
    assert tick_name == "tick" and tick["point"]["rps"] >= 0 and tick["view"]["stats"][-1]["num_requests"] > 0

    status, body = page.post("swarm", {"user_count": "3", "spawn_rate": "50"})  # a new target mid-run
    assert status == 200
    wait_for_event(watch, "run.target_changed", lambda e: e.user_count == 3, alive=[page.process])
    assert page.get("stats/reset")[1] == b"ok"
    (reset,) = wait_for_event(watch, "stats.reset", alive=[page.process])
    assert reset.cause == "web:127.0.0.1"

    assert json.loads(page.get("stop")[1]) == {"success": True, "message": "Test stopped"}
    wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
    page.process.send_signal(signal.SIGINT)  # the page outlives the test (a new one may start) until Ctrl-C
    assert wait_for_exit(page.process) == 0


def test_past_run_api(tmp_path: Path, fresh_target: Target) -> None:
    run = horde(
        "run", "-f", LOCUSTFILE, "-H", fresh_target.url, "-u", "2", "-r", "50", "-t", "2s", "--headless",
        "--stats-interval", "0.5", "--journal", "run.jsonl", "--only-summary", cwd=tmp_path,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    page = serve(["ui", "run.jsonl", "--web-port", "0"], tmp_path)
    try:
        assert page.json("config")["mode"] == "journal"
        start = page.json("replay/state?at=0")
        assert start["state"] == "ready" and start["stats"][-1]["num_requests"] == 0 and start["at"] == 0
        end = page.json("stats/requests")
        served = fresh_target.served()  # a user stopped mid-request at -t may leave one uncounted (2 users)
        assert end["state"] == "stopped" and served - 2 <= end["stats"][-1]["num_requests"] <= served
        # The first moment, on a quarter-second grid, at which replay shows requests: it comes before the end.
        ends_at = page.json("replay/state")["at"]
        moments = [quarter / 4 for quarter in range(1, int(ends_at * 4))]
        at = next((t for t in moments if page.json(f"replay/state?at={t}")["stats"][-1]["num_requests"]), None)
        assert at is not None, f"no requests before the end at {ends_at} s"
        middle = page.json(f"replay/state?at={at}")
        assert 0 < middle["stats"][-1]["num_requests"] <= end["stats"][-1]["num_requests"]
        rows = list(csv.reader(io.StringIO(page.get(f"stats/requests/csv?at={at}")[1].decode())))
        assert int(rows[-1][2]) == middle["stats"][-1]["num_requests"]
        status, body, _ = page.get("replay/state?at=soon")
        assert status == 400 and json.loads(body)["message"] == "at must be a number of seconds, got 'soon'"
        assert page.json("tasks") == {"per_class": {}, "total": {}} and page.json("worker-count")["worker_count"] == 1
        for path in ("swarm", "stop", "stats/reset"):
            status, body = page.post(path, {"user_count": "1", "spawn_rate": "1"})
            assert status == 409 and "past run" in json.loads(body)["message"]
        status, body, _ = page.get("events")
        hello = json.loads(body.decode().split("data: ", 1)[1])
        assert hello["mode"] == "journal" and hello["duration"] > 2 and len(hello["points"]) >= 2
        assert any(m["text"].startswith("run spawning -> running") for m in hello["markers"])
    finally:
        close(page)


def test_a_load_test_shape_drives_a_run_started_from_the_page(tmp_path: Path, target: Target) -> None:
    page = serve(
        ["run", "-f", str(LOCUSTFILES / "timed_shape.py"), "-H", target.url, "--web-port", "0",
         "--journal", "run.jsonl", "--autoquit", "0"],
        tmp_path,
    )  # fmt: skip
    try:
        assert page.json("config")["shape"] is True
        status, body = page.post("swarm")  # no users nor rate: the shape gives them
        assert status == 200 and json.loads(body)["message"] == "the LoadTestShape drives the run"
        watch = JournalWatch(tmp_path / "run.jsonl")
        (ticked,) = wait_for_event(watch, "shape.ticked", alive=[page.process])
        assert ticked.event.user_count == 2  # type: ignore[union-attr]
        wait_until(lambda: page.json("stats/requests")["target_users"] == 2)
        page.get("stop")
        assert wait_for_exit(page.process) == 0  # --autoquit 0: gone as soon as the run is over
    finally:
        close(page)
