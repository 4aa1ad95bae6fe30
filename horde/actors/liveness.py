"""The master's liveness table: when each worker was last heard, updated in place by the transport's shell.

A thousand workers send a thousand heartbeats a second. Handing each one to its WorkerProxy (an actor message, a
decision, a journal line) was half the master's CPU (ADR 0010), and most of them say nothing new: the worker is
still there, in the same state, with the same users. The table keeps what the latest heartbeat said; a heartbeat
goes on to the proxy only when it carries news (another state or user count, a CPU over the warning) or when the
proxy's copy is `sample_seconds` old, so the journal still shows each worker's CPU and memory over the run. The
clock's sweep tells a proxy the time of its worker's latest message whenever it looks silent, so the proxy still
makes every missing decision with the latest facts (ADR 0028).

Pure data and arithmetic: the caller passes the time.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from horde.protocol.messages import Heartbeat


@dataclass(slots=True)
class Seen:
    """One worker incarnation as the table knows it."""

    incarnation: str
    heard_at: float
    """The master's monotonic time of the worker's latest message of any kind."""
    beat: Heartbeat | None = None
    """The latest heartbeat, forwarded or not."""
    forwarded: Heartbeat | None = None
    forwarded_at: float = -math.inf


class LivenessTable:
    def __init__(self, sample_seconds: float, cpu_warning_percent: float) -> None:
        self.sample_seconds = sample_seconds
        self.cpu_warning_percent = cpu_warning_percent
        self._seen: dict[str, Seen] = {}

    def _entry(self, worker_id: str, incarnation: str, now: float) -> Seen:
        seen = self._seen.get(worker_id)
        if seen is None or seen.incarnation != incarnation:  # a new incarnation starts with nothing forwarded
            seen = self._seen[worker_id] = Seen(incarnation, now)
        return seen

    def heard(self, worker_id: str, incarnation: str, now: float) -> None:
        """A message that goes to the proxy anyway (a state change): it proves the worker alive too."""
        seen = self._entry(worker_id, incarnation, now)
        seen.heard_at = max(seen.heard_at, now)

    def heartbeat(self, worker_id: str, incarnation: str, now: float, beat: Heartbeat) -> bool:
        """Records a heartbeat; True when the proxy must have it (news, or its copy is `sample_seconds` old)."""
        seen = self._entry(worker_id, incarnation, now)
        seen.heard_at = max(seen.heard_at, now)
        seen.beat = beat
        last = seen.forwarded
        if (
            last is None
            or beat.state != last.state
            or beat.user_count != last.user_count
            or beat.cpu_percent > self.cpu_warning_percent
            or now - seen.forwarded_at >= self.sample_seconds
        ):
            seen.forwarded, seen.forwarded_at = beat, now
            return True
        return False

    def heard_at(self, worker_id: str) -> float:
        """When the worker was last heard (-inf: never, as far as this table knows)."""
        seen = self._seen.get(worker_id)
        return seen.heard_at if seen is not None else -math.inf

    def silent(self, workers: Iterable[str], read_up_to: float, silence_limit: float) -> list[tuple[str, float]]:
        """`(worker, heard_at)` of each of `workers` not heard for `silence_limit` before `read_up_to`: the moment
        the master last had everything its workers sent read, not now (ADR 0031). A master behind on its reading
        has not heard what waits unread, so it cannot tell a silent worker from one it has not listened to."""
        silent = []
        for worker_id in workers:
            seen = self._seen.get(worker_id)
            heard_at = seen.heard_at if seen is not None else -math.inf
            if read_up_to - heard_at > silence_limit:
                silent.append((worker_id, heard_at))
        return silent

    def latest(self, worker_id: str, incarnation: str) -> Seen | None:
        seen = self._seen.get(worker_id)
        return seen if seen is not None and seen.incarnation == incarnation else None

    def __len__(self) -> int:
        return len(self._seen)
