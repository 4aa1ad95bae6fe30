"""Locust's ``locust.debug``: ``run_single_user``; and ``python -m horde.debug locustfile.py [args]``.

Run that way, the locustfile executes as ``__main__`` with ``import locust`` meaning horde (ADR 0015), so a
Locust-style script ending in ``run_single_user(MyUser)`` runs unchanged where Locust itself is not installed.
"""

from __future__ import annotations

import os
import runpy
import sys

from horde.runtime.debug import PrintListener, run_single_user
from horde.runtime.locust_alias import locust_alias

__all__ = ["PrintListener", "run_single_user"]


def main(argv: list[str]) -> int:
    if not argv or not os.path.isfile(argv[0]):
        given = repr(argv[0]) if argv else "nothing"
        print(f"usage: python -m horde.debug LOCUSTFILE [ARGS...] (got {given}, not a file)", file=sys.stderr)
        return 2
    path = os.path.abspath(argv[0])
    sys.argv = [path, *argv[1:]]
    sys.path.insert(0, os.path.dirname(path))
    with locust_alias():
        runpy.run_path(path, run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
