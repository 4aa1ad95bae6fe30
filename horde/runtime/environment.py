"""The Environment a test's users see, with Locust's attribute names."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from horde.runtime.events import Events
from horde.runtime.events import events as default_events
from horde.runtime.tasks import filter_tasks_by_tags

if TYPE_CHECKING:
    from horde.runtime.shape import LoadTestShape
    from horde.runtime.users import User


class RequestListener(Protocol):
    """What the Environment needs of a statistics recorder: the request hook's listener."""

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        exception: BaseException | None = None,
        **kwargs: Any,
    ) -> None: ...


class RunnerFactory(Protocol):
    """How an Environment made by user code gets a runner (Environment as a library, ADR 0016).

    `horde.run` owns the lifecycle of a run and implements this; the runtime only declares it, so it never
    imports the layers above it.
    """

    def local(self, environment: Environment) -> Any: ...

    def master(self, environment: Environment, bind_host: str, bind_port: int) -> Any: ...

    def worker(self, environment: Environment, master_host: str, master_port: int) -> Any: ...


RUNNER_FACTORY_MODULE = "horde.run.library"
"""The module that installs the RunnerFactory when it is imported; loaded on the first create_*_runner."""


class WebUIFactory(Protocol):
    """How an Environment made by user code gets its web UI (`create_web_ui`): `horde.web` implements it over
    the run its runner drives; the runtime only declares it, as for the RunnerFactory."""

    def web_ui(
        self,
        environment: Environment,
        host: str,
        port: int,
        web_base_path: str | None,
        web_login: bool,
        tls_cert: str | None,
        tls_key: str | None,
        delayed_start: bool,
    ) -> Any: ...


WEB_UI_FACTORY_MODULE = "horde.web.library"
"""The module that installs the WebUIFactory when it is imported; loaded on the first create_web_ui (and only
then: Flask is not imported by a script that has no page)."""


