"""The Master's pure decisions: no actors, no clock, time arrives in the commands."""

from __future__ import annotations

import dataclasses
import itertools
from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec.structs import replace

from horde.actors import master as m
from horde.protocol.events import RunConfigured, RunStateChanged, WorkerMissing, WorkerStateChanged
from horde.protocol.messages import PROTOCOL_VERSION, Ready

CONFIG = RunConfigured(
    user_classes={"A": (1.0, 0)},
    expect_workers=2,
    run_time=10.0,
    stop_timeout=1.0,
    heartbeat_interval=1.0,
    heartbeat_liveness=3,
)


def ready(worker: str, incarnation: str = "i1", version: int = PROTOCOL_VERSION) -> Ready:
    return Ready(worker, incarnation, "0.1.0", version, "host", 1, 2, ("A",))


def step(state: m.MasterState, command: m.Command) -> tuple[m.MasterState, list]:
    events = m.decide(state, command)
    return reduce(m.apply, events, state), events


def run_states(events: list) -> list[str]:
    return [e.state for e in events if isinstance(e, RunStateChanged)]


def started() -> m.MasterState:
    state, _ = step(m.MasterState(), m.Configure(0.0, CONFIG))
    state, _ = step(state, m.Start(0.0, 10, 2.0))
    state, _ = step(state, m.Admit(1.0, "w1", ready("w1")))
    state, events = step(state, m.Admit(2.0, "w2", ready("w2")))
    assert run_states(events) == ["spawning"]
    return state


def test_spawning_waits_for_the_expected_workers() -> None:
    state, _ = step(m.MasterState(), m.Configure(0.0, CONFIG))
    state, _ = step(state, m.Start(0.0, 10, 2.0))
    state, events = step(state, m.Admit(1.0, "w1", ready("w1")))
    assert run_states(events) == [] and state.run_state == "ready"
    assert started().started_at == 2.0


def test_a_worker_of_another_protocol_version_is_rejected() -> None:
    state, _ = step(m.MasterState(), m.Configure(0.0, CONFIG))
    _, events = step(state, m.Admit(1.0, "w1", ready("w1", version=PROTOCOL_VERSION + 1)))
    assert [type(e).__name__ for e in events] == ["WorkerRejected"]


def test_a_repeated_ready_is_harmless_and_a_new_incarnation_replaces() -> None:
    state = started()
    assert m.decide(state, m.Admit(3.0, "w1", ready("w1"))) == []
    state, events = step(state, m.Admit(3.0, "w1", ready("w1", "i2")))
    assert [type(e).__name__ for e in events] == ["WorkerLeft", "WorkerJoined"]
    assert state.members["w1"].incarnation == "i2" and state.members["w1"].index == 0


def test_an_old_ramp_does_not_end_spawning_but_the_current_one_does() -> None:
    state = started()
    assert m.decide(state, m.RampFinished(2.5, 1, target=0)) == []
    state, events = step(state, m.RampFinished(7.0, 6, target=10))
    assert run_states(events) == ["running"]


def test_run_time_then_all_workers_stopped() -> None:
    state = started()
    state, events = step(state, m.ClockTick(11.9))
    assert run_states(events) == []
    state, events = step(state, m.ClockTick(12.0))
    assert run_states(events) == ["stopping"] and events[0].reason == "run time reached"
    for worker in ("w1", "w2"):
        state = m.apply(state, WorkerStateChanged(worker, "stopped", "running", 12.5))
        state, events = step(state, m.Observed(12.5, WorkerStateChanged(worker, "stopped", "running", 12.5)))
    assert run_states(events) == ["stopped"] and state.run_state == "stopped"


def test_a_known_worker_back_while_the_run_stops_is_admitted_and_a_new_one_is_not() -> None:
    state = started()
    state, events = step(state, m.ClockTick(12.0))
    assert run_states(events) == ["stopping"]
    # w1 comes back as a new incarnation (its master was resumed): admitted, so its last reports count.
    state, events = step(state, m.Admit(13.0, "w1", ready("w1", "i2")))
    assert [type(e).__name__ for e in events] == ["WorkerLeft", "WorkerJoined"]
    assert state.members["w1"].incarnation == "i2" and state.run_state == "stopping"
    _, events = step(state, m.Admit(13.0, "w3", ready("w3")))
    assert [(type(e).__name__, e.reason) for e in events] == [("WorkerRejected", "the run is over")]
    # It stops as the others do, and the run ends once every worker has.
    for worker in ("w1", "w2"):
        changed = WorkerStateChanged(worker, "stopped", "running", 14.0)
        state = m.apply(state, changed)
        state, events = step(state, m.Observed(14.0, changed))
    assert run_states(events) == ["stopped"]
    _, events = step(state, m.Admit(15.0, "w4", ready("w4")))
    assert [type(e).__name__ for e in events] == ["WorkerJoined"]  # once stopped, a new worker waits for the next


