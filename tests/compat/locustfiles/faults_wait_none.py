"""wait_time returns None."""

from horde import HttpUser, task


class NoneWait(HttpUser):
    def wait_time(self):
        return None

    @task
    def index(self):
        self.client.get("/")
