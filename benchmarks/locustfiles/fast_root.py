"""horde's side of the throughput benchmark: FastHttpUser hitting GET / back to back, no think time.

Kept identical in shape to fast_root_locust.py (only the import differs) so the two tools do the same work per
request and the comparison measures the tools, not the locustfiles.
"""

from horde import FastHttpUser, constant, task


class FastRoot(FastHttpUser):
    """One request per task, no wait: every CPU cycle of the process goes to making requests."""

    wait_time = constant(0)

    @task
    def root(self) -> None:
        self.client.get("/")
