"""Locust's ``locust.env``: the Environment."""

from horde.runtime.environment import Environment

__all__ = ["Environment"]
