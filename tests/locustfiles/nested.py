"""Visitors wander the catalog (a TaskSet they leave now and then) and sometimes check out in order."""

import random

from horde import HttpUser, SequentialTaskSet, TaskSet, constant, task


class BrowseCatalog(TaskSet):
    def on_start(self):
        self.client.get("/")

    @task(4)
    def item(self):
        self.client.get(f"/items/{random.randint(1, 50)}", name="/items/[id]")

    @task(1)
    def leave(self):
        self.interrupt()


class Checkout(SequentialTaskSet):
    @task
    def view_cart(self):
        self.client.get("/cart")

    @task
    def add_item(self):
        self.client.post("/cart", json={"item": random.randint(1, 50)})

    @task
    def slow_payment(self):
        self.client.get("/slow", name="payment")

    @task
    def done(self):
        self.interrupt()


class Visitor(HttpUser):
    wait_time = constant(0.01)
    tasks = {BrowseCatalog: 3, Checkout: 1}

    @task(1)
    def home(self):
        self.client.get("/")
