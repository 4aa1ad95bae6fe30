"""Users that burn CPU in every task, to show a busy worker still heartbeats on time."""

import hashlib

from horde import User, constant, task


class Cruncher(User):
    wait_time = constant(0)

    @task
    def crunch(self):
        digest = b"horde"
        for _ in range(20_000):  # about 20-40 ms of pure CPU, no I/O, no yield
            digest = hashlib.sha256(digest).digest()
