"""A library script with a web UI, in the style Locust documents: a local runner, `create_web_ui`, an init fired
by the script, statistics read at the end.

Usage: python api_web_ui_lib.py HOST. Serves the page on a free port of 127.0.0.1 and says which; the run goes on
until someone presses Stop on the page (or after 10 minutes), then prints what the Environment counted.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

import gevent  # noqa: E402

from horde import HttpUser, constant, events, task  # noqa: E402
from horde.env import Environment  # noqa: E402

seen = {}


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def page(self):
        self.client.get("/")


@events.init.add_listener
def on_init(environment, runner, web_ui, **kwargs):
    seen["web_ui"] = web_ui


env = Environment(user_classes=[Reader], host=sys.argv[1], events=events)
runner = env.create_local_runner()
web_ui = env.create_web_ui("127.0.0.1", 0)
assert env.web_ui is web_ui and web_ui.greenlet is not None
env.events.init.fire(environment=env, runner=runner, web_ui=web_ui)
assert seen["web_ui"] is web_ui
print(f"page: http://127.0.0.1:{web_ui.port}/", flush=True)
runner.start(3, spawn_rate=30)
gevent.spawn_later(600, runner.quit)
runner.greenlet.join()
web_ui.stop()
print(f"counted: {env.stats.get('/', 'GET').num_requests} failures={env.stats.total.num_failures}", flush=True)
