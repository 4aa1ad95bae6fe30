"""A locustfile whose users log: a marker, a burst of lines and one over-long line, so a test can find each in the
master's `/logs` under the worker that logged it."""

import logging

from horde import HttpUser, constant, task

log = logging.getLogger("logging_locustfile")


class Logger(HttpUser):
    wait_time = constant(0.2)

    def on_start(self):
        log.info("LOGS-MARKER from a worker's user")
        for i in range(45):
            log.info("burst line %02d", i)
        log.info("long %s", "x" * 3000)

    @task
    def home(self):
        self.client.get("/")
