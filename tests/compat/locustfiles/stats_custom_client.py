"""A custom client in Locust's style: it counts its calls with `environment.stats.log_request` and `log_error`."""

import time

from locust import User, constant, events, task
from locust.exception import StopUser

CALLS_PER_USER = 30


class CustomClient:
    def __init__(self, environment):
        self.environment = environment

    def call(self, n):
        start = time.perf_counter()
        time.sleep(0.001)
        elapsed_ms = (time.perf_counter() - start) * 1000
        self.environment.stats.log_request("RPC", "custom-call", elapsed_ms, 7)
        if n % 3 == 0:
            self.environment.stats.log_error("RPC", "custom-call", "every third call fails")


class RpcUser(User):
    wait_time = constant(0)
    fixed_count = 2

    def on_start(self):
        self.client = CustomClient(self.environment)
        self.calls = 0

    @task
    def call(self):
        self.calls += 1
        self.client.call(self.calls)
        if self.calls >= CALLS_PER_USER:
            raise StopUser()


@events.quitting.add_listener
def report(environment, **_kwargs):
    if environment.runner is not None and type(environment.runner).__name__ != "WorkerRunner":
        entry = environment.stats.get("custom-call", "RPC")
        print(f"custom-client: requests={entry.num_requests} failures={entry.num_failures}", flush=True)
