"""Locust's ``locust.event``: the hook classes. The shared ``events`` instance is ``horde.events``, as in Locust."""

from horde.runtime.events import EventHook, Events

__all__ = ["EventHook", "Events"]
