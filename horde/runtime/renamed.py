"""Locust 0.x's class names, renamed in Locust 1.0: a locustfile that still subclasses one is told the name it has
now, in one line, as Locust tells it, instead of "cannot import name"."""

from __future__ import annotations

from typing import Any

RENAMED = {"Locust": "User", "HttpLocust": "HttpUser", "FastHttpLocust": "FastHttpUser"}


class _Renamed(type):
    """Defining a subclass of a renamed class is the error: importing the name alone is not, as in Locust."""

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> _Renamed:
        if not bases:
            return super().__new__(mcs, name, bases, namespace)
        old = bases[0].__name__
        raise ImportError(f"the {old} class was renamed {RENAMED[old]} in Locust 1.0: subclass {RENAMED[old]} instead")


class Locust(metaclass=_Renamed):
    """Renamed `User` in Locust 1.0."""


class HttpLocust(metaclass=_Renamed):
    """Renamed `HttpUser` in Locust 1.0."""


class FastHttpLocust(metaclass=_Renamed):
    """Renamed `FastHttpUser` in Locust 1.0."""
