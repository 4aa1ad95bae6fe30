"""Encode and decode cost of one worker message: msgspec Structs vs dicts through msgpack-python (ADR 0003).

Run: python benchmarks/codec.py (needs `pip install msgpack` for the comparison).
"""

from __future__ import annotations

import timeit
from typing import Any

import msgspec

from horde.protocol import codec
from horde.protocol.messages import Heartbeat, StatsReport
from horde.protocol.stats import Buckets, EntryDelta, StatsDelta


def sample_report(endpoints: int = 20) -> StatsReport:
    entries = tuple(
        EntryDelta(
            "GET", f"/endpoint/{i}", 300, 0, 3, 4500.0, 1.0, 80.0, 30000,
            Buckets.of({b: 3 for b in range(400, 460)}), {1_700_000_000 + s: 100 for s in range(3)}, {1_700_000_000: 3},
        )
        for i in range(endpoints)
    )  # fmt: skip
    return StatsReport("inc", 7, StatsDelta(entries=entries), 1_700_000_000.5)


def per_call_us(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    heartbeat = Heartbeat("running", 12.5, 123456789, 50, 1_700_000_000.0)
    report = sample_report()
    for label, message, number in (("heartbeat", heartbeat, 20000), ("stats report, 20 endpoints", report, 200)):
        frames = codec.encode(message)
        encode = per_call_us(lambda m=message: codec.encode(m), number)
        decode = per_call_us(lambda f=frames: codec.decode_from_worker(f), number)
        print(f"{label}: msgspec encode {encode:8.2f} us, decode+validate {decode:8.2f} us, {len(frames[1])} bytes")
        try:
            import msgpack  # type: ignore[import-untyped]
        except ImportError:
            print("  (pip install msgpack to compare with dicts through msgpack-python)")
            continue
        as_dict = msgspec.to_builtins(message)
        packed = msgpack.packb(as_dict)
        m_encode = per_call_us(lambda d=as_dict: msgpack.packb(d), number)
        m_decode = per_call_us(lambda p=packed: msgpack.unpackb(p, strict_map_key=False), number)
        print(f"  msgpack-python dicts: encode {m_encode:8.2f} us, decode (no validation) {m_decode:8.2f} us")


if __name__ == "__main__":
    main()
