"""A LoadTestShape that reads its clock: 2 users for 4 s, then 4, and the test ends at 8 s."""

from horde import FastHttpUser, LoadTestShape, constant, task


class Reader(FastHttpUser):
    wait_time = constant(0.1)

    @task
    def home(self):
        self.client.get("/")


class EightSeconds(LoadTestShape):
    def tick(self):
        run_time = self.get_run_time()
        if run_time >= 8:
            return None
        return (2, 10) if run_time < 4 else (4, 10)
