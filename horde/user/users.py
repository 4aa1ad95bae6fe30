"""Locust's ``locust.user.users``: User and HttpUser."""

from horde.runtime.http import HttpUser
from horde.runtime.users import User, UserMeta

__all__ = ["HttpUser", "User", "UserMeta"]
