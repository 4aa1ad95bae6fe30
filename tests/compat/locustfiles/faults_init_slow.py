"""User.__init__ blocks for far longer than the run: -t must still end the run on time."""

import time

from horde import HttpUser, constant, task


class SlowInit(HttpUser):
    wait_time = constant(0.1)

    def __init__(self, environment):
        super().__init__(environment)
        time.sleep(30)

    @task
    def index(self):
        self.client.get("/")
