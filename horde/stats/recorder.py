"""A process's request statistics, recorded on the hot path and handed over as deltas.

A worker's StatsRecorder counts every request into a slot per (method, name, epoch second); `take_delta` folds
the slots into a StatsDelta (per-entry totals plus one all-entries tally per second) and starts afresh, so each
request lands in exactly one delta, which the master's RunStats (`horde.stats.run_stats`) merges exactly.

It imports only the protocol's delta types and the histogram: recording is a plain call on every request, and
the bucket computation is inlined into it, so the histogram's constants are read as this module's globals.
"""

from __future__ import annotations

import ast
import math
import re
import time
from collections.abc import Callable
from math import frexp
from typing import Any

from horde.protocol.stats import (
    Buckets,
    EntryDelta,
    ErrorDelta,
    ExceptionDelta,
    SecondDelta,
    StatsDelta,
)
from horde.stats import histogram
from horde.stats.histogram import SUB_BUCKET_SCALE, SUB_BUCKETS, ZERO_BUCKET

_ADDRESS = re.compile(r"object at 0x[0-9a-fA-F]+")
_CATCH_RESPONSE_PREFIX = "CatchResponseError("


def describe_error(error: object) -> str:
    """The string a failure is counted under, so equal failures share one row of the errors table.

    Addresses in reprs ("<Foo object at 0x7f...>") would make every failure unique, so they become "0x....",
    as in Locust. A CatchResponseError (horde's or Locust's, hence the name check) carries the user's message,
    which is shown bare, also when it arrives as a string already wrapped.
    """
    if isinstance(error, str):
        text = error
        if text.startswith(_CATCH_RESPONSE_PREFIX) and text.endswith(")"):
            text = _unquote(text[len(_CATCH_RESPONSE_PREFIX) : -1])
    elif isinstance(error, BaseException) and type(error).__name__ == "CatchResponseError" and error.args:
        text = str(error.args[0]) if len(error.args) == 1 else repr(error.args)
    else:
        text = repr(error)
    if "object at 0x" in text:
        text = _ADDRESS.sub("object at 0x....", text)
    return text


def _unquote(text: str) -> str:
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text
    return value if isinstance(value, str) else text


class _Slot:
    """Requests of one (method, name) in one second; min/max start at +/-inf so recording tests no None."""

    __slots__ = (
        "buckets",
        "max_response_time",
        "min_response_time",
        "num_failures",
        "num_none_requests",
        "num_requests",
        "total_content_length",
        "total_response_time",
    )

    def __init__(self) -> None:
        self.num_requests = 0
        self.num_none_requests = 0
        self.num_failures = 0
        self.total_response_time = 0.0
        self.min_response_time = math.inf
        self.max_response_time = -math.inf
        self.total_content_length = 0
        self.buckets: dict[int, int] = {}

    def absorb(self, other: _Slot) -> None:
        self.num_requests += other.num_requests
        self.num_none_requests += other.num_none_requests
        self.num_failures += other.num_failures
        self.total_response_time += other.total_response_time
        self.min_response_time = min(self.min_response_time, other.min_response_time)
        self.max_response_time = max(self.max_response_time, other.max_response_time)
        self.total_content_length += other.total_content_length
        histogram.merge_into(self.buckets, other.buckets)

    def min_or_none(self) -> float | None:
        return None if self.min_response_time == math.inf else self.min_response_time

    def max_or_none(self) -> float | None:
        return None if self.max_response_time == -math.inf else self.max_response_time


class _ErrorTally:
    __slots__ = ("first_seen", "last_seen", "occurrences")

    def __init__(self, now: float) -> None:
        self.occurrences = 0
        self.first_seen = now
        self.last_seen = now


