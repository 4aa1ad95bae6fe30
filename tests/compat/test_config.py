"""Locust's configuration as Locust reads it, beside horde's: files, variables, flags and their precedence; `-f`'s
forms; Locust's flags that print and exit (--list, --show-task-ratio(-json), -V) and --json on stdout."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from horde.cli.options import UsageError, read_locust_conf, resolve
from tests.support.processes import Target, horde

HERE = Path(__file__).parent / "locustfiles"
RATIO = str(HERE / "config_ratio.py")
SHOP = str(HERE.parent.parent / "locustfiles" / "shop.py")


def isolated(tmp_path: Path, **env: str) -> dict[str, str]:
    """Environment for a `horde` subprocess whose home has no ~/.locust.conf of the machine's."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), **env}


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("horde: error: "), stderr
    assert "Traceback" not in stderr
    return lines[0]


# --- precedence -------------------------------------------------------------------------------------------------


def test_every_source_in_locusts_order_with_horde_spellings_beside(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".locust.conf").write_text(
        "users = 1\nspawn-rate = 1\nhost = http://home\nrun-time = 1s\nstop-timeout = 1\n"
    )
    (tmp_path / "locust.conf").write_text("users = 2\nspawn-rate = 2\nhost = http://conf\nrun-time = 2s\n")
    (tmp_path / "pyproject.toml").write_text(
        '[tool.locust]\nusers = 3\nspawn-rate = 3\nhost = "http://tool-locust"\n'
        "[tool.horde]\nusers = 4\nspawn-rate = 4\n"
    )
    (tmp_path / "horde.toml").write_text("users = 5\n")
    (tmp_path / "mine.conf").write_text("users = 6\nexpect-workers = 6\n")
    environ = {"LOCUST_USERS": "7", "HORDE_USERS": "8", "LOCUST_EXPECT_WORKERS": "7", "LOCUST_LOGLEVEL": "DEBUG"}
    options = resolve(["--config", "mine.conf", "-u", "9"], environ=environ, cwd=str(tmp_path), home=str(home))
    assert options.stop_timeout == 1  # only in ~/.locust.conf
    assert options.run_time == 2  # ./locust.conf over ~/.locust.conf
    assert options.host == "http://tool-locust"  # pyproject [tool.locust] over locust.conf
    assert options.spawn_rate == 4  # [tool.horde] over [tool.locust]
    assert options.expect_workers == 7  # LOCUST_* over --config FILE
    assert options.loglevel == "DEBUG"
    assert options.users == 9  # the flag over everything
    without_flag = resolve(["--config", "mine.conf"], environ=environ, cwd=str(tmp_path), home=str(home))
    assert without_flag.users == 8  # HORDE_* over LOCUST_*
    files_only = resolve(["--config", "mine.conf"], environ={}, cwd=str(tmp_path), home=str(home))
    assert files_only.users == 6  # --config FILE over horde.toml and every default file


def test_locust_conf_format(tmp_path: Path) -> None:
    (tmp_path / "locust.conf").write_text(
        "# Locust's format\n[locust]\nlocustfile = my_file.py\nheadless = true\nonly-summary: true\n"
        "tags = [checkout, 'search']\nexclude-tags = slow\ncsv = out ; a trailing comment\nhtml = \"report.html\"\n"
        "master\nexpect-workers 3\nreset-stats = false\n"
    )
    options = resolve([], environ={}, cwd=str(tmp_path), home=str(tmp_path))
    assert options.locustfile == "my_file.py" and options.headless and options.only_summary
    assert options.tags == ["checkout", "search"] and options.exclude_tags == ["slow"]
    assert options.csv == "out" and options.html == "report.html"
    assert options.master and options.expect_workers == 3 and not options.reset_stats


def test_locust_variable_names(tmp_path: Path) -> None:
    environ = {
        "LOCUST_LOCUSTFILE": "x.py",
        "LOCUST_MODE_MASTER": "true",
        "LOCUST_MASTER_BIND_PORT": "6000",
        "LOCUST_HEADLESS": "true",
        "LOCUST_RUN_TIME": "1m30s",
        "LOCUST_TAGS": "a b",
    }
    options = resolve([], environ=environ, cwd=str(tmp_path), home=str(tmp_path))
    assert options.locustfile == "x.py" and options.master and options.master_bind_port == 6000
    assert options.run_time == 90 and options.tags == ["a", "b"]
    worker = resolve(
        [], environ={"LOCUST_MODE_WORKER": "1", "LOCUST_MASTER_NODE_HOST": "10.0.0.9", "LOCUST_MASTER_NODE_PORT": "7"},
        cwd=str(tmp_path), home=str(tmp_path),
    )  # fmt: skip
    assert worker.worker and worker.master_host == "10.0.0.9" and worker.master_port == 7


def test_config_toml_file_and_locusts_key_names(tmp_path: Path) -> None:
    (tmp_path / "run.toml").write_text('[tool.locust]\nusers = 3\ncsv = "a"\n[tool.horde]\nspawn-rate = 5\n')
    options = resolve(["--config", "run.toml"], environ={}, cwd=str(tmp_path), home=str(tmp_path))
    assert (options.users, options.spawn_rate, options.csv) == (3, 5, "a")
    assert read_locust_conf(str(tmp_path / "run.toml")) is not None  # any text reads; TOML is chosen by suffix


