"""What user code sees as `environment.runner`, under Locust's names: WorkerRunner, MasterRunner, LocalRunner.

These are views for locustfiles (custom messages, user counts, state); the actors stay the only owners of state.
Locustfiles tell the three apart with `isinstance`, exactly as with Locust (`from horde.runners import ...`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
import structlog

from horde.protocol.messages import AskToStopRun, MasterCustom, WorkerCustom
from horde.protocol.states import RunState, WorkerState

if TYPE_CHECKING:
    from horde.actors.control_plane import ControlPlane
    from horde.actors.worker import Worker

log = structlog.get_logger("horde")

Listener = Callable[..., Any]


@dataclass(frozen=True, slots=True)
class Message:
    """A custom message as a listener receives it (Locust's `Message`)."""

    type: str
    data: Any
    node_id: str


class MessageHandlers:
    """The listeners of custom message types; a failing listener is logged, never fatal."""

    def __init__(self) -> None:
        self._listeners: dict[str, tuple[Listener, bool]] = {}

    def register(self, msg_type: str, listener: Listener, concurrent: bool = False) -> None:
        if msg_type in self._listeners:
            raise ValueError(f"a listener for message type {msg_type!r} is already registered")
        self._listeners[msg_type] = (listener, concurrent)

    def dispatch(self, environment: Any, msg_type: str, data: Any, node_id: str) -> None:
        entry = self._listeners.get(msg_type)
        if entry is None:
            log.warning("no listener for custom message type", msg_type=msg_type, node=node_id)
            return
        listener, concurrent = entry
        if concurrent:
            gevent.spawn(self._call, listener, environment, Message(msg_type, data, node_id))
        else:
            self._call(listener, environment, Message(msg_type, data, node_id))

    @staticmethod
    def _call(listener: Listener, environment: Any, message: Message) -> None:
        try:
            listener(environment=environment, msg=message)
        except Exception as exc:
            log.exception("custom message listener failed", msg_type=message.type, error=repr(exc))


class Runner:
    """Shared by the three views: the environment and custom message listeners."""

    def __init__(self, environment: Any, handlers: MessageHandlers) -> None:
        self.environment = environment
        self.handlers = handlers

    def register_message(self, msg_type: str, listener: Listener, concurrent: bool = False) -> None:
        self.handlers.register(msg_type, listener, concurrent)


class WorkerRunner(Runner):
    def __init__(self, worker: Worker, handlers: MessageHandlers) -> None:
        super().__init__(worker.environment, handlers)
        self._worker = worker

    @property
    def state(self) -> WorkerState:
        return self._worker.state

    @property
    def user_count(self) -> int:
        return self._worker.pool.user_count

    @property
    def worker_index(self) -> int:
        return self._worker.worker_index

    @property
    def client_id(self) -> str:
        return self._worker.node_id

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        self._worker.send(WorkerCustom(msg_type, data))

    def quit(self) -> None:
        self._worker.send(AskToStopRun("runner.quit() called by user code"))

    def stop(self) -> None:
        self.quit()


class MasterRunner(Runner):
    def __init__(self, control: ControlPlane, environment: Any) -> None:
        super().__init__(environment, control.handlers)
        self._control = control

    @property
    def state(self) -> RunState:
        return self._control.master_state().run_state

    @property
    def user_count(self) -> int:
        return sum(worker.user_count for worker in self._control.workers().values())

    @property
    def worker_count(self) -> int:
        return len(self._control.master_state().active_workers())

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """To one worker, or to every worker when `client_id` is None."""
        message = MasterCustom(msg_type, data)
        if client_id is None:
            self._control.broadcast(message)
        else:
            self._control.links.send(client_id, message)

    def quit(self) -> None:
        self._control.request_stop("runner.quit() called by user code")

    def stop(self) -> None:
        self.quit()


class LocalRunner(Runner):
    """One process: a message sent is a message received, by this same process's listener (as in Locust)."""

    def __init__(self, control: ControlPlane, worker_runner: WorkerRunner) -> None:
        super().__init__(worker_runner.environment, worker_runner.handlers)
        self._control = control
        self._worker_runner = worker_runner

    @property
    def state(self) -> RunState:
        return self._control.master_state().run_state

    @property
    def user_count(self) -> int:
        return self._worker_runner.user_count

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        self.handlers.dispatch(self.environment, msg_type, data, "local")

    def quit(self) -> None:
        self._control.request_stop("runner.quit() called by user code")

    def stop(self) -> None:
        self.quit()
