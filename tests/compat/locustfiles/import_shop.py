"""A Locust-style locustfile, unedited: Locust's module paths, and a helper module that imports locust too."""

import locust.user.wait_time
from import_lib import TASKS_PER_USER, browse_item, stop_after
from locust import HttpUser, between, events, task
from locust.env import Environment
from locust.exception import StopUser

assert locust.user.wait_time.constant is not None
TOTAL_USERS = 2


@events.init.add_listener
def check_environment(environment, **_kwargs):
    assert isinstance(environment, Environment)


class Shopper(HttpUser):
    wait_time = between(0, 0.01)
    fixed_count = TOTAL_USERS
    tasks = [browse_item]

    def on_start(self):
        self.done = 0
        self.client.post("/login", json={"user": "demo"})

    def count_task(self):
        self.done += 1
        stop_after(self, TASKS_PER_USER)

    @task(2)
    def home(self):
        self.client.get("/")
        self.count_task()

    @task
    def stop_if_told(self):
        if self.done > 100:
            raise StopUser()
        self.client.get("/cart")
        self.count_task()
