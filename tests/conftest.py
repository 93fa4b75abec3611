"""Shared test fixtures: the real-datasets folder, small input builders, a CLI runner."""

from __future__ import annotations

import csv
import os
import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import polars as pl
import pytest

# Rule-based models in documented order (the registry may hold data-driven ones too).
RULE_BASED = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
    "full_path",
)

TOUCH_COLUMNS = ("customer_id", "ts", "channel", "campaign")
DEAL_COLUMNS = ("deal_id", "customer_id", "created_at", "closed_at", "status", "amount")
STAGE_COLUMNS = ("customer_id", "stage", "ts")


@pytest.fixture(autouse=True, scope="session")
def _cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """What attrib keeps between runs (the report's Vega bundle) goes to a folder of the
    test session's, not the user's cache (the CLI's subprocesses inherit it)."""
    os.environ["ATTRIB_CACHE_DIR"] = str(tmp_path_factory.mktemp("attrib-cache"))


def datasets_dir() -> Path:
    """The shared real datasets folder (``ATTRIB_DATASETS``), or skip the calling test."""
    root = os.environ.get("ATTRIB_DATASETS")
    if not root or not Path(root).is_dir():
        pytest.skip("ATTRIB_DATASETS is not set: the shared real datasets are not available")
    return Path(root)


def dataset_files(*names: str) -> Path:
    """The real datasets' folder, or skip the calling test when one of ``names`` (paths in
    it) is missing (a trimmed copy of the datasets)."""
    root = datasets_dir()
    for name in names:
        if not (root / name).is_file():
            pytest.skip(f"{root / name} is missing")
    return root


def csv_rows(path: Path) -> list[dict[str, str]]:
    """A CSV file's rows as text, read by the standard library: a recount independent of
    the Polars readers attrib uses."""
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def olist_config(deal_id: str = "mql_id") -> str:
    """The config mapping Olist's marketing-qualified leads (touches: one per lead, its
    origin as channel) and closed deals (all won) onto attrib's columns."""
    return f"""
[columns.touchpoints]
customer_id = "mql_id"
ts = "first_contact_date"
channel = "origin"
[columns.deals]
deal_id = "{deal_id}"
customer_id = "mql_id"
created_at = "won_date"
closed_at = "won_date"
amount = "declared_monthly_revenue"
[constants.deals]
status = "won"
"""


@pytest.fixture
def datasets() -> Path:
    """Path of the shared real datasets; skips when ``ATTRIB_DATASETS`` is unset or missing."""
    return datasets_dir()


def frame(rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> pl.DataFrame:
    """A text frame from row tuples (shorter tuples are padded with nulls)."""
    rows = [tuple(r) + (None,) * (len(columns) - len(r)) for r in rows]
    data = {c: [None if r[i] is None else str(r[i]) for r in rows] for i, c in enumerate(columns)}
    return pl.DataFrame(data, schema=dict.fromkeys(columns, pl.String))


def touches(rows: Iterable[Sequence[Any]], columns: Sequence[str] = TOUCH_COLUMNS) -> pl.DataFrame:
    """Touchpoints: (customer_id, ts, channel[, campaign]) tuples."""
    return frame(rows, columns)


def deals(rows: Iterable[Sequence[Any]], columns: Sequence[str] = DEAL_COLUMNS) -> pl.DataFrame:
    """Deals: (deal_id, customer_id, created_at, closed_at, status, amount) tuples."""
    return frame(rows, columns)


def stages(rows: Iterable[Sequence[Any]], columns: Sequence[str] = STAGE_COLUMNS) -> pl.DataFrame:
    """Stages: (customer_id, stage, ts) tuples."""
    return frame(rows, columns)


def write_inputs(
    folder: Path,
    *,
    touches: pl.DataFrame | None = None,
    deals: pl.DataFrame | None = None,
    stages: pl.DataFrame | None = None,
    config: str | None = None,
) -> Path:
    """Write the given tables as CSV (and ``channels.toml``) into ``folder``; returns it."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, df in (("touchpoints", touches), ("deals", deals), ("stages", stages)):
        if df is not None:
            df.write_csv(folder / f"{name}.csv")
    if config is not None:
        (folder / "channels.toml").write_text(config, encoding="utf-8")
    return folder


def run_job(
    tmp_path: Path,
    *,
    touches: pl.DataFrame,
    deals: pl.DataFrame,
    stages: pl.DataFrame | None = None,
    config: str | None = None,
    models: Sequence[str] | str = RULE_BASED,
    out: bool = False,
    **options: Any,
):
    """Write inputs under ``tmp_path/in`` and run the whole job with ``attrib.run.run``."""
    from attrib.run import run

    data = write_inputs(tmp_path / "in", touches=touches, deals=deals, stages=stages, config=config)
    models = ",".join(models) if not isinstance(models, str) else models
    return run(data, out=tmp_path / "out" if out else None, models=models, **options)


def credit(result: Any, model: str, metric: str = "revenue") -> dict[str, float]:
    """``{channel: value}`` of one model's channel summary, channels with zero left out."""
    cs = result.channel_summary.filter(pl.col("model") == model)
    return {c: v for c, v in zip(cs["channel"], cs[metric], strict=True) if v != 0}


def assert_credit(got: dict[str, float], expected: dict[str, float], rel: float = 1e-9) -> None:
    """Channel credit equals ``expected`` (same non-zero channels, values to ``rel``)."""
    assert set(got) == set(expected), (got, expected)
    for channel, value in expected.items():
        assert got[channel] == pytest.approx(value, rel=rel, abs=1e-9), (channel, got, expected)


def run_cli(args: Sequence[str], *, exit_code: int | None = 0, **kwargs: Any):
    """Invoke the ``attrib`` click app in-process; never a traceback, optional exit code."""
    from click.testing import CliRunner

    from cli.main import cli

    result = CliRunner().invoke(cli, [str(a) for a in args], **kwargs)
    text = result.output  # click >= 8.2: stdout and stderr interleaved
    assert "Traceback" not in text, text
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"CLI raised {result.exception!r}\n{text}") from result.exception
    if exit_code is not None:
        assert result.exit_code == exit_code, f"exit {result.exit_code} != {exit_code}\n{text}"
    return result


