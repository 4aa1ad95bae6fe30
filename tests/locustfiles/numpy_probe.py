"""Two user classes (as two_classes.py) and a `quitting` listener that says whether this process loaded numpy."""

import sys

from horde import FastHttpUser, HttpUser, constant, events, task


@events.quitting.add_listener
def _say_whether_numpy_was_loaded(environment, **kwargs):
    print(f"numpy loaded: {'numpy' in sys.modules}", file=sys.stderr, flush=True)


class Reader(HttpUser):
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/")


class Buyer(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def item(self):
        self.client.get("/items/1", name="/items/<id>")
