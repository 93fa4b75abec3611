"""Reporting window, period labels and proration of costs to the window.

Period labels are ``"all"`` (the whole reporting window), months ``"2026-01"`` and quarters
``"2026-Q1"``. Costs come as daily rows or as monthly rows dated the 1st of the month; a
monthly row counts by the fraction of its month's days that lie inside the window, so a
window from 2026-01-16 to 2026-03-31 takes 16/31 of January's monthly spend and all of
February's and March's (see docs/METRICS.md, "Reporting window, periods and costs").
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Literal, TypeVar

import polars as pl

from attrib.columns import NONE_CHANNEL
from attrib.metrics.settings import MetricsSettings

PERIOD_ALL = "all"
_COST_KEYS = ("channel", "campaign")
#: how a cost row's spend is spread: over its day, or over its month (``detect_cost_grain``)
Grain = Literal["daily", "monthly"]


def month_label(e: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` of a date/datetime expression."""
    return e.dt.strftime("%Y-%m")


def quarter_label(e: pl.Expr) -> pl.Expr:
    """``YYYY-Qn`` of a date/datetime expression."""
    return pl.format("{}-Q{}", e.dt.year(), e.dt.quarter())


def period_kind(period: pl.Expr) -> pl.Expr:
    """'quarter' (YYYY-Qn), 'month' (YYYY-MM), or the label itself ('all')."""
    return (
        pl.when(period.str.contains(r"^\d{4}-Q[1-4]$"))
        .then(pl.lit("quarter"))
        .when(period.str.contains(r"^\d{4}-\d{2}$"))
        .then(pl.lit("month"))
        .otherwise(period)
    )


def month_key(ts: pl.Expr) -> pl.Expr:
    """Months since year 0 (``year * 12 + month - 1``): an integer month period key."""
    return ts.dt.year().cast(pl.Int32) * 12 + ts.dt.month().cast(pl.Int32) - 1


def quarter_key(ts: pl.Expr) -> pl.Expr:
    """Quarters since year 0 (``year * 4 + quarter - 1``): an integer quarter period key."""
    return ts.dt.year().cast(pl.Int32) * 4 + ts.dt.quarter().cast(pl.Int32) - 1


#: a month key: a Python int or a Polars expression (the same arithmetic on both)
M = TypeVar("M", int, pl.Expr)


