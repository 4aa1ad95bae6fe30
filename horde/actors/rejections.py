"""How many rejections the master journals one by one before it only counts them (ADR 0024).

Rejections change no state, so leaving some out of the journal cannot change a replay; what must not happen is a
peer filling the disk by being refused (the journal once grew 2 MB/s under a flood of refused Ready). Each window
journals its first rejections in full, counts the rest, and ends with one summary of what it counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOW_SECONDS = 10.0
JOURNALED_PER_WINDOW = 50
"""At most this many rejection events a window (about 15 KB), then one summary: a flood costs the disk a few
kilobytes every ten seconds, whatever its rate."""
PEERS_NAMED = 20


@dataclass(slots=True)
class RejectionBudget:
    window_seconds: float = WINDOW_SECONDS
    per_window: int = JOURNALED_PER_WINDOW
    started: float | None = None
    journaled: int = 0
    suppressed: int = 0
    by_peer: dict[str, int] = field(default_factory=dict)
    other_peers: set[str] = field(default_factory=set)

    def take(self, now: float, peer: str) -> bool:
        """True: journal this rejection; False: it is counted for the window's summary instead."""
        if self.started is None:
            self.started = now
        if self.journaled < self.per_window:
            self.journaled += 1
            return True
        self.suppressed += 1
        if peer in self.by_peer or len(self.by_peer) < PEERS_NAMED:
            self.by_peer[peer] = self.by_peer.get(peer, 0) + 1
        elif len(self.other_peers) < 100_000:
            self.other_peers.add(peer)
        return False

    def due(self, now: float) -> tuple[int, dict[str, int], int, float] | None:
        """At the end of a window: what it counted (count, by peer, other peers, seconds), and a new window."""
        if self.started is None or now - self.started < self.window_seconds:
            return None
        counted = (self.suppressed, dict(self.by_peer), len(self.other_peers), now - self.started)
        self.started, self.journaled, self.suppressed = None, 0, 0
        self.by_peer.clear()
        self.other_peers.clear()
        return counted if counted[0] else None
