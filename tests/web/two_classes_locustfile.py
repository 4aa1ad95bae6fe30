"""Two User classes on two routes, for the class picker: which routes were hit says which classes ran."""

from horde import HttpUser, constant, task


class Browsing(HttpUser):
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/")


class Buying(HttpUser):
    wait_time = constant(0.05)

    @task
    def item(self):
        self.client.get("/items/1", name="/items/[id]")
