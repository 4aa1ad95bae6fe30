"""The master's liveness table: what it keeps, and which heartbeats it hands on to the WorkerProxy."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from horde.actors.liveness import LivenessTable
from horde.protocol.messages import Heartbeat


def beat(state: str = "running", cpu: float = 10.0, users: int = 5, memory: int = 1000) -> Heartbeat:
    return Heartbeat(state, cpu, memory, users, 0.0)  # type: ignore[arg-type]


def test_only_news_or_a_stale_copy_goes_on_to_the_proxy() -> None:
    table = LivenessTable(sample_seconds=10.0, cpu_warning_percent=90.0)
    assert table.heartbeat("w", "i1", 1.0, beat())  # the first one: the proxy has nothing yet
    assert not table.heartbeat("w", "i1", 2.0, beat(memory=2000))  # same state and users: kept here
    assert table.heartbeat("w", "i1", 3.0, beat(state="stopping"))  # another state
    assert table.heartbeat("w", "i1", 4.0, beat(state="stopping", users=0))  # other user count
    assert table.heartbeat("w", "i1", 5.0, beat(state="stopping", users=0, cpu=95.0))  # over the CPU warning
    assert not table.heartbeat("w", "i1", 14.9, beat(state="stopping", users=0))
    assert table.heartbeat("w", "i1", 15.0, beat(state="stopping", users=0))  # 10 s since the last one handed on
    latest = table.latest("w", "i1")
    assert latest is not None and latest.heard_at == 15.0 and latest.beat == beat(state="stopping", users=0)


def test_a_new_incarnation_starts_afresh() -> None:
    table = LivenessTable(sample_seconds=10.0, cpu_warning_percent=90.0)
    assert table.heartbeat("w", "i1", 1.0, beat())
    assert table.heartbeat("w", "i2", 2.0, beat())  # its proxy is a new one, which has seen nothing
    assert table.latest("w", "i1") is None
    assert table.heard_at("w") == 2.0 and table.heard_at("unknown") == -math.inf


def test_any_message_proves_a_worker_alive() -> None:
    table = LivenessTable(sample_seconds=10.0, cpu_warning_percent=90.0)
    table.heard("w", "i1", 4.0)
    assert table.heard_at("w") == 4.0
    assert table.heartbeat("w", "i1", 5.0, beat())  # a state change forwarded is no heartbeat forwarded


@given(st.lists(st.tuples(st.floats(0, 5), st.sampled_from(["running", "stopped"]), st.integers(0, 3)), max_size=60))
def test_heard_at_is_the_latest_arrival_and_the_proxys_copy_is_never_older_than_the_sample(
    steps: list[tuple[float, str, int]],
) -> None:
    table = LivenessTable(sample_seconds=10.0, cpu_warning_percent=90.0)
    now, forwarded_at, forwarded = 0.0, -math.inf, None
    for gap, state, users in steps:
        now += gap
        sent = table.heartbeat("w", "i", now, beat(state, users=users))
        if sent:
            forwarded_at, forwarded = now, (state, users)
        assert table.heard_at("w") == now
        assert now - forwarded_at < 10.0 or gap >= 10.0  # never more than one sample interval behind
        assert forwarded == (state, users)  # the proxy always knows the current state and user count


def test_silence_is_judged_up_to_what_the_master_has_read_not_up_to_now() -> None:
    """A master 5 s behind on its reading has not heard the heartbeats waiting unread: judged against the moment it
    had read everything, none of its workers is silent (ADR 0031); a worker quiet before that moment still is."""
    table = LivenessTable(10.0, 90.0)
    table.heartbeat("w1", "i1", 100.0, Heartbeat("running", 1.0, 1, 2, 0.0))
    table.heard("w2", "i2", 96.0)

    assert table.silent(["w1", "w2", "w3"], read_up_to=100.5, silence_limit=3.0) == [("w2", 96.0), ("w3", -math.inf)]
    assert table.silent(["w1", "w2"], read_up_to=100.5, silence_limit=5.0) == []
    # now is 106: by the clock, w1 too looks silent, but nothing after 100.5 was read yet
    assert table.silent(["w1"], read_up_to=min(106.0, 100.5), silence_limit=3.0) == []
    assert table.silent(["w1"], read_up_to=106.0, silence_limit=3.0) == [("w1", 100.0)]
