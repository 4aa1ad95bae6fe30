"""run_single_user: Locust's debugging helper. One user runs in this process and every request is printed.

Meant for a locustfile run as a script (``if __name__ == "__main__": run_single_user(MyUser)``) or under a debugger:
no runner, no statistics, no workers; the user's loop runs in the calling greenlet until it stops.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from horde.runtime.environment import Environment
from horde.runtime.events import events as default_events
from horde.runtime.exceptions import CatchResponseError
from horde.runtime.process import setup_logging

if TYPE_CHECKING:
    from horde.runtime.users import User


class PrintListener:
    """Prints one tab-separated line per request (Locust's columns), the optional ones as asked."""

    def __init__(
        self,
        environment: Environment,
        include_length: bool = False,
        include_time: bool = False,
        include_context: bool = False,
        include_payload: bool = False,
    ) -> None:
        self.include_length = include_length
        self.include_time = include_time
        self.include_context = include_context
        self.include_payload = include_payload
        environment.events.request.add_listener(self.on_request)
        columns = [
            *(["time".ljust(24)] if include_time else []),
            "type",
            "name".ljust(50),
            "resp_ms",
            *(["length"] if include_length else []),
            "exception",
            *(["context"] if include_context else []),
            *(["payload"] if include_payload else []),
        ]
        print("\n" + "\t".join(columns), flush=True)

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int,
        exception: BaseException | None = None,
        context: dict[str, Any] | None = None,
        start_time: float | None = None,
        response: Any = None,
        **_kwargs: Any,
    ) -> None:
        if exception is None:
            error = ""
        elif isinstance(exception, CatchResponseError):
            error = str(exception)
        else:
            error = repr(exception)
        fields: list[str] = []
        if self.include_time:
            moment = datetime.fromtimestamp(start_time, tz=UTC) if start_time else datetime.now()
            fields.append(str(moment))
        fields += [
            request_type,
            (name.ljust(30) if name else "").ljust(50),
            str(round(response_time if response_time is not None else -1)).ljust(7),
        ]
        if self.include_length:
            fields.append(str(response_length))
        fields.append(error[:500].replace("\n", " ").ljust(9))
        if self.include_context:
            fields.append(str(context or ""))
        if self.include_payload:
            request = getattr(response, "request", None)
            fields.append(str(getattr(request, "body", "") or ""))
        print("\t".join(fields), flush=True)


def _host_from_command_line(argv: list[str]) -> str | None:
    """``--host``/``-H`` given to the script, as Locust's helper reads its command line; the rest is the script's."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-H", "--host")
    known, _ = parser.parse_known_args(argv)
    host: str | None = known.host
    return host


_environment: Environment | None = None


def run_single_user(
    user_class: type[User],
    include_length: bool = False,
    include_time: bool = False,
    include_context: bool = False,
    include_payload: bool = False,
    loglevel: str | None = "WARNING",
) -> None:
    """Runs one ``user_class`` user here until it stops, printing each request.

    The first call builds an Environment on the shared ``events`` and fires ``init``; every call fires
    ``test_start`` (``test_stop`` and ``quit`` never fire: the user runs until it raises StopUser or the process
    ends). Logging is set up at ``loglevel`` (WARNING, so log lines do not bury the requests; None leaves it alone).
    """
    global _environment
    if loglevel:
        setup_logging(loglevel)
    if _environment is None:
        host = _host_from_command_line(sys.argv[1:])
        _environment = Environment(events=default_events, host=host, parsed_options=argparse.Namespace(host=host))
        PrintListener(
            _environment,
            include_length=include_length,
            include_time=include_time,
            include_context=include_context,
            include_payload=include_payload,
        )
        _environment.events.init.fire(environment=_environment, runner=None, web_ui=None)
    environment = _environment
    environment.user_classes = [user_class]
    environment._tags_applied = False
    environment.apply_tag_filters()
    environment.events.test_start.fire(environment=environment)
    if environment.host:
        user_class.host = environment.host
    user = user_class(environment)
    environment.single_user_instance = user  # type: ignore[attr-defined]
    user.run()
