"""The only user class has weight 0."""

from horde import HttpUser, constant, task


class Nobody(HttpUser):
    weight = 0
    wait_time = constant(0.1)

    @task
    def index(self):
        self.client.get("/")
