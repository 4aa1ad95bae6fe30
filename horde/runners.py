"""Locust's `locust.runners` names, so `from horde.runners import MasterRunner, WorkerRunner` works."""

from horde.actors.runners import LocalRunner, MasterRunner, Message, Runner, WorkerRunner

__all__ = ["LocalRunner", "MasterRunner", "Message", "Runner", "WorkerRunner"]
