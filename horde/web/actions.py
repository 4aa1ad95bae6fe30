"""What a person does from the page, turned into the commands everything else sends the Master.

Start and retarget are the Master's `Start`, stop is its `RequestStop`, reset is the StatsAggregator's
`ResetStats`: the same commands as the command line, Ctrl-C and plugins, with `web:<who>` as their cause, so the
journal says who did it. A start also journals a `web.swarm` event with everything the form asked for (users,
rate, host, the locustfile's own arguments), which replay keeps as an opaque event and the timeline shows. A
start after Stop is a new test in the same process, as in Locust's UI (ADR 0034).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gevent
import gevent.event
import msgspec
import pykka

from horde.actors.master import RequestStop, Start
from horde.actors.plugin_host import PluginAppend
from horde.actors.stats_aggregator import ResetStats
from horde.protocol.states import RunState
from horde.run import Run
from horde.run.lifecycle import shape_clock
from horde.runtime.durations import BadDuration, seconds_of
from horde.runtime.shape import LoadTestShape

MAX_USERS = 10_000_000


class BadRequest(Exception):
    """Bad input from the page or a script: one line, HTTP 400, and the run is left as it was."""


class Refused(Exception):
    """A request the run cannot honour in its state (a test that is stopping, a past run): HTTP 409."""


@dataclass(frozen=True, slots=True)
class WebArgument:
    """A locustfile's argument registered with `include_in_web_ui`: a field of the page's form."""

    dest: str
    default: Any
    help: str = ""
    choices: tuple[Any, ...] | None = None
    is_secret: bool = False
    is_required: bool = False
    kind: str = "str"
    """How the form's text is read back: str, int, float or bool."""

    def convert(self, text: str) -> Any:
        try:
            if self.kind == "bool":
                return text.strip().lower() in ("1", "true", "yes", "on")
            value: Any = int(text) if self.kind == "int" else float(text) if self.kind == "float" else text
        except ValueError:
            raise BadRequest(f"{self.dest}: invalid {self.kind} value {text!r}") from None
        if self.choices is not None and value not in self.choices:
            raise BadRequest(f"{self.dest}: {value!r} is not one of {', '.join(map(str, self.choices))}")
        return value

    def as_json(self) -> dict[str, Any]:
        default = "" if self.is_secret else self.default
        return {
            "dest": self.dest,
            "default": default if isinstance(default, str | int | float | bool) or default is None else str(default),
            "help": self.help,
            "choices": list(self.choices) if self.choices is not None else None,
            "is_secret": self.is_secret,
            "is_required": self.is_required,
            "kind": self.kind,
        }


@dataclass(frozen=True, slots=True)
class SwarmRequest:
    users: int | None
    spawn_rate: float | None
    host: str | None
    arguments: dict[str, Any] = field(default_factory=dict)
    user_classes: tuple[str, ...] | None = None
    """The User classes ticked with `--class-picker` (None: not asked for)."""
    run_time: float | None = None
    """Locust's form field: stop this test that many seconds from now (besides `-t`, which bounds every test)."""
    profile: str | None = None
    """Locust's form field: the run's `--profile` from now on ("" clears it; None: the form had no such field)."""
    shape_class: str | None = None
    """The LoadTestShape chosen with `--class-picker` (None: Locust's "Default", the users and rate typed in)."""


STANDARD_FIELDS = frozenset({"user_count", "spawn_rate", "host", "run_time", "user_classes", "shape_class", "profile"})


