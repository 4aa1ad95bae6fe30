"""Two User classes on two routes and two LoadTestShape classes, for the class picker: which routes were hit says
which classes ran, and the users a test reached say which shape (if any) drove it. Each shape ends on its own."""

from horde import HttpUser, LoadTestShape, constant, task


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


class ThreeUsers(LoadTestShape):
    def tick(self):
        return (3, 50) if self.get_run_time() < 3 else None


class FiveUsers(LoadTestShape):
    def tick(self):
        return (5, 50) if self.get_run_time() < 3 else None
