"""Thresholds, k6-style: `--threshold 'p95<500' --threshold 'fail_ratio<0.01'`, judged when the run ends.

Each threshold is `METRIC OP NUMBER` over the whole run's aggregated statistics, or over one endpoint with
`METRIC{METHOD NAME}` (`p95{GET /items/[id]}<300`). Metrics: `p50`..`p99.99` (any percentile, ms), `avg`, `min`,
`max`, `med` (ms), `fail_ratio` (0..1), `rps`, `fail_rps`, `requests`, `failures`. Operators: `<`, `<=`, `>`, `>=`.
Every result is journaled (`plugin.thresholds.result`) and printed; any failure makes horde exit with
`EXIT_THRESHOLDS_FAILED` (3), unless the locustfile set `environment.process_exit_code` itself.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from horde.plugin import Plugin, PluginError, RunEnd
from horde.stats.run_stats import EntryStats, RunStats

EXIT_THRESHOLDS_FAILED = 3

_RULE = re.compile(r"^\s*([a-z_]+|p\d+(?:\.\d+)?)\s*(?:\{\s*([A-Za-z]+)\s+(.+?)\s*\})?\s*(<=|>=|<|>)\s*(\S+)\s*$")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_METRICS: dict[str, Callable[[EntryStats], float]] = {
    "avg": lambda e: e.avg_response_time,
    "min": lambda e: e.min_response_time or 0.0,
    "max": lambda e: e.max_response_time or 0.0,
    "med": lambda e: e.median_response_time,
    "fail_ratio": lambda e: e.fail_ratio,
    "rps": lambda e: e.total_rps,
    "fail_rps": lambda e: e.total_fail_per_sec,
    "requests": lambda e: float(e.num_requests),
    "failures": lambda e: float(e.num_failures),
}


@dataclass(frozen=True, slots=True)
class Threshold:
    text: str
    metric: str
    op: str
    limit: float
    endpoint: tuple[str, str] | None = None

    def measure(self, stats: RunStats) -> float | None:
        """The metric's value, or None when the endpoint never had a request."""
        if self.endpoint is None:
            entry: EntryStats | None = stats.total
        else:
            method, name = self.endpoint
            entry = stats.entries.get((method, name))
        if entry is None:
            return None
        if self.metric.startswith("p"):
            return entry.percentile(float(self.metric[1:]) / 100) if entry.num_timed_requests else 0.0
        return _METRICS[self.metric](entry)

    def passes(self, value: float | None) -> bool:
        return value is not None and _OPS[self.op](value, self.limit)


def parse_threshold(text: str) -> Threshold:
    match = _RULE.match(text)
    if match is None:
        raise PluginError(f"threshold {text!r}: expected e.g. 'p95<500' or 'fail_ratio<0.01'")
    metric, method, name, op, number = match.groups()
    if metric.startswith("p") and metric not in _METRICS:
        if not 0 < float(metric[1:]) <= 100:
            raise PluginError(f"threshold {text!r}: percentile must be in (0, 100]")
    elif metric not in _METRICS:
        raise PluginError(f"threshold {text!r}: unknown metric {metric!r} (p95, avg, fail_ratio, rps, ...)")
    try:
        limit = float(number)
    except ValueError:
        raise PluginError(f"threshold {text!r}: {number!r} is not a number") from None
    endpoint = (method.upper(), name) if method else None
    return Threshold(text.strip(), metric, op, limit, endpoint)


class ThresholdsPlugin(Plugin):
    name = "thresholds"
    event_types = ("-",)

    def configure(self, options: dict[str, Any]) -> None:
        rules = options.get("rules", [])
        if isinstance(rules, str):
            rules = [part for part in rules.split(";") if part.strip()]
        self.thresholds = [parse_threshold(str(rule)) for rule in rules]

    def on_run_end(self, result: RunEnd) -> int | None:
        if not self.thresholds:
            return None
        failed = 0
        print("\nThresholds:", flush=False)
        for threshold in self.thresholds:
            value = threshold.measure(result.stats)
            ok = threshold.passes(value)
            failed += not ok
            shown = "no requests" if value is None else f"{threshold.metric} = {value:.6g}"
            print(f"  {'PASS' if ok else 'FAIL'}  {threshold.text}  ({shown})")
            self.context.emit(
                "result",
                {"threshold": threshold.text, "metric": threshold.metric, "value": value, "limit": threshold.limit,
                 "passed": ok},
            )  # fmt: skip
        print(f"{len(self.thresholds) - failed} of {len(self.thresholds)} threshold(s) passed", flush=True)
        return EXIT_THRESHOLDS_FAILED if failed else None
