"""The HTML report: one self-contained page that works offline and prints well (ADR 0030).

It carries what Locust's report does (run metadata, request and response-time statistics, failures, exceptions,
charts of requests/s and failures/s, response-time percentiles and users over time, task ratios) and what only
horde knows: the journal's notable events as markers on the charts' time axis and as a numbered timeline, and
the workers' story in distributed runs. Charts are inline SVG drawn here (`svg_chart`): no script, no CDN.

`render_html(stats, journal_path)` is the one entry point: the `--html` plugin calls it at the end of a run, and
anything holding a run's statistics and journal (the web UI's `/stats/report`, a post-mortem) calls it the same
way; the story is read from the journal unless the caller folded it already.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from horde._version import __version__
from horde.plugins.report_series import run_series, user_series
from horde.plugins.report_story import RunStory
from horde.plugins.svg_chart import Marker, line_chart
from horde.protocol.timeline import TimelineEntry
from horde.stats.run_stats import EntryStats, RunStats

REPORT_PERCENTILES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99, 1.0)
"""The response-time columns of Locust's report."""
MAX_ERROR_MARKERS = 10
"""The first occurrences of at most this many errors (the earliest) join the timeline and the markers."""
MAX_TIMELINE_ROWS = 1000
"""A longer timeline is cut here, with a line saying how to read the rest (`horde replay --timeline`)."""

_CSS = """
body{font-family:system-ui,-apple-system,sans-serif;margin:1.5em auto;max-width:1100px;padding:0 1em;color:#222}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.5em 0;font-size:.92em}
th,td{padding:.25em .6em;border-bottom:1px solid #e4e4e4;text-align:right;vertical-align:top}
th{background:#f4f4f4}td.l,th.l{text-align:left}tr.total td{font-weight:bold}
dl.meta{display:grid;grid-template-columns:max-content auto;gap:.15em 1em}dl.meta dt{color:#666}dl.meta dd{margin:0}
figure.chart{margin:1em 0}figure.chart figcaption{font-weight:bold;margin-bottom:.3em}
svg{width:100%;height:auto;background:#fcfcfc;border:1px solid #e4e4e4}
svg text.tick{font-size:11px;fill:#555}svg text.mark{font-size:10px;fill:#555}
.legend{font-size:.85em}.legend .key{margin-right:1.2em}
.legend i{display:inline-block;width:.9em;height:.9em;margin-right:.3em;vertical-align:-.1em}
pre{white-space:pre-wrap;margin:0;font-size:.85em;text-align:left}
.note{color:#666;font-size:.9em}
@media print{body{max-width:none}figure.chart,table{break-inside:avoid}}
"""


def render_html(
    stats: RunStats,
    journal_path: str,
    story: RunStory | None = None,
    task_ratios: Mapping[str, Any] | None = None,
) -> str:
    """The report of a run from its merged statistics and its journal.

    `story`: the journal's events already folded (the html plugin folds them as they come); read from
    `journal_path` when not given. `task_ratios`: Locust's `{"per_class": ..., "total": ...}` of
    `--show-task-ratio-json`, when the caller has the user classes (the journal does not hold their tasks).
    """
    story = story if story is not None else RunStory.from_journal(journal_path)
    series = run_series(stats)
    start, end = _span(stats, story)
    notable = _notable(stats, story)
    markers = [Marker(entry.wall_ns / 1e9, str(n), entry.text) for n, entry, marked in notable if marked]
    charts: list[str] = []
    if series is not None:
        per = "" if series.bin_seconds == 1 else f" (each point: {series.bin_seconds} s)"
        rates = [series.requests, series.failures]
        charts.append(line_chart("rps", f"Total requests per second{per}", "per second", rates, (start, end), markers))
        times = [*series.percentiles, series.average]
        charts.append(line_chart("response-times", f"Response times{per}", "ms", times, (start, end), markers))
    users = user_series(story)
    if users:
        charts.append(line_chart("users", "Number of users", "users", users, (start, end), markers))
    sections = [
        f"<h1>horde report</h1>\n{_metadata(stats, story, journal_path, start, end)}",
        "<h2>Charts</h2>\n" + ("\n".join(charts) if charts else '<p class="note">No requests.</p>'),
        f"<h2>Request statistics</h2>\n{_request_table(stats)}",
        f"<h2>Response time statistics</h2>\n{_response_time_table(stats)}",
        f"<h2>Failures</h2>\n{_failures_table(stats)}",
        f"<h2>Exceptions</h2>\n{_exceptions_table(stats)}",
    ]
    if task_ratios:
        sections.append(f"<h2>Task ratios</h2>\n{_task_ratios(task_ratios)}")
    if story.workers:
        sections.append(f"<h2>Workers</h2>\n{_workers(story, start)}")
    total = len(story.notable) + min(len(stats.errors), MAX_ERROR_MARKERS)
    sections.append(f"<h2>Timeline</h2>\n{_timeline(notable, total, start)}")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>horde report{_title_suffix(story)}</title><style>{_CSS}</style></head><body>\n"
        + "\n".join(sections)
        + "\n</body></html>\n"
    )