def test_once_stopped_a_known_workers_new_incarnation_joins_for_the_next_test_and_its_old_one_does_not() -> None:
    """ADR 0040, as Locust's master takes a `client_ready` between tests: the new incarnation replaces the old
    (no users: the Dispatcher is halted until the next test); the incarnation that was there is refused."""
    state = started()
    state = m.apply(state, WorkerMissing("w2", 5.0, 6.0))
    state, _ = step(state, m.Observed(6.0, WorkerMissing("w2", 5.0, 6.0)))
    state, _ = step(state, m.RequestStop(8.0, "stop from the web UI"))
    stopped = WorkerStateChanged("w1", "stopped", "running", 9.0)
    state = m.apply(state, stopped)
    state, events = step(state, m.Observed(9.0, stopped))
    assert run_states(events) == ["stopped"]
    # w2, missing since the test ran, is back as a new incarnation (it stalled, lost the master, rejoined).
    _, events = step(state, m.Admit(10.0, "w2", ready("w2", "i1")))
    assert [(type(e).__name__, e.reason) for e in events] == [("WorkerRejected", "the run is over")]
    state, events = step(state, m.Admit(10.0, "w2", ready("w2", "i2")))
    assert [type(e).__name__ for e in events] == ["WorkerJoined"]  # missing is gone: nothing to replace
    assert state.members["w2"].incarnation == "i2" and state.members["w2"].index == 1
    # w1, stopped but there, restarts its incarnation: it replaces the old one, at its index.
    state, events = step(state, m.Admit(11.0, "w1", ready("w1", "i2")))
    assert [type(e).__name__ for e in events] == ["WorkerLeft", "WorkerJoined"]
    assert run_states(events) == [] and state.run_state == "stopped" and state.active_workers() == ["w1", "w2"]
    # The next test starts on both.
    state, events = step(state, m.StartNewTest(12.0, "new test from the web UI"))
    state, events = step(state, m.Start(12.0, 4, 10.0))
    assert run_states(events) == ["spawning"]


def endless() -> m.MasterState:
    """A started run without a run time: only its workers can end it."""
    return dataclasses.replace(started(), config=replace(CONFIG, run_time=None))


def test_losing_every_worker_stops_the_run_once_none_can_return() -> None:
    state = endless()
    for worker in ("w1", "w2"):
        state = m.apply(state, WorkerMissing(worker, 3.5, 6.0))
        state, events = step(state, m.Observed(6.0, WorkerMissing(worker, 3.5, 6.0)))
    assert run_states(events) == []  # missing may be a stall: the run waits for them one return window
    window = m.return_window(CONFIG)
    assert window == 9.0
    state, events = step(state, m.ClockTick(6.0 + window - 0.1))
    assert run_states(events) == []
    state, events = step(state, m.ClockTick(6.0 + window))
    assert run_states(events) == ["stopping"]
    assert events[0].reason == "no worker left: the missing workers did not return within 9 s"


def test_a_stalled_only_worker_that_returns_rejoins_and_the_run_goes_on() -> None:
    state = endless()
    for worker in ("w1", "w2"):
        state = m.apply(state, WorkerMissing(worker, 3.5, 6.0))
        state, _ = step(state, m.Observed(6.0, WorkerMissing(worker, 3.5, 6.0)))
    state, events = step(state, m.Admit(9.0, "w1", ready("w1", incarnation="i2")))
    assert [type(e).__name__ for e in events] == ["WorkerJoined"]
    state, events = step(state, m.ClockTick(30.0))
    assert state.run_state == "spawning" and run_states(events) == []  # as it was: not stopped
    assert state.active_workers() == ["w1"]


def test_workers_that_left_end_the_run_at_once() -> None:
    state = started()
    for worker in ("w1", "w2"):
        state, events = step(state, m.WorkerGone(6.0, worker, "quit"))
    assert run_states(events) == ["stopping"] and events[-1].reason == "no worker left"


