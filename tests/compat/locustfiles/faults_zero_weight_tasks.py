"""A user class whose only task has weight 0."""

from horde import HttpUser, constant, task


class Unweighted(HttpUser):
    wait_time = constant(0.1)

    @task(0)
    def index(self):
        self.client.get("/")
