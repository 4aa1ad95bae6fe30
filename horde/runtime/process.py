"""Process-wide setup every horde process shares: logging for humans.

(gevent patching is done by the `horde` entry point itself, before any import: see ADR 0002.)
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections import deque
from typing import Any, TextIO

import structlog

MAX_LINE = 10_000


class RecentLines:
    """The process's last log lines, as Locust keeps them for its web UI's `/logs`, numbered from the first line
    the process logged: a worker sends its master the lines past the last number it sent (ADR 0038)."""

    def __init__(self, keep: int = 500) -> None:
        self.lines: deque[str] = deque(maxlen=keep)
        self.total = 0
        """How many lines the process logged: the number the next line gets."""

    def extend(self, lines: list[str]) -> None:
        self.lines.extend(lines)
        self.total += len(lines)

    def since(self, position: int, limit: int) -> tuple[list[str], int, int]:
        """`(lines, skipped, next position)`: at most `limit` lines from line number `position` on, the oldest
        first, and how many lines after `position` are gone from the deque already (logged faster than read)."""
        first_kept = self.total - len(self.lines)
        skipped = max(0, first_kept - position)
        start = max(position, first_kept)
        end = min(self.total, start + limit)
        kept = self.lines
        return [kept[i - first_kept] for i in range(start, end)], skipped, end


RECENT = RecentLines()


def recent_log_lines() -> list[str]:
    return list(RECENT.lines)


class LogStream:
    """Where log lines go, never raising: a closed terminal or pipe (`horde run ... 2>&1 | head`) must not stop the
    run that logs, which would otherwise raise inside whichever actor logged and leave the run without an end. The
    journal, not the log, is the record of a run."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        if "\n" in self._partial or len(self._partial) > MAX_LINE:
            *lines, self._partial = self._partial.split("\n")
            if len(self._partial) > MAX_LINE:  # a line never ended: kept as it is, not grown without bound
                lines.append(self._partial)
                self._partial = ""
            RECENT.extend([line[:MAX_LINE] for line in lines if line.strip()])
        try:
            return self._stream.write(text)
        except (OSError, ValueError):
            return 0

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._stream.flush()


def setup_logging(level: str = "INFO", logfile: str | None = None) -> None:
    """Human-readable log lines on stderr (or appended to `logfile`, Locust's --logfile); the journal, not the
    log, is the record of a run."""
    numeric = logging.getLevelName(level.upper())
    target: TextIO = open(logfile, "a", encoding="utf-8") if logfile else sys.stderr  # noqa: SIM115 (process-long)
    stream: Any = LogStream(target)
    logging.basicConfig(level=numeric, stream=stream, format="%(levelname)s %(name)s: %(message)s", force=True)
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="%H:%M:%S"),
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=stream),
        cache_logger_on_first_use=False,
    )