def test_stopping_gives_up_after_the_stop_timeout_and_grace() -> None:
    state = started()
    state, _ = step(state, m.RequestStop(5.0, "SIGINT"))
    assert m.decide(state, m.ClockTick(5.0 + CONFIG.stop_timeout + m.STOP_GRACE)) == []
    _, events = step(state, m.ClockTick(5.1 + CONFIG.stop_timeout + m.STOP_GRACE))
    assert run_states(events) == ["stopped"]


def test_a_master_behind_in_its_reading_waits_for_what_its_workers_sent_before_the_stop_deadline() -> None:
    """The Stopped a worker sent in time may still wait in the master's own queue: the deadline is judged on what
    was read (ADR 0037), up to a limit for a master that never catches up."""
    state = started()
    state, _ = step(state, m.RequestStop(5.0, "SIGINT"))
    deadline = 5.0 + CONFIG.stop_timeout + m.STOP_GRACE
    assert m.decide(state, m.ClockTick(deadline + 20, read_up_to=deadline - 1)) == []
    _, events = step(state, m.ClockTick(deadline + 20, read_up_to=deadline + 0.1))
    assert run_states(events) == ["stopped"] and events[-1].reason == "workers did not confirm the stop in time"
    assert m.decide(state, m.ClockTick(deadline + m.STOP_BEHIND_LIMIT, read_up_to=deadline - 1)) == []
    _, events = step(state, m.ClockTick(deadline + m.STOP_BEHIND_LIMIT + 0.1, read_up_to=deadline - 1))
    assert run_states(events) == ["stopped"]
    assert events[-1].reason == "workers did not confirm the stop in time (the master was 61 s behind)"


def test_a_shape_sets_targets_and_ends_the_run() -> None:
    state = started()
    state, events = step(state, m.ShapeTick(3.0, (20, 5.0, None)))
    assert [type(e).__name__ for e in events] == ["ShapeTicked", "RunTargetChanged"]
    assert m.decide(state, m.ShapeTick(4.0, (20, 5.0, None))) == []
    _, events = step(state, m.ShapeTick(5.0, None))
    assert run_states(events) == ["stopping"]


commands = st.lists(
    st.one_of(
        st.builds(
            m.Admit,
            st.floats(0, 100),
            st.sampled_from(["w1", "w2", "w3"]),
            st.builds(ready, st.sampled_from(["w1", "w2", "w3"]), st.sampled_from(["i1", "i2"])),
        ),
        st.builds(m.Start, st.floats(0, 100), st.integers(0, 50), st.floats(0.1, 10)),
        st.builds(m.ClockTick, st.floats(0, 100), st.one_of(st.none(), st.floats(0, 100))),
        st.builds(m.RequestStop, st.floats(0, 100), st.just("test")),
        st.builds(m.WorkerGone, st.floats(0, 100), st.sampled_from(["w1", "w2", "w3"]), st.just("quit")),
        st.builds(m.RampFinished, st.floats(0, 100), st.integers(0, 9), st.integers(0, 50)),
    ),
    max_size=30,
)


@settings(max_examples=150, deadline=None)
@given(commands)
def test_the_state_is_the_fold_of_its_events(sequence: list[m.Command]) -> None:
    """Replay's promise: folding the recorded events alone rebuilds the live state."""
    state, _ = step(m.MasterState(), m.Configure(0.0, CONFIG))
    journal = [CONFIG]
    for command in sequence:
        state, events = step(state, command)
        journal += events
        assert state.run_state in ("ready", "spawning", "running", "stopping", "stopped")
    assert reduce(m.apply, journal, m.MasterState()) == state
    states = [e for e in journal if isinstance(e, RunStateChanged)]
    assert all(a.state == b.previous for a, b in itertools.pairwise(states))


def test_a_worker_restarting_in_a_loop_does_not_reshuffle_every_user() -> None:
    state = started()  # w1 joined at 1.0
    deferred = m.decide(state, m.Admit(1.5, "w1", ready("w1", "i2")))
    assert [(type(e).__name__, e.retry) for e in deferred] == [("WorkerRejected", True)]
    _, events = step(state, m.Admit(2.0, "w1", ready("w1", "i2")))
    assert [type(e).__name__ for e in events] == ["WorkerLeft", "WorkerJoined"]


