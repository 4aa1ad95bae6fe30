"""A script in the style of Locust's "use as a library" example: an Environment, a local runner, a quit timer.

Usage: python api_use_as_lib.py HOST SECONDS. Prints the statistics the Environment read at the end.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

import gevent  # noqa: E402

from horde import Environment, HttpUser, constant, events, task  # noqa: E402
from horde.runners import STATE_STOPPED, LocalRunner  # noqa: E402
from horde.stats import stats_history, stats_printer  # noqa: E402


class Visitor(HttpUser):
    wait_time = constant(0.02)

    @task(3)
    def home(self):
        self.client.get("/")

    @task
    def item(self):
        self.client.get("/items/1", name="/items/[id]")


env = Environment(user_classes=[Visitor], host=sys.argv[1], events=events)
runner = env.create_local_runner()
assert isinstance(runner, LocalRunner) and env.runner is runner and env.web_ui is None
env.events.init.fire(environment=env, runner=runner, web_ui=env.web_ui)
gevent.spawn(stats_printer(env.stats))
gevent.spawn(stats_history, env.runner)

runner.start(4, spawn_rate=20)
gevent.spawn_later(float(sys.argv[2]), runner.quit)
runner.greenlet.join()

assert runner.state == STATE_STOPPED, runner.state
home = env.stats.get("/", "GET")
item = env.stats.get("/items/[id]", "GET")
print(
    f"library: total={env.stats.total.num_requests} failures={env.stats.total.num_failures} "
    f"home={home.num_requests} item={item.num_requests} history={len(env.stats.history)}",
    flush=True,
)
