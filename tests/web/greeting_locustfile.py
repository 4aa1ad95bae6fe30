"""A locustfile whose requests are named after the form's `--greeting`: each request says which value of the
argument the process that ran it had, so a test reads from the statistics what reached the workers."""

from horde import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--greeting", default="hello", help="a word the users send", include_in_web_ui=True)


class Greeter(HttpUser):
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/", name=f"/ {self.environment.parsed_options.greeting}")
