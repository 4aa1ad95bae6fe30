"""A library script in Locust's style: an Environment with a LoadTestShape and reset_stats, `runner.start_shape()`.

Usage: python stats_shape_lib.py HOST. The shape runs 2 users, then 4, then stops the run.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

from horde import Environment, HttpUser, LoadTestShape, constant, events, task  # noqa: E402
from horde.runners import STATE_STOPPED  # noqa: E402


class Visitor(HttpUser):
    wait_time = constant(0.02)

    @task
    def home(self):
        self.client.get("/")


class TwoSteps(LoadTestShape):
    def tick(self):
        run_time = self.get_run_time()
        if run_time < 1:
            return (2, 10)
        if run_time < 2:
            return (4, 10)
        return None


env = Environment(user_classes=[Visitor], host=sys.argv[1], events=events, shape_class=TwoSteps(), reset_stats=True)
runner = env.create_local_runner()
runner.start_shape()
runner.start_shape()  # refused: one shape drives the run
runner.greenlet.join()
assert runner.state == STATE_STOPPED, runner.state
print(f"shape-lib: total={env.stats.total.num_requests}", flush=True)
