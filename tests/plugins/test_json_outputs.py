"""Locust's JSON (`--json`, `--json-file`) from merged statistics: Locust's keys, order and rounding; the `--html`
name's placeholders."""

from __future__ import annotations

import json
from pathlib import Path

from horde.cli.console import html_file_name, plugin_list
from horde.cli.options import resolve
from horde.plugins.reports import locust_entries, locust_response_time_key
from horde.stats.recorder import StatsRecorder
from horde.stats.run_stats import RunStats

T0 = 1_700_000_000

LOCUST_KEYS = [  # Locust's StatsEntryDict, in its order
    "name",
    "method",
    "last_request_timestamp",
    "start_time",
    "num_requests",
    "num_none_requests",
    "num_failures",
    "total_response_time",
    "max_response_time",
    "min_response_time",
    "total_content_length",
    "response_times",
    "num_reqs_per_sec",
    "num_fail_per_sec",
]


def test_response_time_keys_round_as_locusts() -> None:
    assert [locust_response_time_key(v) for v in (0.4, 58.6, 147, 3432, 58760)] == [0, 59, 150, 3400, 59000]


def test_entries_have_locusts_keys_and_counts() -> None:
    now = [float(T0)]
    recorder = StatsRecorder(lambda: now[0])
    for index in range(20):
        now[0] = T0 + index / 10
        recorder.record("GET", "/items", 140.0 + index, 100, None)
    recorder.record("POST", "/login", 20.0, 10, "refused")
    stats = RunStats()
    stats.merge(recorder.take_delta(), node="w")

    entries = json.loads(json.dumps(locust_entries(stats)))

    assert [list(entry) for entry in entries] == [LOCUST_KEYS, LOCUST_KEYS]
    items, login = entries
    assert (items["name"], items["method"], items["num_requests"], items["num_failures"]) == ("/items", "GET", 20, 0)
    assert items["num_reqs_per_sec"] == {str(T0): 10, str(T0 + 1): 10}
    assert items["start_time"] == T0 and items["last_request_timestamp"] == T0 + 1
    assert sum(items["response_times"].values()) == 20
    assert set(items["response_times"]) <= {"140", "150", "160"}  # two significant digits above 100 ms
    assert (items["min_response_time"], items["max_response_time"]) == (140.0, 159.0)
    assert items["total_content_length"] == 2000
    assert (login["num_failures"], login["num_fail_per_sec"]) == (1, {str(T0 + 1): 1})
    assert locust_entries(RunStats()) == []


def test_html_name_takes_locusts_placeholders(tmp_path: Path) -> None:
    options = resolve(["-f", "x.py", "-u", "5", "-r", "2.5", "-t", "1m", "--html", "r_{u}_{r}_{t}.html"],
                      environ={}, cwd=str(tmp_path))  # fmt: skip
    assert dict(plugin_list(options)[0])["html"] == {"path": "r_5_2.5_60.html"}
    no_run_time = resolve(["-f", "x.py", "--html", "r_{t}.html"], environ={}, cwd=str(tmp_path))
    assert html_file_name(no_run_time) == "r_{t}.html"  # as Locust: a placeholder without a value stays
