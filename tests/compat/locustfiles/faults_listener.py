"""A test_start listener raises: Locust logs it and exits 2 at the end."""

from horde import HttpUser, constant, events, task


@events.test_start.add_listener
def broken(environment, **kwargs):
    raise RuntimeError("listener failed")


class Fine(HttpUser):
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
