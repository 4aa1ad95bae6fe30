"""Locust's twin of fast_root.py, run by benchmarks/throughput.py in its own virtualenv with Locust installed.

Same class, same task, same wait: only the import line differs, so requests per CPU-second compare the tools.
"""

from locust import FastHttpUser, constant, task


class FastRoot(FastHttpUser):
    """One request per task, no wait: every CPU cycle of the process goes to making requests."""

    wait_time = constant(0)

    @task
    def root(self) -> None:
        self.client.get("/")