def quarter_of_month(m: M) -> M:
    """The quarter key of a month key (same arithmetic on Python ints and expressions)."""
    return (m // 12) * 4 + (m % 12) // 3


def month_key_label(k: pl.Expr) -> pl.Expr:
    """``YYYY-MM`` of a month key (as ``month_label`` writes it)."""
    return pl.format("{}-{}", k // 12, (k % 12 + 1).cast(pl.String).str.zfill(2))


def quarter_key_label(k: pl.Expr) -> pl.Expr:
    """``YYYY-Qn`` of a quarter key (as ``quarter_label`` writes it)."""
    return pl.format("{}-Q{}", k // 4, k % 4 + 1)


def aggregate_by_period(df: pl.DataFrame, ts_col: str, aggs: list[pl.Expr]) -> pl.DataFrame:
    """``period`` + ``aggs`` for the whole frame ("all") and per month and quarter of ``ts_col``.

    Three group-bys on integer period keys over only the columns the aggregations read (no
    stacked copies of the frame, no per-row label strings); labels are made per group.
    Rows whose ``ts_col`` is null count only in "all". An empty frame gives no rows.
    """
    needed = {ts_col} | {name for e in aggs for name in e.meta.root_names()}
    rows = df.select([c for c in df.columns if c in needed])
    ts = pl.col(ts_col)
    dated = rows.filter(ts.is_not_null())
    k = pl.col("__k")
    parts = [
        dated.group_by(key(ts).alias("__k"))
        .agg(aggs)
        .with_columns(label(k).alias("period"))
        .drop("__k")
        for key, label in ((month_key, month_key_label), (quarter_key, quarter_key_label))
    ]
    if rows.height:
        parts.insert(0, rows.select(aggs).with_columns(pl.lit(PERIOD_ALL).alias("period")))
    return pl.concat([p.select("period", pl.exclude("period")) for p in parts], how="vertical")


def in_window(e: pl.Expr, date_from: date, date_to: date) -> pl.Expr:
    """True where a datetime/date expression lies in the inclusive days [from, to]."""
    start = datetime.combine(date_from, datetime.min.time())
    if date_to >= date.max:  # the last representable day: no upper bound (no overflow)
        return e.cast(pl.Datetime("us")) >= start
    end = datetime.combine(date_to + timedelta(days=1), datetime.min.time())
    return (e.cast(pl.Datetime("us")) >= start) & (e.cast(pl.Datetime("us")) < end)


def resolve_window(
    settings: MetricsSettings,
    touches: pl.DataFrame | None = None,
    deals: pl.DataFrame | None = None,
    stages: pl.DataFrame | None = None,
) -> tuple[date, date] | None:
    """The reporting window: settings.period_from/to, else the data's span.

    The span runs from the earliest to the latest of touch ``ts``, deal ``created_at`` and
    ``closed_at`` and stage ``ts`` (costs do not widen it). None when there is no date at all.
    """
    bounds: list[date] = []
    cols: list[tuple[pl.DataFrame | None, str]] = [
        (touches, "ts"),
        (deals, "created_at"),
        (deals, "closed_at"),
        (stages, "ts"),
    ]
    for frame, col in cols:
        if frame is None or frame.height == 0 or col not in frame.columns:
            continue
        s = frame.get_column(col).drop_nulls()
        if s.len():
            bounds.extend([s.min().date(), s.max().date()])  # type: ignore[union-attr]
    lo = settings.period_from or (min(bounds) if bounds else None)
    hi = settings.period_to or (max(bounds) if bounds else None)
    if lo is None or hi is None:
        return None
    if lo > hi:  # one bound from the settings lies beyond the data: an empty-data window
        if settings.period_to is None:
            hi = lo
        else:
            lo = hi
    return lo, hi


def period_calendar(date_from: date, date_to: date) -> pl.DataFrame:
    """One row per reporting period: ``period, kind, start, end, order``.

    ``start``/``end`` (inclusive days) are clipped to the window; every month and quarter
    touching the window appears, including months without data. Sorted by ``order``:
    "all", then months, then quarters, each chronologically.
    """
    months = pl.DataFrame(
        {
            "start": pl.date_range(
                date_from.replace(day=1), date_to.replace(day=1), "1mo", eager=True
            )
        }
    )
    months = months.with_columns(
        month_label(pl.col("start")).alias("period"),
        quarter_label(pl.col("start")).alias("quarter"),
        pl.col("start").dt.month_end().alias("end"),
    )
    quarters = (
        months.group_by("quarter")
        .agg(pl.col("start").min(), pl.col("end").max())
        .rename({"quarter": "period"})
    )
    lo, hi = pl.lit(date_from), pl.lit(date_to)
    frames = [
        pl.DataFrame(
            {"period": [PERIOD_ALL], "kind": ["all"], "start": [date_from], "end": [date_to]}
        ),
        months.select("period", pl.lit("month").alias("kind"), "start", "end"),
        quarters.select("period", pl.lit("quarter").alias("kind"), "start", "end"),
    ]
    cal = pl.concat(frames, how="vertical").with_columns(
        pl.max_horizontal(pl.col("start"), lo).alias("start"),
        pl.min_horizontal(pl.col("end"), hi).alias("end"),
    )
    kind_rank = pl.col("kind").replace_strict(
        {"all": 0, "month": 1, "quarter": 2}, return_dtype=pl.Int32
    )
    cal = cal.sort(kind_rank, "period")
    return cal.with_row_index("order").select(
        "period", "kind", "start", "end", pl.col("order").cast(pl.Int64)
    )


def repeated_cost_key(costs: pl.DataFrame) -> pl.Expr:
    """True on a cost row of ``costs`` whose (channel, campaign, date) another row repeats
    (a table without campaigns: its channel and date). A blank campaign is the campaign
    ``(none)``, as the summaries name it: a row of each repeats the key."""
    keys = [
        pl.col(c).cast(pl.String).fill_null(NONE_CHANNEL) if c == "campaign" else pl.col(c)
        for c in (*_COST_KEYS, "date")
        if c in costs.columns
    ]
    return pl.struct(keys).is_duplicated()


def cost_grain_facts(costs: pl.DataFrame) -> tuple[bool, int]:
    """Whether every cost row is dated the 1st of a month, and how many rows repeat a
    (channel, campaign, date): the two facts the grain is read from."""
    if costs.height == 0:
        return False, 0
    all_first, repeated = costs.select(
        (pl.col("date").dt.day() == 1).all(), repeated_cost_key(costs).sum()
    ).row(0)
    return bool(all_first), int(repeated)


def detect_cost_grain(costs: pl.DataFrame) -> Grain:
    """``monthly`` if every date is a 1st and (channel, campaign, month) is unique, else ``daily``.

    An empty table is ``daily`` (it does not matter: there is nothing to prorate).
    """
    all_first, repeated = cost_grain_facts(costs)
    return "monthly" if all_first and not repeated else "daily"


def allocate_costs(
    costs: pl.DataFrame | None, date_from: date, date_to: date, *, grain: Grain | None = None
) -> pl.DataFrame:
    """Spend of each cost row that falls inside the window, keyed by month.

    Returns ``channel, campaign, month (Date, the 1st), spend``: a daily row counts fully when
    its day is inside [from, to], a monthly row by (its month's days inside the window) /
    (days in the month). Null campaigns stay null. Sorted by month, channel, campaign.
    ``grain`` is the whole cost table's (``detect_cost_grain``) when ``costs`` is a part of
    it (the marketing rows): read off the part, it could differ.
    """
    schema = {"channel": pl.String, "campaign": pl.String, "month": pl.Date, "spend": pl.Float64}
    if costs is None or costs.height == 0:
        return pl.DataFrame(schema=schema)
    c = costs
    if "campaign" not in c.columns:
        c = c.with_columns(pl.lit(None, pl.String).alias("campaign"))
    c = c.select(
        pl.col("date").cast(pl.Date),
        pl.col("channel").cast(pl.String),
        pl.col("campaign").cast(pl.String),
        pl.col("spend").cast(pl.Float64).fill_null(0.0),
    ).sort(pl.all(), nulls_last=True)  # sums that do not depend on the input's row order
    lo, hi = pl.lit(date_from), pl.lit(date_to)
    if (grain or detect_cost_grain(c)) == "monthly":
        first = pl.col("date").dt.month_start()
        last = pl.col("date").dt.month_end()
        overlap = (
            (pl.min_horizontal(last, hi) - pl.max_horizontal(first, lo)).dt.total_days() + 1
        ).clip(lower_bound=0)
        month_days = (last - first).dt.total_days() + 1
        c = c.with_columns(
            (pl.col("spend") * overlap.cast(pl.Float64) / month_days.cast(pl.Float64)).alias(
                "spend"
            )
        ).filter(overlap > 0)
    else:
        c = c.filter((pl.col("date") >= lo) & (pl.col("date") <= hi))
    out = c.group_by("channel", "campaign", pl.col("date").dt.month_start().alias("month")).agg(
        pl.col("spend").sum()
    )
    return out.select(list(schema)).sort("month", "channel", "campaign", nulls_last=True)


def spend_by_period(
    allocated: pl.DataFrame, calendar: pl.DataFrame, keys: Iterable[str] = ()
) -> pl.DataFrame:
    """Sum allocated spend into the calendar's periods: ``period, *keys, spend``."""
    keys = list(keys)
    a = allocated.with_columns(
        month_label(pl.col("month")).alias("m"), quarter_label(pl.col("month")).alias("q")
    )
    parts = [
        a.with_columns(pl.lit(PERIOD_ALL).alias("period")),
        a.with_columns(pl.col("m").alias("period")),
        a.with_columns(pl.col("q").alias("period")),
    ]
    stacked = pl.concat(parts, how="vertical")
    return (
        stacked.group_by("period", *keys)
        .agg(pl.col("spend").sum())
        .join(calendar.select("period"), on="period", how="semi")
        .sort("period", *keys, nulls_last=True)
    )


def prorate_costs(
    costs: pl.DataFrame | None,
    date_from: date,
    date_to: date,
    *,
    by_campaign: bool = False,
    grain: Grain | None = None,
) -> pl.DataFrame:
    """Total spend inside the window per ``channel`` (and ``campaign``), sorted by the keys
    (``grain``: as ``allocate_costs``)."""
    keys = ["channel", "campaign"] if by_campaign else ["channel"]
    a = allocate_costs(costs, date_from, date_to, grain=grain)
    return a.group_by(keys).agg(pl.col("spend").sum()).sort(keys, nulls_last=True)
