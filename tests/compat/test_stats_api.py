"""`environment.stats` is Locust's RequestStats over the run's merged statistics: the CI recipe works."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.processes import Target, horde

LOCUSTFILES = Path(__file__).resolve().parent / "locustfiles"
RECIPE = str(LOCUSTFILES / "api_ci_recipe.py")


def recipe_run(target: Target, tmp_path: Path, **env: str) -> tuple[int, dict[str, float], str]:
    result = horde(
        "run", "-f", RECIPE, "-H", target.url, "-u", "2", "-r", "10", "-t", "1s",
        cwd=tmp_path, timeout=60, env=env,
    )  # fmt: skip
    match = re.search(r"ci-recipe: (.*)", result.stdout)
    assert match, result.stdout + result.stderr
    numbers = {key: float(value) for key, value in (pair.split("=") for pair in match.group(1).split())}
    return result.returncode, numbers, result.stdout + result.stderr


def test_failures_under_the_recipes_threshold_pass_the_run(fresh_target: Target, tmp_path: Path) -> None:
    """Without the listener a run with failures exits 1; the recipe reads a ratio under its limit and sets 0."""
    code, read, output = recipe_run(
        fresh_target, tmp_path, CI_RECIPE_FAILURES="1", CI_RECIPE_MAX_FAIL_RATIO="0.5", CI_RECIPE_MAX_AVG_MS="1000"
    )
    counts = fresh_target.counts()
    served, failed = sum(counts.values()), counts.get("GET /status/500", 0)
    assert code == 0, output
    assert served - 2 <= read["requests"] <= served  # a user stopped mid-request may leave one uncounted
    assert failed - 2 <= read["failures"] <= failed and read["failures"] > 0
    assert read["fail_ratio"] == round(read["failures"] / read["requests"], 4)
    assert 0 < read["avg"] < 1000 and read["p95"] > 0


def test_a_slow_average_fails_the_run_that_had_no_failure(fresh_target: Target, tmp_path: Path) -> None:
    """Without the listener this run exits 0; the recipe reads an average over its (zero) limit and sets 1."""
    code, read, output = recipe_run(fresh_target, tmp_path, CI_RECIPE_MAX_FAIL_RATIO="0.01", CI_RECIPE_MAX_AVG_MS="0")
    assert code == 1, output
    assert read["failures"] == 0 and read["avg"] > 0
    assert "average response time above threshold" in output
    served = fresh_target.served()
    assert served - 2 <= read["requests"] <= served
