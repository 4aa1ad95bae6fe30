"""Real processes: the demo target and `horde` itself run as subprocesses, only on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCUSTFILES = REPO / "tests" / "locustfiles"


@dataclass
class Target:
    url: str
    process: subprocess.Popen[str]

    def counts(self) -> dict[str, int]:
        with urllib.request.urlopen(f"{self.url}/__counts", timeout=5) as response:
            counts: dict[str, int] = json.loads(response.read())
        return counts

    def reset(self) -> None:
        urllib.request.urlopen(f"{self.url}/__reset", timeout=5).read()


@pytest.fixture(scope="session")
def target() -> Iterator[Target]:
    process = subprocess.Popen(
        [sys.executable, "-m", "horde.cli.target", "--port", "0"], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line.startswith("listening on "), line
    yield Target(f"http://127.0.0.1:{int(line.split()[-1])}", process)
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture
def fresh_target(target: Target) -> Target:
    target.reset()
    return target


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