def _span(stats: RunStats, story: RunStory) -> tuple[float, float]:
    """The charts' time axis: from the run's first event (or request) to its stop (or last request)."""
    starts = [t for t in (story.started_at, stats.span.first_second) if t is not None]
    ends = [t for t in (story.stopped_at or story.ended_at, (stats.span.last_second or 0) + 1) if t]
    start = min(starts) if starts else time.time()
    return start, max([*ends, start + 1])


def _notable(stats: RunStats, story: RunStory) -> list[tuple[int, TimelineEntry, bool]]:
    """The timeline as the report numbers it, each with whether the charts mark it: the journal's notable events
    and each error's first occurrence (from the statistics, which keep when each error was first seen)."""
    marked = {entry.seq for entry in story.markers()}
    entries = [(entry, entry.seq in marked) for entry in story.notable]
    first_errors = sorted(stats.errors.values(), key=lambda e: e.first_seen)[:MAX_ERROR_MARKERS]
    for e in first_errors:
        text = f"first error on {e.method} {e.name}: {e.error}"
        entries.append((TimelineEntry(0, 0, "stats", "stats.first_error", text, round(e.first_seen * 1e9)), True))
    entries.sort(key=lambda pair: pair[0].wall_ns)
    return [(n, entry, mark) for n, (entry, mark) in enumerate(entries[:MAX_TIMELINE_ROWS], start=1)]


def _title_suffix(story: RunStory) -> str:
    return f" {html.escape(story.run_id)}" if story.run_id else ""


def _utc(epoch: float | None) -> str:
    return "" if epoch is None else time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) + " UTC"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    return (f"{hours} h " if hours else "") + f"{rest // 60} min {rest % 60} s"


def _metadata(stats: RunStats, story: RunStory, journal_path: str, start: float, end: float) -> str:
    config, configured = story.config, story.configured
    host = (configured.host if configured else None) or config.get("host") or ""
    classes = ""
    if configured is not None:
        classes = ", ".join(
            f"{name} (fixed {fixed})" if fixed else f"{name} (weight {weight:g})"
            for name, (weight, fixed) in sorted(configured.user_classes.items())
        )
    joined = {chapter.worker_id for chapter in story.workers if chapter.what in ("joined", "rejoined")}
    rows: list[tuple[str, str]] = [
        ("Start", _utc(start)),
        ("End", _utc(end)),
        ("Duration", _duration(end - start)),
        ("Host", str(host)),
        ("Profile", story.profile),
        ("Locustfile", str(config.get("locustfile") or "")),
        ("User classes", classes),
        ("Workers", str(len(joined)) if configured is None or configured.expect_workers else "local"),
        ("Stopped because", story.stop_reason),
        ("Requests", f"{stats.total.num_requests} ({stats.total.num_failures} failed)"),
        ("Run", story.run_id),
        ("Journal", journal_path),
        ("horde", story.horde_version or __version__),
    ]
    cells = "".join(f"<dt>{name}</dt><dd>{html.escape(value)}</dd>" for name, value in rows if value)
    return f'<dl class="meta" id="metadata">{cells}</dl>'


def _table(table_id: str, header: Sequence[str], rows: Iterable[str], left: int = 2) -> str:
    head = "".join(f'<th class="l">{h}</th>' if i < left else f"<th>{h}</th>" for i, h in enumerate(header))
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _row(cells: Sequence[object], left: int = 2, total: bool = False) -> str:
    tds = "".join(
        f'<td class="l">{html.escape(str(c))}</td>' if i < left else f"<td>{html.escape(str(c))}</td>"
        for i, c in enumerate(cells)
    )
    return f'<tr class="total">{tds}</tr>' if total else f"<tr>{tds}</tr>"


def _entries(stats: RunStats) -> list[tuple[EntryStats, bool]]:
    return [*((entry, False) for entry in stats.sorted_entries()), (stats.total, True)]


