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

import sys


def main(argv: list[str] | None = None) -> int:
    from horde.cli.app import run_cli

    code = run_cli(sys.argv[1:] if argv is None else argv)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
