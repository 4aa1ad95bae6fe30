"""``import locust`` while horde loads user code: Locust's module names resolve to horde's modules (ADR 0015).

The alias maps ``locust`` to ``horde`` and ``locust.X`` to ``horde.X``, handing out horde's own module objects, so
``locust.HttpUser is horde.HttpUser`` and isinstance checks agree whichever name a file used. It is installed at the
front of ``sys.meta_path`` only while it is active, and it sets aside any real Locust already imported, so a real
Locust in the same environment neither wins inside a horde locustfile nor is disturbed outside it.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType

ALIAS = "locust"
TARGET = "horde"


def horde_name(name: str) -> str | None:
    """The horde module a Locust module name stands for, or None for a name outside ``locust``."""
    if name == ALIAS:
        return TARGET
    if name.startswith(ALIAS + "."):
        return TARGET + name[len(ALIAS) :]
    return None


def _is_alias(name: str) -> bool:
    return horde_name(name) is not None


class _AliasLoader(importlib.abc.Loader):
    """Puts horde's module in ``sys.modules`` under the Locust name; the import system then hands that out."""

    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a throwaway module; exec_module replaces it with horde's own

    def exec_module(self, module: ModuleType) -> None:
        sys.modules[module.__name__] = importlib.import_module(self._target)


class LocustAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``locust`` and ``locust.X`` as horde's modules; a name horde lacks is not found (ModuleNotFoundError)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        horde = horde_name(fullname)
        if horde is None or importlib.util.find_spec(horde) is None:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(horde), is_package=True)


_lock = threading.RLock()
_depth = 0
_finder = LocustAliasFinder()
_set_aside: dict[str, ModuleType] = {}


@contextmanager
def locust_alias() -> Iterator[None]:
    """Makes ``import locust`` mean horde for the duration of the block (re-entrant).

    On leaving, the aliased names are dropped from ``sys.modules`` and a real Locust imported before is put back;
    what user code bound while the alias was active keeps pointing at horde's objects.
    """
    global _depth
    with _lock:
        if _depth == 0:
            _set_aside.clear()
            for name in [name for name in sys.modules if _is_alias(name)]:
                _set_aside[name] = sys.modules.pop(name)
            sys.meta_path.insert(0, _finder)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                sys.meta_path.remove(_finder)
                for name in [name for name in sys.modules if _is_alias(name)]:
                    del sys.modules[name]
                sys.modules.update(_set_aside)
                _set_aside.clear()
