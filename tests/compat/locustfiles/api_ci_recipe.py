"""Locust's documented CI recipe: a `quitting` listener reads the run's statistics and sets the exit code.

The thresholds come from the environment, so one file shows both outcomes: CI_RECIPE_FAILURES=1 makes one task
in ten hit a failing route.
"""

import logging
import os

from horde import HttpUser, constant, events, task


class Visitor(HttpUser):
    wait_time = constant(0.01)

    @task(9)
    def home(self):
        self.client.get("/")

    @task(1)
    def sometimes_broken(self):
        self.client.get("/status/500" if os.environ.get("CI_RECIPE_FAILURES") == "1" else "/")


@events.quitting.add_listener
def _(environment, **kw):
    total = environment.stats.total
    print(
        f"ci-recipe: requests={total.num_requests} failures={total.num_failures} "
        f"fail_ratio={total.fail_ratio:.4f} avg={total.avg_response_time:.3f} "
        f"p95={total.get_response_time_percentile(0.95):.3f}",
        flush=True,
    )
    if total.fail_ratio > float(os.environ["CI_RECIPE_MAX_FAIL_RATIO"]):
        logging.error("Test failed due to failure ratio > threshold")
        environment.process_exit_code = 1
    elif total.avg_response_time > float(os.environ["CI_RECIPE_MAX_AVG_MS"]):
        logging.error("Test failed due to average response time above threshold")
        environment.process_exit_code = 1
    elif total.get_response_time_percentile(0.95) > 800:
        logging.error("Test failed due to 95th percentile response time > 800 ms")
        environment.process_exit_code = 1
    else:
        environment.process_exit_code = 0
