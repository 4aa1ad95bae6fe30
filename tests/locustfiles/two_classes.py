"""Two user classes weighted 1:2, for distributed runs."""

from horde import FastHttpUser, HttpUser, constant, task


class Reader(HttpUser):
    weight = 1
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/")


class Buyer(FastHttpUser):
    weight = 2
    wait_time = constant(0.05)

    @task
    def item(self):
        self.client.get("/items/1", name="/items/<id>")
