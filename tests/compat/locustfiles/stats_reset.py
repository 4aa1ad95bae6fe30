"""A Locust-style locustfile for --reset-stats and --csv-full-history: two endpoints, a steady pace."""

from locust import HttpUser, constant, task


class Browser(HttpUser):
    wait_time = constant(0.02)

    @task(3)
    def home(self):
        self.client.get("/")

    @task
    def item(self):
        self.client.get("/items/1", name="/items/[id]")
