"""Users that wait long enough between tasks to give up their greenlet (ADR 0032): both HTTP clients, a nested
task set, a task that waits in its middle, and users that stop themselves."""

from horde import FastHttpUser, HttpUser, StopUser, TaskSet, between, constant, task


class Browse(TaskSet):
    wait_time = constant(0.12)

    @task(3)
    def item(self):
        self.client.get("/items/7", name="/items/[id]")

    @task
    def leave(self):
        self.interrupt()


class Fast(FastHttpUser):
    wait_time = between(0.1, 0.2)

    def on_start(self):
        self.client.post("/login", json={"username": "alice"})

    @task(3)
    def index(self):
        self.client.get("/")

    @task
    def two_steps(self):
        self.client.get("/cart")
        self.wait()
        self.client.post("/cart", json={"item": 7})

    tasks = {Browse: 1}

    def on_stop(self):
        self.client.get("/text")


class Plain(HttpUser):
    wait_time = between(0.1, 0.2)
    visits = 0

    @task
    def index(self):
        self.client.get("/")
        self.visits += 1
        if self.visits == 5:
            raise StopUser()
