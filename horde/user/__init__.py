"""Locust's ``locust.user``: users, task sets and the task decorators."""

from horde.runtime.http import HttpUser
from horde.runtime.tasks import TaskSet, tag, task
from horde.runtime.users import User

__all__ = ["HttpUser", "TaskSet", "User", "tag", "task"]
