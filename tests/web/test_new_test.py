"""A new test after Stop, as Locust's UI runs one: `POST /swarm` on a stopped run starts it again in the same
process, with the form's values, from fresh statistics (ADR 0034); the form's arguments reach the workers."""

from __future__ import annotations

import csv
import json
import signal
from pathlib import Path
from typing import Any

from tests.support.processes import HordeProcess, Target, horde
from tests.support.waiting import JournalWatch, wait_for_event, wait_for_exit, wait_until
from tests.web.conftest import GREETING, Page, close, serve, serve_master

HERE = Path(__file__).resolve().parent


def counted(page: Page) -> dict[str, int]:
    """Requests per name on the page, the Aggregated row left out."""
    return {e["name"]: e["num_requests"] for e in page.json("stats/requests")["stats"] if e["name"] != "Aggregated"}


def one_test(page: Page, target: Target, form: dict[str, str], served_before: int) -> dict[str, int]:
    """Start a test from the form, let it make some requests, stop it; what the page counted once it stopped."""
    status, body = page.post("swarm", form)
    assert status == 200 and json.loads(body)["success"] is True, body
    wait_until(lambda: page.json("stats/requests")["state"] == "running")
    wait_until(lambda: sum(counted(page).values()) >= 10)
    assert json.loads(page.get("stop")[1])["success"] is True
    wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
    # Every request of this test, and only those: the last reports merged, the first test's reset away.
    return wait_until(lambda: (c := counted(page)) and sum(c.values()) == target.served() - served_before and c)


def test_a_new_test_after_stop_runs_in_the_same_process_with_fresh_statistics(
    tmp_path: Path, fresh_target: Target
) -> None:
    page = serve(
        ["run", "-f", GREETING, "-H", fresh_target.url, "--web-port", "0", "--journal", "run.jsonl", "-s", "5",
         "--stats-interval", "0.5", "--csv", "out"],
        tmp_path,
    )  # fmt: skip
    try:
        first = one_test(page, fresh_target, {"user_count": "2", "spawn_rate": "50"}, 0)
        assert list(first) == ["/ hello"]
        served_first = fresh_target.served()
        form = {"user_count": "1", "spawn_rate": "10", "greeting": "bonjour"}
        second = one_test(page, fresh_target, form, served_first)
        assert list(second) == ["/ bonjour"]  # the statistics started afresh, with the form's new argument
        watch = JournalWatch(tmp_path / "run.jsonl")
        (again,) = watch.of_type("run.state_changed", lambda e: e.previous == "stopped")
        assert again.event.state == "ready" and again.cause == "web:127.0.0.1"  # type: ignore[union-attr]
        assert "new test from the web UI by 127.0.0.1" in again.event.reason  # type: ignore[union-attr]
        assert len(watch.of_type("stats.reset", after=again.seq)) == 1  # as Locust, a new test starts afresh
        assert [r.event.user_count for r in watch.of_type("run.target_changed")] == [2, 1]  # type: ignore[union-attr]
        assert len(watch.of_type("web.swarm")) == 2
        page.process.send_signal(signal.SIGINT)  # idle between tests: Ctrl-C quits
        assert wait_for_exit(page.process) == 0
    finally:
        close(page)
    # The reports at exit are the last test's, as Locust's are.
    with open(tmp_path / "out_stats.csv", newline="") as f:
        rows = {row["Name"]: int(row["Request Count"]) for row in csv.DictReader(f)}
    assert rows == {"/ bonjour": second["/ bonjour"], "Aggregated": second["/ bonjour"]}

    # The journal keeps the whole session: replay and the past run's page rebuild each test.
    timeline = horde("replay", "run.jsonl", "--timeline", cwd=tmp_path, timeout=60)
    assert timeline.returncode == 0, timeline.stderr
    assert "run stopped -> ready (new test from the web UI by 127.0.0.1)" in timeline.stdout
    assert "web UI start by 127.0.0.1: 1 users at 10/s; greeting=bonjour" in timeline.stdout
    assert "(opaque)" not in timeline.stdout
    past = serve(["ui", "run.jsonl", "--web-port", "0"], tmp_path)
    try:
        hello = events_hello(past)
        texts = [m["text"] for m in hello["markers"]]
        assert sum(t.startswith("run ready -> spawning") for t in texts) == 2, texts
        stopped, new_test = (
            next(m["t"] for m in hello["markers"] if m["text"].startswith(text))
            for text in ("run stopping -> stopped", "run stopped -> ready")
        )
        at_first_stop = past.json(f"replay/state?at={(stopped + new_test) / 2 - hello['started']}")
        assert at_first_stop["stats"][-1]["num_requests"] == sum(first.values())
        end = past.json("stats/requests")
        assert {e["name"]: e["num_requests"] for e in end["stats"]} == {**second, "Aggregated": sum(second.values())}
    finally:
        close(past)


