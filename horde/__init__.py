"""horde: a load-testing framework in the line of Locust, built as an event-sourced actor system.

The public API keeps Locust's names, so a locustfile runs after changing ``from locust import`` to
``from horde import``. Importing horde patches nothing: the process entry point does that first.
"""

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
from horde.runtime.shape import LoadTestShape
from horde.runtime.tasks import SequentialTaskSet, TaskSet, tag, task
from horde.runtime.users import User
from horde.runtime.wait_time import between, constant, constant_pacing, constant_throughput

__version__ = "0.1.0"

__all__ = [
    "Environment",
    "EventHook",
    "Events",
    "FastHttpUser",
    "HttpUser",
    "InterruptTaskSet",
    "LoadTestShape",
    "LocustError",
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
    "tag",
    "task",
]
