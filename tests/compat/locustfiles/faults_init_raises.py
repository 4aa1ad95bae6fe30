"""User.__init__ raises: each spawn fails, counted; the run still ends on time."""

from horde import HttpUser, constant, task


class BrokenInit(HttpUser):
    wait_time = constant(0.1)

    def __init__(self, environment):
        super().__init__(environment)
        raise ValueError("broken __init__")

    @task
    def index(self):
        self.client.get("/")
