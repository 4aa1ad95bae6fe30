"""A locustfile that adds its own command-line arguments, as Locust's documentation shows it."""

import json
import os

from horde import HttpUser, constant, events, task


@events.init_command_line_parser.add_listener
def _(parser):
    parser.add_argument("--my-arg", type=str, env_var="LOCUST_MY_ARG", default="unset", help="where users go")
    parser.add_argument("--my-count", type=int, default=1, include_in_web_ui=False, help="a number")
    parser.add_argument("--my-secret", is_secret=True, default="", help="not to be journaled")


@events.test_start.add_listener
def _(environment, **_kwargs):
    """Writes what the locustfile sees, for the test to read (OPTIONS_OUT names the file)."""
    out = os.environ.get("OPTIONS_OUT")
    if not out:
        return
    names = [
        "my_arg", "my_count", "my_secret", "num_users", "spawn_rate", "host", "run_time", "csv_prefix", "headless",
        "locustfile", "master", "worker", "expect_workers", "stop_timeout", "tags", "exclude_tags", "loglevel",
        "reset_stats", "html_file", "json", "exit_code_on_error", "only_summary",
    ]  # fmt: skip
    options = environment.parsed_options
    with open(out, "w") as f:
        json.dump({name: getattr(options, name, "<missing>") for name in names}, f)


class Seer(HttpUser):
    wait_time = constant(0.05)

    @task
    def look(self):
        self.client.get(f"/seen/{self.environment.parsed_options.my_arg}")
