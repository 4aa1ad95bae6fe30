"""`horde keys generate DIR [NAME ...]`: CURVE key pairs for a master and its workers (ADR 0024)."""

from __future__ import annotations

import argparse
from typing import NoReturn

from horde.cli.options import UsageError
from horde.protocol.keys import KeyFileError, generate

USAGE = "horde keys generate DIR [NAME ...]"


class _Parser(argparse.ArgumentParser):
    """argparse's errors as horde's one line (argparse would print its usage above it)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"horde keys: {message} (usage: {USAGE})")


def run_keys(argv: list[str]) -> int:
    parser = _Parser(
        prog="horde keys",
        description="Make CURVE key pairs (NAME.key public, NAME.key_secret secret, both owner-only) in DIR. "
        "Give the master master.key_secret and a folder of the workers' .key files; give each worker its "
        ".key_secret and master.key.",
    )
    commands = parser.add_subparsers(dest="command", metavar="generate", parser_class=_Parser)
    generating = commands.add_parser("generate", help="make key pairs (default names: master, worker)")
    generating.add_argument("directory", metavar="DIR")
    generating.add_argument("names", metavar="NAME", nargs="*", help="one key pair per name")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.command != "generate":
        raise UsageError(f"horde keys: say what to do (usage: {USAGE})")
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
