"""The locustfile calls sys.exit(3) at import."""

import sys

from horde import HttpUser, task

sys.exit(3)


class Never(HttpUser):
    @task
    def index(self):
        pass
