"""The master side of a run, assembled: Journal, Master, Dispatcher, StatsAggregator and the WorkerProxy actors.

It also routes what workers send: statistics straight to the StatsAggregator (the busiest path, kept off the
Master), a worker's own facts to its WorkerProxy, membership to the Master. A local run and a distributed run
build exactly this; they differ only in the transport plugged in.
"""

from __future__ import annotations

import contextlib
import gc
import queue
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from typing import IO, Any, cast

import gevent
import pykka
import structlog

from horde.actors.base import Append, GetState
from horde.actors.dispatcher_actor import Dispatcher
from horde.actors.journal import CHECKPOINT_MIN_BYTES, Flush, Journal
from horde.actors.liveness import LivenessTable
from horde.actors.master import (
    Admit,
    ClockTick,
    Configure,
    Master,
    MasterLinks,
    MasterState,
    Observed,
    RampFinished,
    RejectFrame,
    RequestStop,
    ShapeTick,
    Start,
    StartNewTest,
    WorkerGone,
)
from horde.actors.replay import Replay, ReplayState
from horde.actors.runners import MessageHandlers
from horde.actors.stats_aggregator import GetStats, ReportReceived, ResetStats, StatsAggregator, TakeSnapshot
from horde.actors.worker_logs import WorkerLogs
from horde.actors.worker_proxy import (
    CPU_WARNING_PERCENT,
    FromWorker,
    GetWorker,
    LivenessTick,
    WorkerProxy,
    WorkerProxyState,
)
from horde.protocol.dispatcher_vocabulary import UserClassSpec
from horde.protocol.events import (
    Event,
    RunConfigured,
    RunResumed,
)
from horde.protocol.journal import Header
from horde.protocol.messages import (
    NO_ACKS,
    AskToStopRun,
    Heartbeat,
    LocustfileReply,
    LocustfileRequest,
    MasterHeartbeat,
    MasterMessageType,
    Ready,
    Rejoin,
    Spawn,
    Spawning,
    SpawningComplete,
    StatsReport,
    Stopped,
    WorkerCustom,
    WorkerMessageType,
    WorkerQuit,
)
from horde.protocol.states import GONE_STATES, RunState
from horde.protocol.transport import MasterTransport
from horde.stats.run_stats import RunStats

log = structlog.get_logger("horde.master")

TICK_INTERVAL = 0.1
MAX_TRACKED_PEERS = 10_000
HEARTBEAT_SAMPLE_BEATS = 10
"""A heartbeat that says nothing new still reaches the WorkerProxy (and the journal) once in this many beats."""
INBOX_HIGH_WATER = 5_000
"""Messages queued for the StatsAggregator, the Journal and the Master together at which the master stops taking
its workers' messages off the socket until they are down to `INBOX_LOW_WATER`: what it cannot handle yet waits in
ZeroMQ's bounded queues (and the workers' unacknowledged reports), not in its memory without bound (ADR 0031)."""
INBOX_LOW_WATER = INBOX_HIGH_WATER // 2
BACKLOG_EVERY = 16
"""Messages routed between two looks at the actors' backlog: far below the high-water mark, and the look itself was
a visible share of a 5,000-worker master's time when taken on every message."""
BACKLOG_WAIT = 0.005
"""How long the receiving greenlet yields to the actors between looks at their backlog."""
FREEZE_EVERY_JOINS = 100
"""Once this many more workers are admitted, the objects alive are frozen out of the cyclic garbage collector."""

ShapeFunction = Callable[[], "tuple[int, float, tuple[str, ...] | None] | None"]


