"""on_start raises: Locust counts it and the user ends, without on_stop."""

from horde import HttpUser, constant, task


class BadStart(HttpUser):
    wait_time = constant(0.1)

    def on_start(self):
        raise RuntimeError("on_start failed")

    @task
    def index(self):
        self.client.get("/")
