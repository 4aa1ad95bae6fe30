"""What user code sees as `environment.runner`, under Locust's names: WorkerRunner, MasterRunner, LocalRunner.

These are views for locustfiles and library scripts (custom messages, user counts, state, start and quit); the
actors stay the only owners of state, and every property asks them. Locustfiles tell the three apart with
`isinstance`, exactly as with Locust (`from horde.runners import ...`). `state` compares equal to Locust's state
strings (`horde.runners.STATE_RUNNING`, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import gevent
import gevent.pool
import gevent.queue
import pykka
import structlog

from horde.actors.base import Append
from horde.actors.journal import Flush
from horde.protocol.events import RunStateChanged
from horde.protocol.messages import AskToStopRun, MasterCustom, WorkerCustom
from horde.protocol.states import RunState, WorkerState
from horde.runtime.shape import shape_target

if TYPE_CHECKING:
    from horde.actors.control_plane import ControlPlane
    from horde.actors.worker import Worker
    from horde.actors.worker_proxy import WorkerProxyState

log = structlog.get_logger("horde")

Listener = Callable[..., Any]

SPAWN_POLL_INTERVAL = 0.05
"""How often `start(..., wait=True)` looks whether the ramp is done."""

TEST_EVENT_OF_STATE = {
    RunState.SPAWNING: "test_start",
    RunState.STOPPING: "test_stopping",
    RunState.STOPPED: "test_stop",
}
"""The test events a master fires itself, as Locust's does, when its run enters these states (test_start only when
a test begins: from ready, not on a new target mid-run)."""

TEST_EVENTS_SETTLE_TIMEOUT = 30.0
"""How long the end of a run waits for the master's test_stop listeners before it goes on to `quitting`."""

WORKER_STATE_AS_LOCUST = {WorkerState.CONNECTING: WorkerState.READY, WorkerState.QUIT: WorkerState.STOPPED}
"""A worker's own states that Locust's runner does not have, as the Locust state they mean."""


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
    """Shared by the three views: the environment, custom message listeners, and Locust's greenlet group.

    `greenlet` is a gevent Group, as Locust's: a library script joins it to wait for the end of the run, and a
    locustfile may spawn its own background greenlets into it. `spawning_greenlet` follows the latest `start`.
    """

    def __init__(self, environment: Any, handlers: MessageHandlers) -> None:
        self.environment = environment
        self.handlers = handlers
        self.greenlet = gevent.pool.Group()
        self.spawning_greenlet: gevent.Greenlet | None = None

    def register_message(self, msg_type: str, listener: Listener, concurrent: bool = False) -> None:
        self.handlers.register(msg_type, listener, concurrent)

    @property
    def stats(self) -> Any:
        """Locust's `runner.stats`: the environment's statistics."""
        return self.environment.stats

    @property
    def user_count(self) -> int:
        return sum(self.user_classes_count.values())

    @property
    def user_classes_count(self) -> dict[str, int]:
        """Running users per User class name."""
        raise NotImplementedError


class WorkerRunner(Runner):
    def __init__(self, worker: Worker, handlers: MessageHandlers) -> None:
        super().__init__(worker.environment, handlers)
        self._worker = worker

    @property
    def state(self) -> WorkerState:
        state = self._worker.state
        return WORKER_STATE_AS_LOCUST.get(state, state)

    @property
    def user_count(self) -> int:
        return self._worker.pool.user_count

    @property
    def user_classes_count(self) -> dict[str, int]:
        return self._worker.pool.counts()

    @property
    def target_user_count(self) -> int:
        """A worker runs what the master assigns; its target is what it runs."""
        return self.user_count

    @property
    def worker_index(self) -> int:
        return self._worker.worker_index

    @property
    def client_id(self) -> str:
        return self._worker.node_id

    def start(self, user_count: int, spawn_rate: float, wait: bool = False) -> None:
        raise NotImplementedError("a worker runs the users its master assigns; start the run on the master")

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        self._worker.send(WorkerCustom(msg_type, data))

    def quit(self) -> None:
        self._worker.send(AskToStopRun("runner.quit() called by user code"))

    def stop(self) -> None:
        self.quit()


