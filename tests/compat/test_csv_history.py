"""`--csv-full-history`: PREFIX_stats_history.csv gets a row per endpoint each second, as Locust's (ADR 0020)."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.support.processes import Target, horde

LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"
LOCUSTFILE = str(LOCUSTFILES / "stats_reset.py")
PERCENTILES = ["50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%"]
LOCUST_HISTORY_COLUMNS = [
    "Timestamp", "User Count", "Type", "Name", "Requests/s", "Failures/s", *PERCENTILES, "Total Request Count",
    "Total Failure Count", "Total Median Response Time", "Total Average Response Time", "Total Min Response Time",
    "Total Max Response Time", "Total Average Content Size",
]  # fmt: skip
CUMULATIVE = [
    ("Total Request Count", "Request Count"),
    ("Total Failure Count", "Failure Count"),
    ("Total Median Response Time", "Median Response Time"),
    ("Total Average Response Time", "Average Response Time"),
    ("Total Min Response Time", "Min Response Time"),
    ("Total Max Response Time", "Max Response Time"),
    ("Total Average Content Size", "Average Content Size"),
]


def read(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        return list(reader.fieldnames or []), list(reader)


def test_full_history_has_a_row_per_endpoint_each_second(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", LOCUSTFILE, "-H", fresh_target.url, "-u", "4", "-r", "4", "-t", "2.5s",
        "--stats-interval", "0.25", "--csv", "out", "--csv-full-history", cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "not yet effective" not in result.stderr
    columns, history = read(tmp_path / "out_stats_history.csv")
    assert columns == LOCUST_HISTORY_COLUMNS
    names = ["/", "/items/[id]", "Aggregated"]
    by_second: dict[str, list[str]] = {}
    for row in history:
        by_second.setdefault(row["Timestamp"], []).append(row["Name"])
    assert len(by_second) >= 2, history
    assert all(rows == names for rows in by_second.values()), by_second  # endpoints sorted, then Aggregated
    seconds = [int(second) for second in by_second]
    assert seconds == sorted(seconds)

    for name in names:
        rows = [row for row in history if row["Name"] == name]
        counts = [int(row["Total Request Count"]) for row in rows]
        assert counts == sorted(counts) and counts[-1] > 0, (name, counts)
        assert all(row["Type"] == ("" if name == "Aggregated" else "GET") for row in rows)
    for second in by_second:
        rows = {row["Name"]: row for row in history if row["Timestamp"] == second}
        parts = int(rows["/"]["Total Request Count"]) + int(rows["/items/[id]"]["Total Request Count"])
        assert parts == int(rows["Aggregated"]["Total Request Count"])

    # The last rows are the final statistics.
    _, final = read(tmp_path / "out_stats.csv")
    last = {row["Name"]: row for row in history if row["Timestamp"] == str(seconds[-1])}
    for row in final:
        for history_column, stats_column in CUMULATIVE:
            assert float(last[row["Name"]][history_column]) == float(row[stats_column]), (row["Name"], stats_column)
    served = fresh_target.served()
    assert served - 4 <= int(last["Aggregated"]["Total Request Count"]) <= served


def test_without_the_flag_the_history_has_the_aggregated_rows_only(fresh_target: Target, tmp_path: Path) -> None:
    result = horde(
        "run", "-f", LOCUSTFILE, "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "1s", "--csv", "out",
        cwd=tmp_path, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    columns, history = read(tmp_path / "out_stats_history.csv")
    assert columns == LOCUST_HISTORY_COLUMNS
    assert history and {row["Name"] for row in history} == {"Aggregated"}
