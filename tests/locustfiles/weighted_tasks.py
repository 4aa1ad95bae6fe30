"""One class whose tasks are weighted 18:1 beside a nested TaskSet, for `--equal-weights` and `--config-users`.

In a local run the users quit once they made 600 requests between them, so a run's size does not depend on how
busy the machine is; a distributed run ends at its run time.
"""

from horde import HttpUser, TaskSet, constant, tag, task
from horde.runners import LocalRunner

LIMIT = 600
made = {"requests": 0}


def counted(user) -> None:
    made["requests"] += 1
    if made["requests"] == LIMIT and isinstance(user.environment.runner, LocalRunner):
        user.environment.runner.quit()


class Nested(TaskSet):
    @tag("seldom")
    @task
    def deep(self):
        self.client.get("/text", name="deep")
        counted(self.user if isinstance(self, TaskSet) else self)
        if isinstance(self, TaskSet):  # with --equal-weights this task runs on the user itself, as in Locust
            self.interrupt()


class Weighted(HttpUser):
    wait_time = constant(0)

    @task(18)
    def common(self):
        self.client.get("/", name="common")
        counted(self)

    @tag("seldom")
    @task(1)
    def rare(self):
        self.client.get("/text", name="rare")
        counted(self)

    tasks_nested = task(1)(Nested)


class Other(HttpUser):
    wait_time = constant(0)

    @task
    def other(self):
        self.client.get("/", name="other")
        counted(self)
