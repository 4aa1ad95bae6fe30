"""The example load test `horde demo` runs: a shop's browsers and a few API clients.

It is written exactly as for Locust; only the import line differs.
"""

from horde import FastHttpUser, HttpUser, between, task


class Browser(HttpUser):
    weight = 3
    wait_time = between(0.05, 0.2)

    def on_start(self) -> None:
        self.client.post("/login", json={"user": "demo", "password": "demo"})

    @task(5)
    def home(self) -> None:
        self.client.get("/")

    @task(2)
    def item(self) -> None:
        for item_id in (1, 2, 3):
            self.client.get(f"/items/{item_id}", name="/items/<id>")

    @task(1)
    def slow(self) -> None:
        self.client.get("/slow")

    @task(1)
    def flaky(self) -> None:
        with self.client.get("/flaky", catch_response=True) as response:
            if response.status_code == 500:
                response.failure("the flaky endpoint failed, as it does one time in ten")


class ApiClient(FastHttpUser):
    weight = 1
    wait_time = between(0.02, 0.1)

    @task
    def cart(self) -> None:
        self.client.get("/cart")
        self.client.post("/cart", json={"item": 1})
