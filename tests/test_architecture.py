"""The import rules of docs/architecture.md, checked on the code: a wrong arrow between packages fails here.

Every `import` and `from ... import` of every module under horde/ is read with `ast` (those under
`if TYPE_CHECKING:` too: a type-only arrow is still an arrow a reader follows), and each one that crosses from one
package of horde to another must be allowed by `MAY_IMPORT`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HORDE = Path(__file__).resolve().parents[1] / "horde"

# The layers, bottom up; each may import those listed (and itself). Mirrors docs/architecture.md.
MAY_IMPORT: dict[str, frozenset[str]] = {
    "protocol": frozenset(),
    "stats": frozenset({"protocol"}),
    "runtime": frozenset({"protocol", "stats"}),
    "actors": frozenset({"protocol", "stats", "runtime"}),
    "plugin": frozenset({"protocol", "stats", "runtime", "actors"}),
    "run": frozenset({"protocol", "stats", "runtime", "actors", "plugin"}),
    "plugins": frozenset({"protocol", "stats", "runtime", "plugin"}),
    "web": frozenset({"protocol", "stats", "runtime", "actors", "plugin", "run"}),
    "cli": frozenset(
        {"protocol", "stats", "runtime", "actors", "plugin", "run", "plugins", "web", "facade", "examples"}
    ),
    "facade": frozenset({"protocol", "stats", "runtime", "actors"}),
    "main": frozenset({"cli"}),
    "version": frozenset(),
    "examples": frozenset({"facade"}),
}
"""`facade` is what a locustfile imports (`horde`, `horde.runners`, ...): Locust's names over the layers below.
`main` is `python -m horde`, which only hands over to the CLI; `version` (`horde._version`) every layer may read."""

FACADE_MODULES = {"horde", "horde.runners", "horde.events", "horde.exception", "horde.env"}


def package_of(module: str) -> str:
    """The layer a dotted module name belongs to."""
    if module == "horde.__main__":
        return "main"
    if module == "horde._version":
        return "version"
    parts = module.split(".")
    if len(parts) == 1 or module in FACADE_MODULES:
        return "facade"
    return parts[1] if parts[1] in MAY_IMPORT else "facade"


def module_name(path: Path) -> str:
    relative = path.relative_to(HORDE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(module: str, source: str, is_package: bool) -> list[tuple[int, str]]:
    """(line, imported module) of every import of horde in `source`, relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names if alias.name.split(".")[0] == "horde"]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] == "horde":
                found.append((node.lineno, target))
    return found


def wrong_imports(module: str, source: str, is_package: bool = False) -> list[str]:
    layer = package_of(module)
    return [
        f"{module}:{line} ({layer}) imports {target} ({package_of(target)})"
        for line, target in imports_of(module, source, is_package)
        if package_of(target) not in (layer, "version") and package_of(target) not in MAY_IMPORT[layer]
    ]


def all_modules() -> list[Path]:
    return sorted(HORDE.rglob("*.py"))


def test_every_module_belongs_to_a_known_layer() -> None:
    assert all(package_of(module_name(path)) in MAY_IMPORT for path in all_modules())


@pytest.mark.parametrize("path", all_modules(), ids=lambda p: str(p.relative_to(HORDE.parent)))
def test_imports_only_go_down(path: Path) -> None:
    wrong = wrong_imports(module_name(path), path.read_text(encoding="utf-8"), path.name == "__init__.py")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


def test_the_checker_sees_a_wrong_arrow() -> None:
    """An arrow up (protocol to actors, runtime to the CLI, a bundled plugin to the host) is caught, relative or
    not, type-only or not; arrows down are not."""
    up = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from horde.actors.master import Master\n"
    assert wrong_imports("horde.protocol.codec", up) == [
        "horde.protocol.codec:3 (protocol) imports horde.actors.master (actors)"
    ]
    assert wrong_imports("horde.runtime.users", "from ..cli import app\n") == [
        "horde.runtime.users:1 (runtime) imports horde.cli (cli)"
    ]
    assert wrong_imports("horde.plugins.console", "import horde.actors.journal\n") != []
    assert wrong_imports("horde.run.lifecycle", "from horde.actors.master import Master\n") == []
    assert wrong_imports("horde.actors", "from . import master\n", is_package=True) == []
