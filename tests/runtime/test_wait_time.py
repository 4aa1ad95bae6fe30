"""Wait-time helpers: ranges, constant pacing and throughput, and their use on users and task sets."""

from __future__ import annotations

import time

import gevent

from horde import between, constant, constant_pacing, constant_throughput


class Holder:
    """Anything the helpers are bound to: a user or a task set."""


def test_between_stays_in_range_and_varies() -> None:
    wait = between(0.5, 1.5)
    values = [wait(Holder()) for _ in range(500)]
    assert all(0.5 <= v <= 1.5 for v in values)
    assert max(values) - min(values) > 0.5


def test_constant() -> None:
    assert constant(2.5)(Holder()) == 2.5
    assert constant(0)(Holder()) == 0


def test_constant_pacing_waits_what_is_left_of_the_period() -> None:
    wait = constant_pacing(0.1)
    holder = Holder()
    first = wait(holder)
    assert first == 0.1
    gevent.sleep(first)
    gevent.sleep(0.03)  # the task
    second = wait(holder)
    assert 0.04 <= second <= 0.075
    gevent.sleep(second)
    gevent.sleep(0.15)  # a task that overruns the period
    assert wait(holder) == 0


def test_constant_throughput_is_inverse_pacing() -> None:
    wait = constant_throughput(20)
    holder = Holder()
    assert abs(wait(holder) - 0.05) < 1e-9
    start = time.monotonic()
    runs = 0
    while time.monotonic() - start < 0.5:
        runs += 1
        gevent.sleep(wait(holder))
    assert 9 <= runs <= 12


def test_pacing_state_is_per_instance() -> None:
    wait = constant_pacing(1)
    a, b = Holder(), Holder()
    wait(a)
    gevent.sleep(0.05)
    assert wait(b) == 1
