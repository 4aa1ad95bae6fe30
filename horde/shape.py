"""Locust's ``locust.shape``: LoadTestShape."""

from horde.runtime.shape import LoadTestShape

__all__ = ["LoadTestShape"]
