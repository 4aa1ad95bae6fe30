"""A master and its workers as real processes (the demo target is the root conftest's)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import LOCUSTFILES, Cluster


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster running tests/locustfiles/two_classes.py unless a process is given another `-f`."""
    c = Cluster(tmp_path, str(LOCUSTFILES / "two_classes.py"))
    try:
        yield c
    finally:
        c.close()
