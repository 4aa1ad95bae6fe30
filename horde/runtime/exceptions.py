"""Exceptions with Locust's names, so that locustfiles catching or raising them run unchanged."""

from __future__ import annotations


class LocustError(Exception):
    """A misuse of the API by the locustfile (kept under Locust's name for compatibility)."""


class ResponseError(Exception):
    """Raised inside a ``catch_response`` block to mark the request failed."""


class CatchResponseError(Exception):
    """Wraps the message given to ``response.failure("...")``, so failures group by that message."""


class MissingWaitTimeError(LocustError):
    """A TaskSet asked its user for a wait time that neither defines."""


class StopUser(Exception):
    """Ends the current user: its on_stop runs and the pool does not replace it."""


class StopTest(Exception):
    """Ends the whole test, not just this user."""


class InterruptTaskSet(Exception):
    """Leaves the current TaskSet and returns control to its parent.

    With ``reschedule`` the parent picks its next task immediately instead of waiting first.
    """

    def __init__(self, reschedule: bool = True) -> None:
        super().__init__(reschedule)
        self.reschedule = reschedule


class RescheduleTask(Exception):
    """Ends the running task early; the user waits, then picks another task."""


class RescheduleTaskImmediately(Exception):
    """Ends the running task early; the user picks another task without waiting."""


class RunnerAlreadyExistsError(Exception):
    """An Environment was asked for a second runner; it has one for its whole life (Locust's name)."""


#: exceptions that steer a user's run loop; event listeners let them through instead of swallowing them
CONTROL_FLOW_EXCEPTIONS: tuple[type[BaseException], ...] = (
    StopUser,
    StopTest,
    InterruptTaskSet,
    RescheduleTask,
    RescheduleTaskImmediately,
)
