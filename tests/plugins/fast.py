"""A user that asks for `/` as fast as it can: throughput is the measure."""

from horde import FastHttpUser, constant, task


class Fast(FastHttpUser):
    wait_time = constant(0)

    @task
    def home(self) -> None:
        self.client.get("/")
