"""`horde run --master` and `horde run --worker`: the same control plane and Worker as a local run, over ZeroMQ."""

from __future__ import annotations

import os
import socket
import sys
import tempfile
import time
import uuid

import gevent
import structlog
import zmq.green as zmq

from horde.actors.control_plane import ControlPlane
from horde.actors.journal import JournalUnwritable, reopen_journal_file
from horde.actors.replay import ReplayedFile, replay_file
from horde.actors.runners import MasterRunner
from horde.actors.worker import MasterClock, QuitRequest, Worker, WorkerOutcome, WorkerSettings
from horde.cli.console import load_plugins
from horde.cli.options import RunOptions, UsageError
from horde.cli.run import (
    checkpoint_bytes,
    class_specs,
    exit_code,
    install_stop_signals,
    load_classes,
    make_environment,
    open_journal,
    run_configuration,
    shape_function,
)
from horde.protocol import codec
from horde.protocol.errors import RPCError, RPCReceiveError
from horde.protocol.journal import JournalError
from horde.protocol.messages import LocustfileReply, LocustfileRequest, MasterQuit
from horde.protocol.zmq_transport import ZmqMasterTransport, ZmqWorkerTransport
from horde.stats.recorder import StatsRecorder

log = structlog.get_logger("horde")

LOCUSTFILE_MAX_BYTES = 1024 * 1024
LOCUSTFILE_WAIT = 60.0
QUIT_GRACE = 0.5


def read_locustfile(path: str) -> tuple[str, str] | None:
    """What the master hands to a worker started with `-f -`: the file's name and text, if small enough."""
    try:
        if os.path.getsize(path) > LOCUSTFILE_MAX_BYTES:
            log.warning("locustfile too large to hand to workers", limit=LOCUSTFILE_MAX_BYTES)
            return None
        with open(path, encoding="utf-8") as f:
            return os.path.basename(path), f.read()
    except OSError:
        return None


def run_master(options: RunOptions, argv: list[str]) -> int:
    assert options.locustfile is not None
    locustfile, classes = load_classes(options)
    plugins = load_plugins(options)  # plugins: configured before the journal exists (ADR 0008)
    environment = make_environment(options, classes, locustfile.shape_class)
    replayed = resumed_run(options.resume) if options.resume else None
    resumed = replayed.state if replayed else None
    try:
        transport = ZmqMasterTransport(options.master_bind_host, options.master_bind_port)
    except RPCError as exc:
        raise UsageError(str(exc)) from None
    if resumed is None:
        journal_file, header, journal_path = open_journal(options, argv)
        config = run_configuration(options, classes, expect_workers=options.expect_workers)
    else:
        assert options.resume is not None and resumed.master.config is not None
        journal_path, header, config = options.resume, None, resumed.master.config
        try:
            journal_file = reopen_journal_file(journal_path)
        except JournalUnwritable as exc:
            raise UsageError(str(exc)) from None
    control = ControlPlane(
        config,
        class_specs(classes),
        journal_file,
        header,
        transport,
        locustfile=read_locustfile(options.locustfile),
        resume=resumed,
        auth_token=options.auth_token or "",
        checkpoint_bytes=checkpoint_bytes(options),
    )
    plugins.attach(control, journal_path)  # plugins: fed from the journal from here on
    environment.runner = MasterRunner(control, environment)
    control.environment = environment
    environment.events.init.fire(environment=environment, runner=environment.runner, web_ui=None)
    transport.start(control.on_worker_message, control.on_bad_frame)
    print(
        f"horde master: listening on port {transport.port}, waiting for {options.expect_workers} worker(s)", flush=True
    )
    # The dead master's shape clock started with its journal, so the resumed one counts from there too.
    shape = shape_function(locustfile, environment, replayed.header.started_mono_ns / 1e9 if replayed else None)
    if shape is not None:
        control.set_shape(shape)
    elif resumed is None:
        control.start(options.users, options.spawn_rate)
    install_stop_signals(control.request_stop)
    gave_up = False
    try:
        gave_up = not _wait_for_workers(control, options)
        if gave_up:
            control.request_stop("expected workers did not connect")
        control.wait_stopped()
    finally:
        control.broadcast(MasterQuit("the run is over"))
        gevent.sleep(QUIT_GRACE)
        stats = control.stats()
        if not gave_up:
            environment.events.quitting.fire(environment=environment)  # as Locust: before the summary is printed
        plugin_code = plugins.finish(stats, journal_path)  # plugins: reports, summary, thresholds
        plugins.stop()
        control.shutdown()
        transport.close()
    if gave_up:
        connected = len(control.links.incarnations)
        raise UsageError(
            f"only {connected} of {options.expect_workers} workers connected within "
            f"{options.expect_workers_max_wait:g} s (--expect-workers-max-wait)"
        )
    code = exit_code(options, environment, stats)
    if plugin_code and environment.process_exit_code is None:  # plugins: e.g. a failed threshold
        code = plugin_code
    environment.events.quit.fire(exit_code=code)
    return code


