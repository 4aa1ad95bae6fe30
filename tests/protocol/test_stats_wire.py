"""StatsDelta survives msgpack and JSON unchanged, integer dict keys and packed histograms included, and rejects
malformed input, histograms a hostile peer could use to make a master allocate without bound included."""

from __future__ import annotations

import gc
from array import array
from collections.abc import Callable

import msgspec
import pytest

from horde.protocol.codec import decode_from_worker, encode
from horde.protocol.messages import StatsReport
from horde.protocol.stats import (
    Buckets,
    EntryDelta,
    ErrorDelta,
    ExceptionDelta,
    SecondDelta,
    StatsDelta,
    StatsImage,
)
from horde.stats.run_stats import RunStats

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
            buckets=Buckets.of({-1048576: 2, 47: 1, 460: 1}),
            requests_per_second={1_700_000_000: 2, 1_700_000_001: 1},
            failures_per_second={1_700_000_001: 1},
        ),
        EntryDelta("POST", "/none", 1, 1, 0, 0.0, None, None, 0, Buckets(), {1_700_000_000: 1}, {}),
    ),
    errors=(ErrorDelta("GET", "/items", "ConnectionError('refused')", 1, 1_700_000_001.5, 1_700_000_001.5),),
    exceptions=(ExceptionDelta("boom", "Traceback (most recent call last):\n  ...", 2),),
    seconds=(SecondDelta(1_700_000_000, 3, 2, 0, 0.25, 0.25, 0.25, 100, Buckets.of({47: 1})),),
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
    assert decoded.entries[0].buckets.as_dict() == {-1048576: 2, 47: 1, 460: 1}


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


def _with_histogram(keys: bytes, counts: bytes) -> bytes:
    document = msgspec.to_builtins(DELTA, builtin_types=(bytes,))
    document["seconds"][0]["buckets"] = {"keys": keys, "counts": counts}
    return msgspec.msgpack.encode(document)


@pytest.mark.parametrize(
    ("keys", "counts", "why"),
    [
        (b"\x01\x02\x03", b"\x01\x00\x00\x00", "key bytes"),
        (array("i", [5]).tobytes(), b"\x01\x00\x00", "count bytes"),
        (array("i", [5, 6]).tobytes(), b"\x01\x00\x00", "count bytes"),
        (b"", b"\x01", "count bytes"),
        (array("i", [5, 5]).tobytes(), array("I", [1, 1]).tobytes(), "ascending"),
        (array("i", [9, 5]).tobytes(), array("I", [1, 1]).tobytes(), "ascending"),
        (array("i", [1 << 30]).tobytes(), array("I", [1]).tobytes(), "out of range"),
        (array("i", [-(1 << 30)]).tobytes(), array("I", [1]).tobytes(), "out of range"),
    ],
    ids=[
        "torn-keys",
        "three-byte-count",
        "torn-counts",
        "counts-without-keys",
        "repeated-key",
        "descending",
        "too-high",
        "too-low",
    ],
)
def test_malformed_histograms_are_refused_on_decode(keys: bytes, counts: bytes, why: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=why):
        msgspec.msgpack.decode(_with_histogram(keys, counts), type=StatsDelta)


@pytest.mark.parametrize(
    ("keys", "counts", "why"),
    [(b"\x01\x02\x03", b"\x01\x00\x00\x00", "key bytes"), (array("i", [9, 5]).tobytes(), b"\x01\x01", "ascending")],
    ids=["torn-keys", "descending"],
)
def test_a_checkpoints_histograms_are_checked_on_decode_as_a_reports_are(keys: bytes, counts: bytes, why: str) -> None:
    """The lengths are checked with the rest of a delta, not by each histogram: an image gets the same check."""
    stats = RunStats()
    stats.merge(DELTA, "w1")
    document = msgspec.to_builtins(stats.image(), builtin_types=(bytes,))
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(document), type=StatsImage) == stats.image()
    document["total"]["buckets"] = {"keys": keys, "counts": counts}
    with pytest.raises(msgspec.ValidationError, match=why):
        msgspec.msgpack.decode(msgspec.msgpack.encode(document), type=StatsImage)


def test_a_decoded_report_is_left_out_of_the_cyclic_collectors_walks() -> None:
    """A master decodes thousands a second and keeps them until merged: tracked, each would be walked by every
    collection meanwhile (what `gc=False` on these types saves)."""
    report = decode_from_worker(encode(StatsReport("i1", 1, DELTA, 1_700_000_000.0)))
    assert isinstance(report, StatsReport)
    assert not any(gc.is_tracked(part) for part in (report, report.delta, *report.delta.entries, *report.delta.seconds))
    assert report.delta == DELTA


def test_each_histogram_of_a_delta_is_checked_on_its_own() -> None:
    """Keys ascend within a histogram, not across them: the next one may start lower."""
    entries = tuple(
        EntryDelta("GET", f"/{n}", 2, 0, 0, 2.0, 1.0, 1.0, 0, Buckets.of({600 - n: 1, 700: 1}), {}, {})
        for n in range(3)
    )
    delta = StatsDelta(entries=entries, seconds=(SecondDelta(1, 6, 0, 0, 6.0, 1.0, 1.0, 0, Buckets.of({10: 6})),))
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(delta), type=StatsDelta) == delta


@pytest.mark.parametrize(("largest", "width"), [(1, 1), (255, 1), (256, 2), (65_535, 2), (65_536, 4), (1 << 32, 8)])
def test_counts_take_the_fewest_bytes_that_hold_the_largest(largest: int, width: int) -> None:
    packed = Buckets.of({100: 1, 200: largest})
    assert packed.count_width() == width and len(packed.counts) == 2 * width
    assert msgspec.msgpack.decode(msgspec.msgpack.encode(packed), type=Buckets).as_dict() == {100: 1, 200: largest}


def test_counts_too_large_for_32_bits_are_packed_wide() -> None:
    wide = Buckets.of({-1048576: 1, 400: 1 << 40})
    assert len(wide.counts) == 2 * len(wide.keys)
    assert msgspec.json.decode(msgspec.json.encode(wide), type=Buckets).as_dict() == {-1048576: 1, 400: 1 << 40}


def test_an_empty_delta_says_so() -> None:
    assert StatsDelta().is_empty()
    assert not DELTA.is_empty()
