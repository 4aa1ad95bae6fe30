"""The demo target and the `horde` runner of the CLI tests, shared with the plugin tests."""

from tests.cli.conftest import fresh_target, target

__all__ = ["fresh_target", "target"]
