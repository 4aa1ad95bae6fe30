"""A LoadTestShape that ends on its own after 1.5 s of 2 users: a test that stops without anyone pressing Stop."""

from horde import HttpUser, LoadTestShape, constant, task


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/")


class ShortShape(LoadTestShape):
    def tick(self):
        return (2, 50) if self.get_run_time() < 1.5 else None
