"""Workers' log lines in the master's `/logs`, as Locust's Logs tab shows them (ADR 0038): they travel on
heartbeats, bounded per beat and per line, and the master keeps the last ones of each worker within a budget."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest

from horde.actors.worker_logs import WorkerLogs
from horde.protocol import codec
from horde.protocol.errors import RPCReceiveError
from horde.protocol.messages import MAX_LOG_LINE_CHARS, MAX_LOG_LINES, Heartbeat
from horde.protocol.states import WorkerState
from horde.runtime.process import RecentLines
from tests.support.processes import HordeProcess, Target
from tests.support.waiting import wait_for_exit, wait_for_line, wait_until
from tests.web.conftest import close, serve

if TYPE_CHECKING:
    from playwright.sync_api import Browser

HERE = Path(__file__).resolve().parent
LOGGING = str(HERE / "logging_locustfile.py")


def test_a_worker_process_s_log_lines_show_under_it_in_the_master_s_logs(
    browser: Browser, tmp_path: Path, target: Target
) -> None:
    master = ["--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0"]
    page = serve(
        ["run", "-f", LOGGING, "-H", target.url, "--web-port", "0", "--journal", "run.jsonl",
         "--heartbeat-interval", "0.5", "--autoquit", "60", *master],
        tmp_path,
    )  # fmt: skip
    (line,) = wait_for_line(page.process.out, "listening on port ", alive=[page.process])
    port = int(line.split("listening on port ")[1].split(",")[0])
    worker = HordeProcess(
        ["run", "-f", LOGGING, "--worker", "--master-port", str(port), "--heartbeat-interval", "0.5"],
        cwd=tmp_path,
        name="worker",
    )
    try:
        wait_until(lambda: page.json("stats/requests")["worker_count"] == 1)
        (worker_id,) = [w["id"] for w in page.json("stats/requests")["workers"]]
        status, body = page.post("swarm", {"user_count": "1", "spawn_rate": "10"})
        assert status == 200, body
        logs = wait_until(
            lambda: (
                (logs := page.json("logs"))
                and any(line.startswith("INFO logging_locustfile: long") for line in logs["workers"].get(worker_id, []))
                and logs
            ),
            message="the worker's lines in /logs",
        )
        assert list(logs["workers"]) == [worker_id]
        lines = logs["workers"][worker_id]
        assert "INFO logging_locustfile: LOGS-MARKER from a worker's user" in lines
        burst = [line for line in lines if "burst line" in line]
        assert burst == [f"INFO logging_locustfile: burst line {i:02d}" for i in range(45)]  # over a few beats, all
        (long,) = [line for line in lines if "logging_locustfile: long" in line]
        assert len(long) == MAX_LOG_LINE_CHARS  # cut on the worker to what the protocol carries
        assert not any("LOGS-MARKER" in line for line in logs["master"])  # the master's own lines are its own
        assert any("web UI at" in line or "run state" in line for line in logs["master"]), logs["master"]
        assert not any("listening on port" in line for line in lines)  # lines from before the worker started

        tab = browser.new_page()  # the page's Logs view, as Locust's Logs tab: the worker's lines under its name
        try:
            tab.goto(page.url)
            selector = f"#worker-logs pre[data-worker='{worker_id}']"
            tab.wait_for_function(
                f"() => (document.querySelector(\"{selector}\")?.textContent ?? '').includes('LOGS-MARKER')",
                timeout=20_000,
            )
            assert "LOGS-MARKER" not in (tab.text_content("#master-log") or "")
        finally:
            tab.close()
        page.get("stop")
        wait_until(lambda: page.json("stats/requests")["state"] == "stopped")
        page.process.send_signal(signal.SIGINT)
        assert wait_for_exit(page.process) == 0
        assert wait_for_exit(worker) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.communicate(timeout=10)
        close(page)


def test_the_master_keeps_a_bounded_number_of_lines_per_worker_and_in_all() -> None:
    table = WorkerLogs(lines_per_worker=3, max_chars=20)
    table.add("a", ["a1", "a2", "a3", "a4"])
    assert table.view() == {"a": ["a2", "a3", "a4"]}  # the last lines of each worker
    table.add("b", ["b1" * 4, "b2" * 4])
    assert table.chars == 20 and table.view() == {"a": ["a3", "a4"], "b": ["b1" * 4, "b2" * 4]}  # a's oldest went
    table.add("c", ["c" * 20])
    assert table.view() == {"c": ["c" * 20]} and table.chars == 20  # the workers heard from least recently go


def test_a_heartbeat_carries_logs_only_within_its_bounds_and_old_peers_are_unaffected() -> None:
    beat = Heartbeat(WorkerState.RUNNING, 1.0, 100, 2, 3.0)
    frames = codec.encode(beat)
    assert b"logs" not in frames[1]  # a beat without logs is the frame it was before logs existed
    with_logs = msgspec.structs.replace(beat, logs=("one", "two"))
    assert codec.decode_from_worker(codec.encode(with_logs)) == with_logs

    class OldHeartbeat(msgspec.Struct, tag="heartbeat", tag_field="type"):
        """A heartbeat as a master from before ADR 0038 decodes it."""

        state: str
        cpu_percent: float
        memory_bytes: int
        user_count: int
        worker_time: float

    assert msgspec.msgpack.decode(codec.encode(with_logs)[1], type=OldHeartbeat).user_count == 2
    for bad in (("x" * (MAX_LOG_LINE_CHARS + 1),), ("line",) * (MAX_LOG_LINES + 1)):
        with pytest.raises(RPCReceiveError, match="logs"):
            codec.decode_from_worker(codec.encode(msgspec.structs.replace(beat, logs=bad)))


def test_a_worker_sends_its_lines_in_order_and_says_how_many_it_could_not() -> None:
    recent = RecentLines(keep=5)
    recent.extend(["before"])
    position = recent.total  # a worker starts after the lines already logged
    recent.extend(["l1", "l2", "l3"])
    lines, skipped, position = recent.since(position, 2)
    assert (lines, skipped) == (["l1", "l2"], 0)
    recent.extend([f"m{i}" for i in range(6)])  # faster than read: l3 and m0 are gone from the deque
    lines, skipped, position = recent.since(position, 10)
    assert (lines, skipped, position) == (["m1", "m2", "m3", "m4", "m5"], 2, recent.total)
    assert recent.since(position, 10) == ([], 0, position)
