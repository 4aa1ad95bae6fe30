"""Counting and telling an exception from user code: counted every time, told once where repeating adds nothing."""

from __future__ import annotations

import logging

import pytest

from horde import Environment, Events, User
from horde.runtime.exceptions import LocustError, MissingWaitTimeError
from horde.runtime.user_errors import report_user_exception, tell_user_ended
from tests.support.demo_server import CountingRecorder


class Someone(User):
    pass


def raised(exception: Exception) -> Exception:
    try:
        raise exception
    except Exception as e:
        return e


@pytest.fixture
def environment(recorder: CountingRecorder) -> Environment:
    return Environment([Someone], Events(), stats=recorder)


def test_a_misuse_is_counted_each_time_and_told_once_without_traceback(
    environment: Environment, recorder: CountingRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(3):
        report_user_exception(environment, raised(LocustError("no tasks defined on Someone")), "Someone")
    assert [message for message, _ in recorder.exceptions] == ["LocustError('no tasks defined on Someone')"] * 3
    assert [r.getMessage() for r in caplog.records] == ["Someone: no tasks defined on Someone"]


def test_a_bug_is_told_with_its_traceback_every_time_if_asked(
    environment: Environment, recorder: CountingRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR)
    for _ in range(2):
        report_user_exception(environment, raised(KeyError("k")), "Someone", every_time=True)
    report_user_exception(environment, raised(ValueError("v")), "Someone.__init__")
    report_user_exception(environment, raised(ValueError("v")), "Someone.__init__")
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3
    assert messages[0].startswith("Someone raised KeyError: 'k'\nTraceback")
    assert messages[2].startswith("Someone.__init__ raised ValueError: v\nTraceback")
    _, traceback = recorder.exceptions[0]
    assert "raise exception" in traceback


def test_a_user_ended_on_a_misuse_already_told_adds_no_line(
    environment: Environment, caplog: pytest.LogCaptureFixture
) -> None:
    tell_user_ended(environment, "Someone", MissingWaitTimeError("Someone.wait_time returned None"))
    tell_user_ended(environment, "Someone", RuntimeError("again"))
    tell_user_ended(environment, "Someone", RuntimeError("again"))
    assert [r.getMessage() for r in caplog.records] == ["a Someone user ended on RuntimeError: again"]
