"""run_single_user: a Locust-style locustfile run as a script prints each request of its one user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.processes import Target

LOCUSTFILES = Path(__file__).parent / "locustfiles"


def _script(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "horde.debug", *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )


def test_the_script_runs_one_user_and_prints_its_requests(fresh_target: Target, tmp_path: Path) -> None:
    result = _script(str(LOCUSTFILES / "import_single_user.py"), "--host", fresh_target.url, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    # the user makes 3 rounds of two requests, then raises StopUser, which ends the script
    assert fresh_target.counts() == {"GET /items/<id>": 3, "GET /missing": 3}
    lines = result.stdout.splitlines()
    header = next(line for line in lines if line.startswith("type\t"))
    assert header.split("\t")[2:] == ["resp_ms", "length", "exception"]
    requests = [line.split("\t") for line in lines if line.startswith("GET\t")]
    assert [fields[1].strip() for fields in requests] == ["/items/[id]", "/missing"] * 3
    for fields in requests:
        assert int(fields[2]) >= 0 and int(fields[3]) > 0  # resp_ms, length
    assert all(fields[4].strip() == "" for fields in requests[::2])
    assert all("404 Client Error" in fields[4] for fields in requests[1::2])


def test_the_script_runner_refuses_a_missing_file_in_one_line(tmp_path: Path) -> None:
    result = _script("nowhere.py", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "not a file" in result.stderr
