"""Bad input gets one clear line on stderr and a non-zero exit, never a traceback: Locust's code, 1 for a
locustfile that cannot be found, imported or used, and 2 for a bad flag or value."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.processes import LOCUSTFILES, horde

SHOP = str(LOCUSTFILES / "shop.py")


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("make_args", "expected", "code"),
    [
        (lambda p: ["-f", str(p / "nope.py")], "nope.py", 1),
        (lambda p: ["-f", _write(p, "syntax.py", "from horde import User\nclass A(User:\n")], "syntax.py:2", 1),
        (lambda p: ["-f", _write(p, "imports.py", "import not_a_module_anywhere\n")], "not_a_module_anywhere", 1),
        (lambda p: ["-f", _write(p, "empty.py", "x = 1\n")], "no User class", 1),
        (lambda p: ["-f", SHOP, "NoSuchUser"], "NoSuchUser", 1),
        (lambda p: ["-f", SHOP, "-u", "-5"], "-u", 2),
        (lambda p: ["-f", SHOP, "-r", "0"], "spawn-rate", 2),
        (lambda p: ["-f", SHOP, "-t", "30x"], "30x", 2),
        (lambda p: ["-f", SHOP, "--no-such-flag"], "--no-such-flag", 2),
        (lambda p: ["-f", SHOP, "--journal", str(p)], "journal", 2),
        (lambda p: ["-f", SHOP, "--journal-checkpoint-mb", "-1"], "--journal-checkpoint-mb", 2),
        (lambda p: ["-f", SHOP, "--journal-checkpoint-mb", "lots"], "--journal-checkpoint-mb: invalid value", 2),
        (lambda p: ["-f", SHOP, "--threshold", "p95<<x"], "threshold 'p95<<x'", 2),
        (lambda p: ["-f", SHOP, "-u", "100000000000", "-r", "1e7"], "users need at least", 2),  # on any machine
        (lambda p: ["-f", SHOP, "--worker", "--master-port", "-5"], "--master-port", 2),
        (lambda p: ["-f", SHOP, "--worker", "--master-host", "bad host!"], "--master-host", 2),
        (lambda p: ["-f", SHOP, "--master", "--master-bind-port", "70000"], "--master-bind-port", 2),
        (
            lambda p: ["-f", SHOP, "-T", "a"] if _write(p, "pyproject.toml", "[tool.horde]\ntags = 5\n") else [],
            "--tags (pyproject.toml [tool.horde]): invalid value 5",
            2,
        ),
        (
            lambda p: ["-f", SHOP] if _write(p, "pyproject.toml", "[tool.locust]\ntags = 5\n") else [],
            "--tags (pyproject.toml [tool.locust]): invalid value 5",
            2,
        ),
    ],
    ids=[
        "missing-file", "syntax-error", "import-error", "no-user-class", "unknown-class",
        "negative-users", "zero-rate", "bad-run-time", "unknown-flag", "unwritable-journal",
        "negative-checkpoint-size", "bad-checkpoint-size", "bad-threshold", "users-beyond-memory",
        "negative-master-port", "bad-master-host", "bind-port-out-of-range", "tags-not-a-list-in-horde-table",
        "tags-not-a-list-in-locust-table",
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_a_non_zero_exit(tmp_path: Path, make_args, expected: str, code: int) -> None:
    result = (
        horde("run", *make_args(tmp_path), "-t", "1s", cwd=tmp_path, timeout=30)
        if "-t" not in make_args(tmp_path)
        else horde("run", *make_args(tmp_path), cwd=tmp_path, timeout=30)
    )
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