class Environment:
    """Everything a test shares: user classes, event hooks, host, options, statistics, and later the runner.

    ``events`` defaults to the module-level ``horde.events``, because locustfiles add their listeners to that
    one at import time. The statistics recorder's ``on_request`` is registered before every other request
    listener, so a request reaches it in one call from ``fire``.

    ``recorder`` is what this process's users record into; ``stats`` is what user code reads. On a worker they
    are the same object; a local run or a master sets ``stats`` to Locust's reading API over the run's merged
    statistics (ADR 0016), and the recorder stays the request hook's first listener.
    """

    def __init__(
        self,
        user_classes: Iterable[type[User]] | None = None,
        events: Events | None = None,
        host: str | None = None,
        tags: Iterable[str] | None = None,
        exclude_tags: Iterable[str] | None = None,
        stop_timeout: float | None = None,
        parsed_options: Any = None,
        shape_class: type[LoadTestShape] | LoadTestShape | None = None,
        stats: RequestListener | None = None,
        catch_exceptions: bool = True,
        reset_stats: bool = False,
        profile: str | None = None,
    ) -> None:
        self.user_classes: list[type[User]] = list(user_classes or [])
        self.events = events if events is not None else default_events
        self.host = host
        self.tags = list(tags) if tags is not None else None
        self.exclude_tags = list(exclude_tags) if exclude_tags is not None else None
        self.stop_timeout = stop_timeout
        self.parsed_options = parsed_options
        self.shape_class = shape_class
        self.catch_exceptions = catch_exceptions
        self.reset_stats = reset_stats
        self.profile = profile
        """Locust's `--profile`: a name grouping test runs, shown in the reports."""
        self.runner: Any = None
        self.web_ui: Any = None
        self.process_exit_code: int | None = None
        self.stats: Any = None
        self.recorder: RequestListener | None = None
        self._tags_applied = False
        self.available_user_tasks: dict[str, list[Any]] = {
            cls.__name__: list(getattr(cls, "tasks", [])) for cls in self.user_classes
        }
        """Each class's tasks as the locustfile declared them: `update_user_class` picks from these by name, so
        applying the same settings again gives the same tasks."""
        names = [cls.__name__ for cls in self.user_classes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"user class names must be unique, found several {', '.join(duplicates)}")
        if stats is not None:
            self.attach_stats(stats)

    runner_factory: ClassVar[RunnerFactory | None] = None
    """Installed by `horde.run.library`."""

    def create_local_runner(self) -> Any:
        """A run of this Environment's user classes in this process; start it with `runner.start(users, rate)`,
        end it with `runner.quit()`, wait for its end with `runner.greenlet.join()`."""
        return self._runners().local(self)

    def create_master_runner(self, master_bind_host: str = "*", master_bind_port: int = 5557) -> Any:
        """A master for worker processes (`horde run --worker` or `create_worker_runner`) to connect to."""
        return self._runners().master(self, master_bind_host, master_bind_port)

    def create_worker_runner(self, master_host: str, master_port: int) -> Any:
        """A worker of the master at `master_host:master_port`, running this Environment's user classes."""
        return self._runners().worker(self, master_host, master_port)

    web_ui_factory: ClassVar[WebUIFactory | None] = None
    """Installed by `horde.web.library`."""

    def create_web_ui(
        self,
        host: str = "",
        port: int = 8089,
        web_base_path: str | None = None,
        web_login: bool = False,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        stats_csv_writer: Any = None,
        delayed_start: bool = False,
        userclass_picker_is_active: bool = False,
        build_path: str | None = None,
    ) -> Any:
        """The web UI of this Environment's run, serving at once on `host:port` (`""`: every interface) unless
        `delayed_start` (then `web_ui.start()` serves it, once the script has added its routes), as Locust's.
        Create the runner first: the page shows and steers that run. Returns it, as `environment.web_ui` too.

        `stats_csv_writer`, `userclass_picker_is_active` and `build_path` are accepted for Locust's scripts and
        change nothing: the page's CSV downloads are the run's own, and horde's page is not Locust's build."""
        del stats_csv_writer, userclass_picker_is_active, build_path
        if Environment.web_ui_factory is None:
            importlib.import_module(WEB_UI_FACTORY_MODULE)
        assert Environment.web_ui_factory is not None, f"{WEB_UI_FACTORY_MODULE} installs the web UI factory"
        self.web_ui = Environment.web_ui_factory.web_ui(
            self, host, port, web_base_path, web_login, tls_cert, tls_key, delayed_start
        )
        return self.web_ui

    def _runners(self) -> RunnerFactory:
        if self.runner is not None:
            raise RuntimeError("this Environment already has a runner; make a new Environment for another run")
        if Environment.runner_factory is None:
            importlib.import_module(RUNNER_FACTORY_MODULE)
        assert Environment.runner_factory is not None, f"{RUNNER_FACTORY_MODULE} installs the runner factory"
        return Environment.runner_factory

    @property
    def user_classes_by_name(self) -> dict[str, type[User]]:
        return {cls.__name__: cls for cls in self.user_classes}

    def attach_stats(self, stats: RequestListener) -> None:
        """Makes ``stats`` the recorder (and ``environment.stats``), first listener of ``events.request``."""
        if self.recorder is not None:
            self.detach_stats()
        self.recorder = stats
        self.stats = stats
        self.events.request.insert_listener(stats.on_request)

    def detach_stats(self) -> None:
        """Unregisters the recorder, so a later Environment on the shared ``events`` does not feed it; statistics
        that are not the recorder (a local run's final ones) stay readable."""
        recorder, self.recorder = self.recorder, None
        if recorder is not None:
            with contextlib.suppress(ValueError):
                self.events.request.remove_listener(recorder.on_request)
            if self.stats is recorder:
                self.stats = None

    def update_user_class(self, user_settings: dict[str, Any]) -> None:
        """Locust's `--config-users`: set a user class's attributes (`weight`, `fixed_count`, `host`, ...) and keep
        only its `tasks` of those names. A class this run does not have is a `ValueError`, not a silent no-op."""
        name = user_settings.get("user_class_name")
        user_class = self.user_classes_by_name.get(name) if isinstance(name, str) else None
        if user_class is None:
            known = ", ".join(sorted(self.user_classes_by_name)) or "none"
            raise ValueError(f"no User class {name!r} in this run (its classes: {known})")
        if "wait_time" in user_settings:
            raise ValueError(f"{name}: wait_time is a function in the locustfile; it cannot be set from JSON")
        for key, value in user_settings.items():
            if key == "tasks":
                if not isinstance(value, list):
                    raise ValueError(f"{name}: tasks must be a list of task names")
                declared = self.available_user_tasks.get(user_class.__name__, [])
                names = {getattr(task, "__name__", None) for task in declared}
                unknown = [task_name for task_name in value if task_name not in names]
                if unknown:
                    known = ", ".join(sorted(str(n) for n in names))
                    raise ValueError(f"{name} has no task {', '.join(map(str, unknown))} (its tasks: {known})")
                user_class.tasks = [task for task in declared if getattr(task, "__name__", None) in value]
            elif key != "user_class_name":
                setattr(user_class, key, value)

    def configure_user_classes(self, configs: Iterable[Mapping[str, Any]], equal_weights: bool) -> None:
        """`--config-users` and `--equal-weights` together, in Locust's order: each class's settings, then the
        equal weights. A master applies them before it weighs the classes, a worker before a step's users run."""
        for config in configs:
            self.update_user_class(dict(config))
        if equal_weights:
            self.assign_equal_weights()

    def assign_equal_weights(self) -> None:
        """Locust's `--equal-weights`: every user class weight 1, and each class's tasks, nested TaskSets
        flattened, each once, so every task is as likely as any other whatever the locustfile's weights."""
        for user_class in self.user_classes:
            user_class.weight = 1
            flat: list[Any] = []
            frontier = list(getattr(user_class, "tasks", []))
            while frontier:
                task = frontier.pop()
                if hasattr(task, "tasks"):  # a TaskSet: its own tasks instead
                    frontier.extend(task.tasks)
                elif callable(task):
                    if task not in flat:
                        flat.append(task)
                else:
                    raise ValueError(f"{user_class.__name__}: unrecognised task {task!r}")
            user_class.tasks = flat

    def apply_tag_filters(self) -> None:
        """Filters the user classes' tasks by tags, once per test (it edits the classes)."""
        if self._tags_applied:
            return
        self._tags_applied = True
        filter_tasks_by_tags(self.user_classes, self.tags, self.exclude_tags)