def test_default_locustfile_is_locusts(tmp_path: Path) -> None:
    assert resolve([], environ={}, cwd=str(tmp_path), home=str(tmp_path)).locustfile == "locustfile"


@pytest.mark.parametrize(
    ("conf", "env", "needle"),
    [
        ("users = many\n", {}, "--users (locust.conf): invalid value 'many'"),
        ("headless = maybe\n", {}, "--headless (locust.conf)"),
        ("userz = 3\n", {}, "locust.conf: unknown option 'userz'"),
        ("", {"LOCUST_SPAWN_RATE": "fast"}, "--spawn-rate (environment): invalid value 'fast'"),
        ("run-time = soon\n", {}, "soon"),
        ("csv-full-history = true\n", {}, "--csv-full-history needs --csv"),
    ],
)
def test_bad_values_are_one_line_and_exit_2(tmp_path: Path, conf: str, env: dict[str, str], needle: str) -> None:
    (tmp_path / "locust.conf").write_text(conf)
    result = horde("run", "-f", SHOP, cwd=tmp_path, env=isolated(tmp_path, **env), timeout=30)
    assert result.returncode == 2
    assert needle in one_error_line(result.stderr)


def test_unknown_flag_is_one_line_exit_2(tmp_path: Path) -> None:
    result = horde("run", "-f", SHOP, "--no-such-flag", cwd=tmp_path, env=isolated(tmp_path), timeout=30)
    assert result.returncode == 2 and "--no-such-flag" in one_error_line(result.stderr)


def test_bad_config_unit_errors_name_the_source(tmp_path: Path) -> None:
    (tmp_path / "locust.conf").write_text("expect-workers = 1.5\n")
    with pytest.raises(UsageError, match=r"--expect-workers \(locust.conf\)"):
        resolve([], environ={}, cwd=str(tmp_path), home=str(tmp_path))


# --- a real run configured the Locust way -----------------------------------------------------------------------


def test_locust_conf_and_default_locustfile_drive_a_real_run(tmp_path: Path, fresh_target: Target) -> None:
    shutil.copy(HERE / "config_dir" / "first.py", tmp_path / "locustfile.py")
    (tmp_path / "locust.conf").write_text(
        f"host = {fresh_target.url}\nusers = 2\nspawn-rate = 100\nrun-time = 2s\nheadless = true\n"
        "only-summary = true\njournal = run.jsonl\n"
    )
    result = horde("run", cwd=tmp_path, env=isolated(tmp_path), timeout=60)
    assert result.returncode == 0, result.stderr
    assert fresh_target.counts().get("GET /", 0) > 0


# --- -f forms -----------------------------------------------------------------------------------------------------


