"""Every released version of every event keeps decoding: one fixture line each, never edited once released.

A new shape of an event bumps its version in `EVENT_VERSIONS`, gets an upcaster in `horde.protocol.journal.UPCASTERS`
and a line in a new `events-v<N>.jsonl`; the old lines stay and must still decode, through the upcasters.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from horde.actors.replay import decode_line
from horde.protocol.events import EVENT_TYPES, EVENT_VERSIONS

FIXTURES = Path(__file__).parent / "fixtures"


def _lines() -> list[bytes]:
    files = sorted(FIXTURES.glob("events-v*.jsonl"))
    assert files, "no event fixtures"
    return [line for path in files for line in path.read_bytes().splitlines(keepends=True)]


def test_every_fixture_line_decodes_to_its_type() -> None:
    for line in _lines():
        record = decode_line(line)
        assert isinstance(record.event, EVENT_TYPES[record.type]), line


def test_every_current_event_version_has_a_fixture_line() -> None:
    versions = {(r["type"], r["v"]) for r in (msgspec.json.decode(line) for line in _lines())}
    missing = {(name, version) for name, version in EVENT_VERSIONS.items() if (name, version) not in versions}
    assert not missing, f"add fixture lines for {sorted(missing)}"
    assert set(EVENT_TYPES) == set(EVENT_VERSIONS)
