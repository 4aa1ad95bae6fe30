"""Waiting for a condition, not for a time: one polling helper, and the conditions the process-level tests await.

A test that sleeps a fixed time before an assert is slow on a fast machine and flaky on a slow one. These helpers
poll what the test is really waiting for (an event in the journal a master is writing, the target's request
counts, a line a process printed, a process's exit) and fail with what was awaited and the last value seen.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import pytest

from horde.protocol.journal import Record, decode_record

if TYPE_CHECKING:
    from tests.support.processes import HordeProcess, Output, Target

T = TypeVar("T")

DEFAULT_TIMEOUT = 20.0
"""Long enough for a loaded machine; a condition that holds returns as soon as it is seen, so this costs nothing."""


def wait_until(
    condition: Callable[[], T],
    timeout: float = DEFAULT_TIMEOUT,
    interval: float = 0.05,
    message: str | None = None,
) -> T:
    """Polls `condition` every `interval` seconds until it returns a truthy value, and returns that value.

    After `timeout` seconds the test fails, saying what was awaited (`message`, else the condition's name) and the
    last value the condition returned. An exception raised by the condition propagates at once: that is how a
    condition gives up early (say, the process it watches has died).
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message or getattr(condition, "__name__", repr(condition))
            pytest.fail(f"waited {timeout:g} s for {what}; the last value seen was {_shorten(value)}")
        time.sleep(interval)


def _shorten(value: object, limit: int = 600) -> str:
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit // 2]} ... {text[-limit // 2 :]}"


class _Process(Protocol):
    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...


def describe(process: _Process) -> str:
    """A process as a failure message names it: a HordeProcess says what it is and how its stderr ends."""
    describe_itself = getattr(process, "describe", None)
    return describe_itself() if describe_itself else f"process {process.pid}"


def _alive(condition: Callable[[], T], processes: Iterable[_Process], what: str) -> Callable[[], T]:
    """`condition`, failing at once when it does not hold and one of `processes` has exited."""
    watched = list(processes)

    def checked() -> T:
        value = condition()
        if not value:
            for process in watched:
                code = process.poll()
                if code is not None:
                    raise AssertionError(f"{describe(process)} exited with code {code} while waiting for {what}")
        return value

    return checked


# --- the journal --------------------------------------------------------------------------------------------


class JournalWatch:
    """A journal as a running master writes it: each look reads only the complete lines appended since the last.

    The master flushes its journal at least every second and at every run-state change, so an event shows here up
    to a second after it happened. A line the master is still writing is left for the next look.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._records: list[Record] = []
        self._offset = 0

    def records(self) -> list[Record]:
        """Every record written so far (the header line is skipped)."""
        if not self.path.exists():
            return self._records
        with self.path.open("rb") as f:
            f.seek(self._offset)
            data = f.read()
        complete = data[: data.rfind(b"\n") + 1]
        lines = complete.splitlines()
        if self._offset == 0 and lines:
            lines = lines[1:]  # the header
        self._offset += len(complete)
        self._records.extend(decode_record(line) for line in lines)
        return self._records

    def of_type(self, type_name: str, where: Callable[[Any], bool] | None = None, after: int = 0) -> list[Record]:
        """The records of one type, with a seq above `after`, whose event `where` accepts."""
        return [
            r for r in self.records() if r.type == type_name and r.seq > after and (where is None or where(r.event))
        ]


def last_users(records: Sequence[Record]) -> dict[str, dict[str, int]]:
    """The users each worker still in the run last said it runs, by worker id."""
    counts: dict[str, dict[str, int]] = {}
    for r in records:
        if r.type == "worker.users_reported":
            counts[r.event.worker_id] = r.event.user_counts  # type: ignore[union-attr]
        elif r.type in ("worker.missing", "worker.left"):
            counts.pop(r.event.worker_id, None)  # type: ignore[union-attr]
    return counts


def user_totals(records: Sequence[Record]) -> list[int]:
    """How many users each worker still in the run last said it runs, sorted."""
    return sorted(sum(counts.values()) for counts in last_users(records).values())


def wait_for_event(
    journal: JournalWatch,
    type_name: str,
    where: Callable[[Any], bool] | None = None,
    *,
    after: int = 0,
    count: int = 1,
    alive: Iterable[_Process] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> list[Record]:
    """Waits until the journal holds `count` events of `type_name` (after seq `after`, accepted by `where`)."""
    what = f"{count} {type_name} event(s) in {journal.path.name}" + (f" after seq {after}" if after else "")

    def matching() -> list[Record]:
        found = journal.of_type(type_name, where, after)
        return found if len(found) >= count else []

    return wait_until(_alive(matching, alive, what), timeout, interval=0.1, message=what)


def wait_for_users(
    journal: JournalWatch,
    totals: Sequence[int],
    *,
    alive: Iterable[_Process] = (),
    timeout: float = DEFAULT_TIMEOUT,
) -> dict[str, dict[str, int]]:
    """Waits until the workers still in the run say they run `totals` users (in any order); returns their users."""
    expected = sorted(totals)
    assert expected and all(expected), "awaits workers that run users"
    what = f"workers running {expected} users in {journal.path.name}"

    def running() -> dict[str, dict[str, int]]:
        records = journal.records()
        return last_users(records) if user_totals(records) == expected else {}

    return wait_until(_alive(running, alive, what), timeout, interval=0.1, message=what)


def worker_id_of(
    journal: JournalWatch, worker: _Process, *, alive: Iterable[_Process] = (), timeout: float = DEFAULT_TIMEOUT
) -> str:
    """The id of a worker process, from its (first) worker.joined event."""
    joined = wait_for_event(
        journal, "worker.joined", lambda e: e.pid == worker.pid, alive=[worker, *alive], timeout=timeout
    )
    return joined[0].event.worker_id  # type: ignore[union-attr]


# --- the target and the processes ---------------------------------------------------------------------------


def wait_for_served(target: Target, requests: int, *, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Waits until the target has served at least `requests` requests; returns how many it has served."""
    assert requests > 0
    return wait_until(
        lambda: served if (served := target.served()) >= requests else 0,
        timeout,
        interval=0.1,
        message=f"the target to serve {requests} requests",
    )


def wait_for_line(
    output: Output, text: str, *, count: int = 1, alive: Iterable[_Process] = (), timeout: float = DEFAULT_TIMEOUT
) -> list[str]:
    """Waits until a process has printed `count` lines containing `text`; returns those lines."""
    what = f"{count} line(s) with {text!r} from {output.name}"

    def printed() -> list[str]:
        found = output.lines_with(text)
        return found if len(found) >= count else []

    return wait_until(_alive(printed, alive, what), timeout, message=what)


def wait_for_exit(process: HordeProcess | subprocess.Popen[str], *, timeout: float = DEFAULT_TIMEOUT) -> int:
    """Waits until the process has exited; returns its exit code."""
    what = f"{describe(process)} to exit"
    exited = wait_until(lambda: (code,) if (code := process.poll()) is not None else (), timeout, message=what)
    return exited[0]
