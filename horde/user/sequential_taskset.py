"""Locust's ``locust.user.sequential_taskset``: SequentialTaskSet."""

from horde.runtime.tasks import SequentialTaskSet

__all__ = ["SequentialTaskSet"]
