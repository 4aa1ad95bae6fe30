"""on_stop raises: counted, the other users still stop."""

from horde import HttpUser, constant, task


class BadStop(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")

    def on_stop(self):
        raise RuntimeError("on_stop failed")