class StatsRecorder:
    """The process-local statistics every request is recorded into.

    Recording is a plain call, never a message: gevent switches greenlets only where one blocks, and `record`
    never blocks, so it needs no lock. `clock` (wall time, epoch seconds) is read once per request to file it
    under its second; tests inject their own.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._slots: dict[tuple[str, str, int], _Slot] = {}
        self._errors: dict[tuple[str, str, str], _ErrorTally] = {}
        self._exceptions: dict[tuple[str, str, bool], int] = {}

    def record(
        self,
        method: str,
        name: str,
        response_time: float | None,
        response_length: int,
        error: object | None,
    ) -> None:
        """Count one finished request; a None response time counts the request but not its timing."""
        now = self._clock()
        key = (method, name, int(now))
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        slot.num_requests += 1
        slot.total_content_length += response_length
        if response_time is None:
            slot.num_none_requests += 1
        else:
            if response_time > 0:  # histogram.bucket_of, inlined: the call alone cost a tenth of record()
                mantissa, exponent = frexp(response_time)
                bucket = exponent * SUB_BUCKETS + int(mantissa * SUB_BUCKET_SCALE)
            else:
                response_time = 0.0  # a clock that stepped back (or a NaN) gives an instant response
                bucket = ZERO_BUCKET
            slot.total_response_time += response_time
            if response_time < slot.min_response_time:
                slot.min_response_time = response_time
            if response_time > slot.max_response_time:
                slot.max_response_time = response_time
            buckets = slot.buckets
            buckets[bucket] = buckets.get(bucket, 0) + 1
        if error is not None:
            slot.num_failures += 1
            self._record_error(method, name, error, now)

    def log_request(self, method: str, name: str, response_time: float | None, content_length: int) -> None:
        """Locust's `RequestStats.log_request`, which custom clients call: one successful request."""
        self.record(method, name, response_time, content_length or 0, None)

    def log_error(self, method: str, name: str, error: object) -> None:
        """Locust's `RequestStats.log_error`: a failure of (method, name), and an occurrence of `error`, without a
        request (Locust's request hook logs the request and the error apart; so do custom clients)."""
        now = self._clock()
        key = (method, name, int(now))
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        slot.num_failures += 1
        self._record_error(method, name, error, now)

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int | None,
        exception: object | None = None,
        **kwargs: Any,
    ) -> None:
        """A listener for Locust's `events.request`; its other keywords (context, response...) are unused."""
        self.record(request_type, name, response_time, response_length or 0, exception)

    def _record_error(self, method: str, name: str, error: object, now: float) -> None:
        key = (method, name, describe_error(error))
        tally = self._errors.get(key)
        if tally is None:
            tally = self._errors[key] = _ErrorTally(now)
        tally.occurrences += 1
        tally.last_seen = now

    def record_exception(self, message: str, traceback: str, at_start: bool = False) -> None:
        """Count an exception raised by user code, once per distinct (message, traceback); `at_start`: raised
        while the user was being built."""
        key = (message, traceback, at_start)
        self._exceptions[key] = self._exceptions.get(key, 0) + 1

    def take_delta(self) -> StatsDelta:
        """Everything recorded since the previous call, which starts the next delta empty."""
        slots, self._slots = self._slots, {}
        errors, self._errors = self._errors, {}
        exceptions, self._exceptions = self._exceptions, {}

        per_entry: dict[tuple[str, str], tuple[_Slot, dict[int, int], dict[int, int]]] = {}
        per_second: dict[int, _Slot] = {}
        for (method, name, second), slot in slots.items():
            folded = per_entry.get((method, name))
            if folded is None:
                folded = per_entry[(method, name)] = (_Slot(), {}, {})
            total, requests_per_second, failures_per_second = folded
            total.absorb(slot)
            requests_per_second[second] = slot.num_requests
            if slot.num_failures:
                failures_per_second[second] = slot.num_failures
            second_total = per_second.get(second)
            if second_total is None:
                second_total = per_second[second] = _Slot()
            second_total.absorb(slot)

        return StatsDelta(
            entries=tuple(
                EntryDelta(
                    method=method,
                    name=name,
                    num_requests=total.num_requests,
                    num_none_requests=total.num_none_requests,
                    num_failures=total.num_failures,
                    total_response_time=total.total_response_time,
                    min_response_time=total.min_or_none(),
                    max_response_time=total.max_or_none(),
                    total_content_length=total.total_content_length,
                    buckets=Buckets.of(total.buckets),
                    requests_per_second=requests_per_second,
                    failures_per_second=failures_per_second,
                )
                for (method, name), (total, requests_per_second, failures_per_second) in sorted(per_entry.items())
            ),
            errors=tuple(
                ErrorDelta(method, name, error, tally.occurrences, tally.first_seen, tally.last_seen)
                for (method, name, error), tally in sorted(errors.items())
            ),
            exceptions=tuple(
                ExceptionDelta(message, traceback, count, at_start)
                for (message, traceback, at_start), count in sorted(exceptions.items())
            ),
            seconds=tuple(
                SecondDelta(
                    second=second,
                    num_requests=tally.num_requests,
                    num_none_requests=tally.num_none_requests,
                    num_failures=tally.num_failures,
                    total_response_time=tally.total_response_time,
                    min_response_time=tally.min_or_none(),
                    max_response_time=tally.max_or_none(),
                    total_content_length=tally.total_content_length,
                    buckets=Buckets.of(tally.buckets),
                )
                for second, tally in sorted(per_second.items())
            ),
        )
