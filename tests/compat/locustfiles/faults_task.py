"""A task raises: counted, the user goes on."""

from horde import HttpUser, constant, task


class BadTask(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
        raise KeyError("missing")