def _request_table(stats: RunStats) -> str:
    """Locust's request statistics columns; its "current" rates become the whole run's, as a report is read after."""
    header = ["Type", "Name", "# Requests", "# Fails", "Median (ms)", "95%ile (ms)", "99%ile (ms)", "Average (ms)",
              "Min (ms)", "Max (ms)", "Average size (bytes)", "RPS", "Failures/s"]  # fmt: skip
    rows = []
    for entry, total in _entries(stats):
        p50, p95, p99 = entry.percentiles((0.5, 0.95, 0.99)) if entry.num_timed_requests else (0.0, 0.0, 0.0)
        cells = [
            entry.method,
            entry.name,
            entry.num_requests,
            entry.num_failures,
            *(round(value) for value in (p50, p95, p99)),
            f"{entry.avg_response_time:.1f}",
            f"{entry.min_response_time or 0:.1f}",
            f"{entry.max_response_time or 0:.1f}",
            f"{entry.avg_content_length:.1f}",
            f"{entry.total_rps:.2f}",
            f"{entry.total_fail_per_sec:.2f}",
        ]
        rows.append(_row(cells, total=total))
    return _table("requests", header, rows)


def _response_time_table(stats: RunStats) -> str:
    header = ["Type", "Name", *(f"{round(p * 100)}%ile (ms)" for p in REPORT_PERCENTILES)]
    rows = []
    for entry, total in _entries(stats):
        values = entry.percentiles(REPORT_PERCENTILES) if entry.num_timed_requests else [0.0] * len(REPORT_PERCENTILES)
        rows.append(_row([entry.method, entry.name, *(round(v) for v in values)], total=total))
    return _table("response-times", header, rows)


def _failures_table(stats: RunStats) -> str:
    errors = stats.sorted_errors()
    if not errors:
        return '<p class="note">None.</p>'
    rows = [_row([e.method, e.name, e.error, e.occurrences], left=3) for e in errors]
    return _table("failures", ["Type", "Name", "Message", "# Occurrences"], rows, left=3)


def _exceptions_table(stats: RunStats) -> str:
    exceptions = stats.sorted_exceptions()
    if not exceptions:
        return '<p class="note">None.</p>'
    rows = [
        f'<tr><td>{x.count}</td><td class="l">{html.escape(x.message)}</td>'
        f'<td class="l"><pre>{html.escape(x.traceback)}</pre></td>'
        f'<td class="l">{html.escape(", ".join(sorted(x.nodes)))}</td></tr>'
        for x in exceptions
    ]
    return _table("exceptions", ["# Count", "Message", "Traceback", "Nodes"], rows, left=0)


def _task_ratios(ratios: Mapping[str, Any]) -> str:
    """Locust's two views: each class's tasks within the class, and every task's share of all tasks run."""
    parts = []
    for key, title in (("per_class", "Per user class"), ("total", "Of all tasks")):
        rows: list[str] = []
        for name, node in ratios.get(key, {}).items():
            _ratio_rows(rows, name, node, 0)
        parts.append(f"<h3>{title}</h3>" + _table(f"tasks-{key.replace('_', '-')}", ["Class / task", "Ratio"], rows, 1))
    return "\n".join(parts)


def _ratio_rows(rows: list[str], name: str, node: Mapping[str, Any], depth: int) -> None:
    indent = "\u2003" * depth
    rows.append(_row([indent + name, f"{float(node.get('ratio', 0)) * 100:.1f} %"], left=1))
    for child, sub in node.get("tasks", {}).items():
        _ratio_rows(rows, child, sub, depth + 1)


def _relative(at: float, start: float) -> str:
    return f"{at - start:+.1f} s"


def _workers(story: RunStory, start: float) -> str:
    counts: dict[str, int] = {}
    for chapter in story.workers:
        counts[chapter.what] = counts.get(chapter.what, 0) + 1
    summary = ", ".join(f"{count} {what}" for what, count in counts.items())
    rows = [_row([_utc(c.at), _relative(c.at, start), c.worker_id, c.what, c.detail], left=5) for c in story.workers]
    table = _table("workers", ["Time", "Since start", "Worker", "What", "Detail"], rows, left=5)
    return f'<p class="note">{html.escape(summary)}</p>\n{table}'


def _timeline(notable: list[tuple[int, TimelineEntry, bool]], total: int, start: float) -> str:
    if not notable:
        return '<p class="note">No journal to read.</p>'
    rows = []
    for n, entry, marked in notable:
        number = f"{n} *" if marked else str(n)
        rows.append(_row([number, _relative(entry.wall_ns / 1e9, start), entry.source, entry.text], left=4))
    more = total - len(notable)
    note = (
        f'<p class="note">{more} more notable events: <code>horde replay JOURNAL --timeline</code> lists them.</p>'
        if more > 0
        else ""
    )
    legend = '<p class="note">* marked on the charts by its number.</p>'
    return legend + _table("timeline", ["#", "Since start", "Source", "Event"], rows, left=4) + note
