"""Bad input gets one clear line on stderr and a non-zero exit, never a traceback: Locust's code, 1 for a
locustfile that cannot be found, imported or used, and 2 for a bad flag or value."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.processes import LOCUSTFILES, HordeProcess, horde

SHOP = str(LOCUSTFILES / "shop.py")


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


CASES: dict[str, tuple[Callable[[Path], list[str]], str, int]] = {
    "missing-file": (lambda p: ["-f", str(p / "nope.py")], "nope.py", 1),
    "syntax-error": (
        lambda p: ["-f", _write(p, "syntax.py", "from horde import User\nclass A(User:\n")],
        "syntax.py:2",
        1,
    ),
    "import-error": (
        lambda p: ["-f", _write(p, "imports.py", "import not_a_module_anywhere\n")],
        "not_a_module_anywhere",
        1,
    ),
    "no-user-class": (lambda p: ["-f", _write(p, "empty.py", "x = 1\n")], "no User class", 1),
    "unknown-class": (lambda p: ["-f", SHOP, "NoSuchUser"], "NoSuchUser", 1),
    "negative-users": (lambda p: ["-f", SHOP, "-u", "-5"], "-u", 2),
    "zero-rate": (lambda p: ["-f", SHOP, "-r", "0"], "spawn-rate", 2),
    "bad-run-time": (lambda p: ["-f", SHOP, "-t", "30x"], "30x", 2),
    "unknown-flag": (lambda p: ["-f", SHOP, "--no-such-flag"], "--no-such-flag", 2),
    "unwritable-journal": (lambda p: ["-f", SHOP, "--journal", str(p)], "journal", 2),
    "negative-checkpoint-size": (lambda p: ["-f", SHOP, "--journal-checkpoint-mb", "-1"], "--journal-checkpoint-mb", 2),
    "bad-checkpoint-size": (
        lambda p: ["-f", SHOP, "--journal-checkpoint-mb", "lots"],
        "--journal-checkpoint-mb: invalid value",
        2,
    ),
    "bad-threshold": (lambda p: ["-f", SHOP, "--threshold", "p95<<x"], "threshold 'p95<<x'", 2),
    "users-beyond-memory": (
        lambda p: ["-f", SHOP, "-u", "100000000000", "-r", "1e7"],
        "users need at least",
        2,
    ),  # on any machine
    "negative-master-port": (lambda p: ["-f", SHOP, "--worker", "--master-port", "-5"], "--master-port", 2),
    "bad-master-host": (lambda p: ["-f", SHOP, "--worker", "--master-host", "bad host!"], "--master-host", 2),
    "bind-port-out-of-range": (
        lambda p: ["-f", SHOP, "--master", "--master-bind-port", "70000"],
        "--master-bind-port",
        2,
    ),
    "tags-not-a-list-in-horde-table": (
        lambda p: ["-f", SHOP, "-T", "a"] if _write(p, "pyproject.toml", "[tool.horde]\ntags = 5\n") else [],
        "--tags (pyproject.toml [tool.horde]): invalid value 5",
        2,
    ),
    "tags-not-a-list-in-locust-table": (
        lambda p: ["-f", SHOP] if _write(p, "pyproject.toml", "[tool.locust]\ntags = 5\n") else [],
        "--tags (pyproject.toml [tool.locust]): invalid value 5",
        2,
    ),
}


@pytest.fixture(scope="module")
def refused(tmp_path_factory: pytest.TempPathFactory) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every case's `horde run`, started all at once, each in its own directory: one process per case, as the
    cases run them one by one, but the module waits for about the slowest of them, not for their sum."""
    started: dict[str, HordeProcess] = {}
    try:
        for name, (make_args, _, _) in CASES.items():
            cwd = tmp_path_factory.mktemp(name)
            args = make_args(cwd)
            started[name] = HordeProcess(["run", *args, *([] if "-t" in args else ["-t", "1s"])], cwd=cwd, name=name)
        results = {}
        for name, process in started.items():
            out, err = process.communicate(timeout=60)
            results[name] = subprocess.CompletedProcess(process.popen.args, process.popen.returncode, out, err)
        return results
    finally:
        for process in started.values():
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.mark.parametrize(
    ("name", "expected", "code"),
    [(name, expected, code) for name, (_, expected, code) in CASES.items()],
    ids=list(CASES),
)
def test_bad_input_is_one_line_and_a_non_zero_exit(
    refused: dict[str, subprocess.CompletedProcess[str]], name: str, expected: str, code: int
) -> None:
    result = refused[name]
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("horde: error: ")
    assert expected in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_command(tmp_path: Path) -> None:
    result = horde("frobnicate", cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == "horde: error: unknown command 'frobnicate' (try: horde --help)"


def test_events_on_a_file_that_is_not_a_journal(tmp_path: Path) -> None:
    result = horde("events", _write(tmp_path, "x.jsonl", "hello\n"), cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert "not a horde journal" in result.stderr


def test_events_on_a_directory(tmp_path: Path) -> None:
    result = horde("events", str(tmp_path), cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == f"horde: error: {str(tmp_path)!r} is a directory, not a journal"
