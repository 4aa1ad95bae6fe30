"""No host anywhere: the commonest beginner mistake."""

from horde import HttpUser, constant, task


class NoHost(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
