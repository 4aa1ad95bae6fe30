"""A locustfile's own arguments (`events.init_command_line_parser`), as Locust has them: given by flag, by their
`env_var`, in locust.conf; seen in `environment.parsed_options` by tasks, beside Locust's attribute names; sent
by the master to its workers."""

from __future__ import annotations

import json
from pathlib import Path

from horde.cli.options import resolve
from tests.support.processes import Cluster, Target, horde

CUSTOM = str(Path(__file__).parent / "locustfiles" / "config_custom_args.py")


def isolated(tmp_path: Path, **env: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {"HOME": str(home), "OPTIONS_OUT": str(tmp_path / "options.json"), **env}


def run(tmp_path: Path, target: Target, *args: str, **env: str) -> dict[str, object]:
    """A short local run; what the locustfile saw in `parsed_options`. Requests to /seen/... are 404s, so the
    run's failures are expected (--exit-code-on-error 0)."""
    (tmp_path / "run.jsonl").unlink(missing_ok=True)
    result = horde(
        "run", "-f", CUSTOM, "-H", target.url, "-u", "2", "-r", "100", "-t", "1s", "--journal", "run.jsonl",
        "--only-summary", "--exit-code-on-error", "0", *args, cwd=tmp_path, env=isolated(tmp_path, **env), timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    seen: dict[str, object] = json.loads((tmp_path / "options.json").read_text())
    return seen


def seen_routes(target: Target) -> set[str]:
    return {route for route in target.counts() if route.startswith("GET /seen/")}


def test_by_flag_with_locusts_attribute_names_beside(tmp_path: Path, fresh_target: Target) -> None:
    seen = run(tmp_path, fresh_target, "--my-arg", "by-flag", "--my-count", "3", "--my-secret", "s3cret", "-E", "slow")
    assert seen_routes(fresh_target) == {"GET /seen/by-flag"}  # what the tasks read
    assert seen["my_arg"] == "by-flag" and seen["my_count"] == 3 and seen["my_secret"] == "s3cret"
    assert seen["num_users"] == 2 and seen["spawn_rate"] == 100 and seen["run_time"] == 1
    assert seen["host"] == fresh_target.url and seen["locustfile"] == CUSTOM and seen["headless"] is True
    assert seen["master"] is False and seen["worker"] is False and seen["expect_workers"] == 1
    assert seen["stop_timeout"] == 0 and seen["tags"] is None and seen["exclude_tags"] == ["slow"]
    assert seen["loglevel"] == "INFO" and seen["reset_stats"] is False and seen["csv_prefix"] is None
    assert seen["exit_code_on_error"] == 0 and seen["json"] is False and seen["only_summary"] is True
    assert "s3cret" not in (tmp_path / "run.jsonl").read_text()  # is_secret: never journaled


def test_by_env_var(tmp_path: Path, fresh_target: Target) -> None:
    seen = run(tmp_path, fresh_target, LOCUST_MY_ARG="by-env")
    assert seen["my_arg"] == "by-env" and seen_routes(fresh_target) == {"GET /seen/by-env"}


def test_in_locust_conf_and_default(tmp_path: Path, fresh_target: Target) -> None:
    (tmp_path / "locust.conf").write_text("my-arg = by-conf\nmy-count = 7\n")
    seen = run(tmp_path, fresh_target)
    assert (seen["my_arg"], seen["my_count"]) == ("by-conf", 7)
    assert seen_routes(fresh_target) == {"GET /seen/by-conf"}
    (tmp_path / "locust.conf").unlink()
    fresh_target.reset()
    assert run(tmp_path, fresh_target)["my_arg"] == "unset"  # the argument's default


def test_precedence_flag_over_env_over_file(tmp_path: Path) -> None:
    def extend(parser) -> None:  # type: ignore[no-untyped-def]
        parser.add_argument("--my-arg", env_var="LOCUST_MY_ARG", default="unset")
        parser.add_argument("--my-count", type=int, default=1)

    (tmp_path / "locust.conf").write_text("my-arg = file\nmy-count = 5\n")
    home = str(tmp_path)
    both = resolve(["--my-arg", "flag"], environ={"LOCUST_MY_ARG": "env"}, cwd=home, extend=extend, home=home)
    assert both.custom == {"my_arg": "flag", "my_count": 5}
    assert resolve([], environ={"LOCUST_MY_ARG": "env"}, cwd=home, extend=extend, home=home).custom["my_arg"] == "env"
    assert resolve([], environ={}, cwd=home, extend=extend, home=home).custom["my_arg"] == "file"


def test_bad_custom_value_is_one_line_exit_2(tmp_path: Path) -> None:
    (tmp_path / "locust.conf").write_text("my-count = lots\n")
    result = horde("run", "-f", CUSTOM, cwd=tmp_path, env=isolated(tmp_path), timeout=30)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == ["horde: error: --my-count (locust.conf): invalid value 'lots'"]


def test_help_lists_the_locustfiles_arguments(tmp_path: Path) -> None:
    result = horde("run", "-f", CUSTOM, "--help", cwd=tmp_path, env=isolated(tmp_path), timeout=30)
    assert result.returncode == 0 and "--my-arg" in result.stdout and "--my-count" in result.stdout


def test_master_sends_its_arguments_to_workers(tmp_path: Path, fresh_target: Target) -> None:
    cluster = Cluster(tmp_path, CUSTOM)
    try:
        cluster.start_master(
            "-H", fresh_target.url, "-u", "4", "-r", "100", "-t", "1s", "--expect-workers", "2",
            "--exit-code-on-error", "0", "--my-arg", "from-master",
        )  # fmt: skip
        cluster.start_worker()  # its own default: "unset"
        cluster.start_worker("--my-arg", "worker-own")  # the master's value wins, as in Locust
        assert cluster.wait_master(timeout=60) == 0
        assert seen_routes(fresh_target) == {"GET /seen/from-master"}
    finally:
        cluster.close()
