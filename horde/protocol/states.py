"""The one vocabulary of states: a run's, as the Master decides it, and a worker's, as it and the master see it.

They are `StrEnum`s so that the journal and the wire keep carrying the same plain strings they always did
("spawning", "missing"): a member compares equal to its string and msgspec encodes it as that string.
"""

from __future__ import annotations

from enum import StrEnum


class RunState(StrEnum):
    """ready -> spawning -> running -> stopping -> stopped; a new target sends running back to spawning."""

    READY = "ready"
    SPAWNING = "spawning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"


class WorkerState(StrEnum):
    """A worker's state: the first five and the last are its own (in its heartbeats), missing and left the master's.

    `CONNECTING` is a worker introducing an incarnation the master has not accepted yet; `QUIT` a worker process
    on its way out. `MISSING` (silent past the liveness limit) and `LEFT` (said goodbye, or was replaced) are
    facts the master journals about a worker, never states a worker reports.
    """

    CONNECTING = "connecting"
    READY = "ready"
    SPAWNING = "spawning"
    RUNNING = "running"
    STOPPING = "stopping"
    STOPPED = "stopped"
    MISSING = "missing"
    LEFT = "left"
    QUIT = "quit"


GONE_STATES = frozenset((WorkerState.MISSING, WorkerState.LEFT))
"""A worker in one of these runs no users and counts for nothing in dispatch."""
