"""horde: a load-testing framework in the line of Locust, built as an event-sourced actor system.

The public API keeps Locust's names and module map (``horde.user.task``, ``horde.contrib.fasthttp``, ...), and
while horde loads a locustfile ``import locust`` means horde (ADR 0015), so a locustfile runs unchanged.
Importing horde patches nothing, and the names load on first use: the ``horde`` command must patch the
standard library with gevent before the HTTP clients (and ssl) are imported (ADR 0002).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from horde._version import __version__

_EXPORTS = {
    "Environment": "horde.runtime.environment",
    "EventHook": "horde.runtime.events",
    "Events": "horde.runtime.events",
    "events": "horde.runtime.events",
    "InterruptTaskSet": "horde.runtime.exceptions",
    "LocustError": "horde.runtime.exceptions",
    "RescheduleTask": "horde.runtime.exceptions",
    "RescheduleTaskImmediately": "horde.runtime.exceptions",
    "ResponseError": "horde.runtime.exceptions",
    "StopTest": "horde.runtime.exceptions",
    "StopUser": "horde.runtime.exceptions",
    "FastHttpUser": "horde.runtime.fasthttp",
    "HttpUser": "horde.runtime.http",
    "LoadTestShape": "horde.runtime.shape",
    "SequentialTaskSet": "horde.runtime.tasks",
    "TaskSet": "horde.runtime.tasks",
    "tag": "horde.runtime.tasks",
    "task": "horde.runtime.tasks",
    "User": "horde.runtime.users",
    "between": "horde.runtime.wait_time",
    "constant": "horde.runtime.wait_time",
    "constant_pacing": "horde.runtime.wait_time",
    "constant_throughput": "horde.runtime.wait_time",
    "MarkovTaskSet": "horde.runtime.markov_taskset",
    "transition": "horde.runtime.markov_taskset",
    "transitions": "horde.runtime.markov_taskset",
    "run_single_user": "horde.runtime.debug",
    "Locust": "horde.runtime.renamed",
    "HttpLocust": "horde.runtime.renamed",
}

# names that are modules, as `from locust import wait_time`
_MODULES = {"wait_time": "horde.user.wait_time"}

# a literal list, so linters see the lazily loaded names as exported
__all__ = [
    "Environment",
    "EventHook",
    "Events",
    "FastHttpUser",
    "HttpLocust",
    "HttpUser",
    "InterruptTaskSet",
    "LoadTestShape",
    "Locust",
    "LocustError",
    "MarkovTaskSet",
    "RescheduleTask",
    "RescheduleTaskImmediately",
    "ResponseError",
    "SequentialTaskSet",
    "StopTest",
    "StopUser",
    "TaskSet",
    "User",
    "__version__",
    "between",
    "constant",
    "constant_pacing",
    "constant_throughput",
    "events",
    "run_single_user",
    "tag",
    "task",
    "transition",
    "transitions",
    "wait_time",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is not None:
        value = getattr(import_module(module), name)
    elif name in _MODULES:
        value = import_module(_MODULES[name])
    else:
        raise AttributeError(f"module 'horde' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from horde.runtime.debug import run_single_user
    from horde.runtime.environment import Environment
    from horde.runtime.events import EventHook, Events, events
    from horde.runtime.exceptions import (
        InterruptTaskSet,
        LocustError,
        RescheduleTask,
        RescheduleTaskImmediately,
        ResponseError,
        StopTest,
        StopUser,
    )
    from horde.runtime.fasthttp import FastHttpUser
    from horde.runtime.http import HttpUser
    from horde.runtime.markov_taskset import MarkovTaskSet, transition, transitions
    from horde.runtime.renamed import HttpLocust, Locust
    from horde.runtime.shape import LoadTestShape
    from horde.runtime.tasks import SequentialTaskSet, TaskSet, tag, task
    from horde.runtime.users import User
    from horde.runtime.wait_time import between, constant, constant_pacing, constant_throughput
    from horde.user import wait_time
