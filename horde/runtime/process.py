"""Process-wide setup every horde process shares: logging for humans.

(gevent patching is done by the `horde` entry point itself, before any import: see ADR 0002.)
"""

from __future__ import annotations

import logging
import sys
from typing import TextIO

import structlog


def setup_logging(level: str = "INFO", logfile: str | None = None) -> None:
    """Human-readable log lines on stderr (or appended to `logfile`, Locust's --logfile); the journal, not the
    log, is the record of a run."""
    numeric = logging.getLevelName(level.upper())
    stream: TextIO = open(logfile, "a", encoding="utf-8") if logfile else sys.stderr  # noqa: SIM115 (process-long)
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
