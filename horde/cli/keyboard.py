"""Keys pressed in the terminal of a running master or local run, as Locust reads them: `w`/`W` add 1/10 users,
`s`/`S` remove 1/10 (at 100 users a second), Enter opens the web UI in a browser.

Only when stdin is a terminal and the run is not a background job of it (`horde run ... &`, which the terminal
would stop for reading it): a run fed from a pipe, a CI job or a worker reads nothing. The terminal is put in
cbreak mode (each key at once, no Enter needed) and given back as it was when the run ends, however it ends.
Unlike Locust, a key pressed while users are still spawning is not refused: horde's dispatcher takes a new target
at any moment, so W pressed three times in a row asks for 30 more users.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import termios
import tty
import webbrowser
from collections.abc import Callable, Iterator
from typing import IO, Any

import gevent
import gevent.socket
import structlog

log = structlog.get_logger("horde.keyboard")

KEY_STEPS: dict[str, int] = {"w": 1, "W": 10, "s": -1, "S": -10}
"""Users each key adds (or removes), as Locust's."""
KEY_SPAWN_RATE = 100.0
"""The spawn rate of a change made from the keyboard, as Locust's."""
OPEN_KEYS = ("\r", "\n")
BACKGROUND_LOOK_SECONDS = 0.5
"""How often a run that became a background job looks whether it is in the foreground again."""


def next_target(current: int, key: str) -> int | None:
    """The user count a key asks for from `current`, or None for a key that changes no count."""
    step = KEY_STEPS.get(key)
    if step is None:
        return None
    return max(0, current + step)


class KeyboardControl:
    """Reads keys on a greenlet while a run goes on. `current_target()` is the run's target user count (None if
    none can be changed now: no test running, or a LoadTestShape driving it); `set_target(users, rate)` asks for
    another; `url` is the web UI's address, if one is served."""

    def __init__(
        self,
        current_target: Callable[[], int | None],
        set_target: Callable[[int, float], None],
        url: str | None = None,
        stream: IO[str] | None = None,
    ) -> None:
        self._current_target = current_target
        self._set_target = set_target
        self._url = url
        self._stream = stream if stream is not None else sys.stdin
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> bool:
        """Listen, if stdin is a terminal; False (and nothing done) if it is not."""
        try:
            fd = self._stream.fileno()
        except (OSError, ValueError, AttributeError):
            return False
        if not os.isatty(fd) or in_background(fd):
            return False
        self._greenlet = gevent.spawn(self._listen, fd)
        return True

    def stop(self) -> None:
        """The terminal's own mode back (the greenlet's `finally` restores it)."""
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=1)
            self._greenlet = None

    def _listen(self, fd: int) -> None:
        with _cbreak(fd):
            while True:
                gevent.socket.wait_read(fd)
                if in_background(fd):  # suspended and resumed with `bg`: the keys are the foreground job's now
                    gevent.sleep(BACKGROUND_LOOK_SECONDS)
                    continue
                try:
                    data = os.read(fd, 64).decode("utf-8", "replace")
                except OSError:
                    return  # the terminal went away
                if not data:
                    return
                for key in data:
                    self.press(key)

    def press(self, key: str) -> None:
        """What one key does; a key the run cannot act on now is ignored with a line in the log."""
        if key in OPEN_KEYS:
            if self._url:
                with contextlib.suppress(Exception):  # no browser on this machine: nothing to open
                    webbrowser.open_new_tab(self._url)
            return
        if key not in KEY_STEPS:
            return
        current = self._current_target()
        if current is None:
            log.info("key ignored: no test whose users can be changed now", key=key)
            return
        target = next_target(current, key)
        if target is not None and target != current:
            log.info("users changed from the keyboard", key=key, users=target, previous=current)
            self._set_target(target, KEY_SPAWN_RATE)


def in_background(fd: int) -> bool:
    """Whether this process is a background job of the terminal `fd` is (`horde run ... &` in a shell): reading the
    terminal or changing its mode would stop the whole process (SIGTTIN, SIGTTOU). A terminal that is not the
    process's controlling one has no job control, so it is never "background"."""
    try:
        return os.tcgetpgrp(fd) != os.getpgrp()
    except OSError:
        return False


@contextlib.contextmanager
def _tty_output_allowed() -> Iterator[None]:
    """SIGTTOU ignored for the moment: a job put in the background after it changed the terminal's mode may still
    give the mode back on its way out instead of being stopped for it."""
    try:
        previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    except ValueError:  # not the main thread: signals cannot be changed here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTTOU, previous)


_saved_modes: dict[int, list[Any]] = {}
"""Terminals in cbreak mode and the mode each had before, for `restore_terminals`."""


def restore_terminals() -> None:
    """Every terminal this module changed back to its mode: also called on the way to `os._exit` (a second
    Ctrl-C), which runs no `finally`."""
    for fd, saved in list(_saved_modes.items()):
        with contextlib.suppress(termios.error, OSError), _tty_output_allowed():
            termios.tcsetattr(fd, termios.TCSANOW, saved)
        _saved_modes.pop(fd, None)


@contextlib.contextmanager
def _cbreak(fd: int) -> Iterator[None]:
    """Each key delivered as it is pressed; the terminal's mode restored on the way out."""
    try:
        _saved_modes[fd] = termios.tcgetattr(fd)
        with _tty_output_allowed():
            tty.setcbreak(fd, termios.TCSANOW)
    except termios.error:
        _saved_modes.pop(fd, None)
        yield
        return
    try:
        yield
    finally:
        restore_terminals()
