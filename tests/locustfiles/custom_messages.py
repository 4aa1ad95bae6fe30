"""Custom messages both ways, the way Locust projects write them."""

from horde import HttpUser, constant, events, task
from horde.runners import LocalRunner, MasterRunner, WorkerRunner


def on_hello(environment, msg, **kwargs):
    print(f"master got hello from {msg.node_id}: {msg.data}", flush=True)
    environment.runner.send_message("ack", {"to": msg.node_id}, client_id=msg.node_id)


def on_ack(environment, msg, **kwargs):
    print(f"worker got ack: {msg.data}", flush=True)


@events.init.add_listener
def on_init(environment, runner, **kwargs):
    if not isinstance(runner, WorkerRunner):
        runner.register_message("hello", on_hello)
    if not isinstance(runner, MasterRunner):
        runner.register_message("ack", on_ack)


@events.test_start.add_listener
def on_test_start(environment, **kwargs):
    if isinstance(environment.runner, WorkerRunner | LocalRunner):
        environment.runner.send_message("hello", {"n": 1})


class Quiet(HttpUser):
    wait_time = constant(0.2)

    @task
    def home(self):
        self.client.get("/")
