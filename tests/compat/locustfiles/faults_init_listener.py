"""An init listener raises: Locust exits 2 at once."""

from horde import HttpUser, constant, events, task


@events.init.add_listener
def broken(environment, **kwargs):
    raise RuntimeError("init listener failed")


class Fine(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
