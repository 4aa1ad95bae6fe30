"""Several kinds of clients at once: an API client at a fixed rate, slow readers, and one admin."""

from horde import FastHttpUser, HttpUser, LoadTestShape, between, constant_pacing, constant_throughput, task


class ApiBase(FastHttpUser):
    abstract = True

    def item(self, item_id):
        return self.client.get(f"/items/{item_id}", name="/items/[id]")


class ApiClient(ApiBase):
    weight = 3
    wait_time = constant_throughput(50)

    @task
    def fetch(self):
        self.item(1)


class SlowReader(HttpUser):
    weight = 1
    wait_time = between(0.01, 0.02)

    @task
    def read(self):
        self.client.get("/slow")


class Admin(FastHttpUser):
    fixed_count = 1
    wait_time = constant_pacing(0.1)

    @task(3)
    def cart(self):
        self.client.get("/cart")

    @task(1)
    def flaky(self):
        self.client.get("/flaky")


class StepLoad(LoadTestShape):
    steps = [(10, 5, 2), (30, 10, 5)]

    def tick(self):
        run_time = self.get_run_time()
        for users, rate, until in self.steps:
            if run_time < until:
                return users, rate
        return None
