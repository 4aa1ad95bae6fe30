"""The files a run writes: every output path is checked before any load, and a write that fails at the end (a full
disk) leaves no partial file, exits non-zero and is named in the summary instead of being reported as written."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import LOCUSTFILES, Target, horde

SHOP = str(LOCUSTFILES / "two_classes.py")
"""No failing route: any non-zero exit is the one under test."""


@contextmanager
def mounted_tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A small tmpfs of this test's own at `path` (a read-only or a nearly full disk); skipped where mounting is not
    permitted (not root, or a container without CAP_SYS_ADMIN)."""
    path.mkdir()
    mount = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True, text=True)
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mount.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("horde: error: ")
    return lines[0]


@pytest.mark.parametrize(
    ("flag", "name"),
    [("--csv", "out"), ("--json-file", "summary.json"), ("--html", "report.html"), ("--logfile", "horde.log")],
)
def test_an_output_into_a_missing_directory_is_refused_before_any_load(
    fresh_target: Target, tmp_path: Path, flag: str, name: str
) -> None:
    path = str(tmp_path / "missing" / name)
    result = horde("run", "-f", SHOP, "-H", fresh_target.url, "-u", "2", "-t", "2s", flag, path, cwd=tmp_path)
    assert result.returncode == 2, (result.stdout, result.stderr)
    line = _one_error_line(result.stderr)
    assert "missing" in line and ("does not exist" in line or "No such file" in line)
    assert fresh_target.served() == 0
    assert not (tmp_path / "horde-runs").exists(), "no journal: the run never started"


def test_outputs_into_a_read_only_directory_are_refused_before_any_load(fresh_target: Target, tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "ro", "size=64k,ro") as read_only:
        for flag, name in (("--csv", "out"), ("--json-file", "s.json"), ("--html", "r.html"), ("--journal", "j.jsonl")):
            result = horde(
                "run", "-f", SHOP, "-H", fresh_target.url, "-u", "2", "-t", "2s", flag, str(read_only / name),
                cwd=tmp_path,
            )  # fmt: skip
            assert result.returncode == 2, (flag, result.stdout, result.stderr)
            assert "Read-only file system" in _one_error_line(result.stderr), flag
        assert fresh_target.served() == 0


def test_a_full_disk_at_the_end_leaves_no_partial_file_and_exits_non_zero(fresh_target: Target, tmp_path: Path) -> None:
    with mounted_tmpfs(tmp_path / "full", "size=64k") as full:
        (full / "s.json").write_text('{"old": true}\n')  # a previous run's report must survive a failed write
        # Fill the disk: creating a file still works (the check at the start passes), writing one does not.
        subprocess.run(["dd", "if=/dev/zero", f"of={full / 'filler'}", "bs=4k"], capture_output=True, check=False)
        result = horde(
            "run", "-f", SHOP, "-H", fresh_target.url, "-u", "2", "-r", "10", "-t", "1s", "-s", "5",
            "--csv", str(full / "out"), "--json-file", str(full / "s.json"), "--html", str(full / "r.html"),
            "--journal", "run.jsonl",
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 1, (result.stdout, result.stderr)
        assert fresh_target.served() > 0
        for path in (f"{full / 'out'}_*.csv", str(full / "s.json"), str(full / "r.html")):
            assert f"horde: error: {path} was not written: No space left on device" in result.stderr
            assert f"{path.rpartition('/')[2]} -- NOT WRITTEN: No space left on device" in result.stdout or (
                "_*.csv" in path and "_exceptions.csv -- NOT WRITTEN: No space left on device" in result.stdout
            )
        assert sorted(p.name for p in full.iterdir()) == ["filler", "s.json"], "no partial, empty or temporary file"
        assert (full / "s.json").read_text() == '{"old": true}\n'
        assert "Traceback" not in result.stderr
