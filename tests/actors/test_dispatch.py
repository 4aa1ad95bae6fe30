"""The Dispatcher's pure logic on the cases Locust users rely on (random cases: test_dispatch_properties)."""

from __future__ import annotations

import copy
import math

import msgspec
import pytest

from horde.actors.dispatcher_logic import (
    assignment_of,
    class_totals,
    decide,
    initial_state,
    next_tick_at,
    target_counts,
)
from horde.protocol.dispatcher_vocabulary import (
    LOCAL_WORKER_ID,
    AddWorker,
    DispatchCommand,
    DispatchState,
    DispatchStep,
    RampTick,
    RampTo,
    RemoveWorker,
    StartOver,
    UserClassSpec,
)
from tests.support.dispatch import Dispatcher, per_worker_totals

EQUAL_ABC = [UserClassSpec("User1", 1), UserClassSpec("User2", 1), UserClassSpec("User3", 1)]


# --- target_counts ------------------------------------------------------------------------------------------


def test_fixed_count_classes_are_filled_first_and_the_rest_shared_by_weight() -> None:
    classes = [UserClassSpec("A", 1), UserClassSpec("B", 1), UserClassSpec("Fixed", 1, fixed_count=1)]

    assert target_counts(classes, 7) == {"A": 3, "B": 3, "Fixed": 1}


def test_largest_remainder_ties_go_to_the_class_whose_name_sorts_first() -> None:
    assert target_counts(EQUAL_ABC, 1) == {"User1": 1, "User2": 0, "User3": 0}
    assert target_counts(EQUAL_ABC, 2) == {"User1": 1, "User2": 1, "User3": 0}
    assert target_counts(list(reversed(EQUAL_ABC)), 2) == {"User1": 1, "User2": 1, "User3": 0}


def test_largest_remainder_beats_truncation() -> None:
    classes = [UserClassSpec("Heavy", 5), UserClassSpec("Light", 1)]

    assert target_counts(classes, 10) == {"Heavy": 8, "Light": 2}  # exact shares 8.33 and 1.67


def test_a_target_below_the_fixed_counts_is_split_in_proportion_to_them() -> None:
    classes = [
        UserClassSpec("A", 1, fixed_count=2),
        UserClassSpec("B", 1, fixed_count=3),
        UserClassSpec("C", 1),
    ]

    assert target_counts(classes, 4) == {"A": 2, "B": 2, "C": 0}  # shares 1.6 and 2.4
    assert target_counts(classes, 5) == {"A": 2, "B": 3, "C": 0}
    assert target_counts(classes, 6) == {"A": 2, "B": 3, "C": 1}


def test_only_fixed_classes_stop_at_their_sum_like_locust() -> None:
    classes = [UserClassSpec("A", 1, fixed_count=2), UserClassSpec("B", 1, fixed_count=3)]
    dispatcher = Dispatcher(classes)
    dispatcher.join("w1")

    (step,) = dispatcher.send(RampTo(0.0, 10, 100.0))

    assert step.total == 5
    assert step.ramp_done
    assert next_tick_at(dispatcher.state) is None


def test_user_classes_limit_the_target_to_those_classes() -> None:
    assert target_counts(EQUAL_ABC, 10, ("User2",)) == {"User1": 0, "User2": 10, "User3": 0}
    assert target_counts(EQUAL_ABC, 10, ("User3", "User1")) == {"User1": 5, "User2": 0, "User3": 5}


def test_weight_zero_classes_get_no_users() -> None:
    classes = [UserClassSpec("A", 0), UserClassSpec("B", 2)]

    assert target_counts(classes, 5) == {"A": 0, "B": 5}


# --- spreading over workers ---------------------------------------------------------------------------------


def test_three_workers_seven_users_two_weighted_classes_and_one_fixed() -> None:
    classes = [UserClassSpec("A", 1), UserClassSpec("B", 1), UserClassSpec("Fixed", 1, fixed_count=1)]
    dispatcher = Dispatcher(classes)
    dispatcher.join("w1", "w2", "w3")

    (step,) = dispatcher.send(RampTo(0.0, 7, 7.0))

    assert step.cause == "new_target"
    assert step.ramp_done
    assert class_totals(dispatcher.state) == {"A": 3, "B": 3, "Fixed": 1}
    assert sorted(per_worker_totals(dispatcher.state).values()) == [2, 2, 3]
    assert all(counts["A"] == 1 and counts["B"] == 1 for counts in assignment_of(dispatcher.state).values())


