"""The Dispatcher actor's shell: what it journals for each command (its logic: test_dispatch)."""

from __future__ import annotations

import msgspec

from horde.actors.base import Append
from horde.actors.dispatcher_actor import Dispatcher, GetAssignment, Halt
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


def test_joins_and_leaves_queued_behind_each_other_are_decided_as_one_burst_in_their_order() -> None:
    """5,000 workers joining in a few seconds must cost a few plans, not 5,000 (ADR 0031): the shell holds what is
    queued and decides each run of joins (or of leaves for one reason) as one step, before anything else."""
    sent: list[tuple[str, int, dict[str, int]]] = []
    appends: list[Append] = []
    dispatcher = Dispatcher.start(
        [UserClassSpec("A", 1)], appends.append, lambda *args: sent.append(args), lambda *_: None
    )
    try:
        dispatcher.tell(AddWorker(0.0, "w0"))
        dispatcher.tell(RampTo(0.0, 60, 1e9))
        dispatcher.ask(GetAssignment())  # the first join and the ramp are decided
        appends.clear()
        sent.clear()
        for n in range(1, 6):
            dispatcher.tell(AddWorker(1.0, f"w{n}"))
        for n in (1, 2):
            dispatcher.tell(RemoveWorker(2.0, f"w{n}", "missing"))
        dispatcher.tell(RemoveWorker(2.0, "w3", "left"))
        assignment = dispatcher.ask(GetAssignment())  # a query sees every join and leave told before it
    finally:
        dispatcher.tell(Halt())
        dispatcher.stop()

    steps = [append.event for append in appends]
    assert all(isinstance(step, DispatchStep) for step in steps)
    assert [(step.cause, step.worker_id, step.worker_ids) for step in steps] == [  # type: ignore[union-attr]
        ("worker_joined", None, ("w1", "w2", "w3", "w4", "w5")),
        ("worker_missing", None, ("w1", "w2")),
        ("worker_left", "w3", ()),
    ]
    joined_step = steps[0].step  # type: ignore[union-attr]
    assert sorted((worker, counts) for worker, step, counts in sent if step == joined_step) == [
        (f"w{n}", {"A": 10}) for n in range(6)
    ], "one plan for the burst: each of the six workers hears its share once"
    assert sorted(assignment) == ["w0", "w4", "w5"]
    assert sorted(sum(counts.values()) for counts in assignment.values()) == [20, 20, 20]
