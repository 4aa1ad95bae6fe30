"""The web UI's tests' locustfile: two endpoints, an argument shown in the page's form, and a route added to the
web UI the way Locust's extend_web_ui example adds one."""

from horde import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    parser.add_argument("--greeting", default="hello", help="a word the users send", include_in_web_ui=True)
    parser.add_argument("--hidden-knob", default="x", include_in_web_ui=False)


@events.init.add_listener
def add_route(environment, web_ui=None, **_kwargs):
    if environment.web_ui is not None:

        @environment.web_ui.app.route("/added")
        @environment.web_ui.auth_required_if_enabled
        def added():
            return {"added": True, "greeting": environment.parsed_options.greeting}


class Visitor(HttpUser):
    wait_time = constant(0.05)

    @task(3)
    def home(self):
        self.client.get("/")

    @task(1)
    def item(self):
        self.client.get("/items/2", name="/items/[id]")
