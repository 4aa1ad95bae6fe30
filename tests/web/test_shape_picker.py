"""The class picker's LoadTestShape choice, as Locust's `--class-picker` offers it: the form lists the locustfile's
shape classes and "Default"; `/swarm`'s `shape_class` makes that shape drive the test, "Default" runs the users and
rate typed in."""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.processes import Target, horde
from tests.support.waiting import JournalWatch, wait_for_exit, wait_until
from tests.web.conftest import Page, close, serve

HERE = Path(__file__).resolve().parent
SHAPES = str(HERE / "shapes_locustfile.py")


def counted(page: Page) -> dict[str, int]:
    return {e["name"]: e["num_requests"] for e in page.json("stats/requests")["stats"] if e["name"] != "Aggregated"}


def test_the_chosen_shape_drives_a_test_and_default_runs_the_users_typed_in(
    tmp_path: Path, fresh_target: Target
) -> None:
    page = serve(
        ["run", "-f", SHAPES, "-H", fresh_target.url, "--web-port", "0", "--journal", "run.jsonl", "-s", "5",
         "--stats-interval", "0.5", "--class-picker", "--autoquit", "60"],
        tmp_path,
    )  # fmt: skip
    try:
        config = page.json("config")
        assert config["shape_classes"] == ["FiveUsers", "ThreeUsers"] and config["shape"] is False

        status, body = page.post("swarm", {"shape_class": "Sideways"})
        assert status == 400, body
        assert (
            json.loads(body)["message"]
            == "shape_class: no LoadTestShape named Sideways (known: Default, FiveUsers, ThreeUsers)"
        )

        # A shape, with only Buying ticked: no users or rate needed; the shape's users, of the ticked class.
        status, body = page.post("swarm", {"shape_class": "ThreeUsers", "user_classes": "Buying"})
        assert status == 200 and json.loads(body)["message"] == "the LoadTestShape ThreeUsers drives the test", body
        watch = JournalWatch(tmp_path / "run.jsonl")
        wait_until(lambda: watch.of_type("run.state_changed", lambda e: e.state == "stopped"), timeout=60,
                   message="the shape ended the test on its own")  # fmt: skip
        (stopping,) = watch.of_type("run.state_changed", lambda e: e.state == "stopping")
        assert stopping.event.reason == "shape finished"  # type: ignore[union-attr]
        targets = [(r.event.user_count, r.event.user_classes) for r in watch.of_type("run.target_changed")]  # type: ignore[union-attr]
        assert targets == [(3, ("Buying",))], targets
        served = fresh_target.served()
        wait_until(lambda: sum(counted(page).values()) == served)
        assert set(counted(page)) == {"/items/[id]"}

        # "Default" (none): the users and rate typed in, and no shape stops the test when the last one would have.
        status, body = page.post("swarm", {"shape_class": "Default", "user_count": "1", "spawn_rate": "10"})
        assert status == 200 and json.loads(body)["message"] == "swarming 1 users at 10/s", body
        wait_until(lambda: page.json("stats/requests")["state"] == "running")
        wait_until(lambda: sum(counted(page).values()) >= 40, timeout=60)  # 2 s and more of one user
        assert page.json("stats/requests")["state"] == "running"
        assert json.loads(page.get("stop")[1])["success"] is True
        wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        watch = JournalWatch(tmp_path / "run.jsonl")
        last = watch.of_type("run.state_changed", lambda e: e.state == "stopping")[-1]
        assert "stopped from the web UI" in last.event.reason  # type: ignore[union-attr]
        assert [r.event.user_count for r in watch.of_type("run.target_changed")] == [3, 1]  # type: ignore[union-attr]
        page.process.send_signal(2)
        assert wait_for_exit(page.process) == 0
    finally:
        close(page)
    timeline = horde("replay", "run.jsonl", "--timeline", cwd=tmp_path, timeout=60)
    assert "web UI start by 127.0.0.1: the LoadTestShape ThreeUsers drives" in timeline.stdout, timeline.stdout


def test_several_shapes_without_the_class_picker_are_one_line_and_an_error(tmp_path: Path, target: Target) -> None:
    result = horde("run", "-f", SHAPES, "-H", target.url, "--headless", "-u", "1", "-t", "1", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"horde: error: {SHAPES} defines several LoadTestShape classes (FiveUsers, ThreeUsers); keep one, or choose "
        "one per test in the web UI with --class-picker"
    ], result.stderr
