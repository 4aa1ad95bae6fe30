"""A WorkerProxy's pure decisions: heartbeats, CPU warnings, liveness."""

from __future__ import annotations

from functools import reduce

from horde.actors import worker_proxy as wp
from horde.protocol.events import WorkerJoined
from horde.protocol.messages import Heartbeat, Spawning, SpawningComplete, Stopped

JOINED = WorkerJoined("w1", "i1", 0, "h", 1, 2, "0.1.0", ("A",), at=10.0)


def fold(state: wp.WorkerProxyState, message: wp.FromWorker | wp.LivenessTick) -> wp.WorkerProxyState:
    return reduce(wp.apply, wp.decide(state, message), state)


def test_missing_after_the_silence_limit_and_then_deaf() -> None:
    state = wp.initial_state(JOINED)
    assert wp.decide(state, wp.LivenessTick(13.0, silence_limit=3.0)) == []
    state = fold(state, wp.LivenessTick(13.1, silence_limit=3.0))
    assert state.state == "missing" and state.user_count == 0
    assert wp.decide(state, wp.FromWorker(14.0, Heartbeat("running", 1, 1, 1, 1))) == []


def test_heartbeats_keep_a_worker_alive_and_carry_its_figures() -> None:
    state = wp.initial_state(JOINED)
    state = fold(state, wp.FromWorker(12.5, Heartbeat("running", 55.0, 1234, 7, 99.0)))
    assert (state.cpu_percent, state.memory_bytes, state.user_count, state.state) == (
        55.0,
        1234,
        7,
        "running",
    )
    assert wp.decide(state, wp.LivenessTick(15.4, silence_limit=3.0)) == []


def test_cpu_warning_once() -> None:
    state = wp.initial_state(JOINED)
    events = wp.decide(state, wp.FromWorker(11.0, Heartbeat("running", 95.0, 1, 1, 1)))
    assert [type(e).__name__ for e in events] == ["WorkerHeartbeat", "WorkerCpuWarning", "WorkerStateChanged"]
    state = reduce(wp.apply, events, state)
    again = wp.decide(state, wp.FromWorker(12.0, Heartbeat("running", 97.0, 1, 1, 1)))
    assert [type(e).__name__ for e in again] == ["WorkerHeartbeat"]


def test_spawn_cycle_states_and_counts() -> None:
    state = wp.initial_state(JOINED)
    state = fold(state, wp.FromWorker(11.0, Spawning(1)))
    assert state.state == "spawning"
    state = fold(state, wp.FromWorker(11.1, SpawningComplete(1, {"A": 3})))
    assert (state.state, state.user_counts, state.user_count) == ("running", {"A": 3}, 3)
    state = fold(state, wp.FromWorker(12.0, Stopped()))
    assert state.state == "stopped"


def test_a_liveness_tick_counts_the_silence_from_the_tables_latest_message() -> None:
    """Heartbeats the liveness table kept (not news) still prove the worker alive when the sweep asks."""
    state = wp.initial_state(JOINED)  # the proxy last heard it at 10.0
    assert wp.decide(state, wp.LivenessTick(14.0, silence_limit=3.0, heard_at=12.0)) == []
    (missing,) = wp.decide(state, wp.LivenessTick(15.5, silence_limit=3.0, heard_at=12.0))
    assert missing == wp.WorkerMissing("w1", 3.5, 15.5)
