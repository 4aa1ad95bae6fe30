"""Network faults across a real link: the master in one network namespace, its worker in another, joined by a veth
pair this test creates; the worker's demo target on its own loopback. The link is cut for 10 s (both ends down),
then restored degraded (netem's delay and loss, or a slow token bucket where the kernel lacks netem). The run goes
on: the worker is missing during the cut, comes back as a new incarnation, and every request the target served is
counted exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import LOCUSTFILES, HordeProcess
from tests.support.waiting import JournalWatch, wait_for_event, wait_for_users, worker_id_of

CUT = 10.0
"""How long the link is down (issue #14)."""
RUN_TIME = 18.0
"""The run's -t: the cut starts once the users run (in its first second) and the worker is back within about a
second of the link's return, so the run has several seconds on the degraded link before its time is up."""


def _ip(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10)


@dataclass
class Link:
    master_ns: str
    worker_ns: str
    master_dev: str
    worker_dev: str
    master_ip: str

    def exec_in(self, namespace: str) -> list[str]:
        return ["ip", "netns", "exec", namespace]

    def _both(self) -> list[tuple[list[str], str]]:
        return [(self.exec_in(self.master_ns), self.master_dev), (self.exec_in(self.worker_ns), self.worker_dev)]

    def cut(self) -> None:
        """Both ends of the link down: nothing crosses, whatever the kernel's queueing disciplines."""
        for prefix, device in self._both():
            subprocess.run([*prefix, "ip", "link", "set", device, "down"], check=True, timeout=10)

    def restore_degraded(self) -> str:
        """Both ends up again, but degraded: netem's delay and loss where the kernel has it, else a slow token
        bucket (queueing delay, and drops past its latency bound). Returns which."""
        for prefix, device in self._both():
            subprocess.run([*prefix, "ip", "link", "set", device, "up"], check=True, timeout=10)
        rules = (
            ["netem", "delay", "40ms", "10ms", "loss", "3%"],
            ["tbf", "rate", "256kbit", "burst", "4kb", "latency", "100ms"],
        )
        for rule in rules:
            added = [
                subprocess.run([*prefix, "tc", "qdisc", "add", "dev", device, "root", *rule], capture_output=True)
                for prefix, device in self._both()
            ]
            if all(a.returncode == 0 for a in added):
                return rule[0]
            for prefix, device in self._both():
                subprocess.run([*prefix, "tc", "qdisc", "del", "dev", device, "root"], capture_output=True)
        pytest.fail("neither netem nor tbf could degrade the link")


@pytest.fixture
def link() -> Iterator[Link]:
    """Two namespaces of this test's own and a veth pair between them; all removed at the end."""
    tag = f"hg{os.getpid() % 100000}"
    subnet = f"10.{200 + os.getpid() % 50}.{os.getpid() % 250}"
    made = Link(f"{tag}m", f"{tag}w", f"{tag}a", f"{tag}b", f"{subnet}.1")
    if _ip("netns", "add", made.master_ns).returncode != 0:
        pytest.skip("network namespaces cannot be created here (needs root and CAP_SYS_ADMIN)")
    try:
        steps = [
            ("netns", "add", made.worker_ns),
            ("link", "add", made.master_dev, "type", "veth", "peer", "name", made.worker_dev),
            ("link", "set", made.master_dev, "netns", made.master_ns),
            ("link", "set", made.worker_dev, "netns", made.worker_ns),
            ("-n", made.master_ns, "addr", "add", f"{subnet}.1/24", "dev", made.master_dev),
            ("-n", made.worker_ns, "addr", "add", f"{subnet}.2/24", "dev", made.worker_dev),
            ("-n", made.master_ns, "link", "set", made.master_dev, "up"),
            ("-n", made.worker_ns, "link", "set", made.worker_dev, "up"),
            ("-n", made.master_ns, "link", "set", "lo", "up"),
            ("-n", made.worker_ns, "link", "set", "lo", "up"),
        ]
        for step in steps:
            done = _ip(*step)
            if done.returncode != 0:
                pytest.skip(f"cannot set up the test network (ip {' '.join(step)}): {done.stderr.strip()}")
        yield made
    finally:
        _ip("netns", "del", made.master_ns)  # deleting a namespace deletes its end of the veth pair, and so both
        _ip("netns", "del", made.worker_ns)


def _target_counts(link: Link, url: str) -> dict[str, int]:
    """The target's own counts, asked from inside the worker's namespace (its loopback is not ours)."""
    code = f"import urllib.request; print(urllib.request.urlopen({url + '/__counts'!r}, timeout=5).read().decode())"
    out = subprocess.run(
        [*link.exec_in(link.worker_ns), sys.executable, "-c", code], capture_output=True, text=True, timeout=20
    )
    counts: dict[str, int] = json.loads(out.stdout)
    return counts


def test_a_cut_then_lossy_link_loses_and_doubles_nothing(link: Link, tmp_path: Path) -> None:
    target = subprocess.Popen(
        [*link.exec_in(link.worker_ns), sys.executable, "-m", "horde.cli.target", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    processes: list[HordeProcess] = []
    try:
        assert target.stdout is not None
        url = f"http://127.0.0.1:{int(target.stdout.readline().split()[-1])}"
        liveness = ("--heartbeat-interval", "1", "--heartbeat-liveness", "5")
        master = HordeProcess(
            [
                "run", "-f", str(LOCUSTFILES / "two_classes.py"), "--master", "--master-bind-host", link.master_ip,
                "--master-bind-port", "5557", "-H", url, "-u", "4", "-r", "100", "-t", f"{RUN_TIME:g}s", "-s", "5",
                "--journal", "run.jsonl", "--summary-json", "summary.json", "--only-summary", *liveness,
            ],
            tmp_path, "master", prefix=link.exec_in(link.master_ns),
        )  # fmt: skip
        processes.append(master)
        worker = HordeProcess(
            [
                "run", "-f", str(LOCUSTFILES / "two_classes.py"), "--worker", "--master-host", link.master_ip,
                "--master-port", "5557", *liveness,
            ],
            tmp_path, "worker", prefix=link.exec_in(link.worker_ns),
        )  # fmt: skip
        processes.append(worker)
        watch = JournalWatch(tmp_path / "run.jsonl")
        wait_for_users(watch, [4], alive=[master, worker])
        worker_id = worker_id_of(watch, worker, alive=[master])

        link.cut()
        cut_at = time.monotonic()
        wait_for_event(watch, "worker.missing", lambda e: e.worker_id == worker_id, alive=[master], timeout=CUT)
        time.sleep(max(0.0, cut_at + CUT - time.monotonic()))  # the rest of the cut: the fault's length, not a wait
        link.restore_degraded()  # until the end of the run
        (_, back) = wait_for_event(
            watch, "worker.joined", lambda e: e.worker_id == worker_id, count=2, alive=[master], timeout=20
        )

        assert master.wait(timeout=40) == 0, master.describe()
        records = watch.records()
        missing = [r for r in records if r.type == "worker.missing"]
        assert len(missing) == 1 and missing[0].seq < back.seq, "the degraded window: missing, then back"
        reasons = [r.event.reason for r in records if r.type == "run.state_changed"]
        assert "run time reached" in reasons, reasons
        keys = [(r.event.worker_id, r.event.incarnation, r.event.seq) for r in records if r.type == "stats.reported"]
        assert len(keys) == len(set(keys)), "a report merged twice"
        summary = json.loads((tmp_path / "summary.json").read_text())
        served = sum(_target_counts(link, url).values())
        assert summary["aggregated"]["num_requests"] == served > 0
        assert summary["aggregated"]["num_failures"] == 0
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)
        target.terminate()
        target.wait(timeout=10)
