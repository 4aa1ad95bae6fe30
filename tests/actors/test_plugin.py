"""The plugin API without a run: discovery, versions, options, the host's queues and supervision, built-in parsing."""

from __future__ import annotations

import time
from importlib.metadata import entry_points
from pathlib import Path

import gevent
import pytest

from horde.actors.plugin_host import ENTRY_POINT_GROUP, PluginHost
from horde.cli.console import parse_plugin_opts, plugin_list
from horde.cli.options import UsageError, resolve
from horde.plugin import API_VERSION, EventRecord, Plugin, PluginError, load_plugin_class
from horde.plugins.prometheus import _histogram
from horde.plugins.thresholds import parse_threshold
from horde.protocol.stats import Buckets
from horde.stats import histogram
from horde.stats.run_stats import EntryStats, RunSpan, RunStats
from tests.support.waiting import wait_until

BUILTINS = {"console", "csv", "json", "html", "thresholds", "prometheus", "failure_guard"}


def test_the_builtins_are_found_through_the_entry_points() -> None:
    found = {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}
    assert set(found) >= BUILTINS
    for name in BUILTINS:
        cls = found[name].load()
        assert issubclass(cls, Plugin) and cls.api_version == API_VERSION
        assert load_plugin_class(name) == (name, cls)


def test_a_plugin_for_another_api_version_is_refused() -> None:
    with pytest.raises(PluginError, match="needs plugin API version 99; this horde provides 1"):
        load_plugin_class("tests.plugins.sample_plugins:FromTheFuture")
    with pytest.raises(PluginError, match="not a subclass"):
        load_plugin_class("horde.stats.run_stats:RunStats")


def test_plugin_opts_parse_and_name_their_plugin() -> None:
    assert parse_plugin_opts(["a.x=1", "a.y=two=2", "b.z="]) == {"a": {"x": "1", "y": "two=2"}, "b": {"z": ""}}
    for bad in ["a=1", "a.x", ".x=1"]:
        with pytest.raises(UsageError):
            parse_plugin_opts([bad])


def test_flags_tables_and_opts_decide_which_plugins_load(tmp_path: Path) -> None:
    (tmp_path / "horde.toml").write_text(
        "csv = 'out'\n[plugins.failure_guard]\nwindow = 5\n[plugins.prometheus]\nenabled = false\n"
    )
    options = resolve(
        ["-f", "x.py", "--json-file", "-", "--threshold", "p95<5", "--plugin-opt", "failure_guard.max_ratio=0.1",
         "--plugin", "tests.plugins.sample_plugins:Recorder", "--plugin-opt", "recorder.label=x"],
        environ={}, cwd=str(tmp_path),
    )  # fmt: skip
    chosen, named = plugin_list(options)
    assert chosen == [
        ("csv", {"prefix": "out"}),
        ("json", {"path": "-"}),
        ("console", {}),
        ("thresholds", {"rules": ["p95<5"]}),
        ("tests.plugins.sample_plugins:Recorder", {}),
    ]
    assert named == {"failure_guard": {"window": 5, "max_ratio": "0.1"}, "recorder": {"label": "x"}}
    host = PluginHost({})
    try:  # the host names the module:Class plugin and gives every plugin its options by name
        host.load(chosen, named)
        assert host.names == ["csv", "json", "console", "thresholds", "recorder", "failure_guard"]
        assert host.slot("recorder").options == {"label": "x"}
        assert host.slot("failure_guard").options == {"window": 5, "max_ratio": "0.1"}
        assert host.slot("csv").options == {"prefix": "out"}
    finally:
        host.stop()
    (tmp_path / "horde.toml").write_text("plugins = 3\n")
    with pytest.raises(UsageError, match=r"\[plugins\] must hold one table per plugin"):
        resolve(["-f", "x.py"], environ={}, cwd=str(tmp_path))


def _record(seq: int) -> EventRecord:
    return EventRecord(seq, "test.event", "test", "test", 0, 0, {})


class _Counting(Plugin):
    name = "counting"
    queue_size = 5

    def configure(self, options: dict[str, object]) -> None:
        self.seen: list[int] = []

    def on_event(self, record: EventRecord) -> None:
        gevent.sleep(0.05)
        self.seen.append(record.seq)


class _Failing(Plugin):
    name = "failing"
    max_restarts = 2
    instances = 0

    def configure(self, options: dict[str, object]) -> None:
        type(self).instances += 1

    def on_event(self, record: EventRecord) -> None:
        raise ValueError("no")


def test_the_host_queues_without_blocking_drops_beyond_the_bound_and_supervises() -> None:
    host = PluginHost({})
    host.load([(f"{__name__}:_Counting", {}), (f"{__name__}:_Failing", {})])
    host._backfilling = False
    started = time.monotonic()
    for seq in range(1, 21):
        host._deliver(_record(seq))
    # A delivery that waited for the plugin would take 20 x 0.05 s.
    assert time.monotonic() - started < 0.5, "delivery never waits for a plugin"
    counting, failing = host.slot("counting"), host.slot("failing")
    assert counting.dropped_total == 15
    assert counting.ref is not None
    wait_until(lambda: counting.ref.proxy().seen.get() == [1, 2, 3, 4, 5], timeout=10, message="the 5 queued")
    wait_until(lambda: failing.disabled, timeout=10, message="the failing plugin disabled")
    assert failing.restarts == 2 and _Failing.instances == 3
    host.stop()


def test_thresholds_parse_and_measure() -> None:
    stats = RunStats()
    entry = stats.total
    entry.num_requests, entry.num_failures = 10, 1
    assert parse_threshold("fail_ratio<0.2").passes(parse_threshold("fail_ratio<0.2").measure(stats))
    assert not parse_threshold("fail_ratio <= 0.05").passes(0.1)
    assert parse_threshold("p99.9{get /items}>=3").endpoint == ("GET", "/items")
    assert parse_threshold("p99.9{GET /x}<1").measure(stats) is None
    for bad in ["p95", "latency<3", "p0<1", "p95<abc"]:
        with pytest.raises(PluginError):
            parse_threshold(bad)


def test_prometheus_buckets_are_cumulative() -> None:
    entry = EntryStats(method="GET", name='/a"b', span=RunSpan())
    for value in (0.5, 3.0, 3.0, 700.0, 20000.0):
        entry.buckets.add(Buckets.of({histogram.bucket_of(value): 1}))
    entry.num_requests, entry.total_response_time = 5, 20706.5
    lines = "".join(_histogram(entry))
    assert 'horde_response_time_ms_bucket{method="GET",name="/a\\"b",le="1"} 1\n' in lines
    assert 'le="5"} 3\n' in lines and 'le="1000"} 4\n' in lines and 'le="10000"} 4\n' in lines
    assert 'le="+Inf"} 5\n' in lines and "_count" in lines and "_sum" in lines
