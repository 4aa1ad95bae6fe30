"""Starts with an underscore: Locust does not load it from a directory, and neither does horde."""

from horde import User, task


class Hidden(User):
    @task
    def never(self):
        raise AssertionError("a file starting with _ was loaded")