def parse_swarm(
    form: Mapping[str, str],
    arguments: Mapping[str, WebArgument],
    shaped: bool,
    picked: Sequence[str] = (),
    available: Sequence[str] | None = None,
    shapes: Sequence[str] | None = None,
) -> SwarmRequest:
    """Locust's `/swarm` form, checked: a bad or unknown field is a `BadRequest` naming it. `picked` are the form's
    `user_classes` values; `available` the classes to pick from with `--class-picker` (None: no picker, and the
    field is ignored, as Locust ignores it then); `shapes` the LoadTestShape classes the picker offers, of which
    `shape_class` names one or Locust's `Default` (none: the form's users and rate)."""
    unknown = sorted(set(form) - STANDARD_FIELDS - set(arguments))
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    shape = None
    if shapes is not None and form.get("shape_class", "").strip() not in ("", "Default"):
        shape = form["shape_class"].strip()
        if shape not in shapes:
            known = ", ".join(["Default", *shapes])
            raise BadRequest(f"shape_class: no LoadTestShape named {shape} (known: {known})")
        shaped = True
    run_time = None
    if form.get("run_time", "").strip():
        try:
            run_time = seconds_of(form["run_time"])
        except BadDuration as exc:
            raise BadRequest(f"run_time: {exc}") from None
        if run_time <= 0:
            raise BadRequest(f"run_time must be above 0, got {form['run_time']!r}")
    users = rate = None
    if not shaped or form.get("user_count", "").strip():
        text = form.get("user_count", "").strip()
        try:
            users = int(text)
        except ValueError:
            raise BadRequest(f"user_count must be a whole number, got {text!r}") from None
        if not 0 <= users <= MAX_USERS:
            raise BadRequest(f"user_count must be between 0 and {MAX_USERS}, got {users}")
    if not shaped or form.get("spawn_rate", "").strip():
        text = form.get("spawn_rate", "").strip()
        try:
            rate = float(text)
        except ValueError:
            raise BadRequest(f"spawn_rate must be a number, got {text!r}") from None
        if not (rate > 0 and math.isfinite(rate)):
            raise BadRequest(f"spawn_rate must be a number above 0, got {text!r}")
    host = form.get("host", "").strip() or None
    if host is not None and not host.startswith(("http://", "https://")):
        raise BadRequest(f"host must start with http:// or https://, got {host!r}")
    values = {dest: arguments[dest].convert(form[dest]) for dest in arguments if dest in form}
    classes = None
    if available is not None and any(name.strip() for name in picked):
        chosen = {name.strip() for name in picked if name.strip()}
        unknown = sorted(chosen - set(available))
        if unknown:
            raise BadRequest(f"user_classes: no User class named {', '.join(unknown)} (known: {', '.join(available)})")
        classes = tuple(sorted(chosen))
    profile = form["profile"].strip() if "profile" in form else None
    return SwarmRequest(users, rate, host, values, classes, run_time, profile, shape)