def test_five_workers_seven_users_and_two_users_like_locust() -> None:
    dispatcher = Dispatcher([UserClassSpec("TestUser", 1)])
    dispatcher.join(*(f"w{i}" for i in range(5)))

    dispatcher.send(RampTo(0.0, 7, 7.0))
    assert sorted(per_worker_totals(dispatcher.state).values()) == [1, 1, 1, 2, 2]

    dispatcher.send(RampTo(1.0, 2, 100.0))
    assert sorted(per_worker_totals(dispatcher.state).values()) == [0, 0, 0, 1, 1]


def test_classes_and_workers_aligned_do_not_give_each_worker_one_class() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2", "w3")

    dispatcher.send(RampTo(0.0, 9, 9.0))

    # Locust gives worker 1 three User1, worker 2 three User2...; here every worker runs every class.
    assert all(counts == {"User1": 1, "User2": 1, "User3": 1} for counts in dispatcher.state.assignment.values())


def test_a_local_run_is_one_worker_named_local() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join(LOCAL_WORKER_ID)

    dispatcher.send(RampTo(0.0, 10, 100.0))

    assert assignment_of(dispatcher.state) == {LOCAL_WORKER_ID: {"User1": 4, "User2": 3, "User3": 3}}


# --- ramps --------------------------------------------------------------------------------------------------


def ramp_totals(dispatcher: Dispatcher, user_count: int, spawn_rate: float) -> list[tuple[float, int]]:
    first = dispatcher.send(RampTo(dispatcher.now, user_count, spawn_rate))
    steps = first + dispatcher.run_until(dispatcher.now + 1000.0)
    return [(step.at, step.total) for step in steps]


def test_one_worker_100_users_at_20_per_second_takes_five_steps_like_locust() -> None:
    dispatcher = Dispatcher([UserClassSpec("TestUser", 1)])
    dispatcher.join("w1")

    assert ramp_totals(dispatcher, 100, 20.0) == [(0.0, 20), (1.0, 40), (2.0, 60), (3.0, 80), (4.0, 100)]


def test_the_first_step_is_immediate_and_the_rest_one_second_apart() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2", "w3")

    assert ramp_totals(dispatcher, 9, 3.0) == [(0.0, 3), (1.0, 6), (2.0, 9)]


def test_a_fractional_rate_is_exact_over_time_not_truncated_per_step() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")

    # 2.4 users per second: 2, 4.8, 7.2, 9.6, 12 users after 1..5 steps; Locust does 2 per step.
    assert ramp_totals(dispatcher, 12, 2.4) == [(0.0, 2), (1.0, 4), (2.0, 7), (3.0, 9), (4.0, 12)]


def test_a_rate_below_one_adds_one_user_every_one_over_rate_seconds() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")

    dispatcher.send(RampTo(10.0, 3, 0.5))
    assert dispatcher.state.total == 1
    assert next_tick_at(dispatcher.state) == 12.0
    assert decide(dispatcher.state, RampTick(11.9)) == []

    steps = dispatcher.run_until(100.0)
    assert [(step.at, step.total) for step in steps] == [(12.0, 2), (14.0, 3)]
    assert steps[-1].ramp_done


def test_ramp_down_removes_users_evenly() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2", "w3")
    dispatcher.send(RampTo(0.0, 9, 100.0))

    steps = dispatcher.send(RampTo(5.0, 0, 2.4)) + dispatcher.run_until(100.0)

    assert [step.total for step in steps] == [7, 5, 2, 0]
    assert [step.at for step in steps] == [5.0, 6.0, 7.0, 8.0]


def test_a_new_target_mid_ramp_continues_from_where_the_users_are() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2")
    dispatcher.send(RampTo(0.0, 100, 10.0))
    dispatcher.run_until(2.5)
    assert dispatcher.state.total == 30

    (step,) = dispatcher.send(RampTo(2.5, 50, 5.0))

    assert (step.cause, step.total, step.ramp_from, step.ramp_started_at) == ("new_target", 35, 30, 2.5)
    assert [(s.at, s.total) for s in dispatcher.run_until(100.0)] == [(3.5, 40), (4.5, 45), (5.5, 50)]


def test_a_late_tick_catches_up_in_one_step() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")
    dispatcher.send(RampTo(0.0, 100, 10.0))

    (step,) = dispatcher.send(RampTick(3.5))

    assert step.total == 40
    assert next_tick_at(dispatcher.state) == 4.0


