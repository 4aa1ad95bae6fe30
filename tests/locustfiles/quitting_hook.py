"""A `quitting` listener, as Locust users write them: it reads the final statistics and sets the exit code."""

from horde import FastHttpUser, constant, events, task


@events.quitting.add_listener
def _check_fail_ratio(environment, **kwargs):
    print("quitting hook: fired", flush=True)
    environment.process_exit_code = 7


class Reader(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def home(self):
        self.client.get("/")