def resumed_run(path: str) -> ReplayedFile:
    """The state a killed master left in its journal, if that run can still be carried on."""
    try:
        replayed = replay_file(path)
    except JournalError as exc:
        raise UsageError(str(exc)) from None
    state = replayed.state
    if state.master.config is None:
        raise UsageError(f"{path}: the journal ends before the run was configured; nothing to resume")
    if state.master.run_state == "stopped":
        raise UsageError(f"{path}: that run already stopped; nothing to resume")
    print(f"horde master: resuming the run of {path} after event {state.seq} ({state.master.run_state})", flush=True)
    return replayed


def _wait_for_workers(control: ControlPlane, options: RunOptions) -> bool:
    """False when --expect-workers-max-wait ran out before the run could start."""
    started = time.monotonic()
    next_note = started + 5.0
    while control.master_state().run_state == "ready" and not control.links.stopped.is_set():
        now = time.monotonic()
        if options.expect_workers_max_wait and now - started > options.expect_workers_max_wait:
            return False
        if now >= next_note:
            next_note = now + 5.0
            connected = len(control.master_state().active_workers())
            print(f"horde master: {connected} of {options.expect_workers} worker(s) connected", flush=True)
        gevent.sleep(0.1)
    return True


def fetch_locustfile(options: RunOptions, node_id: str) -> str:
    """A worker started with `-f -` asks the master for its locustfile and keeps it in a temporary folder."""
    context = zmq.Context()
    dealer = context.socket(zmq.DEALER)
    dealer.setsockopt(zmq.LINGER, 0)
    dealer.setsockopt(zmq.MAXMSGSIZE, LOCUSTFILE_MAX_BYTES * 4)
    dealer.setsockopt(zmq.IDENTITY, f"{node_id}_locustfile".encode())
    dealer.connect(f"tcp://{options.master_host}:{options.master_port}")
    try:
        deadline = time.monotonic() + LOCUSTFILE_WAIT
        while time.monotonic() < deadline:
            dealer.send_multipart(codec.encode(LocustfileRequest()))
            if dealer.poll(2000):
                try:
                    reply = codec.decode_from_master(dealer.recv_multipart())
                except RPCReceiveError as exc:
                    raise UsageError(f"the master's locustfile reply is invalid: {exc}") from None
                if not isinstance(reply, LocustfileReply):
                    continue
                if reply.error:
                    raise UsageError(f"cannot get the locustfile from the master: {reply.error}")
                if len(reply.contents.encode()) > LOCUSTFILE_MAX_BYTES:
                    raise UsageError(f"the master's locustfile is over {LOCUSTFILE_MAX_BYTES} bytes")
                folder = tempfile.mkdtemp(prefix="horde-locustfile-")
                path = os.path.join(folder, os.path.basename(reply.filename) or "locustfile.py")
                with open(path, "w", encoding="utf-8") as f:
                    f.write(reply.contents)
                return path
        raise UsageError(
            f"no locustfile from a master at {options.master_host}:{options.master_port} within {LOCUSTFILE_WAIT:g} s"
        )
    finally:
        dealer.close(linger=0)
        context.term()


def run_worker(options: RunOptions) -> int:
    node_id = f"{socket.gethostname()}_{uuid.uuid4().hex[:8]}"
    if options.locustfile == "-":
        options.locustfile = fetch_locustfile(options, node_id)
    _, classes = load_classes(options)
    recorder = StatsRecorder()
    environment = make_environment(options, classes, recorder=recorder)
    transport = ZmqWorkerTransport(options.master_host, options.master_port, node_id)
    clock = MasterClock()
    outcome = WorkerOutcome()
    settings = WorkerSettings(
        options.heartbeat_interval,
        options.stats_interval,
        options.stop_timeout,
        options.heartbeat_liveness,
        options.quit_when_master_lost,
        options.auth_token or "",
    )
    worker = Worker.start(node_id, environment, recorder, transport, settings, clock, outcome)
    environment.events.init.fire(environment=environment, runner=environment.runner, web_ui=None)

    def deliver(message: object) -> None:
        clock.heard()
        worker.tell(message)

    def bad_frame(reason: str, version_mismatch: bool) -> None:
        if version_mismatch:
            outcome.reason, outcome.exit_code = f"the master speaks another protocol: {reason}", 2
            worker.tell(QuitRequest(outcome.reason))
        else:
            log.warning("invalid frame from the master dropped", reason=reason)

    transport.start(deliver, bad_frame)
    print(
        f"horde worker {node_id}: connecting to {options.master_host}:{options.master_port}",
        file=sys.stderr,
        flush=True,
    )
    install_stop_signals(lambda name: worker.tell(QuitRequest(f"{name} received")))
    worker.actor_stopped.wait()
    transport.close()
    environment.events.quitting.fire(environment=environment)
    print(f"horde worker {node_id}: quit: {outcome.reason or 'done'}", file=sys.stderr, flush=True)
    return outcome.exit_code
