"""The HTML report (`--html`) and Locust's `--json-file` of one real distributed run: a master and two workers
over ZeroMQ on 127.0.0.1 against the demo target, checked against the summary JSON and the target's own counts,
and opened in headless Chromium."""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest

from horde.actors.replay.fold import replay_journal
from horde.plugins.html_report import render_html
from horde.plugins.report_story import RunStory
from horde.protocol.events import RunConfigured, WorkerJoined, WorkerLeft, WorkerMissing, WorkerRejected
from horde.protocol.journal import FORMAT_NAME, LINES_FORMAT_VERSION, Header, encode_header, encode_record, read_journal
from horde.stats.recorder import StatsRecorder
from horde.stats.run_stats import RunStats
from tests.support.browser import assert_not_blank
from tests.support.processes import LOCUSTFILES, Cluster, Target, horde

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Route


@dataclass
class Run:
    directory: Path
    report: str
    summary: dict
    served: dict[str, int]


@pytest.fixture(scope="module")
def run(target: Target, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    target.reset()
    directory = tmp_path_factory.mktemp("report")
    cluster = Cluster(directory, str(LOCUSTFILES / "two_classes.py"))
    try:
        cluster.start_master(
            "-H", target.url, "--expect-workers", "2", "-u", "6", "-r", "6", "-t", "3s", "-s", "5",
            "--stats-interval", "0.5", "--html", "report.html", "--json-file", "locust",
        )  # fmt: skip
        cluster.start_worker()
        cluster.start_worker()
        assert cluster.wait_master() == 0, cluster.master.describe() if cluster.master else ""
    finally:
        cluster.close()
    yield Run(directory, (directory / "report.html").read_text(), cluster.summary(), target.counts())


def _values(report: str, chart: str, series: str) -> list[float]:
    figure = report[report.index(f'data-chart="{chart}"') :]
    match = re.search(rf'data-series="{re.escape(series)}" data-values="([^"]*)"', figure)
    assert match, f"no {series} line in the {chart} chart"
    return [float(v) for v in match.group(1).split(",")]


def _row(report: str, table: str, name: str) -> list[str]:
    body = report[report.index(f'<table id="{table}">') :]
    body = body[: body.index("</table>")]
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body):
        cells = [html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)]
        if name in cells[:2]:
            return cells
    raise AssertionError(f"no {name} row in {table}")


def test_report_totals_equal_the_summary_and_the_targets_counts(run: Run) -> None:
    aggregated = run.summary["aggregated"]
    assert aggregated["num_requests"] == sum(run.served.values()) > 0
    total = _row(run.report, "requests", "Aggregated")
    assert (int(total[2]), int(total[3])) == (aggregated["num_requests"], aggregated["num_failures"])
    for entry in run.summary["entries"]:
        row = _row(run.report, "requests", entry["name"])
        assert int(row[2]) == entry["num_requests"] == run.served[f"{entry['method']} {entry['name']}"]
        percentiles = _row(run.report, "response-times", entry["name"])
        assert int(percentiles[-1]) == round(entry["max_response_time"])  # the 100%ile is the true maximum
    # the chart's points are the run's seconds: one a second, adding up to every request
    assert sum(_values(run.report, "rps", "requests/s")) == aggregated["num_requests"]
    assert sum(_values(run.report, "rps", "failures/s")) == 0
    assert len(_values(run.report, "rps", "requests/s")) == run.summary["last_second"] - run.summary["first_second"] + 1
    assert max(_values(run.report, "response-times", "p99")) <= aggregated["max_response_time"] + 0.05  # 0.1 ms


def test_report_tells_the_run_its_users_and_its_workers(run: Run) -> None:
    report = run.report
    metadata = report[report.index('id="metadata"') : report.index("</dl>")]
    assert "two_classes.py" in metadata and "Buyer (weight 2), Reader (weight 1)" in metadata
    assert "run time reached" in metadata and "http://127.0.0.1:" in metadata
    assert max(_values(report, "users", "users")) == 6
    assert max(_values(report, "users", "Buyer")) == 4 and max(_values(report, "users", "Reader")) == 2
    assert _values(report, "users", "users")[-1] == 0  # stopped
    assert _row(report, "tasks-total", "Buyer")[1] == "66.7 %"  # the users that ran: 4 of 6
    assert _row(report, "tasks-total", "\u2003item")[1] == "66.7 %"
    assert _row(report, "tasks-per-class", "\u2003home")[1] == "100.0 %"
    workers = report[report.index('<table id="workers">') :]
    assert workers[: workers.index("</table>")].count(">joined<") == 2
    assert report.count('<g class="marker">') >= 3  # started, ramp done, stopping at least
    assert "run running -&gt; stopping (run time reached)" in report[report.index('<table id="timeline">') :]


def test_the_same_function_renders_the_report_from_the_journal_alone(run: Run) -> None:
    """What the web UI's /stats/report does: statistics replayed from the journal, the story read from it."""
    contents = read_journal(run.directory / "run.jsonl")
    stats = replay_journal(contents).aggregator.stats
    again = render_html(stats, str(run.directory / "run.jsonl"))
    for chart, series in (("rps", "requests/s"), ("response-times", "p95"), ("users", "users")):
        assert _values(again, chart, series) == _values(run.report, chart, series)
    assert _row(again, "requests", "Aggregated") == _row(run.report, "requests", "Aggregated")
    # and from the command line, for a past run
    replayed = horde("replay", "run.jsonl", "--html", "again.html", cwd=run.directory, timeout=30)
    assert replayed.returncode == 0 and "HTML report: again.html" in replayed.stdout, replayed.stderr
    assert (run.directory / "again.html").read_text() == again.replace(str(run.directory / "run.jsonl"), "run.jsonl")
    refused = horde("replay", "run.jsonl", "--html", "no/such/dir/r.html", cwd=run.directory, timeout=30)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "cannot write" in refused.stderr


