"""Flag parsing and the configuration layers: defaults < pyproject < horde.toml < HORDE_* < flags."""

from __future__ import annotations

import re
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
    assert resolve(["-f", "x.py", "-P", "8090"], environ={}, cwd=str(tmp_path)).web_port == 8090


def test_locust_2_flags_from_every_source(tmp_path: Path) -> None:
    (tmp_path / "locust.conf").write_text(
        'config-users = [{"user_class_name": "A", "weight": 3}, {"user_class_name": "B", "tasks": ["t"]}]\n'
        "profile = nightly\nenable-rebalancing = true\n"
    )
    options = resolve(["-f", "x.py"], environ={"LOCUST_EQUAL_WEIGHTS": "true"}, cwd=str(tmp_path))
    assert options.config_users == [{"user_class_name": "A", "weight": 3}, {"user_class_name": "B", "tasks": ["t"]}]
    assert (options.profile, options.enable_rebalancing, options.equal_weights) == ("nightly", True, True)
    (tmp_path / "pyproject.toml").write_text(
        '[tool.locust]\nprofile = "weekly"\nconfig-users = [{user_class_name = "C", fixed_count = 1}]\n'
    )
    options = resolve(["-f", "x.py", "--profile", "adhoc"], environ={}, cwd=str(tmp_path))
    assert options.profile == "adhoc"
    assert options.config_users == [{"user_class_name": "C", "fixed_count": 1}]
    env = {"LOCUST_CONFIG_USERS": '{"user_class_name": "D"}', "LOCUST_WEB_HOST_DISPLAY_NAME": "https://lt.example"}
    options = resolve(["-f", "x.py"], environ=env, cwd=str(tmp_path))
    assert options.config_users == [{"user_class_name": "D"}]
    assert options.web_host_display_name == "https://lt.example"


@pytest.mark.parametrize(
    ("argv", "environ", "conf", "message"),
    [
        (["--slave"], {}, "", "The --slave parameter has been renamed --worker"),
        (["--expect-slaves", "3"], {}, "", "The --expect-slaves parameter has been renamed --expect-workers"),
        (["--legacy-ui"], {}, "", "--legacy-ui is no longer supported, remove the parameter to continue"),
        ([], {"LOCUST_LEGACY_UI": "true"}, "", "--legacy-ui is no longer supported"),
        ([], {}, "slave = true\n", "renamed --worker (locust.conf)"),
        (["--otel"], {}, "", "--otel: OpenTelemetry is not supported by horde"),
        ([], {"LOCUST_ENABLE_OPENTELEMETRY": "1"}, "", "not supported by horde"),
        (["--tls-cert", "c.pem"], {}, "", "--tls-cert and --tls-key go together"),
        (["--tls-cert", "c.pem", "--tls-key", "k.pem"], {}, "", "--tls-cert: no such file"),
        (["--config-users", "[1]"], {}, "", "each user config must be a JSON object with a user_class_name"),
        ([], {"LOCUST_CONFIG_USERS": "nope"}, "", "--config-users (environment): not valid JSON"),
    ],
)
def test_locust_2_flags_refused_in_one_line(
    tmp_path: Path, argv: list[str], environ: dict[str, str], conf: str, message: str
) -> None:
    if conf:
        (tmp_path / "locust.conf").write_text(conf)
    with pytest.raises(UsageError, match=re.escape(message)):
        resolve(["-f", "x.py", *argv], environ=environ, cwd=str(tmp_path))


def test_otel_off_is_accepted(tmp_path: Path) -> None:
    assert resolve(["-f", "x.py"], environ={"LOCUST_ENABLE_OPENTELEMETRY": "false"}, cwd=str(tmp_path)).otel is False
