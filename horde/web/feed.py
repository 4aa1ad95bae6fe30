"""The live event stream: the journal's events, folded as replay folds them, pushed to every open page.

The feed subscribes to the Journal actor like the plugin host does (its callback only queues, so the writer is
never slowed), backfills what was written before it subscribed, and once a second turns the fold into one message
(the table, the panels, a chart point, the new markers) encoded once and queued to each connected page. It never
asks an actor for its state: what it shows is what the journal says, which is also what `horde ui JOURNAL` shows
of the same moment later.
"""

from __future__ import annotations

import contextlib
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import gevent
import gevent.event
import gevent.queue
import msgspec
import structlog

from horde.protocol.journal import read_journal
from horde.stats.run_stats import RunStats
from horde.web.fold import Marker, PageFold, Timeline, page_view, record_of
from horde.web.view import chart_point

log = structlog.get_logger("horde.web")

TICK_SECONDS = 1.0
"""How often the pages get a new message: the charts' resolution, and the most a report waits to be shown."""
MAX_POINTS = 7_200
"""Chart points kept for a page that opens late (two hours at one a second); older ones are thinned out."""
CLIENT_QUEUE = 32
"""Messages waiting for one page; a page that falls this far behind is dropped and reconnects afresh."""
KEEPALIVE_SECONDS = 15.0

_encoder = msgspec.json.Encoder()


def sse(event: str, data: bytes) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + data + b"\n\n"


class Client:
    """One connected page: the messages waiting for it."""

    def __init__(self) -> None:
        self.queue: gevent.queue.Queue[bytes | None] = gevent.queue.Queue(CLIENT_QUEUE)

    def offer(self, message: bytes) -> bool:
        try:
            self.queue.put_nowait(message)
            return True
        except gevent.queue.Full:
            return False

    def close(self) -> None:
        with contextlib.suppress(gevent.queue.Full):
            self.queue.put_nowait(None)


class LiveFeed:
    """Folds the journal's events as they are written and streams the page's messages."""

    def __init__(self, timeline: Timeline | None, tick: float = TICK_SECONDS) -> None:
        self.fold = PageFold(timeline)
        self._tick = tick
        self._pending: deque[tuple[int, Any]] = deque()
        self._clients: list[Client] = []
        self.points: deque[dict[str, Any]] = deque(maxlen=MAX_POINTS)
        self._new_markers: list[Marker] = []
        self._greenlet: gevent.Greenlet | None = None
        self._attached = False
        self.messages_sent = 0

    # --- feeding --------------------------------------------------------------------------------------------------

    def attach(self, journal: Any, journal_path: str) -> None:
        """Subscribe to the Journal actor, then fold what it wrote before (read back from its file)."""
        from horde.actors.journal import Flush

        last_seq = int(journal.proxy().subscribe(self._on_append).get())
        journal.ask(Flush())
        if last_seq > 0:
            with contextlib.suppress(Exception):
                for record in read_journal(journal_path).records:
                    if record.seq > last_seq:
                        break
                    self.fold.feed(record)
        self._attached = True
        self._drain()

    def _on_append(self, seq: int, item: Any) -> None:
        """The Journal's subscriber: runs in its writer, so it only queues."""
        self._pending.append((seq, item))

    def _drain(self) -> None:
        if not self._attached:
            return
        while self._pending:
            seq, item = self._pending.popleft()
            if seq <= self.fold.replay.seq:
                continue  # backfilled already
            try:
                marker = self.fold.feed(record_of(seq, item))
            except Exception as exc:  # a page must never take the run down
                log.warning("web feed could not fold an event", seq=seq, error=repr(exc))
                continue
            if marker is not None:
                self._new_markers.append(marker)

    # --- streaming ------------------------------------------------------------------------------------------------

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)
        for client in list(self._clients):
            client.close()

    def _run(self) -> None:
        next_tick = time.monotonic()
        while True:
            next_tick += self._tick
            gevent.sleep(max(0.0, next_tick - time.monotonic()))
            try:
                self.tick()
            except Exception as exc:
                log.warning("web feed tick failed", error=repr(exc))

    def tick(self, now: float | None = None) -> None:
        """Fold what arrived, add a chart point, and queue one message to every page."""
        self._drain()
        now = time.time() if now is None else now
        state = self.fold.state()
        point = chart_point(state, now)
        self.points.append(point)
        markers = [m.as_json() for m in self._new_markers]
        self._new_markers = []
        if not self._clients:
            return
        shown = page_view(state, now, self.fold.story(), time.monotonic(), self.fold.host())
        message = sse("tick", _encoder.encode({"view": shown, "point": point, "markers": markers}))
        for client in list(self._clients):
            if not client.offer(message):
                log.info("a page fell behind the event stream; it reconnects")
                self._drop(client)
        self.messages_sent += 1

    def _drop(self, client: Client) -> None:
        with contextlib.suppress(ValueError):
            self._clients.remove(client)
        client.close()

    def hello(self) -> bytes:
        """What a page gets on connecting: the whole story so far, then the ticks."""
        self._drain()
        now = time.time()
        state = self.fold.state()
        return sse(
            "hello",
            _encoder.encode(
                {
                    "mode": "live",
                    "view": page_view(state, now, self.fold.story(), time.monotonic(), self.fold.host()),
                    "points": list(self.points),
                    "markers": [m.as_json() for m in self.fold.markers],
                }
            ),
        )

    def stream(self) -> Iterator[bytes]:
        """The body of one `GET /events` response."""
        client = Client()
        self._clients.append(client)
        try:
            yield self.hello()
            while True:
                try:
                    message = client.queue.get(timeout=KEEPALIVE_SECONDS)
                except gevent.queue.Empty:
                    yield b": keepalive\n\n"
                    continue
                if message is None:
                    return
                yield message
        finally:
            self._drop(client)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    # --- reading --------------------------------------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        self._drain()
        return page_view(self.fold.state(), time.time(), self.fold.story(), time.monotonic(), self.fold.host())

    def stats(self) -> RunStats:
        self._drain()
        return self.fold.state().aggregator.stats