def test_f_directory_skips_underscore_files_and_runs_every_class(tmp_path: Path, fresh_target: Target) -> None:
    listed = horde("run", "-f", str(HERE / "config_dir"), "--list", cwd=tmp_path, env=isolated(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "Available Users:\n    First\n    Second\n"
    result = horde(
        "run", "-f", str(HERE / "config_dir"), "-H", fresh_target.url, "-u", "2", "-r", "100", "-t", "1s",
        "--journal", "run.jsonl", "--only-summary", cwd=tmp_path, env=isolated(tmp_path), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    counts = fresh_target.counts()
    assert counts.get("GET /", 0) > 0 and counts.get("GET /items/<id>", 0) > 0


def test_f_comma_separated_files_and_module_name(tmp_path: Path) -> None:
    files = f"{HERE / 'config_dir' / 'second.py'},{RATIO}"
    listed = horde("run", "-f", files, "--list", cwd=tmp_path, env=isolated(tmp_path))
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout == "Available Users:\n    Reader\n    Second\n    Writer\n"
    by_module = horde("run", "-f", "locustfiles.config_ratio", "-l", cwd=HERE.parent, env=isolated(tmp_path))
    assert by_module.stdout == "Available Users:\n    Reader\n    Writer\n", by_module.stderr
    no_suffix = horde("run", "-f", "config_ratio", "-l", cwd=HERE, env=isolated(tmp_path))
    assert no_suffix.stdout == "Available Users:\n    Reader\n    Writer\n", no_suffix.stderr


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ("a.py,b.txt", "must end with .py"),
        ("nowhere", "could not find locustfile 'nowhere'"),
        ("", "locustfile"),
    ],
)
def test_bad_f_values_are_one_line(tmp_path: Path, value: str, needle: str) -> None:
    result = horde("run", "-f", value, cwd=tmp_path, env=isolated(tmp_path), timeout=30)
    assert result.returncode == 1 and needle in one_error_line(result.stderr)  # Locust's code for it


def test_no_locustfile_anywhere_says_so(tmp_path: Path) -> None:
    result = horde("run", cwd=tmp_path, env=isolated(tmp_path), timeout=30)
    assert result.returncode == 1 and "locustfile.py" in one_error_line(result.stderr)


# --- flags that print and exit ----------------------------------------------------------------------------------


def test_show_task_ratio_in_locusts_format(tmp_path: Path) -> None:
    result = horde("run", "-f", RATIO, "--show-task-ratio", cwd=tmp_path, env=isolated(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.split("\n")
    assert [line.rstrip() for line in lines] == [
        "",
        " Task ratio per User class",
        "-" * 80,
        " 75.0       Reader",
        "   75.0       read",
        "   25.0       Browse",
        "     50.0       page",
        "     50.0       back",
        " 25.0       Writer",
        "   100.0      write",
        "",
        " Total task ratio",
        "-" * 80,
        " 75.0       Reader",
        "   56.2       read",
        "   18.8       Browse",
        "     9.4        page",
        "     9.4        back",
        " 25.0       Writer",
        "   25.0       write",
        "",
    ]
    ratio_lines = [line for line in lines if line.strip() and line.strip()[0].isdigit()]
    assert len(ratio_lines) == 14 and all(len(line) >= 62 for line in ratio_lines)  # " %-10s %-50s", as Locust


def test_show_task_ratio_json(tmp_path: Path) -> None:
    result = horde("run", "-f", RATIO, "--show-task-ratio-json", cwd=tmp_path, env=isolated(tmp_path))
    assert result.returncode == 0, result.stderr
    browse = {"page": {"ratio": 0.5}, "back": {"ratio": 0.5}}
    assert json.loads(result.stdout) == {
        "per_class": {
            "Reader": {"ratio": 0.75, "tasks": {"read": {"ratio": 0.75}, "Browse": {"ratio": 0.25, "tasks": browse}}},
            "Writer": {"ratio": 0.25, "tasks": {"write": {"ratio": 1.0}}},
        },
        "total": {
            "Reader": {
                "ratio": 0.75,
                "tasks": {
                    "read": {"ratio": 0.5625},
                    "Browse": {"ratio": 0.1875, "tasks": {"page": {"ratio": 0.09375}, "back": {"ratio": 0.09375}}},
                },
            },
            "Writer": {"ratio": 0.25, "tasks": {"write": {"ratio": 0.25}}},
        },
    }


def test_version(tmp_path: Path) -> None:
    for flag in ("-V", "--version"):
        result = horde("run", flag, cwd=tmp_path, env=isolated(tmp_path))
        assert result.returncode == 0 and result.stdout.startswith("horde ") and "(python 3." in result.stdout


def test_flags_in_effect_now_say_nothing(tmp_path: Path) -> None:
    result = horde(
        "run", "-f", RATIO, "--reset-stats", "--autostart", "--autoquit", "5", "--print-stats", "--skip-log-setup",
        "--list", cwd=tmp_path, env=isolated(tmp_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "--reset-stats" not in result.stderr  # in effect now (ADR 0020)
    assert "--autostart" not in result.stderr and "--autoquit" not in result.stderr  # the web UI's (ADR 0023)


# --- --json on stdout, --json-file, --logfile -------------------------------------------------------------------


def test_json_prints_locusts_entries_matching_the_targets_counts(tmp_path: Path, fresh_target: Target) -> None:
    result = horde(
        "run", "-f", str(HERE / "config_dir"), "-H", fresh_target.url, "-u", "2", "-r", "100", "-t", "1s",
        "--journal", "run.jsonl", "--json", "--json-file", "summary", "--logfile", "horde.log", "-L", "DEBUG",
        cwd=tmp_path, env=isolated(tmp_path), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)  # stdout is the JSON alone: the tables went to stderr
    assert "=== Summary ===" in result.stderr
    served = fresh_target.counts()
    by_name = {(entry["method"], entry["name"]): entry for entry in entries}
    assert set(by_name) == {("GET", "/"), ("GET", "/items/2")}
    for (method, name), entry in by_name.items():
        # Each served request is counted once; a user stopped mid-request at -t may leave one uncounted (2 users).
        target_count = served[f"{method} {'/items/<id>' if name.startswith('/items/') else name}"]
        assert target_count - 2 <= entry["num_requests"] <= target_count
        assert sum(entry["response_times"].values()) == entry["num_requests"]
        assert sum(entry["num_reqs_per_sec"].values()) == entry["num_requests"]
        assert entry["num_failures"] == 0 and entry["start_time"] <= entry["last_request_timestamp"]
        assert set(entry) >= {"total_response_time", "max_response_time", "min_response_time", "total_content_length"}
    assert json.loads((tmp_path / "summary.json").read_text()) == entries  # --json-file adds .json, as Locust
    assert (tmp_path / "horde.log").stat().st_size > 0


def test_old_json_path_spelling_still_writes_the_file(tmp_path: Path, fresh_target: Target) -> None:
    result = horde(
        "run", "-f", SHOP, "-H", fresh_target.url, "-u", "1", "-r", "100", "-t", "1s", "--journal", "run.jsonl",
        "--only-summary", "--json", "old.json", cwd=tmp_path, env=isolated(tmp_path), timeout=60,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr
    assert "--json PATH is --summary-json PATH now" in result.stderr
    assert "aggregated" in json.loads((tmp_path / "old.json").read_text())
