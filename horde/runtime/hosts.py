"""Which user classes cannot be built for want of a host: checked when a worker is admitted, not at each spawn."""

from __future__ import annotations

from collections.abc import Mapping

from horde.runtime.fasthttp._user import FastHttpUser
from horde.runtime.http import HttpUser
from horde.runtime.users import User


def hostless_classes(classes: Mapping[str, type[User]], host: str | None) -> tuple[str, ...]:
    """The HTTP user classes whose `__init__` would raise "You must specify the base host" under `host` (a
    worker's own `-H`): a master without `-H` of its own refuses such a worker rather than let every user fail."""
    if host:
        return ()
    return tuple(
        sorted(
            name
            for name, cls in classes.items()
            if issubclass(cls, HttpUser | FastHttpUser) and not getattr(cls, "host", None)
        )
    )
