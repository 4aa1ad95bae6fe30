"""Loading a locustfile: its user classes and shape, or one clear line saying what is wrong with it."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import ModuleType

from horde.runtime.locust_alias import locust_alias
from horde.runtime.shape import LoadTestShape
from horde.runtime.users import User


class LocustfileError(Exception):
    """The locustfile cannot be used; the message is one line meant for the command line.

    ``exit_code`` is the one Locust gives: 1 for a locustfile it cannot find, import or use (no User class, an
    unknown class named on the command line, every class of weight 0), the locustfile's own for a ``sys.exit``
    while it is imported. A bad flag is 2 (argparse's), not this.
    """

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Locustfile:
    path: str
    user_classes: dict[str, type[User]]
    shape_class: type[LoadTestShape] | None = None
    """The LoadTestShape that drives the run: the locustfile's one (None with none, or with several)."""
    paths: tuple[str, ...] = ()
    """Every file imported (one, or several for a directory or a comma-separated list)."""
    shape_classes: dict[str, type[LoadTestShape]] = field(default_factory=dict)
    """Every LoadTestShape found, by class name: the web UI's `--class-picker` chooses among several."""


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _import(path: str) -> ModuleType:
    directory, filename = os.path.split(path)
    module_name = os.path.splitext(filename)[0]
    if directory not in sys.path:
        # as Locust: modules next to the locustfile are importable from it
        sys.path.insert(0, directory)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise LocustfileError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(module_name)
    sys.modules[module_name] = module
    try:
        # `from locust import ...` in the locustfile and in what it imports means horde (ADR 0015)
        with locust_alias():
            spec.loader.exec_module(module)
    except SyntaxError as e:
        _restore(module_name, previous)
        where = f"{e.filename or path}:{e.lineno}" if e.lineno else (e.filename or path)
        raise LocustfileError(f"syntax error in {where}: {e.msg}") from e
    except ImportError as e:
        _restore(module_name, previous)
        failed = f"module {e.name!r}" if e.name else "a module"
        raise LocustfileError(f"{path}: failed to import {failed}: {_one_line(str(e))}") from e
    except SystemExit as e:
        # Locust lets the process exit with the code given; horde too, saying why instead of nothing
        _restore(module_name, previous)
        code, shown = _exit_code(e.code)
        raise LocustfileError(f"{path}{_line_in(path, e)}: sys.exit({shown}) called while importing", code) from e
    except Exception as e:
        _restore(module_name, previous)
        raise LocustfileError(
            f"{path}{_line_in(path, e)}: {type(e).__name__} while importing: {_one_line(str(e))}"
        ) from e
    return module


def _line_in(path: str, exception: BaseException) -> str:
    """``:N``, the last line of ``path`` that the exception went through, or nothing."""
    line = ""
    tb = exception.__traceback__
    while tb is not None:
        if os.path.abspath(tb.tb_frame.f_code.co_filename) == path:
            line = f":{tb.tb_lineno}"
        tb = tb.tb_next
    return line


def _exit_code(code: object) -> tuple[int, str]:
    """The process exit code for ``sys.exit(code)``, as Python gives it, and the argument as written."""
    if code is None:
        return 0, ""
    if isinstance(code, int):
        return code, str(code)
    return 1, repr(code)


def _restore(module_name: str, previous: ModuleType | None) -> None:
    if previous is None:
        sys.modules.pop(module_name, None)
    else:
        sys.modules[module_name] = previous


DEFAULT_LOCUSTFILE = "locustfile"
"""`-f`'s default, as Locust's: `locustfile.py` in the current directory or the nearest parent that has one."""

_loaded: dict[str, tuple[int, ModuleType]] = {}
"""Modules imported in this process by path, with the file's mtime: the command line imports the locustfile to
let it add arguments before it parses them (as Locust does), and the run must not import it a second time (its
module-level listeners would then be registered twice)."""


def locustfile_paths(value: str, cwd: str | None = None) -> list[str]:
    """The files that `-f VALUE` names, by Locust's rules: a `.py` file (the suffix may be left out), a directory
    (every `.py` file under it but those starting with `_` and `locust.py`), a comma-separated list of `.py`
    files, or a module importable from the current directory (`pkg.module`)."""
    cwd = os.path.abspath(cwd or os.getcwd())
    parts = [part.strip() for part in value.split(",") if part.strip()]
    if not parts:
        raise LocustfileError("-f/--locustfile is empty")
    if len(parts) > 1:
        for part in parts:
            if not part.endswith(".py"):
                raise LocustfileError(f"invalid locustfile {part!r}: each file of a list must end with .py")
        paths = [os.path.join(cwd, os.path.expanduser(part)) for part in parts]
        for path in paths:
            _check_name(path)
            if not os.path.isfile(path):
                raise LocustfileError(f"could not find locustfile {path!r}")
        return [os.path.abspath(path) for path in paths]
    return [os.path.abspath(path) for path in _one(parts[0], cwd)]


def _one(value: str, cwd: str) -> list[str]:
    expanded = os.path.join(cwd, os.path.expanduser(value))
    if value == DEFAULT_LOCUSTFILE:
        folder = cwd
        while True:
            candidate = os.path.join(folder, "locustfile.py")
            if os.path.isfile(candidate):
                return [candidate]
            parent = os.path.dirname(folder)
            if parent == folder:
                raise LocustfileError("could not find locustfile 'locustfile.py' (give one with -f FILE)")
            folder = parent
    if not value.endswith(".py") and os.path.isfile(expanded + ".py"):
        return [_check_name(expanded + ".py")]
    if os.path.isdir(expanded):
        found = sorted(
            os.path.join(root, name)
            for root, _, names in os.walk(expanded)
            for name in names
            if name.endswith(".py") and not name.startswith("_") and name.lower() != "locust.py"
        )
        if not found:
            raise LocustfileError(f"could not find any locustfile in directory {value!r}")
        return found
    if os.path.isfile(expanded):
        return [_check_name(expanded)]
    module = _module_file(value, cwd)
    if module is not None:
        return [module]
    raise LocustfileError(f"could not find locustfile {value!r}")


def _check_name(path: str) -> str:
    if os.path.basename(path) == "locust.py":
        raise LocustfileError(f"{path}: a locustfile must not be named locust.py (it would hide the locust package)")
    return path


def _module_file(name: str, cwd: str) -> str | None:
    """The file of module `name` (`pkg.module`) as imported from `cwd`, if it is a Python source file."""
    if not all(part.isidentifier() for part in name.split(".")):
        return None
    candidate = os.path.join(cwd, *name.split(".")) + ".py"
    return candidate if os.path.isfile(candidate) else None


def load_locustfile(path: str) -> Locustfile:
    """Imports the locustfile(s) `-f` names (see `locustfile_paths`) and finds their non-abstract User classes
    (defined or imported there) and their LoadTestShape, if any; several files are merged into one `Locustfile`."""
    paths = locustfile_paths(path)
    users: dict[str, type[User]] = {}
    shapes: dict[str, type[LoadTestShape]] = {}
    for one in paths:
        module = _import_once(one)
        for value in vars(module).values():
            if not inspect.isclass(value):
                continue
            if issubclass(value, User) and not value.abstract:
                known = users.get(value.__name__)
                if known is not None and known is not value:
                    raise LocustfileError(
                        f"duplicate user class name {value.__name__}: defined in {_file_of(known)} "
                        f"and in {_file_of(value)}"
                    )
                users[value.__name__] = value
            elif issubclass(value, LoadTestShape) and not value.abstract:
                known_shape = shapes.get(value.__name__)
                if known_shape is not None and known_shape is not value:
                    raise LocustfileError(
                        f"duplicate LoadTestShape class name {value.__name__}: defined in {_file_of(known_shape)} "
                        f"and in {_file_of(value)}"
                    )
                shapes[value.__name__] = value
    where = paths[0] if len(paths) == 1 else f"{path} ({len(paths)} files)"
    if not users:
        raise LocustfileError(f"no User class found in {where} (a non-abstract subclass of User)")
    return Locustfile(
        path=paths[0] if len(paths) == 1 else path,
        user_classes=dict(sorted(users.items())),
        shape_class=next(iter(shapes.values())) if len(shapes) == 1 else None,
        paths=tuple(paths),
        shape_classes=dict(sorted(shapes.items())),
    )


def several_shapes(locustfile: Locustfile) -> str | None:
    """Why a run cannot use this locustfile as it is: several LoadTestShape classes and nothing to choose one with
    (the web UI's `--class-picker` can); None if it can."""
    if len(locustfile.shape_classes) <= 1:
        return None
    names = ", ".join(locustfile.shape_classes)
    return (
        f"{locustfile.path} defines several LoadTestShape classes ({names}); keep one, or choose one per test in "
        "the web UI with --class-picker"
    )


def _file_of(cls: type) -> str:
    try:
        return inspect.getfile(cls)
    except TypeError:
        return cls.__module__


def _import_once(path: str) -> ModuleType:
    """The module of `path`, imported once per process unless the file changed since."""
    mtime = os.stat(path).st_mtime_ns
    cached = _loaded.get(path)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    module = _import(path)
    _loaded[path] = (mtime, module)
    return module


def select_user_classes(locustfile: Locustfile, names: Sequence[str]) -> dict[str, type[User]]:
    """The user classes named on the command line, or all of them when none is named, without those that can
    never get a user (weight 0, no fixed_count), as Locust leaves them out; none left is an error (exit 1)."""
    if names:
        unknown = [name for name in names if name not in locustfile.user_classes]
        if unknown:
            known = ", ".join(locustfile.user_classes)
            raise LocustfileError(f"unknown user class {', '.join(unknown)}; {locustfile.path} defines: {known}")
        chosen = {name: locustfile.user_classes[name] for name in names}
    else:
        chosen = dict(locustfile.user_classes)
    weighted = {name: cls for name, cls in chosen.items() if _can_have_users(cls)}
    if not weighted:
        raise LocustfileError(
            f"no user class with a weight above 0 or a fixed_count among {', '.join(chosen)}; nobody would run",
            exit_code=1,
        )
    return weighted


def _can_have_users(user_class: type[User]) -> bool:
    weight = getattr(user_class, "weight", 1)
    fixed_count = getattr(user_class, "fixed_count", 0) or 0
    return bool(fixed_count > 0 or (isinstance(weight, (int, float)) and weight > 0))
