"""The `horde` command.

gevent must patch the standard library before anything else is imported (ADR 0002), so this module patches first
and imports the rest of horde only afterwards.
"""

from gevent import monkey

monkey.patch_all()

import sys


def main(argv: list[str] | None = None) -> int:
    from horde.cli.app import run_cli

    code = run_cli(sys.argv[1:] if argv is None else argv)
    sys.stdout.flush()
    return code


if __name__ == "__main__":
    sys.exit(main())