class _RunView(Runner):
    """What a master and a local run share: the Master actor owns the run's state, target and ramp."""

    def __init__(self, control: ControlPlane, environment: Any, handlers: MessageHandlers) -> None:
        super().__init__(environment, handlers)
        self._control = control

    @property
    def state(self) -> RunState:
        try:
            return self._control.master_state().run_state
        except pykka.ActorDeadError:  # the run is over and its actors are gone
            return RunState.STOPPED

    @property
    def target_user_count(self) -> int:
        """The users asked for by the latest `start` (or shape tick); 0 before any."""
        try:
            return self._control.master_state().target_users or 0
        except pykka.ActorDeadError:
            return 0

    def start(
        self,
        user_count: int,
        spawn_rate: float,
        wait: bool = False,
        user_classes: list[Any] | None = None,
    ) -> None:
        """Ask for `user_count` users, added `spawn_rate` a second; returns at once unless `wait`, which waits
        until the ramp is done. horde ramps on the master whatever the kind of run, so both wait alike."""
        names = tuple(c if isinstance(c, str) else c.__name__ for c in user_classes) if user_classes else None
        self._control.start(user_count, float(spawn_rate), names)
        if self.spawning_greenlet is not None:
            self.spawning_greenlet.kill(block=False)
        self.spawning_greenlet = self.greenlet.spawn(self._until_spawned)
        if wait:
            self.spawning_greenlet.join()

    def start_shape(self) -> None:
        """Locust's: the Environment's LoadTestShape drives the run from now on, its clock started now, ticked
        once a second (a tick of None stops the run). A second call while one drives is refused, as in Locust."""
        if self._control.shape_running:
            log.warning("a shape already drives this run; start_shape() ignored")
            return
        shape = self.environment.shape_class
        if shape is None:
            raise RuntimeError("start_shape() needs a LoadTestShape: Environment(shape_class=MyShape())")
        if isinstance(shape, type):
            shape = shape()
        shape.runner = self
        shape.reset_time()
        self._control.set_shape(lambda: shape_target(shape.tick()))

    def _until_spawned(self) -> None:
        """Ends once the run is running (its ramp done) or over: what `spawning_greenlet.join()` waits for."""
        while True:
            gevent.sleep(SPAWN_POLL_INTERVAL)
            if self.state in (RunState.RUNNING, RunState.STOPPING, RunState.STOPPED):
                return

    def quit(self) -> None:
        """Stop the run: the users stop, the final statistics are read, the run ends (`greenlet` joins)."""
        self._control.request_stop("runner.quit() called by user code")

    def stop(self) -> None:
        """As `quit`: a horde run that stopped is over (a new `start` needs a new run)."""
        self.quit()


class MasterRunner(_RunView):
    """The master of workers in other processes. Its own process runs no users, yet Locust's master fires
    test_start, test_stopping and test_stop there too (its listeners set up or tear down what the whole test
    shares): so does this one, from the run's state changes in the journal, in one greenlet, in order."""

    def __init__(self, control: ControlPlane, environment: Any) -> None:
        super().__init__(control, environment, control.handlers)
        self._test_events: gevent.queue.JoinableQueue[str] = gevent.queue.JoinableQueue()
        self._firing: gevent.Greenlet | None = None
        control.journal.proxy().subscribe(self._on_append).get()

    def _on_append(self, seq: int, item: Append) -> None:
        """The Journal's subscriber: runs in its writer, so it only queues."""
        event = item.event
        if not isinstance(event, RunStateChanged):
            return
        name = TEST_EVENT_OF_STATE.get(event.state)
        if name is None or (event.state is RunState.SPAWNING and event.previous is not RunState.READY):
            return
        self._test_events.put(name)
        if self._firing is None:
            self._firing = gevent.spawn(self._fire_test_events)

    def _fire_test_events(self) -> None:
        while True:
            name = self._test_events.get()
            try:
                getattr(self.environment.events, name).fire(environment=self.environment)
            finally:
                self._test_events.task_done()

    def settle_test_events(self, timeout: float = TEST_EVENTS_SETTLE_TIMEOUT) -> None:
        """Waits until the test events of every state change journaled so far have fired: the run's end calls
        this before `quitting`, which Locust fires after test_stop."""
        self._control.journal.ask(Flush())
        self._test_events.join(timeout)
        if self._firing is not None:
            self._firing.kill(block=False)
            self._firing = None

    def _workers(self) -> list[WorkerProxyState]:
        try:
            return list(self._control.workers().values())
        except pykka.ActorDeadError:
            return []

    @property
    def user_count(self) -> int:
        return sum(worker.user_count for worker in self._workers())

    @property
    def user_classes_count(self) -> dict[str, int]:
        """As the workers last reported them (heartbeats and spawn reports)."""
        counts: dict[str, int] = {}
        for worker in self._workers():
            for name, count in worker.user_counts.items():
                counts[name] = counts.get(name, 0) + count
        return counts

    @property
    def worker_count(self) -> int:
        try:
            return len(self._control.master_state().active_workers())
        except pykka.ActorDeadError:
            return 0

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        """To one worker, or to every worker when `client_id` is None."""
        message = MasterCustom(msg_type, data)
        if client_id is None:
            self._control.broadcast(message)
        else:
            self._control.links.send(client_id, message)


class LocalRunner(_RunView):
    """One process: a message sent is a message received, by this same process's listener (as in Locust)."""

    def __init__(self, control: ControlPlane, worker_runner: WorkerRunner) -> None:
        super().__init__(control, worker_runner.environment, worker_runner.handlers)
        self._worker_runner = worker_runner

    @property
    def worker_count(self) -> int:
        """One: this process is its own worker (Locust's LocalRunner says 1 too)."""
        return 1

    @property
    def user_count(self) -> int:
        return self._worker_runner.user_count

    @property
    def user_classes_count(self) -> dict[str, int]:
        return self._worker_runner.user_classes_count

    def send_message(self, msg_type: str, data: Any = None, client_id: str | None = None) -> None:
        self.handlers.dispatch(self.environment, msg_type, data, "local")