def test_an_early_tick_changes_nothing() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")
    dispatcher.send(RampTo(0.0, 100, 10.0))

    assert decide(dispatcher.state, RampTick(0.5)) == []


def test_no_tick_is_wanted_without_a_ramp() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    assert next_tick_at(dispatcher.state) is None
    dispatcher.join("w1")
    dispatcher.send(RampTo(0.0, 10, 100.0))

    assert next_tick_at(dispatcher.state) is None
    assert decide(dispatcher.state, RampTick(50.0)) == []


def test_repeating_the_same_target_changes_nothing_even_mid_ramp() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")
    dispatcher.send(RampTo(0.0, 100, 10.0))

    assert decide(dispatcher.state, RampTo(0.5, 100, 10.0)) == []
    assert next_tick_at(dispatcher.state) == 1.0


def test_a_subset_of_classes_changes_the_mix_with_its_first_step() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2")
    dispatcher.send(RampTo(0.0, 10, 100.0, ("User2",)))
    assert class_totals(dispatcher.state) == {"User1": 0, "User2": 10, "User3": 0}

    (step,) = dispatcher.send(RampTo(1.0, 40, 100.0))

    # Locust would keep the ten User2 and give {10, 20, 10}; horde keeps every step at the weighted shares.
    assert step.class_totals == {"User1": 14, "User2": 13, "User3": 13}


# --- workers joining and leaving ----------------------------------------------------------------------------


def test_a_leaving_worker_hands_its_users_to_the_others_at_once() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2", "w3")
    dispatcher.send(RampTo(0.0, 9, 3.0))
    dispatcher.run_until(10.0)
    before = dispatcher.state

    (step,) = dispatcher.send(RemoveWorker(10.0, "w2", "missing"))

    assert (step.cause, step.worker_id, step.removed, step.total) == ("worker_missing", "w2", ("w2",), 9)
    assert sorted(per_worker_totals(dispatcher.state).values()) == [4, 5]
    for worker in ("w1", "w3"):
        for name, count in before.assignment[worker].items():
            assert dispatcher.state.assignment[worker][name] >= count, "survivors only gain users"


def test_a_worker_leaving_mid_ramp_does_not_slow_the_ramp() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2", "w3")
    dispatcher.send(RampTo(0.0, 9, 3.0))

    (step,) = dispatcher.send(RemoveWorker(0.5, "w3", "left"))

    assert (step.cause, step.total, step.ramp_done) == ("worker_left", 3, False)
    assert [(s.at, s.total) for s in dispatcher.run_until(10.0)] == [(1.0, 6), (2.0, 9)]


def test_a_join_moves_only_the_users_the_newcomer_needs() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2")
    dispatcher.send(RampTo(0.0, 10, 100.0))
    before = dispatcher.state

    (step,) = dispatcher.send(AddWorker(1.0, "w3"))

    assert step.cause == "worker_joined"
    assert per_worker_totals(dispatcher.state)["w3"] == 3
    for worker in ("w1", "w2"):
        for name, count in before.assignment[worker].items():
            assert dispatcher.state.assignment[worker][name] <= count, "old workers only give users away"


def test_a_second_worker_after_the_ramp_takes_half_like_locust() -> None:
    dispatcher = Dispatcher([UserClassSpec("TestUser", 1)])
    dispatcher.join("w1")
    ramp_totals(dispatcher, 100, 20.0)

    dispatcher.send(AddWorker(dispatcher.now, "w2"))

    assert assignment_of(dispatcher.state) == {"w1": {"TestUser": 50}, "w2": {"TestUser": 50}}


def test_the_last_worker_leaving_pauses_the_ramp_and_the_next_join_restarts_it() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")
    dispatcher.send(RampTo(0.0, 30, 10.0))

    (left,) = dispatcher.send(RemoveWorker(0.5, "w1", "missing"))
    assert (left.total, left.ramp_done) == (0, False)
    assert next_tick_at(dispatcher.state) is None

    joined, first = dispatcher.send(AddWorker(7.0, "w2"))
    assert (joined.cause, joined.total, first.cause, first.total) == ("worker_joined", 0, "ramp_tick", 10)
    assert [(s.at, s.total) for s in dispatcher.run_until(100.0)] == [(8.0, 20), (9.0, 30)]


