"""The page in headless Chromium: a run started, watched, steered and stopped from the browser, its CSV held
against what the target served; and a past run scrubbed to the moment a worker went missing."""

from __future__ import annotations

import csv
import os
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.browser import assert_not_blank
from tests.support.processes import LOCUSTFILES, Cluster, Target
from tests.support.waiting import JournalWatch, wait_for_event, wait_for_exit, wait_for_users
from tests.web.conftest import Page, close, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser
    from playwright.sync_api import Page as BrowserPage

WAIT_MS = 20_000


def rows_of(tab: BrowserPage, table: str) -> dict[str, list[str]]:
    return tab.eval_on_selector_all(
        f"#{table} tbody tr",
        "rows => Object.fromEntries(rows.map(r => [r.dataset.name || r.dataset.worker,"
        " [...r.cells].map(c => c.textContent)]))",
    )


def test_start_watch_steer_stop_and_download_from_the_page(
    browser: Browser, live_page: Page, fresh_target: Target, tmp_path: Path
) -> None:
    context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
    tab = context.new_page()
    try:
        tab.goto(live_page.url)
        tab.wait_for_selector("#swarm-dialog[open]", timeout=WAIT_MS)  # a fresh run asks for its users, as Locust
        assert tab.input_value("#arg-greeting") == "hello"  # the locustfile's include_in_web_ui argument
        tab.fill("#user_count", "2")
        tab.fill("#spawn_rate", "50")
        tab.click("#start-button")
        tab.wait_for_function(
            "() => [...document.querySelectorAll('#stats-table tbody tr')].some("
            "r => r.dataset.name === '/' && Number(r.cells[2].textContent.replace(/,/g, '')) > 0)",
            timeout=WAIT_MS,
        )
        tab.wait_for_function("() => Number(document.querySelector('#chart-rps').dataset.points) >= 3", timeout=WAIT_MS)
        tab.wait_for_function("() => document.querySelector('#user-count').textContent === '2'", timeout=WAIT_MS)

        tab.click("#edit-button")  # a new user count mid-run
        tab.fill("#user_count", "4")
        tab.click("#start-button")
        tab.wait_for_function("() => document.querySelector('#user-count').textContent === '4'", timeout=WAIT_MS)
        assert tab.eval_on_selector("#chart-users", "c => c.dataset.series") == "Visitor"
        assert any("target: 4 users" in text for text in tab.locator("#timeline li").all_text_contents())
        shot = tmp_path / "live.png"
        tab.screenshot(path=str(shot), full_page=True)
        assert_not_blank(shot)

        tab.click("#stop-button")
        tab.wait_for_function("() => document.body.dataset.state === 'stopped'", timeout=WAIT_MS)
        with tab.expect_download(timeout=WAIT_MS) as download:
            tab.click("#dl-requests")
        path = tmp_path / "requests.csv"
        download.value.save_as(str(path))
        with open(path, newline="") as f:
            counted = {(row["Type"], row["Name"]): int(row["Request Count"]) for row in csv.DictReader(f)}
        served = fresh_target.counts()
        # Each served request is counted once; a user stopped mid-request may leave one uncounted (4 users).
        assert served["GET /"] - 4 <= counted[("GET", "/")] <= served["GET /"]
        assert served["GET /items/<id>"] - 4 <= counted[("GET", "/items/[id]")] <= served["GET /items/<id>"]
        assert counted[("", "Aggregated")] == counted[("GET", "/")] + counted[("GET", "/items/[id]")]
        table = rows_of(tab, "stats-table")
        assert int(table["Aggregated"][2].replace(",", "")) == counted[("", "Aggregated")]

        # A new test from the same page, as Locust's "New": fresh statistics, the form's new user count.
        assert tab.text_content("#edit-button") == "New test"
        tab.click("#edit-button")
        tab.fill("#user_count", "1")
        tab.click("#start-button")
        tab.wait_for_function(
            "() => document.body.dataset.state === 'running'"
            " && document.querySelector('#user-count').textContent === '1'",
            timeout=WAIT_MS,
        )
        tab.wait_for_function(
            f"() => {{ const row = document.querySelector('#stats-table tbody tr[data-name=\"Aggregated\"]');"
            f" return row && Number(row.cells[2].textContent.replace(/,/g, '')) < {counted[('', 'Aggregated')]}; }}",
            timeout=WAIT_MS,
        )
        assert any("new test from the web UI" in text for text in tab.locator("#timeline li").all_text_contents())
        tab.click("#stop-button")
        tab.wait_for_function("() => document.body.dataset.state === 'stopped'", timeout=WAIT_MS)
    finally:
        context.close()
    live_page.process.send_signal(signal.SIGINT)
    assert wait_for_exit(live_page.process) == 0


