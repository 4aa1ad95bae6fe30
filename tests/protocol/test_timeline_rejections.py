"""A flood's summary is a notable event: the timeline says how many rejections were not journaled one by one."""

from horde.protocol.events import RejectionsSummarised
from horde.protocol.journal import Record
from horde.protocol.timeline import timeline


def test_a_rejection_summary_is_told_with_its_counts() -> None:
    event = RejectionsSummarised(count=250, by_peer={"spammer": 240, "other": 10}, other_peers=3, seconds=10.0, at=5.0)
    (entry,) = timeline([Record(7, 1, 0, 0, "master", "", "protocol.rejections_summarised", event)])
    said = "250 more rejection(s) in 10 s, not journaled one by one: other 10, spammer 240 and 3 more peer(s)"
    assert entry.text == said
