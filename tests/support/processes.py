"""Real processes, only on 127.0.0.1: the demo target, `horde` runs, and a master with its workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from horde.protocol.journal import Record, read_journal
from tests.support.waiting import JournalWatch, wait_for_line

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILES = REPO / "tests" / "locustfiles"


@dataclass
class Target:
    """The demo target (`horde.cli.target`), which counts the requests it served per route."""

    url: str
    process: subprocess.Popen[str]

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/__counts", timeout=5) as response:
            counts: dict[str, int] = json.loads(response.read())
        return counts

    def served(self) -> int:
        """Every request served since the last reset."""
        return sum(self.counts().values())

    def reset(self) -> None:
        urllib.request.urlopen(f"{self.url}/__reset", timeout=5).read()


@contextmanager
def running_target() -> Iterator[Target]:
    process = subprocess.Popen(
        [sys.executable, "-m", "horde.cli.target", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on "), line
    try:
        yield Target(f"http://127.0.0.1:{int(line.split()[-1])}", process)
    finally:
        process.terminate()
        process.wait(timeout=10)


def horde(
    *args: str, cwd: Path, timeout: float = 60, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real `horde` command in a subprocess, bounded in time."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "horde", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )


class Output:
    """What a process writes to one pipe, read line by line as it comes, so a test can wait for a line."""

    def __init__(self, stream: IO[str], name: str) -> None:
        self.name = name
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                self.lines.append(line)

    def lines_with(self, text: str) -> list[str]:
        return [line for line in self.lines if text in line]

    def text(self) -> str:
        return "".join(self.lines)

    def join(self, timeout: float) -> None:
        self._reader.join(timeout)
        assert not self._reader.is_alive(), f"{self.name} still open {timeout} s after its process exited"


class HordeProcess:
    """`horde` in a subprocess; its stdout and stderr are read as they come (`out`, `err`)."""

    def __init__(self, args: list[str], cwd: Path, name: str = "horde", prefix: Sequence[str] = ()) -> None:
        """`prefix` runs it through another command, e.g. `ip netns exec NS` (which execs it: same pid)."""
        self.name = name
        self.popen = subprocess.Popen(
            [*prefix, sys.executable, "-m", "horde", *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.popen.stdout is not None and self.popen.stderr is not None
        self.out = Output(self.popen.stdout, f"the {name}'s stdout")
        self.err = Output(self.popen.stderr, f"the {name}'s stderr")

    def describe(self) -> str:
        return f"the {self.name} (pid {self.pid}; stderr ends {self.err.text()[-1500:]!r})"

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.returncode

    def poll(self) -> int | None:
        return self.popen.poll()

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def send_signal(self, signal: int) -> None:
        self.popen.send_signal(signal)

    def kill(self) -> None:
        self.popen.kill()

    def communicate(self, timeout: float) -> tuple[str, str]:
        """Waits for the exit and returns everything the process printed: (stdout, stderr)."""
        self.wait(timeout)
        self.out.join(timeout=5)
        self.err.join(timeout=5)
        return self.out.text(), self.err.text()


class Cluster:
    """Starts a master and workers as subprocesses and kills whatever is left at the end."""

    def __init__(self, cwd: Path, locustfile: str) -> None:
        self.cwd = cwd
        self.locustfile = locustfile
        self.processes: list[HordeProcess] = []
        self.master: HordeProcess | None = None
        self.port = 0
        self.watch = JournalWatch(cwd / "run.jsonl")
        """The master's journal as it is written, to wait for what the master decided."""

    def start_master(self, *args: str, port: int = 0) -> HordeProcess:
        """A master on `port` (0: any free port, then `self.port`), journaling to run.jsonl unless `args` say else."""
        self.master = self._spawn(
            "master",
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--journal", "run.jsonl", "--summary-json", "summary.json", "--only-summary", *args,
        )  # fmt: skip
        (line,) = wait_for_line(self.master.out, "listening on port", alive=[self.master])
        self.port = int(line.split("listening on port ")[1].split(",")[0])
        return self.master

    def resume_master(self, *args: str) -> HordeProcess:
        """A new master on the same port that takes the run over from run.jsonl."""
        self.master = self._spawn(
            "resumed master",
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(self.port),
            "--resume", "run.jsonl", "--summary-json", "summary.json", "--only-summary", *args,
        )  # fmt: skip
        return self.master

    def start_worker(self, *args: str) -> HordeProcess:
        return self._spawn("worker", "--worker", "--master-port", str(self.port), *args)

    def _spawn(self, name: str, *args: str) -> HordeProcess:
        process = HordeProcess(
            ["run", "-f", self.locustfile, "--heartbeat-interval", "0.5", *args], cwd=self.cwd, name=name
        )
        self.processes.append(process)
        return process

    def wait_master(self, timeout: float = 60) -> int:
        assert self.master is not None
        return self.master.wait(timeout=timeout)

    def journal(self) -> list[Record]:
        return read_journal(self.cwd / "run.jsonl").records

    def summary(self) -> dict:
        return json.loads((self.cwd / "summary.json").read_text())

    def close(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=10)
