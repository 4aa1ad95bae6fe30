"""Locust's ``locust.log``: the logging setup locustfiles and ``run_single_user`` call."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from horde.runtime.process import setup_logging as _setup_logging

#: set when a greenlet wrapped by greenlet_exception_logger died of an exception (Locust's flag)
unhandled_greenlet_exception = False


def setup_logging(loglevel: str, logfile: str | None = None) -> None:
    """Logs at ``loglevel`` on stderr, and also to ``logfile`` when given (Locust's signature)."""
    _setup_logging(loglevel)
    if logfile:
        handler = logging.FileHandler(logfile)
        handler.setFormatter(logging.Formatter("[%(asctime)s] %(levelname)s/%(name)s: %(message)s"))
        logging.getLogger().addHandler(handler)


def greenlet_exception_logger(logger: logging.Logger, level: int = logging.CRITICAL) -> Callable[[Any], None]:
    """A ``greenlet.link_exception`` callback that logs the greenlet's exception and sets the flag above."""

    def exception_handler(greenlet: Any) -> None:
        global unhandled_greenlet_exception
        logger.log(level, "Unhandled exception in greenlet: %s", greenlet, exc_info=greenlet.exc_info)
        unhandled_greenlet_exception = True

    return exception_handler


__all__ = ["greenlet_exception_logger", "setup_logging", "unhandled_greenlet_exception"]
