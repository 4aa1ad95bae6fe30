"""Frames in, typed messages out; anything else is an RPCReceiveError, never a crash."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde.protocol import codec
from horde.protocol.errors import RPCError, RPCReceiveError
from horde.protocol.messages import (
    Accept,
    AskToStopRun,
    Heartbeat,
    MasterCustom,
    Ready,
    Spawn,
    StatsReport,
    Stop,
    WorkerCustom,
)
from horde.protocol.stats import Buckets, EntryDelta, StatsDelta

READY = Ready("w1", "inc", "0.1.0", 1, "host", 42, 2, ("A", "B"))
DELTA = StatsDelta(
    entries=(EntryDelta("GET", "/", 2, 0, 1, 3.5, 1.0, 2.5, 10, Buckets.of({3: 1, 9: 1}), {100: 2}, {100: 1}),)
)


@pytest.mark.parametrize(
    "message",
    [
        READY,
        Heartbeat("running", 12.5, 1000, 3, 1.0),
        StatsReport("inc", 7, DELTA, 123.0, final=True),
        WorkerCustom("hello", {"a": [1, 2]}),
    ],
)
def test_worker_messages_round_trip(message: object) -> None:
    assert codec.decode_from_worker(codec.encode(message)) == message  # type: ignore[arg-type]


def test_a_worker_asking_to_stop_the_run_sends_the_stop_run_frame() -> None:
    """The tag is the name on the wire, whatever the class is called: workers and masters of one version agree."""
    message = AskToStopRun("a user raised StopTest")
    frames = codec.encode(message)

    assert frames[1] == msgspec.msgpack.encode({"type": "stop_run", "reason": "a user raised StopTest"})
    assert codec.decode_from_worker(frames) == message


@pytest.mark.parametrize("message", [Accept(3), Spawn(4, {"A": 2}, "http://h", 1.5), Stop(), MasterCustom("x", None)])
def test_master_messages_round_trip(message: object) -> None:
    assert codec.decode_from_master(codec.encode(message)) == message  # type: ignore[arg-type]


def test_a_spawn_carries_the_masters_options_and_an_old_masters_frame_still_decodes() -> None:
    with_options = Spawn(4, {"A": 2}, "http://h", 1.5, {"my_arg": "x", "my_list": [1, 2]})
    assert codec.decode_from_master(codec.encode(with_options)) == with_options
    frames = codec.encode(Spawn(4, {"A": 2}))
    old = msgspec.msgpack.encode({"type": "spawn", "step": 4, "user_counts": {"A": 2}, "host": None})
    assert codec.decode_from_master([frames[0], old]).options == {}  # type: ignore[union-attr]


def test_messages_are_frozen_and_slotted() -> None:
    with pytest.raises(AttributeError):
        READY.pid = 1  # type: ignore[misc]
    assert not hasattr(READY, "__dict__")


@pytest.mark.parametrize(
    ("frames", "fragment"),
    [
        ([codec.VERSION_FRAME], "expected 2 frames"),
        ([b"99", codec.encode(READY)[1]], "protocol version"),
        ([codec.VERSION_FRAME, b"\xc1\xff\x00garbage"], "malformed"),
        ([codec.VERSION_FRAME, codec.encode(READY)[1][:-3]], "malformed"),
        ([codec.VERSION_FRAME, msgspec.msgpack.encode({"type": "no_such_type"})], "malformed"),
        ([codec.VERSION_FRAME, msgspec.msgpack.encode({"type": "heartbeat", "state": 5})], "malformed"),
        ([codec.VERSION_FRAME, b"\x00" * (codec.MAX_FRAME_BYTES + 1)], "limit"),
    ],
    ids=[
        "one-frame",
        "other-version",
        "garbage",
        "truncated",
        "unknown-type",
        "wrong-field-types",
        "oversize",
    ],
)
def test_bad_frames_raise_receive_errors(frames: list[bytes], fragment: str) -> None:
    with pytest.raises(RPCReceiveError, match=fragment) as info:
        codec.decode_from_worker(frames)
    assert isinstance(info.value, RPCError)
    assert info.value.version_mismatch == (fragment == "protocol version")


@given(st.lists(st.binary(max_size=200), min_size=0, max_size=3))
def test_random_bytes_never_escape_as_anything_but_receive_errors(frames: list[bytes]) -> None:
    with contextlib.suppress(RPCReceiveError):
        codec.decode_from_worker(frames)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_float_the_journal_cannot_hold_is_refused(bad: float) -> None:
    """NaN and the infinities would be journaled as null and make the journal unreadable (found by fuzzing)."""
    from horde.protocol.messages import Heartbeat, StatsReport
    from horde.protocol.stats import Buckets, EntryDelta, StatsDelta

    entry = EntryDelta("GET", "/", 1, 0, 0, bad, 1.0, 1.0, 0, Buckets.of({0: 1}), {}, {})
    for message in (Heartbeat("running", bad, 1, 1, 1.0), StatsReport("i", 1, StatsDelta(entries=(entry,)), 1.0)):
        with pytest.raises(RPCReceiveError, match="Expected `float`"):
            codec.decode_from_worker(codec.encode(message))