class RunActions:
    """The page's hands on one live run."""

    def __init__(self, run: Run, arguments: Mapping[str, WebArgument], class_picker: bool = False) -> None:
        self.run = run
        self.arguments = dict(arguments)
        self.class_picker = class_picker
        self.started = False
        self.live = True
        """False once the process is quitting: the run's actors are being stopped and no new test may begin."""
        self.new_test = gevent.event.Event()
        """Set when a stopped run starts a new test: whoever waits for the run's end waits again."""
        self._run_timer: gevent.Greenlet | None = None
        self.driving: type[LoadTestShape] | None = None
        """With `--class-picker`: the LoadTestShape chosen for the test now (or last) run, if any."""

    @property
    def shaped(self) -> bool:
        """Whether the locustfile's LoadTestShape drives every test (with `--class-picker` the form chooses)."""
        return self.run.locustfile.shape_class is not None and not self.class_picker

    @property
    def shape_choices(self) -> list[str] | None:
        """The LoadTestShape classes the form offers besides Locust's "Default" (None without a class picker)."""
        return list(self.run.locustfile.shape_classes) if self.class_picker else None

    def _drive(self, name: str | None, classes: tuple[str, ...] | None) -> None:
        """With the picker: the chosen LoadTestShape, from its beginning, drives the test from now on; or none.
        Its ticks that name no User classes run the classes ticked in the form, as Locust's shape runs the picked
        classes."""
        control, environment = self.run.control, self.run.environment
        shape = self.run.locustfile.shape_classes[name] if name is not None else None
        environment.shape_class = shape
        self.driving = shape
        if shape is None:
            control.set_shape(None)
            return
        clock = shape_clock(dataclasses.replace(self.run.locustfile, shape_class=shape), environment, None)
        assert clock is not None

        def tick() -> tuple[int, float, tuple[str, ...] | None] | None:
            target = clock()
            if target is None or target[2] is not None or classes is None:
                return target
            return target[0], target[1], classes

        control.set_shape(tick)

    @property
    def available_classes(self) -> list[str] | None:
        """The User classes the form may choose from (`--class-picker`), or None without a picker."""
        return sorted(self.run.environment.user_classes_by_name) if self.class_picker else None

    def state(self) -> RunState:
        """The Master's run state; once the run is finished its actors are gone, and the run is stopped."""
        try:
            return self.run.control.master_state().run_state
        except pykka.ActorDeadError:
            return RunState.STOPPED

    def swarm(self, request: SwarmRequest, who: str) -> str:
        state = self.state()
        if state == RunState.STOPPING:
            raise Refused("the test is stopping; start a new one once it has stopped")
        control = self.run.control
        new_test = state == RunState.STOPPED
        if new_test and not self.live:
            raise Refused("this run is over; start horde again for a new one")
        environment = self.run.environment
        if request.host is not None and request.host != environment.host:
            environment.host = request.host
            control.config = msgspec.structs.replace(control.config, host=request.host)  # what the next spawns carry
        if request.profile is not None:
            environment.profile = request.profile or None
            if environment.parsed_options is not None:
                environment.parsed_options.profile = environment.profile
        for dest, value in request.arguments.items():
            setattr(environment.parsed_options, dest, value)
        if request.arguments:
            control.set_worker_options(request.arguments)  # the workers' parsed_options, with the next spawn
        recorded = {
            dest: "<redacted>" if self.arguments[dest].is_secret else value for dest, value in request.arguments.items()
        }
        data: dict[str, Any] = {
            "user_count": request.users,
            "spawn_rate": request.spawn_rate,
            "host": request.host,
            "arguments": recorded,
            "by": who,
        }
        if request.run_time is not None:
            data["run_time"] = request.run_time
        if request.profile is not None:
            data["profile"] = request.profile
        if self.class_picker:
            data["user_classes"] = list(request.user_classes) if request.user_classes is not None else None
            data["shape_class"] = request.shape_class
        control.append(PluginAppend("web", f"web:{who}", "web.swarm", msgspec.Raw(msgspec.json.encode(data))))
        picked = self.run.locustfile.shape_classes.get(request.shape_class or "") if self.class_picker else None
        driven = control.shape_running  # by the picker's last choice, or by the locustfile's shape (--autostart)
        if self.class_picker and (
            new_test or not self.started or picked is not self.driving or (driven and not picked)
        ):
            # the chosen shape's clock from zero (or no shape), before a new test is ready, as below
            self._drive(request.shape_class, request.user_classes)
        if new_test:
            if self.shaped:
                self.run.start()  # a fresh LoadTestShape, its clock from zero, before the run is ready again
            if not control.new_test(f"new test from the web UI by {who}", f"web:{who}"):
                raise Refused("the run could not start a new test in its state; try again")
            self.new_test.set()
        if new_test or request.run_time is not None:
            self._set_run_timer(request.run_time, who)
        if picked is not None:
            self.started = True
            return f"the LoadTestShape {picked.__name__} drives the test"
        if self.shaped:
            if not self.started:
                self.run.start()
            self.started = True
            return "the LoadTestShape drives the run"
        assert request.users is not None and request.spawn_rate is not None
        classes = request.user_classes
        if classes is None and state in (RunState.SPAWNING, RunState.RUNNING):
            classes = control.master_state().user_classes  # none ticked mid-run: those already chosen, as Locust
        control.master.tell(Start(time.monotonic(), request.users, request.spawn_rate, classes, cause=f"web:{who}"))
        self.started = True
        only = f" of {', '.join(classes)}" if classes is not None else ""
        return f"swarming {request.users} users{only} at {request.spawn_rate:g}/s"

    def _set_run_timer(self, seconds: float | None, who: str) -> None:
        """The form's `run_time`, as Locust's: the test stops that long after this Start; a later Start with its own
        run time, or a new test, replaces it (Locust's timer would have stopped the next test too)."""
        if self._run_timer is not None:
            self._run_timer.kill(block=False)
            self._run_timer = None
        if seconds is not None:
            reason = f"run time from the web UI reached ({seconds:g} s)"
            self._run_timer = gevent.spawn_later(seconds, self._time_up, reason, who)

    def _time_up(self, reason: str, who: str) -> None:
        self._run_timer = None
        with contextlib.suppress(pykka.ActorDeadError):
            self.run.control.master.tell(RequestStop(time.monotonic(), reason, f"web:{who}"))

    def stop(self, who: str) -> None:
        self._set_run_timer(None, who)
        try:
            self.run.control.master.tell(
                RequestStop(time.monotonic(), f"stopped from the web UI by {who}", f"web:{who}")
            )
        except pykka.ActorDeadError:
            raise Refused("this run has stopped already") from None

    def reset(self, who: str) -> None:
        try:
            self.run.control.aggregator.tell(
                ResetStats(time.monotonic(), f"reset from the web UI by {who}", f"web:{who}")
            )
        except pykka.ActorDeadError:
            raise Refused("this run has stopped; its statistics are final") from None
