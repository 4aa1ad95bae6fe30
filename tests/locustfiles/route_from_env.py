"""One user class whose route comes from the process's environment (`ONE_ROUTE`, default `/`), so a test can
tell apart, in the target's counts, the requests of two worker processes running the same class."""

import os

from horde import HttpUser, constant, task

ROUTE = os.environ.get("ONE_ROUTE", "/")


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def read(self):
        self.client.get(ROUTE)