def test_the_number_of_workers_a_master_remembers_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(m, "MAX_MEMBERS", 2)
    state = started()
    _, events = step(state, m.Admit(3.0, "w3", ready("w3")))
    assert [type(e).__name__ for e in events] == ["WorkerRejected"]


def test_a_worker_without_the_token_is_rejected_before_anything_else_is_looked_at() -> None:
    """The shell compares the token; the decision sees only the outcome, so the secret never reaches the journal."""
    state, _ = step(m.MasterState(), m.Configure(0.0, CONFIG))
    state, events = step(state, m.Admit(1.0, "w" * 100, ready("w1", version=PROTOCOL_VERSION + 1), authorised=False))
    assert [(type(e).__name__, e.worker_id, e.reason) for e in events] == [
        ("WorkerRejected", "w" * 64, "not authorised: wrong or missing --auth-token")
    ]
    assert state.members == {}


def test_bad_frames_are_journaled_one_by_one_then_sampled() -> None:
    state, _ = step(m.MasterState(), m.Configure(0.0, CONFIG))
    journaled = [
        count for count in range(1, 5001) if m.decide(state, m.RejectFrame(1.0, "peer", "garbage", False, count))
    ]
    assert journaled == [*range(1, m.BAD_FRAMES_JOURNALED + 1), 1000, 2000, 3000, 4000, 5000]
    (event,) = m.decide(state, m.RejectFrame(1.0, "p" * 100, "x" * 1000, True, 1))
    assert (event.peer, len(event.reason), event.count) == ("p" * 64, 300, 1)
    assert m.apply(state, event) == state  # a rejected frame changes nothing the master knows


def test_a_worker_that_cannot_run_the_classes_is_rejected_and_never_a_member() -> None:
    state, _ = step(m.MasterState(), m.Configure(0.0, CONFIG))
    lacking = Ready("w1", "i1", "0.1.0", PROTOCOL_VERSION, "host", 1, 2, ("B",))
    state, events = step(state, m.Admit(1.0, "w1", lacking))
    assert [(type(e).__name__, e.reason) for e in events] == [
        ("WorkerRejected", "its locustfile lacks the master's user class(es) A")
    ]
    hostless = Ready("w2", "i1", "0.1.0", PROTOCOL_VERSION, "host", 1, 2, ("A",), hostless=("A",))
    state, events = step(state, m.Admit(1.0, "w2", hostless))
    assert [e.reason for e in events] == ["no host for A: give the master -H/--host, or the class a host"]
    assert state.members == {}
    with_host, _ = step(m.MasterState(), m.Configure(0.0, replace(CONFIG, host="http://127.0.0.1:1")))
    _, events = step(with_host, m.Admit(1.0, "w2", hostless))
    assert [type(e).__name__ for e in events] == ["WorkerJoined"]


def test_a_run_time_reached_while_every_worker_is_missing_stops_without_waiting_for_them() -> None:
    state = started()
    for worker in ("w1", "w2"):
        state = m.apply(state, WorkerMissing(worker, 3.5, 6.0))
        state, _ = step(state, m.Observed(6.0, WorkerMissing(worker, 3.5, 6.0)))
    state, events = step(state, m.ClockTick(12.0))
    assert run_states(events) == ["stopping"]
    state, events = step(state, m.ClockTick(12.5))
    assert run_states(events) == ["stopped"] and events[0].reason == "all workers stopped"


def test_a_stopped_run_starts_a_new_test_with_its_own_target_clock_and_run_time() -> None:
    state, _ = step(started(), m.RequestStop(3.0, "stopped from the web UI"))
    for worker in ("w1", "w2"):
        stopped = WorkerStateChanged(worker, "stopped", "running", 4.0)
        state, _ = step(m.apply(state, stopped), m.Observed(4.0, stopped))
    assert state.run_state == "stopped"
    assert m.decide(started(), m.StartNewTest(4.0, "new test")) == []  # only a stopped run starts a new test
    state, events = step(state, m.StartNewTest(20.0, "new test"))
    assert run_states(events) == ["ready"] and state.target_users is None and state.started_at is None
    state, events = step(state, m.Start(21.0, 4, 1.0))
    assert run_states(events) == ["spawning"] and state.started_at == 21.0
    _, events = step(state, m.ClockTick(30.9))
    assert run_states(events) == []  # -t counts from the new test's start (10 s), not the first one's
    _, events = step(state, m.ClockTick(31.0))
    assert run_states(events) == ["stopping"]
