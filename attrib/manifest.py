"""``manifest.json``: what a run read, how, with what, and what it wrote (every engine).

The config as it took effect, library versions, the models and their parameters, each
input's fingerprint (or a frame's row count), row counts, rejections, warnings, the outputs
and the stage timings: enough to tell whether two runs can be compared.
"""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from attrib import __version__

if TYPE_CHECKING:
    import polars as pl

    from attrib.config import RunConfig
    from attrib.data_checks import DealCounts
    from attrib.inputs import Inputs
    from attrib.models.base import AttributionModel
    from attrib.progress import Reporter


def manifest_versions() -> dict[str, str]:
    """Library versions and platform, for every engine's manifest."""
    import numba
    import numpy
    import polars
    import pyarrow

    return {
        "python": sys.version.split()[0],
        "polars": polars.__version__,
        "pyarrow": pyarrow.__version__,
        "numba": numba.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
    }


def manifest_config(cfg: RunConfig) -> dict[str, Any]:
    """The effective run config as JSON-friendly data, for every engine's manifest."""
    return {
        "source": cfg.source,
        "lookback_days": cfg.lookback_days,
        "level": cfg.level,
        "revenue_window": cfg.revenue_window,
        "strict": cfg.strict,
        "columns": cfg.columns,
        "constants": cfg.constants,
        "rules": [r.__dict__ for r in cfg.rules],
        "channels": {k: v.__dict__ for k, v in cfg.channels.items()},
        "stages": cfg.stage_names,
        "statuses": cfg.status_names,
        "metrics": cfg.metrics,
    }


def input_section(
    inputs: Inputs, fingerprints: Mapping[str, list[dict[str, object]]]
) -> dict[str, list[dict[str, object]]]:
    """Each input table's file fingerprints; a table given as a frame (the Python API, an
    event log's tables) has no file: its row count instead."""
    from attrib.inputs import frame_label

    in_memory = {
        table: [{"frame": frame_label(table), "rows": n}]
        for table, n in inputs.rows_read.items()
        if table not in fingerprints
    }
    return {**fingerprints, **in_memory}


def build_manifest(
    cfg: RunConfig,
    models: Sequence[AttributionModel],
    *,
    engine: dict[str, Any],
    inputs: Mapping[str, Any],
    rows_read: Mapping[str, int],
    rejected: Mapping[str, int],
    n_journeys: int,
    n_touches: int,
    deals: DealCounts,
    warnings: list[str],
    window: tuple[date, date] | None = None,
    window_given: tuple[bool, bool] = (False, False),
    bootstrap: tuple[int, int] = (0, 0),
) -> dict[str, Any]:
    """The manifest of a run before its outputs are written (``finish_manifest`` adds them).
    ``warnings`` is the run's own list: warnings given later still reach the manifest.
    ``window``: the reporting window the KPIs and credit cover; ``window_given``: whether
    its start and its end were set (``--from``/``--to`` or ``[metrics]``), else the data's
    span gives them. The report labels it and its partial periods. ``bootstrap``: the
    resamples and seed of ``--bootstrap`` (0 resamples: none, no key)."""
    resamples, seed = bootstrap
    return {
        **(
            {"bootstrap": {"resamples": resamples, "seed": seed, "level": 0.95}}
            if resamples
            else {}
        ),
        "reporting_window": (
            {
                "from": window[0].isoformat(),
                "to": window[1].isoformat(),
                "given": any(window_given),
                "from_given": window_given[0],
                "to_given": window_given[1],
            }
            if window is not None
            else None
        ),
        "attrib_version": __version__,
        "engine": engine,
        "versions": manifest_versions(),
        "config": manifest_config(cfg),
        "models": [m.describe() for m in models],
        "inputs": dict(inputs),
        "row_counts": {
            **{f"{t}_read": n for t, n in rows_read.items()},
            "journeys": n_journeys,
            "touches_in_journeys": n_touches,
            "zero_touch_deals": deals.zero_touch,
            **(
                {"zero_touch_deals_in_window": deals.credited()[1]}
                if deals.in_window is not None
                else {}
            ),
        },
        "rejected": dict(rejected),
        "warnings": warnings,
    }


def finish_manifest(manifest: dict[str, Any], files: Sequence[str], reporter: Reporter) -> None:
    """The outputs written (sorted) and the stage timings, once every output is in place."""
    manifest["outputs"] = sorted(files)
    manifest["timings_s"] = {k: round(v, 4) for k, v in reporter.timings.items()}


#: the key of plan.parquet's metadata that names the run it was planned from (`attrib plan
#: --run`): the SHA-256 of that run's manifest.json
PLAN_RUN_KEY = "attrib.planned_from_manifest_sha256"
#: the key that names the input files a plan read (`attrib plan DATA_DIR`): ``inputs_digest``
PLAN_INPUTS_KEY = "attrib.planned_from_inputs_sha256"
#: the tables a plan's numbers come from (a targets file bears on none of them)
_PLAN_TABLES = ("touchpoints", "deals", "costs", "stages")


def inputs_digest(inputs: Mapping[str, Any]) -> str | None:
    """SHA-256 over the SHA-256s of the files a manifest's ``inputs`` lists for the tables a
    plan reads: which data a plan from the inputs and a run read, wherever the files lie
    (paths are left out). None where such a table was a frame (no file tells it)."""
    sums: dict[str, list[str]] = {}
    for table in _PLAN_TABLES:
        files = inputs.get(table, [])
        if any(not isinstance(f, Mapping) or "sha256" not in f for f in files):
            return None
        sums[table] = [str(f["sha256"]) for f in files]
    return hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()


def manifest_digest(out: Path) -> str | None:
    """SHA-256 of ``out/manifest.json``'s bytes (None without one): which run a plan made
    from the folder's outputs belongs to, whatever the files' times say."""
    try:
        return hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    except OSError:
        return None


def result_line(
    kind: str, out: Path | None, manifest: Mapping[str, Any], tables: Mapping[str, pl.DataFrame]
) -> str:
    """A run's result in one line (its ``repr``): the out folder, the models, the rejected
    rows and warnings, and each table's shape, which says what to look at."""
    shapes = ", ".join(f"{name} {df.height}x{df.width}" for name, df in tables.items())
    models = [m.get("name") for m in manifest.get("models", [])]
    warnings = len(manifest.get("warnings", []))
    rejected = sum(manifest.get("rejected", {}).values())
    where = str(out) if out is not None else None
    return (
        f"{kind}(out={where!r}, models={models}, rejected={rejected}, "
        f"warnings={warnings}, tables=[{shapes}])"
    )