def test_a_past_run_scrubbed_to_the_moment_a_worker_went_missing(
    browser: Browser, tmp_path: Path, target: Target
) -> None:
    cluster = Cluster(tmp_path, str(LOCUSTFILES / "two_classes.py"))
    try:
        master = cluster.start_master("-H", target.url, "--expect-workers", "2", "-u", "4", "-r", "100", "-t", "60s")
        workers = [cluster.start_worker() for _ in range(2)]
        wait_for_users(cluster.watch, [2, 2], alive=[master])
        os.kill(workers[0].pid, signal.SIGKILL)
        (missing,) = wait_for_event(cluster.watch, "worker.missing", alive=[master])
        # the run goes on a little, so that the moment after the silence is inside the journal
        wait_for_event(cluster.watch, "worker.heartbeat", after=missing.seq, count=2, alive=[master])
        master.send_signal(signal.SIGTERM)
        assert cluster.wait_master() in (0, 1)
    finally:
        cluster.close()
    started = cluster.journal()[0].mono_ns  # run.configured: within a millisecond of the header's start
    header_start = _header_start(tmp_path / "run.jsonl")
    at_missing = (missing.mono_ns - header_start) / 1e9
    lost = missing.event.worker_id  # type: ignore[union-attr]
    assert started >= header_start

    page = serve(["ui", "run.jsonl", "--web-port", "0"], tmp_path)
    tab = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        tab.goto(page.url)
        tab.wait_for_selector("#journal-bar:not([hidden])", timeout=WAIT_MS)
        assert tab.is_hidden("#live-buttons")
        states = {}
        for name, moment in (("before", at_missing - 0.3), ("after", at_missing + 0.05)):
            tab.eval_on_selector(
                "#slider", "(s, v) => { s.value = String(v); s.dispatchEvent(new Event('input')); }", moment
            )
            tab.wait_for_function(
                f"() => Math.abs(Number(document.body.dataset.at) - {moment}) < 0.001", timeout=WAIT_MS
            )
            states[name] = tab.eval_on_selector(f"#workers-table tr[data-worker='{lost}']", "r => r.dataset.state")
            shot = tmp_path / f"{name}.png"
            tab.screenshot(path=str(shot), full_page=True)
            assert_not_blank(shot)
        assert states == {"before": "running", "after": "missing"}
        story = tab.eval_on_selector(f"#workers-table tr[data-worker='{lost}']", "r => r.cells[7].textContent")
        assert story == "missing 1x"
        assert any(f"worker {lost} missing" in t for t in tab.locator("#timeline li").all_text_contents())
        assert int(tab.eval_on_selector("#chart-rps", "c => c.dataset.points")) >= 2
    finally:
        tab.close()
        close(page)


def _header_start(path: Path) -> int:
    import json

    with open(path, encoding="utf-8") as f:
        return int(json.loads(f.readline())["started_mono_ns"])


def test_the_class_picker_in_the_form_runs_the_ticked_classes_by_the_chosen_shape(
    browser: Browser, tmp_path: Path, target: Target
) -> None:
    page = serve(
        ["run", "-f", str(Path(__file__).parent / "shapes_locustfile.py"), "-H", target.url, "--web-port", "0",
         "--journal", "run.jsonl", "--class-picker", "--autoquit", "0"],
        tmp_path,
    )  # fmt: skip
    tab = browser.new_page(viewport={"width": 1280, "height": 1000})
    try:
        tab.goto(page.url)
        tab.wait_for_selector("#swarm-dialog[open]", timeout=WAIT_MS)
        assert tab.is_checked("#class-Browsing") and tab.is_checked("#class-Buying")
        tab.uncheck("#class-Browsing")
        options = tab.eval_on_selector_all("#shape_class option", "os => os.map(o => o.value)")
        assert options == ["Default", "FiveUsers", "ThreeUsers"] and tab.input_value("#shape_class") == "Default"
        assert tab.get_attribute("#user_count", "required") is not None
        tab.select_option("#shape_class", "ThreeUsers")  # the shape sets the users and the rate
        assert tab.get_attribute("#user_count", "required") is None and tab.is_visible("#shape-note")
        tab.click("#start-button")
        tab.wait_for_function(
            "() => document.querySelector('#stats-table tbody tr[data-name=\"/items/[id]\"]')", timeout=WAIT_MS
        )
        assert wait_for_exit(page.process) == 0  # the shape ends the test, --autoquit 0 the process
        assert set(rows_of(tab, "stats-table")) == {"/items/[id]", "Aggregated"}
    finally:
        tab.close()
        close(page)
    watch = JournalWatch(tmp_path / "run.jsonl")
    assert [r.event.user_count for r in watch.of_type("run.target_changed")] == [3]  # type: ignore[union-attr]
