"""Locust's ``locust.user.wait_time``: the wait-time functions."""

from horde.runtime.wait_time import between, constant, constant_pacing, constant_throughput

__all__ = ["between", "constant", "constant_pacing", "constant_throughput"]
