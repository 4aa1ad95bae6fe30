"""Locust's `locust.runners` names, so `from horde.runners import MasterRunner, STATE_RUNNING` works.

The state constants are Locust's strings; a runner's `state` (horde's `RunState`/`WorkerState`, which are string
enums) compares equal to them. `STATE_CLEANUP` is exported for code that names it, though no horde runner is ever
in it: a horde worker goes from stopping straight to stopped.
"""

from horde.actors.runners import LocalRunner, MasterRunner, Message, Runner, WorkerRunner
from horde.protocol.states import RunState, WorkerState

STATE_INIT: str = RunState.READY.value
STATE_SPAWNING: str = RunState.SPAWNING.value
STATE_RUNNING: str = RunState.RUNNING.value
STATE_CLEANUP = "cleanup"
STATE_STOPPING: str = RunState.STOPPING.value
STATE_STOPPED: str = RunState.STOPPED.value
STATE_MISSING: str = WorkerState.MISSING.value

__all__ = [
    "STATE_CLEANUP",
    "STATE_INIT",
    "STATE_MISSING",
    "STATE_RUNNING",
    "STATE_SPAWNING",
    "STATE_STOPPED",
    "STATE_STOPPING",
    "LocalRunner",
    "MasterRunner",
    "Message",
    "Runner",
    "WorkerRunner",
]
