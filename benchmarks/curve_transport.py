"""What CURVE costs the master: CPU seconds to receive a burst of worker messages, open and encrypted.

Run on demand, not a test: `python benchmarks/curve_transport.py [--messages 200000] [--senders 10] [--keys]`.

The master's process receives `--messages` Heartbeats (the commonest message) from `--senders` DEALERs in a child
process, through the real `ZmqMasterTransport` and codec, and reports its own CPU time (user + system) from the
first message to the last: the per-message cost of the receive path, decode included, with nothing else running
in the master. With `--keys` every connection is CURVE (encrypted, each frame's User-Id checked against the key
its routing id is bound to). To compare with the code before keys, run the same script with `PYTHONPATH` set to
an older checkout (without `--keys`); interleave the runs, since a shared machine's load changes over minutes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gevent import monkey

monkey.patch_all()

import gevent  # noqa: E402
import gevent.event  # noqa: E402

import horde  # noqa: E402
from horde.protocol.messages import Heartbeat  # noqa: E402
from horde.protocol.zmq_transport import ZmqMasterTransport, ZmqWorkerTransport  # noqa: E402


def send(port: int, senders: int, messages: int, keys: str | None) -> None:
    worker_keys = None
    if keys:
        from horde.protocol.keys import worker_keys as read

        worker_keys = read(os.path.join(keys, "worker.key_secret"), os.path.join(keys, "master.key"))
    transports = [
        ZmqWorkerTransport("127.0.0.1", port, f"w{n}", *([worker_keys] if worker_keys else [])) for n in range(senders)
    ]
    for transport in transports:
        transport.start(lambda _m: None, lambda *_: None)
    beat = Heartbeat("running", 12.5, 50_000_000, 10, time.time())

    def pump(transport: ZmqWorkerTransport, count: int) -> None:
        for n in range(count):
            try:
                transport.send(beat)
            except Exception:
                gevent.sleep(0.001)
                transport.send(beat)
            if n % 500 == 0:
                gevent.sleep(0)

    gevent.joinall([gevent.spawn(pump, t, messages // senders) for t in transports])
    gevent.sleep(3)
    for transport in transports:
        transport.close()


def receive(args: argparse.Namespace) -> None:
    keys_dir = None
    master_keys = None
    if args.keys:
        from horde.protocol.keys import generate
        from horde.protocol.keys import master_keys as read

        keys_dir = tempfile.mkdtemp(prefix="horde-bench-keys-")
        generate(keys_dir, ["master", "worker"])
        master_keys = read(os.path.join(keys_dir, "master.key_secret"), os.path.join(keys_dir, "worker.key"))
    transport = ZmqMasterTransport("127.0.0.1", 0, *([master_keys] if master_keys else []))
    total = (args.messages // args.senders) * args.senders
    state = {"count": 0, "first": 0.0, "first_wall": 0.0}
    done = gevent.event.Event()

    def handler(_peer: str, _message: object) -> None:
        if state["count"] == 0:
            state["first"] = time.process_time()
            state["first_wall"] = time.perf_counter()
        state["count"] += 1
        if state["count"] == total:
            done.set()

    transport.start(handler, lambda *_: None)
    command = [sys.executable, __file__, "--send", str(transport.port), "--messages", str(args.messages)]
    command += ["--senders", str(args.senders)] + (["--keys-dir", keys_dir] if keys_dir else [])
    child = subprocess.Popen(command, env=os.environ.copy())
    finished = done.wait(timeout=300)
    cpu = time.process_time() - state["first"]
    wall = time.perf_counter() - state["first_wall"]
    child.wait(timeout=60)
    transport.close()
    where = Path(horde.__file__).parent.parent
    label = "curve" if args.keys else "open"
    print(
        f"{label:5} {where}: {state['count']} messages{'' if finished else ' (INCOMPLETE)'}, "
        f"{cpu:.2f} CPU s ({cpu / max(1, state['count']) * 1e6:.1f} us each), {wall:.2f} s wall"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--senders", type=int, default=10)
    parser.add_argument("--keys", action="store_true", help="CURVE on every connection")
    parser.add_argument("--send", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--keys-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.send:
        send(args.send, args.senders, args.messages, args.keys_dir)
    else:
        receive(args)


if __name__ == "__main__":
    main()
