"""A user class with no tasks."""

from horde import HttpUser, constant


class Idle(HttpUser):
    wait_time = constant(0.1)
