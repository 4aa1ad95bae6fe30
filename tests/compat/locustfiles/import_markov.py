"""MarkovTaskSet in Locust's style: the chain starts at `home`, and each task moves by its weights."""

from locust import HttpUser, MarkovTaskSet, constant, transition, transitions
from locust.exception import StopUser

STEPS = 12


class Journey(MarkovTaskSet):
    def on_start(self):
        self.steps = 0

    def step(self, path, name=None):
        if self.steps >= STEPS:
            raise StopUser()
        self.steps += 1
        self.client.get(path, name=name)

    @transition("browse")
    def home(self):
        self.step("/")

    @transitions({"item": 3, "home": 1})
    def browse(self):
        self.step("/cart")

    @transitions([("browse", 1), "home"])
    def item(self):
        self.step("/items/1", name="/items/[id]")


class Shopper(HttpUser):
    wait_time = constant(0)
    fixed_count = 2
    tasks = [Journey]
