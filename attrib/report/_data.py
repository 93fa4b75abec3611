"""Read a run's out folder for the report: every table optional, nothing assumed present."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

import polars as pl

from attrib.errors import InputError

#: files a run may write; the report renders what exists
TABLES: tuple[str, ...] = (
    "channel_summary",
    "campaign_summary",
    "journeys",
    "kpis",
    "funnel",
    "plan",
    "markov_removal_effects",
    "markov_transitions",
    "shapley_values",
)


@dataclass
class OutFolder:
    """The tables of one out folder, read lazily; a missing or unreadable table is None."""

    path: Path
    manifest: dict[str, Any]
    _cache: dict[str, pl.DataFrame | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @classmethod
    def open(cls, path: str | Path) -> OutFolder:
        """Open ``path``; raise InputError when it is not a folder written by ``attrib run``."""
        p = Path(path)
        if not p.is_dir():
            raise InputError(
                "output folder not found",
                file=str(p),
                hint="run `attrib run --out DIR` first, then `attrib report DIR`",
            )
        manifest: dict[str, Any] = {}
        problems: list[str] = []
        mpath = p / "manifest.json"
        if mpath.exists():
            try:
                loaded = json.loads(mpath.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:  # (a folder so named: IsADirectoryError)
                problems.append(f"manifest.json could not be read ({exc})")
            else:
                if isinstance(loaded, dict):
                    manifest = loaded
                else:  # (null, a list: not what a run writes)
                    kind = {type(None): "null", list: "an array", str: "a string"}.get(
                        type(loaded), "a number" if not isinstance(loaded, bool) else "a boolean"
                    )
                    problems.append(f"manifest.json holds {kind}, not a run's JSON object")
        if not manifest and not any((p / f"{t}.parquet").is_file() for t in TABLES):
            raise InputError(
                f"no attrib outputs here ({problems[0]} and no summary table is here)"
                if problems
                else "no attrib outputs here (no manifest.json and no summary tables)",
                file=str(p),
                hint="point at the --out folder of `attrib run`",
            )
        outputs = manifest.get("outputs")
        for name in outputs if isinstance(outputs, list) else []:  # (deleted or moved since)
            if isinstance(name, str) and not (p / name).exists():
                problems.append(f"{name} is missing (manifest.json lists it)")
        return cls(p, manifest, problems=problems)

    def table(self, name: str) -> pl.DataFrame | None:
        """``<name>.parquet`` (or a ``<name>/`` folder of Parquet parts) as a frame, or None
        when absent or unreadable (noted in problems)."""
        if name not in self._cache:
            f = self.path / f"{name}.parquet"
            folder = self.path / name  # the Spark engine writes journeys/ as a folder of parts
            source = f if f.is_file() else folder if any(folder.rglob("*.parquet")) else None
            df = None
            if source is not None:
                try:
                    df = (
                        pl.read_parquet(f)
                        if source == f
                        else pl.read_parquet(folder / "**" / "*.parquet", hive_partitioning=True)
                    )
                except Exception as exc:  # a damaged file must not stop the report
                    self.problems.append(f"{source.name} could not be read ({type(exc).__name__})")
            self._cache[name] = df
        return self._cache[name]

    def quarantine(self) -> dict[str, pl.DataFrame]:
        """Rejected rows per input table from ``quarantine/*.parquet``."""
        folder = self.path / "quarantine"
        out: dict[str, pl.DataFrame] = {}
        if folder.is_dir():
            for f in sorted(folder.glob("*.parquet")):
                try:
                    out[f.stem] = pl.read_parquet(f)
                except Exception as exc:
                    self.problems.append(f"quarantine/{f.name} could not be read ({exc})")
        return out


def has(df: pl.DataFrame | None, *columns: str) -> TypeGuard[pl.DataFrame]:
    """True when ``df`` exists, has rows, and has every column."""
    return df is not None and df.height > 0 and all(c in df.columns for c in columns)


def records(df: pl.DataFrame, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Rows as dicts for a chart's inline data; non-finite floats become null."""
    d = df.select(columns) if columns else df
    exprs = []
    for name, dtype in d.schema.items():
        if dtype.is_float():
            exprs.append(
                pl.when(pl.col(name).is_finite()).then(pl.col(name)).otherwise(None).alias(name)
            )
        elif dtype.is_decimal():
            exprs.append(pl.col(name).cast(pl.Float64).alias(name))
        elif dtype.is_temporal():
            exprs.append(pl.col(name).cast(pl.String).alias(name))
    if exprs:
        d = d.with_columns(exprs)
    return d.to_dicts()
