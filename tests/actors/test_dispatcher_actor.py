"""The Dispatcher actor's shell: what it journals for each command (its logic: test_dispatch)."""

from __future__ import annotations

import msgspec

from horde.actors.base import Append
from horde.actors.dispatcher_actor import Dispatcher, Halt
from horde.protocol.dispatcher_vocabulary import (
    AddWorker,
    DispatchStep,
    RampTick,
    RampTo,
    RemoveWorker,
    StartOver,
    UserClassSpec,
)


def test_each_command_keeps_its_tag_and_the_cause_journals_have_always_carried() -> None:
    """Journals name the command behind each step by its original name, and the commands keep their tags."""
    appends: list[Append] = []
    dispatcher = Dispatcher([UserClassSpec("A", 1)], appends.append, lambda *_: None, lambda *_: None)
    commands = [AddWorker(0.0, "w1"), RampTo(0.0, 10, 1.0), RampTick(1.0), RemoveWorker(1.5, "w1", "left")]
    try:
        # Called in place, without starting the actor: nothing yields, so the ramp's own timer never runs.
        for command in commands:
            dispatcher.on_receive(command)
    finally:
        dispatcher.on_receive(Halt())

    assert [(append.cause, type(append.event)) for append in appends] == [
        ("WorkerJoined", DispatchStep),
        ("SetTarget", DispatchStep),
        ("Tick", DispatchStep),
        ("WorkerLeft", DispatchStep),
    ]
    assert [msgspec.json.decode(msgspec.json.encode(command))["type"] for command in commands] == [
        "dispatch.worker_joined",
        "dispatch.set_target",
        "dispatch.tick",
        "dispatch.worker_left",
    ]


def test_a_halted_dispatcher_sends_no_users_until_a_new_test_starts_over() -> None:
    """After Stop the workers run nobody: a worker leaving then rebalances the books, and sending users would start
    a stopped worker again; a new test's StartOver sends nothing either (the workers stopped their users)."""
    sent: list[tuple[str, int, dict[str, int]]] = []
    appends: list[Append] = []
    dispatcher = Dispatcher([UserClassSpec("A", 1)], appends.append, lambda *args: sent.append(args), lambda *_: None)
    for command in (AddWorker(0.0, "w1"), AddWorker(0.0, "w2"), RampTo(0.0, 4, 10.0)):
        dispatcher.on_receive(command)
    assert {worker for worker, _, _ in sent} == {"w1", "w2"}
    sent.clear()
    dispatcher.on_receive(Halt())
    dispatcher.on_receive(RemoveWorker(1.0, "w2", "left"))
    dispatcher.on_receive(StartOver(2.0))
    assert sent == [] and [append.cause for append in appends[-2:]] == ["WorkerLeft", "NewTest"]
    try:
        dispatcher.on_receive(RampTo(2.0, 4, 10.0))
    finally:
        dispatcher.on_receive(Halt())
    assert sent and sent[-1][0] == "w1" and sent[-1][2] == {"A": 4}