class ControlPlane:
    def __init__(
        self,
        config: RunConfigured,
        classes: Sequence[UserClassSpec],
        journal_file: IO[bytes],
        header: Header | None,
        transport: MasterTransport,
        locustfile: tuple[str, str] | None = None,
        shape: ShapeFunction | None = None,
        resume: ReplayState | None = None,
        checkpoint_bytes: int = CHECKPOINT_MIN_BYTES,
        worker_options: Mapping[str, Any] | None = None,
    ) -> None:
        """`resume`, the replayed state of a killed master's journal, makes this master carry that run on.

        `checkpoint_bytes` (0: never) spaces the journal's replay checkpoints (ADR 0009). `worker_options` go to
        every worker with each spawn (a locustfile's own arguments, ADR 0017).
        """
        self._worker_options = dict(worker_options or {})
        self.config = config
        self.transport = transport
        self._locustfile = locustfile
        self._shape = shape
        self.handlers = MessageHandlers()
        self.environment: Any = None
        self._bad_frames: dict[str, int] = {}
        self._acks: dict[str, dict[str, int]] = {}
        self.held_back = 0
        self._received = 0
        """How many times the master stopped reading because its actors were behind (ADR 0031)."""
        self._frozen_at = 0
        self._liveness = LivenessTable(HEARTBEAT_SAMPLE_BEATS * config.heartbeat_interval, CPU_WARNING_PERCENT)
        """When each worker was last heard and what its latest heartbeat said: most heartbeats stop here, and the
        clock skips a LivenessTick for a proxy that this proves would find nothing; the proxy still makes every
        missing decision (ADR 0028)."""
        self.worker_logs = WorkerLogs()
        """The admitted workers' recent log lines, from their heartbeats, for the web UI (ADR 0038)."""
        self.journal = Journal.start(
            journal_file,
            header,
            resume.seq if resume else 0,
            fold=Replay.from_state(resume, fold_stats=False) if resume else None,
            request_snapshot=self._request_stats_snapshot if checkpoint_bytes > 0 else None,
            checkpoint_bytes=checkpoint_bytes,
        )
        self.aggregator = StatsAggregator.start(
            self.append, resume.aggregator if resume else None, self._acknowledge_report
        )
        self.dispatcher = Dispatcher.start(
            classes, self.append, self._send_users, self._ramp_done, resume.dispatch if resume else None
        )
        self.links = MasterLinks(transport, self.dispatcher, self.append, self._observed, self._reset_stats)
        self.master = Master.start(self.append, self.links, resume.master if resume else None)
        if resume is None:
            self.master.tell(Configure(time.monotonic(), config))
        else:
            self._take_over(resume)
        self._ticker = gevent.spawn(self._tick_loop)

    def _request_stats_snapshot(self) -> None:
        """Called by the Journal; at shutdown the StatsAggregator may be gone first, and then no checkpoint is due."""
        with contextlib.suppress(pykka.ActorDeadError):
            self.aggregator.tell(TakeSnapshot())

    def _take_over(self, resume: ReplayState) -> None:
        """Watch the workers the journal says were there: those that come back rejoin, the others go missing.

        Their silence is counted from now, not from the crash, so reconnecting workers get a full liveness window.
        """
        now = time.monotonic()
        self.append(Append("master", "resume", RunResumed(resume.seq, now)))
        for worker_id, state in resume.workers.items():
            self.links.incarnations.setdefault(worker_id, set()).add(state.incarnation)
            if state.state in GONE_STATES:
                continue
            proxy = WorkerProxy.start(replace(state, last_heard_at=now), self.append, self._observed)
            self.links.proxies[worker_id] = (state.incarnation, proxy)

    # --- wiring ------------------------------------------------------------------------------------------------

    def append(self, item: Append) -> None:
        self.journal.tell(item)

    def _acknowledge_report(self, worker_id: str, incarnation: str, seq: int) -> None:
        """Remembered for the worker's next MasterHeartbeat, which carries it (ADR 0010)."""
        acks = self._acks.setdefault(worker_id, {})
        if seq > acks.get(incarnation, 0):
            acks[incarnation] = seq

    def _reset_stats(self, now: float, reason: str) -> None:
        with contextlib.suppress(pykka.ActorDeadError):
            self.aggregator.tell(ResetStats(now, reason))

    def _observed(self, event: Event) -> None:
        self.master.tell(Observed(time.monotonic(), event))

    def _send_users(self, worker_id: str, step: int, counts: dict[str, int]) -> None:
        self.links.send(
            worker_id, Spawn(step, counts, self.config.host, self.config.stop_timeout, self._worker_options)
        )

    def _ramp_done(self, step: int, target: int) -> None:
        self.master.tell(RampFinished(time.monotonic(), step, target))

    def listen(self) -> None:
        """Take messages from the transport from now on: once the run is wired, and before any worker starts."""
        self.transport.start(self.on_worker_message, self.on_bad_frame, self.on_revoked)

    # --- inbound --------------------------------------------------------------------------------------------------

    def on_worker_message(self, worker_id: str, message: WorkerMessageType) -> None:
        """Route one message; an actor that is already gone (the run is ending) just misses it."""
        try:
            self._route(worker_id, message)
        except pykka.ActorDeadError:
            log.debug("message for a stopped actor dropped", worker=worker_id, message=type(message).__name__)
        self._received += 1
        if not self._received % BACKLOG_EVERY and self._backlog() >= INBOX_HIGH_WATER:
            self._hold_back()

    def _backlog(self) -> int:
        """Messages the busiest actors have not taken yet (a queue's size is a counter read)."""
        return sum(_queued(ref) for ref in (self.aggregator, self.journal, self.master))

    def _hold_back(self) -> None:
        """Called on the receiving greenlet: while it waits here nothing more is read, so what workers send waits
        in ZeroMQ's queues (bounded by their high-water marks), and the transport's `caught_up_at` stands still,
        so no worker is judged silent for what the master has not read (ADR 0031)."""
        self.held_back += 1
        while self._backlog() > INBOX_LOW_WATER and not self.links.stopped.is_set():
            gevent.sleep(BACKLOG_WAIT)

    def _route(self, worker_id: str, message: WorkerMessageType) -> None:
        now = time.monotonic()
        if isinstance(message, Ready):
            # Heard now: its silence is counted from here, even before its first heartbeat (which a worker sends
            # only once accepted), and the clock's sweep need not ask its proxy about it.
            if worker_id in self.links.incarnations or len(self._liveness) < MAX_TRACKED_PEERS:
                self._liveness.heard(worker_id, message.incarnation, now)
            self.master.tell(Admit(now, worker_id, message))
            return
        if isinstance(message, LocustfileRequest):
            self._reply_locustfile(worker_id)
            return
        entry = self.links.proxies.get(worker_id)
        if isinstance(message, StatsReport) and worker_id not in self.links.incarnations:
            # Never admitted: nothing to count, and a flood of forged reports is a flood of rejections (ADR 0024).
            self.on_bad_frame(worker_id, "statistics from a peer that is not an admitted worker", False)
        elif isinstance(message, StatsReport):
            if entry is not None and entry[0] == message.incarnation:
                self._liveness.heard(worker_id, entry[0], now)  # any message proves the worker alive
            admitted = self.links.knows(worker_id, message.incarnation)
            self.aggregator.tell(ReportReceived(worker_id, message, admitted, worker_id in self.links.incarnations))
        elif isinstance(message, Heartbeat | Spawning | SpawningComplete | Stopped):
            if entry is not None:
                incarnation, proxy = entry
                if not isinstance(message, Heartbeat):
                    self._liveness.heard(worker_id, incarnation, now)
                    proxy.tell(FromWorker(now, message))
                else:
                    if message.logs:
                        self.worker_logs.add(worker_id, message.logs)
                    if self._liveness.heartbeat(worker_id, incarnation, now, message):
                        proxy.tell(FromWorker(now, message))
            elif self.master_state().run_state not in (RunState.STOPPING, RunState.STOPPED):
                log.info("a worker this master does not count is asked to rejoin", worker=worker_id)
                self.links.send(worker_id, Rejoin("this master does not count this worker (missing or unknown)"))
        elif entry is None:
            log.info("message from a peer that is not an admitted worker ignored", peer=worker_id[:64])
        elif isinstance(message, WorkerQuit):
            self.master.tell(WorkerGone(now, worker_id, message.reason))
        elif isinstance(message, AskToStopRun):
            self.master.tell(RequestStop(now, f"{message.reason} (worker {worker_id})"))
        elif isinstance(message, WorkerCustom):
            self._custom(worker_id, message)

    def on_bad_frame(self, peer: str, reason: str, version_mismatch: bool) -> None:
        """Count a frame that was not a valid message; the Master decides what is journaled and answered."""
        count = self._bad_frames[peer] = self._bad_frames.get(peer, 0) + 1
        if len(self._bad_frames) > MAX_TRACKED_PEERS:
            self._bad_frames.clear()
        with contextlib.suppress(pykka.ActorDeadError):
            self.master.tell(RejectFrame(time.monotonic(), peer, reason, version_mismatch, count))

    def on_revoked(self, worker_id: str, reason: str) -> None:
        """A worker the transport cut off (its key was revoked, ADR 0039) is gone: the Master lets it leave, as
        when it quits, and its users go to the others."""
        with contextlib.suppress(pykka.ActorDeadError):
            self.master.tell(WorkerGone(time.monotonic(), worker_id, reason, cause="key_revoked"))

    def _custom(self, worker_id: str, message: WorkerCustom) -> None:
        self.handlers.dispatch(self.environment, message.kind, message.data, worker_id)

    def _reply_locustfile(self, worker_id: str) -> None:
        if self._locustfile is None:
            reply = LocustfileReply(error="the master has no locustfile to give")
        else:
            reply = LocustfileReply(filename=self._locustfile[0], contents=self._locustfile[1])
        self.links.send(worker_id, reply)

    # --- the clock ------------------------------------------------------------------------------------------------

    def _tick_loop(self) -> None:
        """The master's clock: run time, liveness and shape ticks, as messages carrying the time.

        If this loop itself was held up (a starved CPU, a long GC), the workers' heartbeats are still queued in
        the socket: liveness is not judged until one heartbeat interval after such a stall, so a stall of the
        master is never blamed on its workers. Nor is a backlog: silence is counted up to the moment the
        transport last had everything read (`caught_up_at`), not up to now (ADR 0031).
        """
        next_beat = next_shape = previous = time.monotonic()
        judge_from = 0.0
        interval = self.config.heartbeat_interval
        silence_limit = interval * self.config.heartbeat_liveness
        while True:  # until shutdown: a stopped run's workers still hear from it, and it may start a new test
            now = time.monotonic()
            if now - previous > max(interval, 5 * TICK_INTERVAL):
                log.warning("the master's clock was held up; liveness is judged again shortly", stalled=now - previous)
                judge_from = now + interval
            previous = now
            self._freeze_what_joins_built()
            self.master.tell(ClockTick(now, min(now, self.transport.caught_up_at())))
            if now >= next_beat:
                next_beat = now + interval
                proxies = dict(self.links.proxies)
                if now >= judge_from:
                    read_up_to = min(now, self.transport.caught_up_at())
                    for worker_id, heard_at in self._liveness.silent(proxies, read_up_to, silence_limit):
                        proxies[worker_id][1].tell(LivenessTick(read_up_to, silence_limit, heard_at))
                self.links.send_many(self._heartbeats(proxies))
            if self._shape is not None and now >= next_shape and not self.links.stopped.is_set():
                next_shape = now + 1.0
                self._tick_shape(now)
            gevent.sleep(TICK_INTERVAL)

    def _heartbeats(self, workers: Iterable[str]) -> list[tuple[str, MasterHeartbeat]]:
        """A beat for each worker, carrying the acknowledgements gathered for it since the last: most have none and
        share one message, which the transport encodes once (a new struct per worker per second was a tenth of
        the clock's cost at 5,000 workers)."""
        acks = self._acks
        return [
            (worker_id, MasterHeartbeat(acks.pop(worker_id)) if worker_id in acks else NO_ACKS) for worker_id in workers
        ]

    def _freeze_what_joins_built(self) -> None:
        """A worker's proxy actor, its state and its entries live as long as it does; with thousands of workers,
        each full collection walked them all again (1-4 s each at 5,000, a fifth of the master's time, and a
        clock held up as long). So when the membership has grown, what is alive is moved out of the collector's
        sight (`gc.freeze`): only objects made since are walked. A master with a handful of workers (and a local
        run, whose users' objects share the process) never freezes anything (ADR 0031)."""
        admitted = len(self.links.incarnations)
        if admitted >= self._frozen_at + FREEZE_EVERY_JOINS:
            self._frozen_at = admitted
            gc.freeze()

    def _tick_shape(self, now: float) -> None:
        assert self._shape is not None
        try:
            result = self._shape()
        except Exception as exc:
            log.exception("LoadTestShape.tick() raised; stopping the run", error=repr(exc))
            result = None
        self.master.tell(ShapeTick(now, result))

    # --- control ----------------------------------------------------------------------------------------------

    def start(self, user_count: int, spawn_rate: float, user_classes: tuple[str, ...] | None = None) -> None:
        self.master.tell(Start(time.monotonic(), user_count, spawn_rate, user_classes))

    def set_worker_options(self, options: Mapping[str, Any]) -> None:
        """The locustfile's arguments as the web UI's form set them: every spawn from now on carries them, so a
        worker's `parsed_options` has them before its users of that step run (as Locust sends them)."""
        self._worker_options = {**self._worker_options, **options}

    def new_test(self, reason: str, cause: str) -> bool:
        """Make a stopped run ready for another test (ADR 0034); False if it had not stopped. Asked, not told: on
        return the run is ready, and `wait_stopped` waits for the new test's end."""
        self.master.ask(StartNewTest(time.monotonic(), reason, cause))
        return self.master_state().run_state == RunState.READY

    def set_shape(self, shape: ShapeFunction | None) -> None:
        """A LoadTestShape drives the target from now on, ticked once a second (None: no shape any more, as when
        the web UI's class picker chooses none for the next test)."""
        self._shape = shape

    @property
    def shape_running(self) -> bool:
        return self._shape is not None

    def request_stop(self, reason: str) -> None:
        with contextlib.suppress(pykka.ActorDeadError):
            self.master.tell(RequestStop(time.monotonic(), reason))

    def wait_stopped(self, timeout: float | None = None) -> bool:
        return bool(self.links.stopped.wait(timeout))

    def broadcast(self, message: MasterMessageType) -> None:
        """To every worker ever admitted: a missing one may still be alive and must hear a quit too."""
        for worker_id in sorted(self.links.incarnations):
            self.links.send(worker_id, message)

    def master_state(self) -> MasterState:
        return cast(MasterState, self.master.ask(GetState()))

    def workers(self) -> dict[str, WorkerProxyState]:
        proxies = sorted(self.links.proxies.items())
        return {
            worker_id: self._freshest(cast(WorkerProxyState, ref.ask(GetWorker()))) for worker_id, (_, ref) in proxies
        }

    def _freshest(self, state: WorkerProxyState) -> WorkerProxyState:
        """The proxy's state with its worker's latest heartbeat, which the proxy may not have been handed."""
        seen = self._liveness.latest(state.worker_id, state.incarnation)
        if seen is None or seen.beat is None or state.state in GONE_STATES:
            return state
        beat = seen.beat
        return replace(
            state,
            last_heard_at=max(state.last_heard_at, seen.heard_at),
            cpu_percent=beat.cpu_percent,
            memory_bytes=beat.memory_bytes,
        )

    def stats(self) -> RunStats:
        return cast(RunStats, self.aggregator.ask(GetStats()))

    def shutdown(self) -> None:
        """Stop every actor, the Journal last so it records everything the others appended."""
        self._ticker.kill(block=False)
        self.links.stopped.set()
        for _, proxy in list(self.links.proxies.values()):
            proxy.stop()
        self.dispatcher.stop()
        self.master.stop()
        self.aggregator.stop()
        self.journal.ask(Flush())
        self.journal.stop()


def _queued(ref: pykka.ActorRef[Any]) -> int:
    """A threading actor's inbox is a `queue.Queue`: its size is one read."""
    inbox = ref.actor_inbox
    return inbox.qsize() if isinstance(inbox, queue.Queue) else 0
