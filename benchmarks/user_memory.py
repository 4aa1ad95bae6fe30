"""Memory per user: the resident size a UserPool grows by per idle user, for each kind of user.

The guard on `-u` (horde/runtime/memory_guard.py, ADR 0025) assumes a per-user size; this measures it. Each kind
runs in a fresh process, so one kind's garbage does not flatter the next.

    python benchmarks/user_memory.py [USERS]
"""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = r"""
import gc, sys, psutil, gevent
from horde import FastHttpUser, HttpUser, User, constant, task
from horde.runtime.environment import Environment
from horde.runtime.events import Events
from horde.runtime.user_pool import UserPool

class Idle(User):
    wait_time = constant(3600)
    @task
    def nothing(self):
        pass

class IdleHttp(HttpUser):
    host = "http://127.0.0.1:1"
    wait_time = constant(3600)
    @task
    def nothing(self):
        pass

class IdleFastHttp(FastHttpUser):
    host = "http://127.0.0.1:1"
    wait_time = constant(3600)
    @task
    def nothing(self):
        pass

kind, users = sys.argv[1], int(sys.argv[2])
cls = {"User": Idle, "HttpUser": IdleHttp, "FastHttpUser": IdleFastHttp}[kind]
environment = Environment([cls], Events())
pool = UserPool(environment)
gc.collect()
before = psutil.Process().memory_info().rss
pool.set_counts({cls.__name__: users})
gevent.sleep(0.5)
gc.collect()
after = psutil.Process().memory_info().rss
print((after - before) / users)
"""


def main() -> None:
    users = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    result = {}
    for kind in ("User", "HttpUser", "FastHttpUser"):
        command = [sys.executable, "-c", PROBE, kind, str(users)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        result[kind] = round(float(out.stdout.strip().splitlines()[-1]))
    print(json.dumps({"users": users, "bytes_per_user": result}))


if __name__ == "__main__":
    main()
