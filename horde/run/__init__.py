"""A run of a load test, whoever starts it: the specification it is built from and the one lifecycle it follows.

`RunSpec` says what to do; `Run.prepare(spec)` builds a local run or a distributed master, `WorkerProcess` a
worker of one. Front ends (the command line, the web UI) only build specs and turn outcomes into exit codes.
"""

from horde.run.cluster import Cluster, LocalCluster, ProcessCluster, ZmqCluster
from horde.run.lifecycle import Run, RunError
from horde.run.spec import (
    ClusterSpec,
    JournalSpec,
    LivenessSpec,
    LoadSpec,
    PluginChoice,
    Role,
    RunSpec,
    SpecError,
)
from horde.run.worker_process import WorkerGroup, WorkerProcess

__all__ = [
    "Cluster",
    "ClusterSpec",
    "JournalSpec",
    "LivenessSpec",
    "LoadSpec",
    "LocalCluster",
    "PluginChoice",
    "ProcessCluster",
    "Role",
    "Run",
    "RunError",
    "RunSpec",
    "SpecError",
    "WorkerGroup",
    "WorkerProcess",
    "ZmqCluster",
]