def events_hello(page: Page) -> dict[str, Any]:
    status, body, _ = page.get("events")
    assert status == 200
    return json.loads(body.decode().split("data: ", 1)[1].split("\n", 1)[0])  # type: ignore[no-any-return]


def test_a_distributed_run_starts_a_new_test_and_its_workers_get_the_forms_arguments(
    tmp_path: Path, fresh_target: Target
) -> None:
    page = serve(
        ["run", "-f", GREETING, "-H", fresh_target.url, "--web-port", "0", "--journal", "run.jsonl", "-s", "5",
         "--stats-interval", "0.5", "--processes", "1", "--autoquit", "60"],
        tmp_path,
    )  # fmt: skip
    try:
        wait_until(lambda: page.json("stats/requests")["worker_count"] == 1)
        first = one_test(page, fresh_target, {"user_count": "2", "spawn_rate": "50", "greeting": "bonjour"}, 0)
        assert list(first) == ["/ bonjour"]  # the worker process's parsed_options had the form's value
        served_first = fresh_target.served()
        form = {"user_count": "2", "spawn_rate": "50", "greeting": "salut"}
        second = one_test(page, fresh_target, form, served_first)
        assert list(second) == ["/ salut"]
        stats = page.json("stats/requests")
        assert stats["workers"][0]["state"] == "stopped" and stats["user_count"] == 0
        watch = JournalWatch(tmp_path / "run.jsonl")
        states = [r.event.state for r in watch.of_type("worker.state_changed")]  # type: ignore[union-attr]
        assert states.count("stopped") == 2 and len(watch.of_type("worker.joined")) == 1, states  # one worker, 2 tests
        page.process.send_signal(signal.SIGINT)
        assert wait_for_exit(page.process) == 0
    finally:
        close(page)


def test_after_a_load_test_shape_ends_start_runs_the_shape_again_from_its_start(
    tmp_path: Path, fresh_target: Target
) -> None:
    page = serve(
        ["run", "-f", str(HERE / "short_shape_locustfile.py"), "-H", fresh_target.url, "--web-port", "0",
         "--journal", "run.jsonl", "--autoquit", "60"],
        tmp_path,
    )  # fmt: skip
    try:
        watch = JournalWatch(tmp_path / "run.jsonl")
        for test in (1, 2):
            status, body = page.post("swarm")
            assert status == 200 and json.loads(body)["message"] == "the LoadTestShape drives the run", body
            ended = wait_for_event(
                watch, "run.state_changed", lambda e: e.reason == "shape finished", count=test, alive=[page.process]
            )
            wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        again = watch.of_type("run.state_changed", lambda e: e.previous == "stopped")[0]
        # The second test's shape started from its own zero: it ran 2 users again before it ended.
        ticked = watch.of_type("shape.ticked", after=again.seq)
        assert ticked and ticked[0].event.user_count == 2 and ticked[0].seq < ended[1].seq  # type: ignore[union-attr]
        page.process.send_signal(signal.SIGINT)
        assert wait_for_exit(page.process) == 0
    finally:
        close(page)


def test_the_class_picker_runs_only_the_ticked_user_classes(tmp_path: Path, fresh_target: Target) -> None:
    page = serve(
        ["run", "-f", str(HERE / "two_classes_locustfile.py"), "-H", fresh_target.url, "--web-port", "0",
         "--journal", "run.jsonl", "--class-picker", "--autoquit", "60", "-s", "5"],
        tmp_path,
    )  # fmt: skip
    try:
        assert page.json("config")["class_picker"] == ["Browsing", "Buying"]
        status, body = page.post("swarm", {"user_count": "2", "spawn_rate": "50", "user_classes": "Selling"})
        assert status == 400 and "user_classes: no User class named Selling" in json.loads(body)["message"]
        only_buying = one_test(page, fresh_target, {"user_count": "2", "spawn_rate": "50", "user_classes": "Buying"}, 0)
        assert list(only_buying) == ["/items/[id]"] and fresh_target.counts().get("GET /", 0) == 0
        watch = JournalWatch(tmp_path / "run.jsonl")
        (target,) = watch.of_type("run.target_changed")
        assert target.event.user_classes == ("Buying",)  # type: ignore[union-attr]
        assert json.loads(bytes(watch.of_type("web.swarm")[0].event))["user_classes"] == ["Buying"]  # type: ignore[arg-type]
        page.process.send_signal(signal.SIGINT)
        assert wait_for_exit(page.process) == 0
    finally:
        close(page)
    timeline = horde("replay", "run.jsonl", "--timeline", cwd=tmp_path, timeout=60)
    assert "web UI start by 127.0.0.1: 2 users of Buying at 50/s" in timeline.stdout, timeline.stdout


