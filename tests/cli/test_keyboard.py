"""Keys pressed in a run's terminal change its users, as Locust's w/W/s/S do: a real run with a pseudo-terminal as
its stdin, the keys written to it, and the journal read for the targets they asked for."""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import termios
from pathlib import Path

import psutil
from hypothesis import given
from hypothesis import strategies as st

from horde.cli.keyboard import KEY_SPAWN_RATE, KEY_STEPS, KeyboardControl, next_target
from tests.support.processes import LOCUSTFILES, Target
from tests.support.waiting import JournalWatch, wait_for_event, wait_until


@given(st.integers(min_value=0, max_value=1_000_000), st.sampled_from(sorted(KEY_STEPS)))
def test_a_key_moves_the_target_by_its_step_and_never_below_zero(current: int, key: str) -> None:
    assert next_target(current, key) == max(0, current + KEY_STEPS[key])


def test_other_keys_ask_for_nothing() -> None:
    assert next_target(5, "x") is None
    assert next_target(5, "\n") is None


def test_a_run_whose_stdin_is_no_terminal_reads_no_keys(tmp_path: Path) -> None:
    with (tmp_path / "input").open("w") as not_a_terminal:
        assert not KeyboardControl(lambda: 1, lambda users, rate: None, stream=not_a_terminal).start()


def test_keys_change_the_users_of_a_running_test_and_the_terminal_is_given_back(target: Target, tmp_path: Path) -> None:
    controller, terminal = pty.openpty()
    before = termios.tcgetattr(terminal)
    process = subprocess.Popen(
        [sys.executable, "-m", "horde", "run", "-f", str(LOCUSTFILES / "shop.py"), "-H", target.url, "--headless",
         "-u", "2", "-r", "100", "-t", "120s", "--journal", "run.jsonl", "--only-summary"],
        stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, text=True,
    )  # fmt: skip
    journal = JournalWatch(tmp_path / "run.jsonl")
    try:
        wait_for_event(journal, "run.state_changed", lambda e: e.state == "running", alive=[process])
        # the run reads keys one at a time: the terminal is in cbreak mode while it runs
        wait_until(lambda: not termios.tcgetattr(terminal)[3] & termios.ICANON, 30, message="cbreak mode")

        os.write(controller, b"W")
        (more,) = wait_for_event(journal, "run.target_changed", lambda e: e.user_count == 12, alive=[process])
        assert more.event.spawn_rate == KEY_SPAWN_RATE  # type: ignore[union-attr]
        os.write(controller, b"s")
        wait_for_event(journal, "run.target_changed", lambda e: e.user_count == 11, alive=[process])
        os.write(controller, b"x")  # not a key of the run's: nothing
        os.write(controller, b"S")
        wait_for_event(journal, "run.target_changed", lambda e: e.user_count == 1, alive=[process])
        targets = [r.event.user_count for r in journal.of_type("run.target_changed")]  # type: ignore[union-attr]
        assert targets == [2, 12, 11, 1]

        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert process.returncode in (0, 1), err  # 1: the shop's users meet its failing routes
        assert "Traceback" not in err
        assert termios.tcgetattr(terminal)[3] == before[3]  # echo and line mode are back
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        os.close(controller)
        os.close(terminal)


BACKGROUND_JOB = """
import fcntl, os, subprocess, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)  # the pseudo-terminal is now this session's, this group in its foreground
sys.exit(subprocess.Popen(sys.argv[1:], process_group=0).wait())  # a new group: a background job, as after `&`
"""


def test_a_run_started_as_a_background_job_of_its_terminal_neither_stops_nor_touches_it(
    target: Target, tmp_path: Path
) -> None:
    """`horde run ... &` in a shell: changing (or reading) the terminal would stop the job (SIGTTOU, SIGTTIN)."""
    controller, terminal = pty.openpty()
    before = termios.tcgetattr(terminal)
    process = subprocess.Popen(
        [sys.executable, "-c", BACKGROUND_JOB, sys.executable, "-m", "horde", "run", "-f", str(LOCUSTFILES / "shop.py"),
         "-H", target.url, "--headless", "-u", "2", "-r", "100", "-t", "2s", "--only-summary"],
        stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        _, err = process.communicate(timeout=60)
        assert process.returncode in (0, 1), err  # 1: the shop's users meet its failing routes
        assert "Traceback" not in err
        assert termios.tcgetattr(terminal)[3] == before[3]
    finally:
        if process.poll() is None:
            for child in psutil.Process(process.pid).children(recursive=True):
                child.kill()
            process.kill()
            process.wait(10)
        os.close(controller)
        os.close(terminal)
