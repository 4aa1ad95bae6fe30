"""Loading locustfiles (and their errors), then running the example locustfiles against the local server."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import gevent
import pytest

import horde
from horde import Environment, Events
from horde.runtime.locustfile import (
    DEFAULT_LOCUSTFILE,
    LocustfileError,
    load_locustfile,
    locustfile_paths,
    select_user_classes,
)
from horde.runtime.user_pool import UserPool
from tests.support.demo_server import CountingRecorder, DemoServer

LOCUSTFILES = Path(__file__).parent.parent / "locustfiles"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_finds_non_abstract_users_sorted_and_the_shape() -> None:
    mixed = load_locustfile(str(LOCUSTFILES / "mixed.py"))
    assert list(mixed.user_classes) == ["Admin", "ApiClient", "SlowReader"]
    assert mixed.shape_class is not None and mixed.shape_class.__name__ == "StepLoad"
    assert mixed.path == str(LOCUSTFILES / "mixed.py")
    shop = load_locustfile(str(LOCUSTFILES / "shop"))
    assert list(shop.user_classes) == ["Shopper"] and shop.shape_class is None


def test_imported_user_classes_count_too(tmp_path: Path) -> None:
    write(tmp_path, "common_users.py", "from horde import User\nclass Shared(User):\n    pass\n")
    path = write(tmp_path, "main_file.py", "from common_users import Shared\n")
    assert list(load_locustfile(path).user_classes) == ["Shared"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(LocustfileError, match="could not find locustfile") as info:
        load_locustfile(str(tmp_path / "nope.py"))
    assert "\n" not in str(info.value)


def test_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "broken_syntax.py", "from horde import User\n\nclass A(User)\n    pass\n")
    with pytest.raises(LocustfileError) as info:
        load_locustfile(path)
    assert f"{path}:3" in str(info.value) and "\n" not in str(info.value)


def test_import_error_names_the_module(tmp_path: Path) -> None:
    path = write(tmp_path, "needs_missing.py", "import definitely_not_installed_mod\n")
    with pytest.raises(LocustfileError, match="definitely_not_installed_mod") as info:
        load_locustfile(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("module", "old", "new"),
    [("locust", "Locust", "User"), ("locust", "HttpLocust", "HttpUser"),
     ("locust.contrib.fasthttp", "FastHttpLocust", "FastHttpUser")],
)  # fmt: skip
def test_a_class_renamed_in_locust_1_says_its_new_name(tmp_path: Path, module: str, old: str, new: str) -> None:
    path = write(tmp_path, "pre_1_0.py", f"from {module} import {old}\n\nclass Old({old}):\n    host = 'http://x'\n")
    with pytest.raises(LocustfileError) as info:
        load_locustfile(path)
    assert f"the {old} class was renamed {new} in Locust 1.0" in str(info.value) and "\n" not in str(info.value)


def test_exception_at_import_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, "raises_at_import.py", "x = 1\nraise RuntimeError('bad\\nconfig')\n")
    with pytest.raises(LocustfileError) as info:
        load_locustfile(path)
    message = str(info.value)
    assert f"{os.path.realpath(path)}:2" in message or f"{path}:2" in message
    assert "RuntimeError" in message and "\n" not in message


def test_no_user_class(tmp_path: Path) -> None:
    path = write(tmp_path, "no_users.py", "from horde import HttpUser\nclass Base(HttpUser):\n    abstract = True\n")
    with pytest.raises(LocustfileError, match="no User class"):
        load_locustfile(path)


def test_select_user_classes() -> None:
    mixed = load_locustfile(str(LOCUSTFILES / "mixed.py"))
    assert list(select_user_classes(mixed, [])) == ["Admin", "ApiClient", "SlowReader"]
    assert list(select_user_classes(mixed, ["SlowReader"])) == ["SlowReader"]
    with pytest.raises(LocustfileError, match=r"Nobody.*Admin, ApiClient, SlowReader"):
        select_user_classes(mixed, ["Nobody"])


def run_locustfile(
    name: str,
    server: DemoServer,
    counts: dict[str, int],
    seconds: float,
    events: Events | None = None,
    tags: list[str] | None = None,
) -> tuple[CountingRecorder, Environment]:
    locustfile = load_locustfile(str(LOCUSTFILES / name))
    recorder = CountingRecorder()
    environment = Environment(
        list(locustfile.user_classes.values()), events or Events(), host=server.url, tags=tags, stats=recorder
    )
    environment.events.test_start.fire(environment=environment)
    pool = UserPool(environment)
    pool.set_counts(counts)
    gevent.sleep(seconds)
    pool.stop_all(timeout=1)
    environment.detach_stats()
    return recorder, environment


def test_shop_runs_with_login_weights_and_grouping(server: DemoServer) -> None:
    recorder, environment = run_locustfile("shop.py", server, {"Shopper": 3}, 1.5, events=horde.events)
    counts = server.counts
    assert counts["POST /login"] == 3
    assert counts["GET /"] > counts["GET /items"] > counts["GET /cart"] > 0
    assert counts["POST /cart"] == counts["GET /cart"]
    assert counts["GET /flaky"] > 0
    assert recorder.requests[("GET", "/items/[id]")] == counts["GET /items"]
    assert not any(name.startswith("/items/") and name != "/items/[id]" for _, name in recorder.requests)
    assert set(recorder.failures) <= {("GET", "/flaky")}
    assert sum(recorder.requests.values()) == sum(counts.values())
    assert environment in sys.modules["shop"].started_environments  # its listener on horde.events ran


def test_shop_with_tags_only_runs_the_tagged_tasks(server: DemoServer) -> None:
    run_locustfile("shop.py", server, {"Shopper": 2}, 0.5, tags=["checkout"])
    assert set(server.counts) == {"POST /login", "POST /cart", "GET /cart"}
    assert server.counts["POST /cart"] > 5


def test_nested_runs_tasksets_and_sequences(server: DemoServer) -> None:
    recorder, _ = run_locustfile("nested.py", server, {"Visitor": 2}, 1.5)
    counts = server.counts
    assert counts["GET /items"] > 20 and counts["GET /"] > 5
    # the sequence is view cart, add, slow payment, interrupt: each pass does one of each, in order
    assert counts["GET /cart"] - counts["POST /cart"] in (0, 1, 2)
    assert counts["POST /cart"] - counts["GET /slow"] in (0, 1, 2)
    assert counts["GET /slow"] > 0 and recorder.requests[("GET", "payment")] == counts["GET /slow"]
    assert not recorder.failures


def test_mixed_runs_several_classes_at_their_pace(server: DemoServer) -> None:
    recorder, _ = run_locustfile("mixed.py", server, {"ApiClient": 3, "SlowReader": 1, "Admin": 1}, 1.5)
    counts = server.counts
    assert 150 <= counts["GET /items"] <= 240  # 3 users at 50 task runs/s for 1.5 s
    assert 8 <= counts["GET /slow"] <= 14  # 100 ms requests plus 10-20 ms waits
    assert 12 <= counts["GET /cart"] + counts["GET /flaky"] <= 17  # one run every 100 ms
    assert recorder.requests[("GET", "/items/[id]")] == counts["GET /items"]


def test_sys_exit_at_import_keeps_its_exit_code(tmp_path: Path) -> None:
    path = write(tmp_path, "exits_at_import.py", "import sys\n\nsys.exit(3)\n")
    with pytest.raises(LocustfileError, match=r"exits_at_import.py:3: sys.exit\(3\) called while importing") as e:
        load_locustfile(path)
    assert e.value.exit_code == 3
    path = write(tmp_path, "exits_with_text.py", "import sys\nsys.exit('no config')\n")
    with pytest.raises(LocustfileError, match=r"sys.exit\('no config'\)") as e:
        load_locustfile(path)
    assert e.value.exit_code == 1


def test_classes_of_weight_0_are_left_out_and_none_left_is_exit_1(tmp_path: Path) -> None:
    text = (
        "from horde import User, task\n"
        "class Zero(User):\n    weight = 0\n    @task\n    def t(self): pass\n"
        "class Fixed(User):\n    weight = 0\n    fixed_count = 1\n    @task\n    def t(self): pass\n"
        "class One(User):\n    @task\n    def t(self): pass\n"
    )
    locustfile = load_locustfile(write(tmp_path, "weights.py", text))
    assert list(select_user_classes(locustfile, [])) == ["Fixed", "One"]
    with pytest.raises(LocustfileError, match="no user class with a weight above 0") as e:
        select_user_classes(locustfile, ["Zero"])
    assert e.value.exit_code == 1


# --- -f as Locust takes it: a directory, a list, a module, the default -------------------------------------------


USER = "from horde import User, task\n\nclass {name}(User):\n    @task\n    def t(self):\n        pass\n"


def test_a_directory_is_every_py_file_under_it_but_underscored_ones_and_locust_py(tmp_path: Path) -> None:
    folder = tmp_path / "suite_dir"
    (folder / "deeper").mkdir(parents=True)
    write(folder, "dir_a.py", USER.format(name="DirA"))
    write(folder / "deeper", "dir_b.py", USER.format(name="DirB"))
    write(folder, "_dir_helper.py", "raise RuntimeError('must not be imported')\n")
    write(folder, "locust.py", "raise RuntimeError('must not be imported')\n")
    write(folder, "notes.txt", "not python\n")
    assert locustfile_paths(str(folder)) == [str(folder / "deeper" / "dir_b.py"), str(folder / "dir_a.py")]
    loaded = load_locustfile(str(folder))
    assert list(loaded.user_classes) == ["DirA", "DirB"] and len(loaded.paths) == 2


def test_a_comma_separated_list_merges_users_and_refuses_duplicate_names(tmp_path: Path) -> None:
    one = write(tmp_path, "list_one.py", USER.format(name="ListOne"))
    two = write(tmp_path, "list_two.py", USER.format(name="ListTwo"))
    assert list(load_locustfile(f"{one}, {two}").user_classes) == ["ListOne", "ListTwo"]
    clash = write(tmp_path, "list_clash.py", USER.format(name="ListOne"))
    with pytest.raises(LocustfileError, match="duplicate user class name ListOne"):
        load_locustfile(f"{one},{clash}")
    with pytest.raises(LocustfileError, match=r"must end with \.py"):
        locustfile_paths(f"{one},list_two")


def test_a_class_imported_by_two_files_is_one_class(tmp_path: Path) -> None:
    shared = write(tmp_path, "shared_users.py", USER.format(name="SharedOne"))
    other = write(tmp_path, "imports_shared.py", "from shared_users import SharedOne\n")
    assert list(load_locustfile(f"{shared},{other}").user_classes) == ["SharedOne"]


def test_the_default_is_locustfile_py_here_or_in_a_parent(tmp_path: Path) -> None:
    write(tmp_path, "locustfile.py", USER.format(name="Found"))
    below = tmp_path / "a" / "b"
    below.mkdir(parents=True)
    assert locustfile_paths(DEFAULT_LOCUSTFILE, str(below)) == [str(tmp_path / "locustfile.py")]
    with pytest.raises(LocustfileError, match=r"locustfile\.py"):
        locustfile_paths(DEFAULT_LOCUSTFILE, "/")


def test_a_module_name_and_a_name_without_py(tmp_path: Path) -> None:
    package = tmp_path / "mod_pkg"
    package.mkdir()
    write(package, "__init__.py", "")
    target = write(package, "mod_users.py", USER.format(name="ModUser"))
    assert locustfile_paths("mod_pkg.mod_users", str(tmp_path)) == [target]
    assert locustfile_paths("mod_pkg/mod_users", str(tmp_path)) == [target]
    with pytest.raises(LocustfileError, match=r"must not be named locust\.py"):
        write(tmp_path, "locust.py", "")
        locustfile_paths("locust.py", str(tmp_path))


def test_a_locustfile_is_imported_once_per_process_unless_it_changed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "counted_once.py",
        "import builtins\nbuiltins.horde_imports = getattr(builtins, 'horde_imports', 0) + 1\n"
        + USER.format(name="Once"),
    )
    import builtins

    first = load_locustfile(path)
    second = load_locustfile(path)
    assert first.user_classes["Once"] is second.user_classes["Once"]
    assert builtins.horde_imports == 1  # type: ignore[attr-defined]
    del builtins.horde_imports  # type: ignore[attr-defined]
