"""The files a run writes at its end (CSV, JSON, HTML reports): checked before any load, written whole or not at all.

A report is written once, after the last request: a path that cannot be written must be found before the run
spends its time, and a write that fails at the end (a full disk) must leave the old file or none, never an empty
or half one that a script would read as the run's result.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from typing import IO


class OutputUnwritable(Exception):
    """One line for the person: which file cannot be written, and why."""


def check_writable(path: str) -> None:
    """Raise `OutputUnwritable` unless a file can be created beside `path` (a probe file, at once removed).

    The probe is a real creation rather than `os.access`, which says yes to root on a read-only mount.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputUnwritable(f"{path!r} is a directory")
    if not os.path.isdir(directory):
        missing = "is not a directory" if os.path.exists(directory) else "does not exist"
        raise OutputUnwritable(f"cannot write {path!r}: directory {directory!r} {missing}")
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".probe")
    except OSError as exc:
        raise OutputUnwritable(f"cannot write {path!r}: {exc.strerror or exc}") from None
    os.close(fd)
    os.unlink(probe)


def write_atomically(path: str, write: Callable[[IO[str]], object], newline: str | None = None) -> None:
    """Write through a temporary file in the same directory, then rename it over `path`.

    On any error the temporary file is removed and the error raised: `path` keeps what it had before.
    """
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with open(fd, "w", encoding="utf-8", newline=newline) as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())  # tmpfs and ext4 report ENOSPC at write or here, before the rename
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def describe(exc: OSError) -> str:
    """An OSError as a person reads it: `No space left on device`, not `[Errno 28] ...`."""
    return exc.strerror or str(exc)