def test_json_file_is_locusts_entries_matching_the_target(run: Run) -> None:
    entries = json.loads((run.directory / "locust.json").read_text())
    assert isinstance(entries, list) and {e["name"] for e in entries} == {"/", "/items/<id>"}
    for entry in entries:
        assert entry["num_requests"] == run.served[f"{entry['method']} {entry['name']}"]
        assert sum(entry["response_times"].values()) == entry["num_requests"]
        assert sum(entry["num_reqs_per_sec"].values()) == entry["num_requests"]


def test_the_report_opens_offline_in_chromium_with_its_charts(run: Run, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1100, "height": 900})
    try:
        offline: list[str] = []  # anything but the file itself would come from a network: refused, and noted

        def only_the_file(route: Route) -> None:
            if route.request.url.startswith("file:"):
                route.continue_()
            else:
                offline.append(route.request.url)
                route.abort()

        page.route("**/*", only_the_file)
        page.goto((run.directory / "report.html").as_uri())
        for chart in ("rps", "response-times", "users"):
            box = page.locator(f'svg[data-chart="{chart}"]').bounding_box()
            assert box is not None and box["width"] > 500 and box["height"] > 100
        points = page.locator('svg[data-chart="rps"] polyline[data-series="requests/s"]').get_attribute("points")
        assert points is not None and len(points.split()) == len(_values(run.report, "rps", "requests/s"))
        total = page.locator("#requests tr.total td").all_text_contents()
        assert int(total[2]) == run.summary["aggregated"]["num_requests"]
        shot = run.directory / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        assert_not_blank(shot)
        assert offline == []
    finally:
        page.close()


def test_the_workers_story_reads_joins_losses_rejoins_and_rejections(tmp_path: Path) -> None:
    """The story of a journal written as a master writes it: a worker lost and back, one refused, one gone."""
    t0 = 1_700_000_000
    config = {"locustfile": "f.py", "host": "h"}
    header = Header(
        FORMAT_NAME, LINES_FORMAT_VERSION, "0.1.0", "abc123", ["horde", "run"], config, "m", 1, 0, t0 * 10**9, 0
    )

    def joined(worker: str, incarnation: str) -> WorkerJoined:
        return WorkerJoined(worker, incarnation, 0, "host", 7, 2, "0.1.0", ("U",), 0.0)

    events: list[tuple[float, msgspec.Struct]] = [
        (0.0, RunConfigured({"U": (1.0, 0)}, 2, 10.0, 0.0, 0.5, 3, "http://127.0.0.1:1")),
        (1.0, joined("w1", "i1")),
        (1.5, joined("w2", "i2")),
        (2.0, WorkerRejected("w3", "bad token")),
        (4.0, WorkerMissing("w1", 1.5)),
        (6.0, joined("w1", "i3")),
        (9.0, WorkerLeft("w2", "quit")),
    ]
    path = tmp_path / "run.jsonl"
    with path.open("wb") as f:
        f.write(encode_header(header))
        for seq, (at, event) in enumerate(events, start=1):
            f.write(encode_record(seq, 0, round((t0 + at) * 1e9), "master", "", event))  # type: ignore[arg-type]

    story = RunStory.from_journal(path)

    assert [(c.at - t0, c.worker_id, c.what) for c in story.workers] == [
        (1.0, "w1", "joined"), (1.5, "w2", "joined"), (2.0, "w3", "rejected"), (4.0, "w1", "missing"),
        (6.0, "w1", "rejoined"), (9.0, "w2", "left"),
    ]  # fmt: skip
    assert story.run_id == "abc123" and story.configured is not None and story.configured.expect_workers == 2
    report = render_html(replay_journal(read_journal(path)).aggregator.stats, str(path))
    assert ">rejoined<" in report and ">rejected<" in report and "bad token" in report
    assert "No requests." in report
    assert RunStory.from_journal(tmp_path / "absent.jsonl").notable == []


def test_failures_and_exceptions_are_tabled_and_escaped() -> None:
    now = [1_700_000_000.0]
    recorder = StatsRecorder(lambda: now[0])
    for index in range(10):
        now[0] += 0.3
        recorder.record("GET", "/<b>bold</b>", 10.0 + index, 5, "HTTPError('500 <oops>')" if index < 3 else None)
    recorder.record_exception("ZeroDivisionError: division by zero", 'File "locustfile.py", line 9, in task')
    stats = RunStats()
    stats.merge(recorder.take_delta(), node="w1")

    report = render_html(stats, os.devnull)

    assert "<b>bold</b>" not in report and "&lt;b&gt;bold&lt;/b&gt;" in report
    assert _row(report, "failures", "/<b>bold</b>") == ["GET", "/<b>bold</b>", "HTTPError('500 <oops>')", "3"]
    _, message, traceback, nodes = _row(report, "exceptions", "1")
    assert (message, nodes) == ("ZeroDivisionError: division by zero", "w1")
    assert "line 9, in task" in traceback
    assert sum(_values(report, "rps", "failures/s")) == 3 and sum(_values(report, "rps", "requests/s")) == 10
    assert 'data-chart="users"' not in report  # no journal: no dispatch steps
    assert _row(report, "timeline", "1 *")[3] == "first error on GET /<b>bold</b>: HTTPError('500 <oops>')"
    assert report.count('<g class="marker">') == 2  # that error, on the two charts