def test_run_time_bounds_each_test_and_autoquit_counts_from_the_last(tmp_path: Path, fresh_target: Target) -> None:
    page = serve(
        ["run", "-f", GREETING, "-H", fresh_target.url, "--web-port", "0", "--journal", "run.jsonl", "--autostart",
         "-u", "1", "-r", "10", "-t", "1s", "--autoquit", "5"],
        tmp_path,
    )  # fmt: skip
    try:
        watch = JournalWatch(tmp_path / "run.jsonl")
        wait_for_event(watch, "run.state_changed", lambda e: e.reason == "run time reached", alive=[page.process])
        wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        status, body = page.post("swarm", {"user_count": "2", "spawn_rate": "10"})
        assert status == 200, body
        # The new test ends by itself too, -t after its own start, and the process stays for the next one.
        ends = wait_for_event(
            watch, "run.state_changed", lambda e: e.reason == "run time reached", count=2, alive=[page.process]
        )
        (spawning,) = watch.of_type("run.state_changed", lambda e: e.state == "spawning", after=ends[0].seq)
        # On the master's own clock (`at`): a record's stamp is taken a moment after the decision it records.
        assert ends[1].event.at - spawning.event.at >= 1.0  # type: ignore[union-attr]
        # --autoquit: the new test, started within the first countdown, cancelled it; the process quits 5 s after
        # the last test, by itself.
        assert wait_for_exit(page.process) == 0
        assert "quitting in 5 s (--autoquit)" in page.process.err.text()
    finally:
        close(page)


def test_the_forms_run_time_stops_each_test_it_is_given_for(tmp_path: Path, fresh_target: Target) -> None:
    page = serve(
        ["run", "-f", GREETING, "-H", fresh_target.url, "--web-port", "0", "--journal", "run.jsonl",
         "--autoquit", "60"],
        tmp_path,
    )  # fmt: skip
    try:
        watch = JournalWatch(tmp_path / "run.jsonl")
        for test, run_time in ((1, "1s"), (2, "1")):
            status, body = page.post("swarm", {"user_count": "1", "spawn_rate": "10", "run_time": run_time})
            assert status == 200 and json.loads(body)["run_time"] == 1.0, body
            ends = wait_for_event(
                watch, "run.state_changed", lambda e: e.state == "stopping", count=test, alive=[page.process]
            )
            assert ends[-1].event.reason == "run time from the web UI reached (1 s)"  # type: ignore[union-attr]
            assert ends[-1].cause == "web:127.0.0.1"
            wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        page.process.send_signal(signal.SIGINT)
        assert wait_for_exit(page.process) == 0
    finally:
        close(page)
    timeline = horde("replay", "run.jsonl", "--timeline", cwd=tmp_path, timeout=60)
    assert "web UI start by 127.0.0.1: 1 users at 10/s for 1 s" in timeline.stdout, timeline.stdout


def test_a_worker_that_joins_after_stop_takes_part_in_the_next_test(tmp_path: Path, fresh_target: Target) -> None:
    """As between Locust's tests: a worker started while the run is stopped is admitted (without users), and the
    page's next test spreads its users over it and the worker that was there."""
    page, worker = serve_master(GREETING, fresh_target.url, tmp_path)
    workers = [HordeProcess(worker, cwd=tmp_path, name="first worker")]
    try:
        wait_until(lambda: page.json("stats/requests")["worker_count"] == 1)
        first = one_test(page, fresh_target, {"user_count": "2", "spawn_rate": "50"}, 0)
        served_first = fresh_target.served()
        workers.append(HordeProcess(worker, cwd=tmp_path, name="second worker"))
        wait_until(lambda: page.json("stats/requests")["worker_count"] == 2, message="the second worker admitted")
        status, body = page.post("swarm", {"user_count": "4", "spawn_rate": "50"})
        assert status == 200, body
        wait_until(
            lambda: sorted(w["user_count"] for w in page.json("stats/requests")["workers"]) == [2, 2],
            message="the next test's 4 users spread over both workers",
        )
        assert json.loads(page.get("stop")[1])["success"] is True
        wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        wait_until(lambda: sum(counted(page).values()) == fresh_target.served() - served_first)
        assert sum(first.values()) > 0
        watch = JournalWatch(tmp_path / "run.jsonl")
        assert len(watch.of_type("worker.joined")) == 2 and not watch.of_type("worker.rejected")
        page.process.send_signal(signal.SIGINT)
        assert wait_for_exit(page.process) == 0
        for process in workers:
            assert wait_for_exit(process) == 0
    finally:
        for process in workers:
            if process.poll() is None:
                process.kill()
        close(page)
