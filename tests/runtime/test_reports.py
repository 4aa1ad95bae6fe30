"""Console tables and Locust's CSV files, read back with the csv module."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from horde.runtime.reports import (
    format_errors_table,
    format_percentiles_table,
    format_stats_table,
    write_csv,
)
from horde.stats.histogram import RELATIVE_ERROR
from horde.stats.recorder import StatsRecorder
from horde.stats.run_stats import RunStats

T0 = 1_700_000_000

LOCUST_PERCENTILES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]


@pytest.fixture
def stats() -> RunStats:
    """Three seconds of traffic on two endpoints, one second without requests, failures and an exception."""
    now = [float(T0)]
    recorder = StatsRecorder(lambda: now[0])
    for second in (0, 1, 3):
        for index in range(10):
            now[0] = T0 + second + index / 10
            recorder.record("GET", "/items", 100.0 + index, 1000, None)
            recorder.record("POST", "/login", 20.0, 10, "bad password" if index < 2 else None)
    recorder.record_exception("ZeroDivisionError: division by zero", 'File "locustfile.py", line 3')
    result = RunStats()
    result.merge(recorder.take_delta(), node="worker-1")
    return result


def read(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as file:
        return list(csv.reader(file))


def test_stats_csv_has_locusts_columns_and_one_row_per_entry_plus_aggregated(stats: RunStats, tmp_path: Path) -> None:
    write_csv(str(tmp_path / "run"), stats, {T0: 5})

    header, *rows = read(tmp_path / "run_stats.csv")

    assert header == [
        "Type",
        "Name",
        "Request Count",
        "Failure Count",
        "Median Response Time",
        "Average Response Time",
        "Min Response Time",
        "Max Response Time",
        "Average Content Size",
        "Requests/s",
        "Failures/s",
        *LOCUST_PERCENTILES,
    ]
    by_name = {row[1]: dict(zip(header, row, strict=True)) for row in rows}
    assert list(by_name) == ["/items", "/login", "Aggregated"]
    items = by_name["/items"]
    assert (items["Type"], items["Request Count"], items["Failure Count"]) == ("GET", "30", "0")
    assert float(items["Average Response Time"]) == 104.5
    assert (float(items["Min Response Time"]), float(items["Max Response Time"])) == (100.0, 109.0)
    assert float(items["Requests/s"]) == 30 / 4
    assert int(items["100%"]) == 109
    assert abs(int(items["50%"]) - 104) <= 1
    login = by_name["/login"]
    assert (login["Failure Count"], float(login["Failures/s"])) == ("6", 6 / 4)
    aggregated = by_name["Aggregated"]
    assert (aggregated["Type"], aggregated["Request Count"], aggregated["Failure Count"]) == ("", "60", "6")
    assert float(aggregated["Average Content Size"]) == 505.0


def test_stats_history_csv_has_one_aggregated_row_per_second(stats: RunStats, tmp_path: Path) -> None:
    write_csv(str(tmp_path / "run"), stats, {T0 - 5: 2, T0 + 1: 4, T0 + 9: 8})

    header, *rows = read(tmp_path / "run_stats_history.csv")

    assert header == [
        "Timestamp",
        "User Count",
        "Type",
        "Name",
        "Requests/s",
        "Failures/s",
        *LOCUST_PERCENTILES,
        "Total Request Count",
        "Total Failure Count",
        "Total Median Response Time",
        "Total Average Response Time",
        "Total Min Response Time",
        "Total Max Response Time",
        "Total Average Content Size",
    ]
    records = [dict(zip(header, row, strict=True)) for row in rows]
    assert [int(r["Timestamp"]) for r in records] == [T0, T0 + 1, T0 + 2, T0 + 3]
    assert [int(r["User Count"]) for r in records] == [2, 4, 4, 4]
    assert {(r["Type"], r["Name"]) for r in records} == {("", "Aggregated")}
    assert [float(r["Requests/s"]) for r in records] == [20.0, 20.0, 0.0, 20.0]
    assert [float(r["Failures/s"]) for r in records] == [2.0, 2.0, 0.0, 2.0]
    assert [int(r["Total Request Count"]) for r in records] == [20, 40, 40, 60]
    assert [int(r["Total Failure Count"]) for r in records] == [2, 4, 4, 6]
    first, last = records[0], records[-1]
    assert int(first["100%"]) == 109
    assert float(first["Total Min Response Time"]) == 20.0
    assert float(last["Total Average Response Time"]) == pytest.approx((104.5 * 30 + 20 * 30) / 60)
    assert abs(int(last["Total Median Response Time"]) - 20) <= 20 * RELATIVE_ERROR + 0.5


def test_failures_and_exceptions_csv(stats: RunStats, tmp_path: Path) -> None:
    write_csv(str(tmp_path / "run"), stats, {})

    assert read(tmp_path / "run_failures.csv") == [
        ["Method", "Name", "Error", "Occurrences"],
        ["POST", "/login", "bad password", "6"],
    ]
    assert read(tmp_path / "run_exceptions.csv") == [
        ["Count", "Message", "Traceback", "Nodes"],
        ["1", "ZeroDivisionError: division by zero", 'File "locustfile.py", line 3', "worker-1"],
    ]


def test_csv_of_an_empty_run_has_headers_only(tmp_path: Path) -> None:
    write_csv(str(tmp_path / "empty"), RunStats(), {})
    rows = read(tmp_path / "empty_stats.csv")[1:]
    assert rows == [["", "Aggregated", "0", "0", "0", "0.0", "0", "0", "0.0", "0.0", "0.0", *["N/A"] * 11]]
    for suffix in ("stats_history", "failures", "exceptions"):
        assert len(read(tmp_path / f"empty_{suffix}.csv")) == 1
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "empty_exceptions.csv",
        "empty_failures.csv",
        "empty_stats.csv",
        "empty_stats_history.csv",
    ]


def test_stats_table_lists_entries_then_the_aggregated_row(stats: RunStats) -> None:
    lines = format_stats_table(stats, now=T0 + 5.5).splitlines()
    assert lines[0].split() == [
        "Type",
        "Name",
        "#",
        "reqs",
        "#",
        "fails",
        "|",
        "Avg",
        "Min",
        "Max",
        "Med",
        "|",
        "req/s",
        "failures/s",
    ]
    assert lines[2].split()[:4] == ["GET", "/items", "30", "0(0.00%)"]
    assert lines[3].split()[:4] == ["POST", "/login", "30", "6(20.00%)"]
    assert lines[-1].split()[:3] == ["Aggregated", "60", "6(10.00%)"]
    # current at T0+5.5: the window is seconds T0 .. T0+2, with 20, 20 and 0 requests.
    assert lines[-1].split()[-2:] == ["13.33", "1.33"]
    total = format_stats_table(stats, now=T0 + 100, current=False).splitlines()[-1]
    assert total.split()[-2:] == ["15.00", "1.50"]


def test_percentiles_table_has_the_eleven_columns(stats: RunStats) -> None:
    lines = format_percentiles_table(stats).splitlines()
    assert lines[0] == "Response time percentiles (approximated)"
    assert lines[1].split() == ["Type", "Name", *LOCUST_PERCENTILES, "#", "reqs"]
    assert lines[-1].split()[0] == "Aggregated"
    assert lines[-1].split()[-2:] == ["109", "60"]


def test_errors_table_shows_each_error_with_its_count(stats: RunStats) -> None:
    table = format_errors_table(stats)
    assert "Error report" in table
    assert any(line.split() == ["6", "POST", "/login:", "bad", "password"] for line in table.splitlines())
    assert format_errors_table(RunStats()) == ""
