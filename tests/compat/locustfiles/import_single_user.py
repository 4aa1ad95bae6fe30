"""Locust's debugging habit: run the file as a script and watch one user's requests."""

from locust import HttpUser, run_single_user, task
from locust.exception import StopUser


class Debugged(HttpUser):
    host = "http://127.0.0.1:1"  # replaced by --host on the command line

    def on_start(self):
        self.done = 0

    @task
    def walk(self):
        if self.done == 3:
            raise StopUser()
        self.done += 1
        self.client.get(f"/items/{self.done}", name="/items/[id]")
        self.client.get("/missing")


if __name__ == "__main__":
    run_single_user(Debugged, include_length=True)
