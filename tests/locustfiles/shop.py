"""A web shop: customers log in, browse, fill their cart; the flaky endpoint is checked by content."""

import logging
import random

from horde import HttpUser, between, events, tag, task

started_environments = []


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    started_environments.append(environment)
    logging.info("shop test starting against %s", environment.host)


class Shopper(HttpUser):
    wait_time = between(0.01, 0.03)

    def on_start(self):
        with self.client.post(
            "/login", json={"username": "alice", "password": "secret"}, catch_response=True
        ) as response:
            if response.status_code != 200 or "token" not in response.json():
                response.failure(f"login failed with {response.status_code}")
                return
            response.success()
            self.client.headers["Authorization"] = f"Bearer {response.json()['token']}"

    @tag("browse")
    @task(5)
    def index(self):
        self.client.get("/")

    @tag("browse")
    @task(3)
    def view_item(self):
        item_id = random.randint(1, 10_000)
        with self.client.get(f"/items/{item_id}", name="/items/[id]", catch_response=True) as response:
            if response.json().get("id") != str(item_id):
                response.failure("wrong item returned")

    @tag("checkout")
    @task(1)
    def add_to_cart(self):
        self.client.post("/cart", json={"item": random.randint(1, 100), "quantity": 1})
        self.client.get("/cart")

    @task(1)
    def flaky(self):
        self.client.get("/flaky")