def test_a_target_set_before_any_worker_starts_with_the_first_join() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)

    (step,) = dispatcher.send(RampTo(0.0, 6, 3.0))
    assert (step.total, step.ramp_done, step.changed) == (0, False, {})
    assert next_tick_at(dispatcher.state) is None

    dispatcher.now = 4.0
    dispatcher.join("w1")
    assert dispatcher.state.total == 3
    assert [(s.at, s.total) for s in dispatcher.run_until(100.0)] == [(5.0, 6)]


def test_joining_twice_or_leaving_unknown_changes_nothing() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")

    assert decide(dispatcher.state, AddWorker(1.0, "w1")) == []
    assert decide(dispatcher.state, RemoveWorker(1.0, "nobody", "left")) == []


# --- the event and replay -----------------------------------------------------------------------------------


def sample_run() -> Dispatcher:
    classes = [UserClassSpec("A", 3), UserClassSpec("B", 1), UserClassSpec("Fixed", 1, fixed_count=2)]
    dispatcher = Dispatcher(classes)
    dispatcher.join("w1", "w2", "w3")
    dispatcher.send(RampTo(0.0, 50, 7.5))
    dispatcher.run_until(2.0)
    dispatcher.send(RemoveWorker(2.5, "w2", "missing"))
    dispatcher.now = 3.2
    dispatcher.join("w4")
    dispatcher.run_until(20.0)
    return dispatcher


def test_steps_are_numbered_from_one_and_say_why() -> None:
    dispatcher = sample_run()

    assert [step.step for step in dispatcher.events] == list(range(1, len(dispatcher.events) + 1))
    assert {step.cause for step in dispatcher.events} == {
        "worker_joined",
        "new_target",
        "ramp_tick",
        "worker_missing",
    }


def test_replaying_the_events_rebuilds_the_state_exactly() -> None:
    dispatcher = sample_run()

    assert dispatcher.replayed() == dispatcher.state


def test_the_event_round_trips_through_json_and_msgpack_with_its_tag() -> None:
    for step in sample_run().events:
        as_json = msgspec.json.encode(step)
        assert msgspec.json.decode(as_json)["type"] == "dispatch.step"
        assert msgspec.json.decode(as_json, type=DispatchStep) == step
        assert msgspec.msgpack.decode(msgspec.msgpack.encode(step), type=DispatchStep) == step


def test_the_state_round_trips_through_json() -> None:
    state = sample_run().state

    assert msgspec.json.decode(msgspec.json.encode(state), type=DispatchState) == state


def test_decide_leaves_the_state_untouched() -> None:
    dispatcher = sample_run()
    snapshot = copy.deepcopy(dispatcher.state)

    decide(dispatcher.state, RampTo(30.0, 10, 3.0))
    decide(dispatcher.state, RemoveWorker(30.0, "w1", "left"))
    decide(dispatcher.state, AddWorker(30.0, "w9"))

    assert dispatcher.state == snapshot


# --- refusals -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        RampTo(0.0, -1, 1.0),
        RampTo(0.0, 10, 0.0),
        RampTo(0.0, 10, -2.0),
        RampTo(0.0, 10, math.nan),
        RampTo(0.0, 10, math.inf),
        RampTo(0.0, 10, 1.0, ("NoSuchUser",)),
        RemoveWorker(0.0, "w1", "vanished"),
    ],
)
def test_invalid_commands_are_refused(command: DispatchCommand) -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1")

    with pytest.raises(ValueError):
        decide(dispatcher.state, command)


def test_duplicate_class_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        initial_state([UserClassSpec("A", 1), UserClassSpec("A", 2)])


def test_a_new_test_starts_over_from_no_users_and_ramps_again_at_its_rate() -> None:
    dispatcher = Dispatcher(EQUAL_ABC)
    dispatcher.join("w1", "w2")
    ramp_totals(dispatcher, 6, 6.0)
    (over,) = dispatcher.send(StartOver(dispatcher.now))
    assert over.cause == "new_test" and over.total == 0 and over.target == 0 and over.ramp_done
    assert all(sum(counts.values()) == 0 for counts in dispatcher.state.assignment.values())
    assert dispatcher.send(StartOver(dispatcher.now)) == []  # nothing left to start over from
    now = dispatcher.now
    assert ramp_totals(dispatcher, 6, 3.0) == [(now, 3), (now + 1, 6)]  # the same target again ramps from zero
