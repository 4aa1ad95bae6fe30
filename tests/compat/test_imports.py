"""`import locust` while horde loads a locustfile, and Locust's module map under both names (ADR 0015)."""

from __future__ import annotations

import importlib
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import horde
from horde.runtime.locust_alias import horde_name, locust_alias
from horde.runtime.locustfile import load_locustfile

LOCUSTFILES = Path(__file__).parent / "locustfiles"

# Locust's public modules and the names locustfiles take from them
MODULE_MAP: dict[str, list[str]] = {
    "locust": [
        "SequentialTaskSet", "MarkovTaskSet", "transition", "transitions", "wait_time", "task", "tag", "TaskSet",
        "HttpUser", "FastHttpUser", "User", "between", "constant", "constant_pacing", "constant_throughput",
        "events", "LoadTestShape", "run_single_user", "__version__",
    ],
    "locust.exception": [
        "LocustError", "ResponseError", "CatchResponseError", "MissingWaitTimeError", "InterruptTaskSet", "StopTest",
        "StopUser", "RescheduleTask", "RescheduleTaskImmediately", "RPCError", "RPCSendError", "RPCReceiveError",
        "RunnerAlreadyExistsError",
    ],
    "locust.env": ["Environment"],
    "locust.event": ["EventHook", "Events"],
    "locust.clients": ["HttpSession", "ResponseContextManager"],
    "locust.contrib.fasthttp": [
        "FastHttpUser", "FastHttpSession", "FastResponse", "ResponseContextManager", "RestResponseContextManager",
    ],
    "locust.user": ["HttpUser", "TaskSet", "User", "tag", "task"],
    "locust.user.task": ["TaskSet", "TaskSetMeta", "DefaultTaskSet", "task", "tag", "filter_tasks_by_tags"],
    "locust.user.users": ["User", "HttpUser", "UserMeta"],
    "locust.user.wait_time": ["between", "constant", "constant_pacing", "constant_throughput"],
    "locust.user.sequential_taskset": ["SequentialTaskSet"],
    "locust.user.markov_taskset": [
        "MarkovTaskSet", "transition", "transitions", "NoMarkovTasksError", "InvalidTransitionError",
        "NonMarkovTaskTransitionError", "MarkovTaskTagError",
    ],
    "locust.log": ["setup_logging", "greenlet_exception_logger", "unhandled_greenlet_exception"],
    "locust.debug": ["run_single_user"],
    "locust.shape": ["LoadTestShape"],
}  # fmt: skip


def _locust_modules() -> dict[str, object]:
    return {name: module for name, module in sys.modules.items() if horde_name(name) is not None}


@pytest.fixture
def no_locust() -> Iterator[None]:
    """Whatever `locust` modules this process has are set aside for the test and put back after it."""
    saved = _locust_modules()
    for name in saved:
        del sys.modules[name]
    try:
        yield
    finally:
        for name in _locust_modules():
            del sys.modules[name]
        sys.modules.update(saved)  # type: ignore[arg-type]


@pytest.mark.parametrize("locust_name", list(MODULE_MAP))
def test_each_locust_module_is_the_horde_module_with_the_same_objects(locust_name: str, no_locust: None) -> None:
    horde_module = importlib.import_module(horde_name(locust_name) or "")
    with locust_alias():
        aliased = importlib.import_module(locust_name)
        assert aliased is horde_module
        for name in MODULE_MAP[locust_name]:
            assert getattr(aliased, name) is getattr(horde_module, name), name
    assert _locust_modules() == {}, "the alias leaves nothing behind"


def test_from_imports_and_isinstance_agree_under_both_names(no_locust: None) -> None:
    with locust_alias():
        from locust import HttpUser, MarkovTaskSet, wait_time
        from locust.exception import StopUser
        from locust.user.markov_taskset import MarkovTaskSet as Markov

    assert HttpUser is horde.HttpUser
    assert Markov is MarkovTaskSet is horde.MarkovTaskSet
    assert wait_time.between is horde.between
    assert isinstance(StopUser(), horde.StopUser)


def test_a_name_horde_lacks_is_a_plain_module_not_found(no_locust: None) -> None:
    with locust_alias(), pytest.raises(ModuleNotFoundError):
        importlib.import_module("locust.webui_that_horde_does_not_have")


def test_a_locustfile_and_the_helper_it_imports_get_horde(no_locust: None) -> None:
    loaded = load_locustfile(str(LOCUSTFILES / "import_shop.py"))
    shopper = loaded.user_classes["Shopper"]
    assert issubclass(shopper, horde.HttpUser)
    helper = sys.modules["import_lib"]
    assert helper.browse_item in shopper.tasks
    assert helper.StopUser is horde.StopUser
    assert _locust_modules() == {}


def test_a_real_locust_is_set_aside_while_loading_and_put_back_after(tmp_path: Path, no_locust: None) -> None:
    """A stand-in for an installed Locust: a `locust` package earlier on sys.path, imported before horde loads."""
    fake = tmp_path / "site" / "locust"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("REAL = True\n")
    (fake / "exception.py").write_text("class StopUser(Exception):\n    pass\n")
    sys.path.insert(0, str(fake.parent))
    try:
        import locust
        import locust.exception

        assert locust.REAL
        real, real_exception = locust, locust.exception
        # A copy of the locustfile and its helper, so both are imported afresh with the real Locust there (a
        # locustfile already loaded in this process is not imported again).
        copies = tmp_path / "copies"
        copies.mkdir()
        for name in ("import_shop.py", "import_lib.py"):
            shutil.copy(LOCUSTFILES / name, copies / name)
        sys.modules.pop("import_lib", None)
        loaded = load_locustfile(str(copies / "import_shop.py"))
        assert issubclass(loaded.user_classes["Shopper"], horde.HttpUser)
        assert sys.modules["import_lib"].StopUser is horde.StopUser

        assert sys.modules["locust"] is real
        assert sys.modules["locust.exception"] is real_exception
        again = importlib.import_module("locust.exception")
        assert again is real_exception and again.StopUser is not horde.StopUser
        with locust_alias():
            assert importlib.import_module("locust") is horde
        assert importlib.import_module("locust") is real
    finally:
        sys.path.remove(str(fake.parent))


def test_the_alias_nests() -> None:
    with locust_alias():
        with locust_alias():
            assert importlib.import_module("locust") is horde
        assert importlib.import_module("locust") is horde
