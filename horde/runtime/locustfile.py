"""Loading a locustfile: its user classes and shape, or one clear line saying what is wrong with it."""

from __future__ import annotations

import importlib.util
import inspect
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType

from horde.runtime.locust_alias import locust_alias
from horde.runtime.shape import LoadTestShape
from horde.runtime.users import User


class LocustfileError(Exception):
    """The locustfile cannot be used; the message is one line meant for the command line.

    ``exit_code`` is the one Locust gives for a fault of the locustfile where it has its own: 1 when every class
    has weight 0, the locustfile's own for a ``sys.exit`` while it is imported; 2 (bad input) else, a class named
    on the command line that the file does not define included.
    """

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True, slots=True)
class Locustfile:
    path: str
    user_classes: dict[str, type[User]]
    shape_class: type[LoadTestShape] | None = None


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


def load_locustfile(path: str) -> Locustfile:
    """Imports the locustfile at ``path`` and finds its non-abstract User classes (defined or imported there)
    and its LoadTestShape, if any."""
    if not path.endswith(".py") and os.path.exists(path + ".py"):
        path += ".py"
    if not os.path.isfile(path):
        raise LocustfileError(f"could not find locustfile {path!r}")
    path = os.path.abspath(path)
    module = _import(path)
    users: dict[str, type[User]] = {}
    shapes: list[type[LoadTestShape]] = []
    for value in vars(module).values():
        if not inspect.isclass(value):
            continue
        if issubclass(value, User) and not value.abstract:
            users[value.__name__] = value
        elif issubclass(value, LoadTestShape) and not value.abstract:
            shapes.append(value)
    if not users:
        raise LocustfileError(f"no User class found in {path} (a non-abstract subclass of User)")
    if len(shapes) > 1:
        names = ", ".join(sorted(shape.__name__ for shape in shapes))
        raise LocustfileError(f"{path} defines several LoadTestShape classes ({names}); keep one")
    return Locustfile(
        path=path,
        user_classes=dict(sorted(users.items())),
        shape_class=shapes[0] if shapes else None,
    )


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
