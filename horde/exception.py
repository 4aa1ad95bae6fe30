"""Locust's ``locust.exception``: the exceptions a locustfile raises or catches, under Locust's names."""

from horde.protocol.errors import RPCError, RPCReceiveError, RPCSendError
from horde.runtime.exceptions import (
    CatchResponseError,
    InterruptTaskSet,
    LocustError,
    MissingWaitTimeError,
    RescheduleTask,
    RescheduleTaskImmediately,
    ResponseError,
    RunnerAlreadyExistsError,
    StopTest,
    StopUser,
)

__all__ = [
    "CatchResponseError",
    "InterruptTaskSet",
    "LocustError",
    "MissingWaitTimeError",
    "RPCError",
    "RPCReceiveError",
    "RPCSendError",
    "RescheduleTask",
    "RescheduleTaskImmediately",
    "ResponseError",
    "RunnerAlreadyExistsError",
    "StopTest",
    "StopUser",
]
