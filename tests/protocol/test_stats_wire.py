"""StatsDelta survives msgpack and JSON unchanged, integer dict keys included, and rejects malformed input."""

from __future__ import annotations

from collections.abc import Callable

import msgspec
import pytest

from horde.protocol.stats import EntryDelta, ErrorDelta, ExceptionDelta, SecondDelta, StatsDelta

DELTA = StatsDelta(
    entries=(
        EntryDelta(
            method="GET",
            name="/items",
            num_requests=3,
            num_none_requests=1,
            num_failures=1,
            total_response_time=12.5,
            min_response_time=0.25,
            max_response_time=12.25,
            total_content_length=300,
            buckets={-1048576: 0, 47: 1, 460: 1},
            requests_per_second={1_700_000_000: 2, 1_700_000_001: 1},
            failures_per_second={1_700_000_001: 1},
        ),
        EntryDelta("POST", "/none", 1, 1, 0, 0.0, None, None, 0, {}, {1_700_000_000: 1}, {}),
    ),
    errors=(ErrorDelta("GET", "/items", "ConnectionError('refused')", 1, 1_700_000_001.5, 1_700_000_001.5),),
    exceptions=(ExceptionDelta("boom", "Traceback (most recent call last):\n  ...", 2),),
    seconds=(SecondDelta(1_700_000_000, 3, 2, 0, 0.25, 0.25, 0.25, 100, {47: 1}),),
)


@pytest.mark.parametrize(
    ("encode", "decode"),
    [
        (msgspec.msgpack.encode, lambda data: msgspec.msgpack.decode(data, type=StatsDelta)),
        (msgspec.json.encode, lambda data: msgspec.json.decode(data, type=StatsDelta)),
    ],
    ids=["msgpack", "json"],
)
def test_a_delta_round_trips(encode: Callable[[StatsDelta], bytes], decode: Callable[[bytes], StatsDelta]) -> None:
    assert decode(encode(DELTA)) == DELTA


def test_json_writes_integer_keys_as_strings_and_reads_them_back_as_ints() -> None:
    document = msgspec.json.decode(msgspec.json.encode(DELTA))
    assert document["entries"][0]["requests_per_second"] == {"1700000000": 2, "1700000001": 1}
    decoded = msgspec.json.decode(msgspec.json.encode(DELTA), type=StatsDelta)
    assert list(decoded.entries[0].buckets) == [-1048576, 47, 460]


def test_the_types_are_frozen() -> None:
    with pytest.raises(AttributeError):
        DELTA.entries[0].num_requests = 4  # type: ignore[misc]


def test_malformed_input_is_refused() -> None:
    document = msgspec.to_builtins(DELTA)
    document["entries"][0]["num_requests"] = "three"
    with pytest.raises(msgspec.ValidationError):
        msgspec.msgpack.decode(msgspec.msgpack.encode(document), type=StatsDelta)
    document = msgspec.to_builtins(DELTA)
    document["entries"][0]["buckets"] = {"not-a-bucket": 1}
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(document), type=StatsDelta)


def test_an_empty_delta_says_so() -> None:
    assert StatsDelta().is_empty()
    assert not DELTA.is_empty()
