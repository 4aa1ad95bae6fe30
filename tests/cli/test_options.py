"""Flag parsing and the configuration layers: defaults < pyproject < horde.toml < HORDE_* < flags."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from horde.cli.options import UsageError, parse_duration, resolve


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("300", 300), ("20s", 20), ("3m", 180), ("1h30m", 5400), ("1h30m20s", 5420), ("2.5", 2.5), ("1h", 3600)],
)
def test_durations_as_locust_writes_them(text: str, seconds: float) -> None:
    assert parse_duration(text, "-t") == seconds


@pytest.mark.parametrize("text", ["30x", "", "m", "1m1h", "-3", "ten"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_duration(text, "-t")


@given(st.integers(0, 99), st.integers(0, 59), st.integers(0, 59))
def test_duration_components_add_up(h: int, m: int, s: int) -> None:
    assert parse_duration(f"{h}h{m}m{s}s", "-t") == h * 3600 + m * 60 + s


def test_layers_and_precedence(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.horde]\nusers = 3\nspawn-rate = 2\nhost = "http://a"\n')
    (tmp_path / "horde.toml").write_text('users = 4\nlocustfile = "x.py"\ntags = ["a", "b"]\n')
    options = resolve(["-r", "9"], environ={"HORDE_HOST": "http://b", "HORDE_RUN_TIME": "1m"}, cwd=str(tmp_path))
    assert options.users == 4  # horde.toml over pyproject
    assert options.spawn_rate == 9  # flag over pyproject
    assert options.host == "http://b"  # environment over pyproject
    assert options.run_time == 60
    assert options.tags == ["a", "b"]
    assert options.locustfile == "x.py"


def test_unknown_config_key_is_named(tmp_path: Path) -> None:
    (tmp_path / "horde.toml").write_text("userz = 4\n")
    with pytest.raises(UsageError, match="userz"):
        resolve(["-f", "x.py"], environ={}, cwd=str(tmp_path))


def test_locust_flag_names_mean_the_same(tmp_path: Path) -> None:
    options = resolve(
        [
            "-f",
            "x.py",
            "-u",
            "10",
            "-r",
            "2.5",
            "-t",
            "30s",
            "-H",
            "http://h",
            "--headless",
            "-s",
            "5",
            "A",
            "B",
        ],
        environ={},
        cwd=str(tmp_path),
    )
    assert (options.users, options.spawn_rate, options.run_time, options.host) == (10, 2.5, 30, "http://h")
    assert options.stop_timeout == 5 and options.user_classes == ["A", "B"]
