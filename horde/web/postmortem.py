"""The page over a past run: `horde ui JOURNAL`. A time slider picks a moment; every panel shows what replay
rebuilds at that moment (`horde.actors.replay.replay_file`, which starts from the nearest checkpoint).

The charts are drawn once, by folding the whole journal with the live page's fold and taking a point at each
second of the run, so a past run's charts look as they did live.
"""

from __future__ import annotations

import os
from typing import Any

import msgspec

from horde.actors.replay import ReplayState, replay_file
from horde.protocol.journal import JournalError, read_journal
from horde.stats.run_stats import RunStats
from horde.web.feed import sse
from horde.web.fold import PageFold, Timeline, page_view
from horde.web.view import chart_point

_encoder = msgspec.json.Encoder()


class JournalPage:
    """A journal read once for its charts and markers, replayed on demand for any moment."""

    def __init__(self, path: str, timeline: Timeline | None) -> None:
        self.path = path
        try:
            contents = read_journal(path)
        except JournalError:
            raise
        except OSError as exc:
            raise JournalError(f"cannot read {path!r}: {exc.strerror or exc}") from None
        self.header = contents.header
        self.torn_tail = contents.torn_tail
        self.fold = PageFold(timeline)
        self.points: list[dict[str, Any]] = []
        start = self.header.started_mono_ns
        offset = self.header.started_wall_ns - start  # wall = mono + offset, as the master's clocks stood
        boundary = start + 1_000_000_000
        last = start
        for record in contents.records:
            while record.mono_ns >= boundary:
                self.points.append(chart_point(self.fold.state(), (boundary + offset) / 1e9))
                boundary += 1_000_000_000
            self.fold.feed(record)
            last = max(last, record.mono_ns)
        self.points.append(chart_point(self.fold.state(), (last + offset) / 1e9))
        self._offset = offset
        self.duration = (last - start) / 1e9

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def _at(self, seconds: float | None) -> tuple[ReplayState, float, int | None]:
        if seconds is None or seconds >= self.duration:
            state = self.fold.state()
            return state, (self.header.started_mono_ns + self.duration * 1e9 + self._offset) / 1e9, None
        seconds = max(0.0, seconds)
        replayed = replay_file(self.path, until_seconds=seconds)
        until = self.header.started_mono_ns + round(seconds * 1e9)
        return replayed.state, (until + self._offset) / 1e9, until

    def view(self, seconds: float | None = None) -> dict[str, Any]:
        """Every panel at `seconds` after the start (None: the end), as the live page would have shown it."""
        state, now, until = self._at(seconds)
        mono_now = (until if until is not None else self.header.started_mono_ns + self.duration * 1e9) / 1e9
        shown = page_view(state, now, self.fold.story(until), mono_now, self.fold.host(until))
        shown["at"] = self.duration if seconds is None else max(0.0, min(seconds, self.duration))
        return shown

    def stats(self, seconds: float | None = None) -> RunStats:
        return self._at(seconds)[0].aggregator.stats

    def hello(self) -> bytes:
        return sse(
            "hello",
            _encoder.encode(
                {
                    "mode": "journal",
                    "journal": self.name,
                    "duration": self.duration,
                    "started": self.header.started_wall_ns / 1e9,
                    "view": self.view(None),
                    "points": self.points,
                    "markers": [m.as_json() for m in self.fold.markers],
                }
            ),
        )
