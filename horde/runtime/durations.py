"""Locust's duration syntax (`300`, `20s`, `3m`, `1h30m`, `1h30m20s`), read the same way wherever a duration is
given: `-t` on the command line, `run_time` in the web UI's form."""

from __future__ import annotations

import math
import re

_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m(?!s))?(?:(\d+(?:\.\d+)?)s)?$")


class BadDuration(ValueError):
    """Not a duration; the message says what is expected, for the caller to put after its own field's name."""


def seconds_of(text: str) -> float:
    value = str(text).strip().lower()
    try:
        seconds = float(value)
    except ValueError:
        match = _DURATION.match(value)
        if not value or match is None or not any(match.groups()):
            raise BadDuration(f"invalid duration {text!r} (use e.g. 300, 20s, 3m, 1h30m)") from None
        hours, minutes, secs = (float(g) if g else 0.0 for g in match.groups())
        seconds = hours * 3600 + minutes * 60 + secs
    if seconds < 0 or not math.isfinite(seconds):
        raise BadDuration(f"duration must be a positive number of seconds, got {text!r}")
    return seconds
