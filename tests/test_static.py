"""The code base stays ruff-clean (lint and format) and type-checks under mypy: the checks
run in the test pass so that CI holds every commit to them (tool versions pinned in the
``test`` extra, configured in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CODE = ["attrib", "cli", "tests", "benchmarks"]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint_is_clean() -> None:
    # this interpreter's ruff (the pinned one), not whichever is first on PATH
    done = _run(sys.executable, "-m", "ruff", "check", "--no-cache", *CODE)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = _run(sys.executable, "-m", "ruff", "format", "--check", "--no-cache", *CODE)
    assert done.returncode == 0, "run `ruff format`:\n" + done.stdout + done.stderr


def test_mypy_is_clean() -> None:
    # the files and options are pyproject.toml's [tool.mypy]; no cache left in the checkout
    done = _run(sys.executable, "-m", "mypy", "--cache-dir", "/dev/null")
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_markov_benchmark_still_builds_its_journeys() -> None:
    """``benchmarks/bench_markov.py`` builds ``Journeys`` itself and no test ran it: a new
    field of ``Journeys`` broke it unseen (not timed here: benchmarks are not tests)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import bench_markov
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    batch = bench_markov.synth_batch(50, 4, 0)
    assert batch.n_journeys == 50
    assert len(batch.close_pos) == 50
