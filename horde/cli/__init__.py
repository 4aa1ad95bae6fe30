"""The `horde` command.

gevent must patch the standard library before anything else is imported (ADR 0002), so this module patches first
and imports the rest of horde only afterwards.
"""

import gevent
from gevent import monkey

monkey.patch_all()
gevent.config.track_greenlet_tree = False
"""A run spawns a greenlet per user, tens of thousands of them: gevent's record of who spawned each (a copy of the
spawning stack, for its debugging views) cost about 1 KiB and a tenth of the spawn time per user."""

import contextlib
import os
import signal
import sys

BROKEN_PIPE_EXIT = 128 + signal.SIGPIPE
"""What a shell reports for a Unix tool whose reader went away (`horde replay --timeline J | head`): SIGPIPE ends
it quietly, and Python, which ignores SIGPIPE, gets a BrokenPipeError instead."""


def main(argv: list[str] | None = None) -> int:
    from horde.cli.app import run_cli

    try:
        code = run_cli(sys.argv[1:] if argv is None else argv)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_output()
        return BROKEN_PIPE_EXIT
    return code


def _silence_output() -> None:
    """Points stdout and stderr at /dev/null, so the interpreter's last flush of what is still buffered for the
    closed pipe does not print a second error on the way out."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            os.dup2(devnull, stream.fileno())
    os.close(devnull)


if __name__ == "__main__":
    sys.exit(main())
