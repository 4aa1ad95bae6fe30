"""Line charts as inline SVG, drawn in Python: the HTML report needs no script, no library and no network to show
them, and they print as they look (ADR 0030).

A chart is lines over a shared time axis (epoch seconds), with vertical markers for the journal's notable
events. Each line carries its values in `data-values` (one per point, in order), so a reader or a test can check
the drawing against the numbers it was drawn from.
"""

from __future__ import annotations

import html
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

WIDTH = 900
HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 22, 30
PALETTE = ("#2a6fdb", "#d33", "#2b9a48", "#e08a00", "#7b45c2", "#0a9396", "#b5446e", "#6b705c")


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    points: Sequence[tuple[float, float]]
    """(epoch second, value), in time order."""
    color: str = ""
    step: bool = False
    """Drawn as steps (a value holds until the next point), as user counts do; else straight segments."""


@dataclass(frozen=True, slots=True)
class Marker:
    at: float
    """Epoch second."""
    label: str
    """Short, drawn at the top of the line (the timeline's number)."""
    text: str
    """The sentence shown on hover."""


def line_chart(
    key: str,
    title: str,
    unit: str,
    series: Sequence[Series],
    span: tuple[float, float],
    markers: Sequence[Marker] = (),
) -> str:
    """One `<figure>`: the title, an SVG of every series over `span` (start, end epoch seconds) and a legend."""
    start, end = span
    end = max(end, start + 1)
    peak = max((value for line in series for _, value in line.points), default=0.0)
    top = _nice_ceiling(peak)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(second: float) -> float:
        return LEFT + (second - start) * plot_w / (end - start)

    def y(value: float) -> float:
        return TOP + plot_h - value * plot_h / top

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f' aria-label="{html.escape(title)}" data-chart="{key}">'
    ]
    for tick in _ticks(top):
        parts.append(
            f'<line x1="{LEFT}" y1="{y(tick):.1f}" x2="{WIDTH - RIGHT}" y2="{y(tick):.1f}" stroke="#e4e4e4"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" class="tick">{_number(tick)}</text>'
        )
    for second in _time_ticks(start, end):
        anchor = "end" if x(second) > WIDTH - RIGHT - 24 else "middle"
        parts.append(
            f'<text x="{x(second):.1f}" y="{HEIGHT - 10}" text-anchor="{anchor}" class="tick">'
            f"{time.strftime('%H:%M:%S', time.gmtime(second))}</text>"
        )
    parts.append(
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" stroke="#888"/>'
        f'<text x="{LEFT}" y="{TOP - 8}" class="tick">{html.escape(unit)}</text>'
    )
    for group in _grouped([m for m in markers if start <= m.at <= end], x):
        mx = x(group[0].at)
        labels = [m.label for m in group]
        label = ",".join(labels) if len(labels) <= 3 else f"{labels[0]}\u2026{labels[-1]}"
        parts.append(
            f'<g class="marker"><title>{html.escape(chr(10).join(m.text for m in group))}</title>'
            f'<line x1="{mx:.1f}" y1="{TOP}" x2="{mx:.1f}" y2="{TOP + plot_h}" stroke="#999"'
            ' stroke-dasharray="3 3"/>'
            f'<text x="{mx + 2:.1f}" y="{TOP + 9}" class="mark">{html.escape(label)}</text></g>'
        )
    for index, line in enumerate(series):
        color = line.color or PALETTE[index % len(PALETTE)]
        coordinates = []
        for n, (second, value) in enumerate(line.points):
            if line.step and n:
                coordinates.append(f"{x(second):.1f},{y(line.points[n - 1][1]):.1f}")
            coordinates.append(f"{x(second):.1f},{y(value):.1f}")
        values = ",".join(_number(value) for _, value in line.points)
        parts.append(
            f'<polyline fill="none" stroke="{color}" stroke-width="1.8" data-series="{html.escape(line.name)}"'
            f' data-values="{values}" points="{" ".join(coordinates)}"><title>{html.escape(line.name)}</title>'
            "</polyline>"
        )
    parts.append("</svg>")
    legend = "".join(
        f'<span class="key"><i style="background:{line.color or PALETTE[i % len(PALETTE)]}"></i>'
        f"{html.escape(line.name)}</span>"
        for i, line in enumerate(series)
    )
    return (
        f'<figure class="chart" id="chart-{key}"><figcaption>{html.escape(title)}</figcaption>'
        f'{"".join(parts)}<div class="legend">{legend}</div></figure>'
    )


def _grouped(markers: Sequence[Marker], x: Callable[[float], float], gap: float = 14.0) -> list[list[Marker]]:
    """Markers closer than `gap` pixels share one line (labelled with their numbers, or the first and last of
    many), so the numbers stay readable; hovering the line lists every event."""
    groups: list[list[Marker]] = []
    for marker in sorted(markers, key=lambda m: m.at):
        if groups and x(marker.at) - x(groups[-1][0].at) < gap:
            groups[-1].append(marker)
        else:
            groups.append([marker])
    return groups


def _nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above `value`, so the gridlines read well."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return float(10 * magnitude)


def _ticks(top: float) -> list[float]:
    return [top * n / 4 for n in range(5)]


def _time_ticks(start: float, end: float) -> list[float]:
    """Whole-second labels at a round interval, about six across."""
    span = end - start
    step = next((s for s in (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600) if span / s <= 6), 7200)
    first = math.ceil(start / step) * step
    return [float(t) for t in range(int(first), int(end) + 1, step)]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")
