"""Subcommands of `horde` and the one place where errors become exit codes."""

from __future__ import annotations

import sys

USAGE = """usage: horde COMMAND [ARGS]

commands:
  run      run a load test (locally, or --master / --worker)
  demo     start a built-in target on 127.0.0.1 and run an example load test against it
  keys     make CURVE key pairs for a master and its workers (horde keys generate DIR [NAME ...])
  events   print a run's journal, filtered (horde events FILE [--type T] [--source S])
  replay   rebuild a run's state from its journal (FILE [--at S|--seq N] [--json|--timeline|--check|--html P])
  ui       serve the web UI over a past run's journal, with a time slider (horde ui FILE [--web-port N])
  version  print horde's version
"""


def run_cli(argv: list[str]) -> int:
    from horde.cli.options import UsageError

    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    try:
        if command == "run":
            from horde.cli.run import run_main

            return run_main(rest)
        if command == "demo":
            from horde.cli.demo import run_demo

            return run_demo(rest)
        if command == "events":
            from horde.cli.events import run_events

            return run_events(rest)
        if command == "keys":
            from horde.cli.keys import run_keys

            return run_keys(rest)
        if command == "replay":
            from horde.cli.replay import run_replay

            return run_replay(rest)
        if command == "ui":
            from horde.cli.web import run_ui

            return run_ui(rest)
        if command == "version":
            from horde._version import __version__

            print(f"horde {__version__}")
            return 0
        raise UsageError(f"unknown command {command!r} (try: horde --help)")
    except UsageError as exc:
        print(f"horde: error: {exc}", file=sys.stderr)
        return 2
