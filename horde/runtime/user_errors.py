"""How an exception raised by user code is counted and told, wherever that code runs.

Every exception a locustfile lets escape (from ``User.__init__``, ``on_start``, a task, ``wait_time``,
``on_stop``) is counted in the statistics' exceptions table, so it reaches the summary, the JSON and CSV reports
and the exit code. Telling the person is separate from counting: a ``LocustError`` is a misuse of the API whose
message says everything, so it is one line without a traceback, told once per place and message however often it
happens (a class without tasks fails at every wait); anything else is a bug in the locustfile, told with its
traceback, and where many users fail alike at once (``__init__``) only the first time.
"""

from __future__ import annotations

import logging
import traceback
import weakref
from typing import Any

from horde.runtime.exceptions import LocustError

logger = logging.getLogger("horde.user")

_told: weakref.WeakKeyDictionary[Any, set[tuple[str, str]]] = weakref.WeakKeyDictionary()
"""Per environment, the (place, message) pairs already told once."""


def report_user_exception(
    environment: Any, exception: BaseException, where: str, every_time: bool = False, at_start: bool = False
) -> None:
    """Counts ``exception``, raised by user code at ``where`` (e.g. ``MyUser.on_stop``), and tells it.

    ``every_time`` tells an ordinary exception at each occurrence, as Locust logs a failing task each time it
    fails; otherwise it is told once per place and message. `at_start`: raised by ``User.__init__``.
    """
    formatted = "".join(traceback.format_exception(exception, chain=False))  # not the GreenletExit it ended on
    record = getattr(getattr(environment, "recorder", None), "record_exception", None)
    if record is not None:
        record(repr(exception), formatted, at_start)
    message = f"{type(exception).__name__}: {exception}" if str(exception) else type(exception).__name__
    if isinstance(exception, LocustError):
        if _first_time(environment, where, message):
            logger.error("%s: %s", where, exception)
    elif every_time or _first_time(environment, where, message):
        logger.error("%s raised %s\n%s", where, message, formatted.rstrip("\n"))


def tell_user_ended(environment: Any, class_name: str, exception: BaseException) -> None:
    """A user that ended on an exception it had already been counted for (it raised again while handling it):
    told once per class and message, not counted twice."""
    if isinstance(exception, LocustError):  # its one line already says what is wrong
        return
    message = f"{type(exception).__name__}: {exception}"
    if _first_time(environment, f"{class_name} ended", message):
        logger.error("a %s user ended on %s", class_name, message)


def _first_time(environment: Any, where: str, message: str) -> bool:
    try:
        told = _told.setdefault(environment, set())
    except TypeError:  # an environment that cannot be weakly referenced: tell every time
        return True
    key = (where, message)
    if key in told:
        return False
    told.add(key)
    return True
