"""`horde keys generate DIR [NAME ...]`: CURVE key pairs for a master and its workers (ADR 0024)."""

from __future__ import annotations

import argparse

from horde.cli.options import UsageError
from horde.protocol.keys import KeyFileError, generate

USAGE = "horde keys generate DIR [NAME ...]"


def run_keys(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="horde keys",
        description="Make CURVE key pairs (NAME.key public, NAME.key_secret secret, both owner-only) in DIR. "
        "Give the master master.key_secret and a folder of the workers' .key files; give each worker its "
        ".key_secret and master.key.",
    )
    commands = parser.add_subparsers(dest="command", metavar="generate")
    generating = commands.add_parser("generate", help="make key pairs (default names: master, worker)")
    generating.add_argument("directory", metavar="DIR")
    generating.add_argument("names", metavar="NAME", nargs="*", help="one key pair per name")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        if exc.code == 0:
            return 0
        raise UsageError(f"usage: {USAGE}") from None
    if args.command != "generate":
        raise UsageError(f"usage: {USAGE}")
    names = args.names or ["master", "worker"]
    for name in names:
        if not name or "/" in name or name.startswith("."):
            raise UsageError(f"horde keys: {name!r} is not a key name (letters, digits, - and _)")
    try:
        written = generate(args.directory, names)
    except KeyFileError as exc:
        raise UsageError(f"horde keys: {exc}") from None
    for public, secret in written:
        print(f"{public}  (public: give it to the other side)\n{secret}  (secret: keep it here)")
    return 0