def hint_config(hint: str | None) -> dict[str, Any]:
    """The config a schema error's hint tells to write, parsed as TOML (a hint that says
    ``map it in the config: [columns.deals] amount = "Amount"`` on one line, or a
    ``[columns.deals]`` block of a line each): what a user pastes must be valid TOML."""
    text = hint or ""
    if (one := re.search(r'map it in the config: (\[[^\]]+\]) (\S+ = "[^"]*")', text)) is not None:
        return tomllib.loads(f"{one.group(1)}\n{one.group(2)}\n")
    block = re.search(r"map them in the config:((?:\n      .*)+)", text)
    assert block is not None, text
    return tomllib.loads("\n".join(line.strip() for line in block.group(1).splitlines()))


def typed_and_text_touch_parts(parts: Path, customers: Sequence[str]) -> pl.DataFrame:
    """Thirty touches of ``customers`` (one each, or cycled), 5 hours apart, into the folder
    ``parts``: the first 10 in ``a.parquet`` typed zoned (UTC), the other 20 in ``d.csv`` as
    text, the first 12 of them with a ``Z``, the last 8 naive (its rows 13-20). Returns the
    CSV part's rows."""
    from datetime import datetime, timedelta

    times = [datetime(2025, 1, 1) + timedelta(hours=5 * i) for i in range(30)]
    ids = [customers[i % len(customers)] for i in range(30)]
    touches = pl.DataFrame({"customer_id": ids, "ts": times, "channel": "Email"})
    parts.mkdir(parents=True, exist_ok=True)
    touches[:10].with_columns(pl.col("ts").dt.replace_time_zone("UTC")).write_parquet(
        parts / "a.parquet"
    )
    text = touches[10:].with_columns(
        pl.col("ts").dt.strftime("%Y-%m-%d %H:%M:%S")
        + pl.when(pl.int_range(pl.len()) < 12).then(pl.lit("Z")).otherwise(pl.lit(""))
    )
    text.write_csv(parts / "d.csv")
    return text


def zoned_parquet_rejects(folder: Path, zone: str) -> Path:
    """Parquet touches and deals typed with ``zone``: one touch without a customer, a
    duplicated deal, and a deal of a customer with no account (rejected at account level)."""
    from datetime import datetime

    folder.mkdir(parents=True)
    at = pl.Datetime("us", zone)
    pl.DataFrame(
        {
            "customer_id": ["c1", ""],
            "account_id": ["a1", "a1"],
            "ts": [datetime(2025, 1, 2, 10), datetime(2025, 1, 3, 11, 30)],
            "channel": ["Email", "Direct"],
        },
        schema_overrides={"ts": at},
    ).write_parquet(folder / "touchpoints.parquet")
    pl.DataFrame(
        {
            "deal_id": ["d1", "d1", "d2"],
            "customer_id": ["c1", "c1", "c9"],
            "created_at": [datetime(2025, 1, 3, 12)] * 3,
            "closed_at": [datetime(2025, 1, 5, 9)] * 3,
            "status": ["won"] * 3,
            "amount": [1.0, 2.0, 3.0],
        },
        schema_overrides={"created_at": at, "closed_at": at},
    ).write_parquet(folder / "deals.parquet")
    return folder
