"""The workers' recent log lines, as the master keeps them for the web UI's `/logs` (ADR 0038).

Locust's master shows each worker's last log lines beside its own. Here they arrive on heartbeats and stop in this
table, as the liveness facts do: diagnostics for a person, not facts of the run, so they are neither decided by an
actor nor journaled. The table is bounded however its workers behave: at most `lines_per_worker` lines a worker
(each at most `MAX_LOG_LINE_CHARS`, which the codec checks), and at most `max_chars` in all, the oldest lines of
the workers heard from least recently going first, so a thousand chatty or hostile workers cannot grow the
master's memory past a few megabytes.

Pure data: the caller (the ControlPlane's receiving greenlet) passes only admitted workers' lines.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

LINES_PER_WORKER = 500
"""As many as Locust keeps of each process's log."""
MAX_CHARS = 8_000_000
"""All workers' lines together, in characters."""


class WorkerLogs:
    def __init__(self, lines_per_worker: int = LINES_PER_WORKER, max_chars: int = MAX_CHARS) -> None:
        self.lines_per_worker = lines_per_worker
        self.max_chars = max_chars
        self.chars = 0
        self._lines: dict[str, deque[str]] = {}
        """Worker id -> its lines, oldest first; the dict in the order the workers were last heard from."""

    def add(self, worker_id: str, lines: Iterable[str]) -> None:
        kept = self._lines.pop(worker_id, None)
        if kept is None:
            kept = deque()
        self._lines[worker_id] = kept  # heard from last: the last to lose lines to the budget
        for line in lines:
            if len(kept) >= self.lines_per_worker:
                self.chars -= len(kept.popleft())
            kept.append(line)
            self.chars += len(line)
        self._trim()

    def _trim(self) -> None:
        while self.chars > self.max_chars and self._lines:
            worker_id, oldest = next(iter(self._lines.items()))
            if oldest:
                self.chars -= len(oldest.popleft())
            if not oldest:
                del self._lines[worker_id]

    def view(self) -> dict[str, list[str]]:
        """Locust's `workers` of `/logs`: each worker's lines, oldest first (a copy)."""
        return {worker_id: list(lines) for worker_id, lines in self._lines.items()}
