"""The Worker shell carries out its decisions in order: the frames a master would see, from a scripted conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pykka
import pytest

from horde.actors.worker import QuitRequest, Worker, WorkerOutcome, WorkerSettings
from horde.protocol.messages import (
    Accept,
    MasterHeartbeat,
    MasterMessageType,
    MasterQuit,
    Ready,
    Rejoin,
    Spawn,
    Spawning,
    SpawningComplete,
    StatsAck,
    StatsReport,
    Stop,
    Stopped,
    WorkerQuit,
)
from horde.runtime.environment import Environment
from horde.runtime.locustfile import load_locustfile, select_user_classes
from horde.stats.recorder import StatsRecorder

SHOP = Path(__file__).resolve().parents[1] / "locustfiles" / "shop.py"
HOST = "http://127.0.0.1:9"


class RecordingTransport:
    """Stands for the socket: keeps what the worker sends, in order."""

    def __init__(self) -> None:
        self.sent: list[Any] = []
        self.reconnects = 0

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def reconnect(self) -> None:
        self.reconnects += 1

    def close(self) -> None:
        pass


def summary(message: Any, names: dict[str, str]) -> tuple[Any, ...]:
    """A frame as a comparable tuple, incarnations named by order of appearance (A, B, ...)."""

    def name(incarnation: str) -> str:
        return names.setdefault(incarnation, "ABCDEFGH"[len(names)])

    if isinstance(message, Ready):
        return ("ready", name(message.incarnation))
    if isinstance(message, StatsReport):
        return ("stats", name(message.incarnation), message.seq, message.final)
    if isinstance(message, Spawning):
        return ("spawning", message.step)
    if isinstance(message, SpawningComplete):
        return ("spawning_complete", message.step, message.user_counts)
    if isinstance(message, Stopped):
        return ("stopped",)
    if isinstance(message, WorkerQuit):
        return ("quit", message.reason)
    return (type(message).__name__,)


@pytest.fixture
def started() -> Any:
    classes = select_user_classes(load_locustfile(str(SHOP)), [])
    recorder = StatsRecorder()
    environment = Environment(user_classes=list(classes.values()), host=HOST, stats=recorder)
    transport = RecordingTransport()
    outcome = WorkerOutcome()
    ref = Worker.start("w1", environment, recorder, transport, WorkerSettings(60.0, 60.0, 0.0), None, outcome)
    yield ref, transport, outcome
    if ref.is_alive():
        ref.stop()
    environment.detach_stats()


def tell(ref: pykka.ActorRef[Worker], *messages: MasterMessageType | QuitRequest) -> None:
    for message in messages:
        ref.tell(message)
    if ref.is_alive():
        ref.proxy().state.get()  # every message before this ask is handled


def test_a_whole_conversation_sends_the_same_frames_in_the_same_order(started: Any) -> None:
    ref, transport, outcome = started
    first = ref.proxy().incarnation.get()
    tell(
        ref,
        Accept(0, first),
        Spawn(1, {"Shopper": 2}, HOST, 0.0),
        Spawn(1, {"Shopper": 2}, HOST, 0.0),  # a duplicate
        Stop(),
        Spawn(2, {"Shopper": 1}),
        Rejoin("the master lost this incarnation"),
    )
    second = ref.proxy().incarnation.get()
    assert second != first and ref.proxy().state.get() == "connecting"
    tell(ref, Spawn(3, {"Shopper": 1}), Accept(1, first), Accept(1, second))
    assert ref.proxy().unacknowledged_reports.get() == 2
    tell(ref, StatsAck(first, 1), MasterHeartbeat({first: 2}))
    assert ref.proxy().unacknowledged_reports.get() == 0
    assert (ref.proxy().worker_index.get(), ref.proxy().state.get()) == (1, "ready")
    tell(ref, QuitRequest("SIGTERM received"))
    ref.actor_stopped.wait(5)

    names: dict[str, str] = {}
    assert [summary(m, names) for m in transport.sent] == [
        ("ready", "A"),
        ("spawning", 1),
        ("spawning_complete", 1, {"Shopper": 2}),
        ("stats", "A", 1, True),
        ("stopped",),
        ("spawning", 2),
        ("spawning_complete", 2, {"Shopper": 1}),
        ("stats", "A", 2, True),
        ("ready", "B"),
        ("stats", "A", 1, True),  # resent once the new incarnation is accepted
        ("stats", "A", 2, True),
        ("quit", "SIGTERM received"),
    ]
    assert (outcome.reason, outcome.exit_code) == ("SIGTERM received", 0)
    assert transport.reconnects == 0


def test_a_master_quit_while_running_stops_reports_and_leaves(started: Any) -> None:
    ref, transport, outcome = started
    tell(ref, Accept(0), Spawn(1, {"Shopper": 1}, HOST, 0.0), MasterQuit("the run is over"))
    ref.actor_stopped.wait(5)
    names: dict[str, str] = {}
    assert [summary(m, names) for m in transport.sent] == [
        ("ready", "A"),
        ("spawning", 1),
        ("spawning_complete", 1, {"Shopper": 1}),
        ("stats", "A", 1, True),
        ("stopped",),
    ]
    assert (outcome.reason, outcome.exit_code) == ("the master said: the run is over", 0)


def test_a_quit_request_keeps_the_exit_code_the_process_chose(started: Any) -> None:
    ref, transport, outcome = started
    outcome.reason, outcome.exit_code = "the master speaks another protocol: 3", 2
    tell(ref, QuitRequest(outcome.reason))
    ref.actor_stopped.wait(5)
    assert outcome.exit_code == 2 and isinstance(transport.sent[-1], WorkerQuit)
