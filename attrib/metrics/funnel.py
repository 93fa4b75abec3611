"""The B2B funnel: stage counts, stage-to-stage conversion with Wilson 95% intervals.

Stages run session → lead → mql → sql → opportunity → offer → customer; a stage absent from
the data is skipped. The funnel is cumulative: an entity recorded at a later stage has passed
every earlier present stage (see docs/METRICS.md, "Funnel").
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from attrib._code_kernels import dense_codes
from attrib.columns import CLOSED_AT, CREATED_AT, NONE_CHANNEL
from attrib.encoded import US_PER_DAY
from attrib.entity_keys import sort_by_entity
from attrib.metrics._funnel_kernels import (
    NO_TIME,
    month_keys,
    period_medians,
    reached_rows,
    stage_counts,
)
from attrib.metrics.periods import (
    in_window,
    month_key,
    period_calendar,
    quarter_key,
    quarter_of_month,
    resolve_window,
)
from attrib.metrics.settings import STAGE_ORDER, MetricsSettings

if TYPE_CHECKING:
    from polars._typing import SchemaDict

ALL_CHANNELS = "(all)"
NO_CHANNEL = NONE_CHANNEL  # an entity no touch sourced

FUNNEL_SCHEMA: dict[str, pl.DataType] = {
    "view": pl.String(),
    "period": pl.String(),
    "channel": pl.String(),
    "stage": pl.String(),
    "stage_order": pl.Int64(),
    "count": pl.Int64(),
    "rate_from_previous": pl.Float64(),
    "rate_from_previous_lo": pl.Float64(),
    "rate_from_previous_hi": pl.Float64(),
    "rate_from_lead": pl.Float64(),
    "rate_from_lead_lo": pl.Float64(),
    "rate_from_lead_hi": pl.Float64(),
    "median_days_from_previous": pl.Float64(),
}


def wilson_interval(count: pl.Expr, nobs: pl.Expr, alpha: float = 0.05) -> tuple[pl.Expr, pl.Expr]:
    """Wilson score interval (lo, hi) as Polars expressions.

    The same closed form and operation order as statsmodels
    ``proportion_confint(count, nobs, alpha, method="wilson")`` (clipped to [0, 1]); null
    where ``nobs`` is 0 or null or ``count`` exceeds ``nobs`` (not a proportion).
    """
    crit = NormalDist().inv_cdf(1.0 - alpha / 2.0)
    crit2 = crit**2
    n = nobs.cast(pl.Float64)
    c = count.cast(pl.Float64)
    q = c / n
    denom = 1.0 + crit2 / n
    center = (q + crit2 / (2.0 * n)) / denom
    dist = (crit * (q * (1.0 - q) / n + crit2 / (4.0 * n**2)).sqrt()) / denom
    ok = (n > 0) & (c >= 0) & (c <= n)
    lo = pl.when(ok).then((center - dist).clip(0.0, 1.0))
    hi = pl.when(ok).then((center + dist).clip(0.0, 1.0))
    return lo, hi


def safe_div(num: pl.Expr, den: pl.Expr) -> pl.Expr:
    """``num / den`` as Float64, null where the denominator is 0 or null."""
    den_f = den.cast(pl.Float64)
    return pl.when(den_f != 0).then(num.cast(pl.Float64) / den_f)


def _stage_name(settings: MetricsSettings) -> pl.Expr:
    """``stage`` stripped and lower-cased, a name that is not canonical mapped
    (settings.stage_names). A validated table's names are canonical already (validation maps
    them, ``RunConfig.stage_mapping``): they are not mapped twice."""
    mapping = {k.strip().lower(): v.strip().lower() for k, v in settings.stage_names.items()}
    name = pl.col("stage").cast(pl.String).str.strip_chars().str.to_lowercase()
    if not mapping:
        return name
    return pl.when(name.is_in(list(STAGE_ORDER))).then(name).otherwise(name.replace(mapping))


def _stage_lookup(stages: pl.DataFrame, settings: MetricsSettings) -> dict[str, str]:
    """Each distinct ``stage`` text -> its canonical name (``_stage_name``): the mapping is
    worked out once per distinct name, not once per row."""
    names = stages.select(pl.col("stage").cast(pl.String).unique().drop_nulls())
    mapped = names.select(_stage_name(settings)).get_column("stage")
    return dict(zip(names.get_column("stage").to_list(), mapped.to_list(), strict=True))


def _stage_codes(stages: pl.DataFrame | None, settings: MetricsSettings) -> pl.DataFrame:
    """``entity_id, stage, ts`` of the stage rows whose name is canonical after mapping
    (settings.stage_names, lower-cased) and whose ts is set, ``stage`` as its index in
    ``STAGE_ORDER`` (Int32)."""
    schema: SchemaDict = {"entity_id": pl.String, "stage": pl.Int32, "ts": pl.Datetime("us")}
    if stages is None or stages.height == 0:
        return pl.DataFrame(schema=schema)
    lookup = {
        raw: STAGE_ORDER.index(name)
        for raw, name in _stage_lookup(stages, settings).items()
        if name in STAGE_ORDER[1:]
    }
    return stages.select(
        pl.col("entity_id").cast(pl.String),
        pl.col("stage").cast(pl.String).replace_strict(lookup, default=None, return_dtype=pl.Int32),
        pl.col("ts").cast(pl.Datetime("us")),
    ).filter(pl.col("stage").is_not_null() & pl.col("ts").is_not_null())


#: digest column marking each entity's first touch (see ``Journeys.digest``)
ENTITY_FIRST = "entity_first"


def first_touch_channel(touches: pl.DataFrame | None) -> pl.DataFrame:
    """``entity_id, source_channel, source_campaign, first_ts``: each entity's first touch.

    Ties on ``ts`` break by channel then campaign, so the result is deterministic. A journey
    digest marks those touches already (``entity_first``), which saves the sort.
    """
    schema: SchemaDict = {
        "entity_id": pl.String,
        "source_channel": pl.String,
        "source_campaign": pl.String,
        "first_ts": pl.Datetime("us"),
    }
    if touches is None or touches.height == 0:
        return pl.DataFrame(schema=schema)
    campaign = pl.col("campaign") if "campaign" in touches.columns else pl.lit(NO_CHANNEL)
    picked = [
        pl.col("entity_id"),
        pl.col("channel").alias("source_channel"),
        campaign.alias("source_campaign"),
        pl.col("ts").alias("first_ts"),
    ]
    if ENTITY_FIRST in touches.columns:
        return touches.filter(pl.col(ENTITY_FIRST)).select(picked).select(list(schema))
    return (
        touches.select("entity_id", "ts", "channel", campaign.alias("campaign"))
        .sort("entity_id", "ts", "channel", "campaign", nulls_last=True)
        .group_by("entity_id", maintain_order=True)
        .first()
        .select(picked)
        .select(list(schema))
    )


#: columns of ``reached_stages``' frame (and ``StageFacts.reached``)
STAGE_ENUM = pl.Enum(STAGE_ORDER)
REACHED_SCHEMA: SchemaDict = {
    "entity_id": pl.String,
    "stage": STAGE_ENUM,
    "stage_order": pl.Int8,
    "ts": pl.Datetime("us"),
    "prev_ts": pl.Datetime("us"),
    "entry_ts": pl.Datetime("us"),
    "source_channel": pl.Categorical,
    "source_campaign": pl.Categorical,
    "ts_month": pl.Int32,  # month keys (``periods.month_key``) of ts and entry_ts
    "entry_month": pl.Int32,
}


def reached_stages(
    stages: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    deals: pl.DataFrame | None,
    settings: MetricsSettings,
    *,
    source: pl.DataFrame | None = None,
    present: list[str] | None = None,
    with_ids: bool = True,
) -> tuple[pl.DataFrame, list[str]]:
    """Every (entity, present stage) reached, with the time it was reached.

    Raw records: ``session`` = first touch; lead…customer = earliest stage row; an
    ``opportunity`` also from a deal's ``created_at`` and a ``customer`` from a won deal's
    ``closed_at``. Cumulative: the time at stage s is the earliest raw record at s or any
    later stage (so an SQL without an MQL row counts as an MQL at its SQL time). Returns
    ``entity_id, stage, stage_order, ts, prev_ts, entry_ts`` (``prev_ts``: time at the
    previous present stage; ``entry_ts``: time at the first present stage) and the entity's
    source, its first touch's channel and campaign (``source_channel, source_campaign``;
    null without touches, or when a milestone other than the session came before that
    touch: the touch did not source the entity), in no set row order, and the present
    stages in order. ``source`` (``first_touch_channel(touches)``) saves recomputing each
    entity's first touch; ``present`` gives the run's present stages when this is one batch
    of many (``present_stages``), else they are the batch's own. ``with_ids=False`` leaves
    out ``entity_id`` (the metrics read none: ~15 B a row less).
    The source channel and campaign come as categoricals.

    One numba pass over the records sorted by entity key (``entity_keys.sort_by_entity``)
    replaces a group-by with a filtered minimum per stage and two joins on the id text.
    """
    first = None
    has_touches = False
    code = {s: i for i, s in enumerate(STAGE_ORDER)}
    parts: list[pl.DataFrame] = []
    if touches is not None and touches.height:
        first = source if source is not None else first_touch_channel(touches)
        has_touches = first.get_column("first_ts").drop_nulls().len() > 0
        parts.append(
            first.select(
                "entity_id",
                pl.col("first_ts").alias("ts"),
                pl.lit(code["session"], pl.Int32).alias("stage"),
                pl.int_range(pl.len(), dtype=pl.Int32).alias("source"),
            )
        )
    normalized = _stage_codes(stages, settings)
    parts.append(normalized.with_columns(pl.lit(-1, pl.Int32).alias("source")))
    if deals is not None and deals.height:
        won = deals.filter(pl.col("status") == "won")
        for frame, column, name in (
            (deals, CREATED_AT, "opportunity"),
            (won, CLOSED_AT, "customer"),
        ):
            parts.append(
                frame.select(
                    "entity_id",
                    pl.col(column).alias("ts"),
                    pl.lit(code[name], pl.Int32).alias("stage"),
                    pl.lit(-1, pl.Int32).alias("source"),
                )
            )
    if present is None:
        present = present_stages(stages, deals, settings, has_touches=has_touches)
    if not present:
        empty = pl.DataFrame(schema=REACHED_SCHEMA)
        return (empty if with_ids else empty.drop("entity_id")), present
    raw = pl.concat(
        [
            p.select(
                pl.col("entity_id").cast(pl.String),
                pl.col("ts").cast(pl.Datetime("us")).dt.epoch("us").fill_null(NO_TIME),
                "stage",
                "source",
            )
            for p in parts
        ],
        how="vertical",
        rechunk=True,
    )
    ids = raw.get_column("entity_id")
    order, keys, ts, stage, src, _ = sort_by_entity(
        ids,
        raw.get_column("ts").to_numpy(),
        raw.get_column("stage").to_numpy(),
        raw.get_column("source").to_numpy(),
    )
    position = np.full(len(STAGE_ORDER), -1, dtype=np.int64)
    position[[code[s] for s in present]] = np.arange(len(present))
    rows, at, when, prev, entry, first_row = reached_rows(
        keys, ts, stage, src, position, len(present)
    )
    reached = pl.DataFrame(
        {
            **({"entity_id": ids.gather(order[rows])} if with_ids else {}),
            "stage": pl.Series(present, dtype=STAGE_ENUM).gather(at),
            "stage_order": pl.Series([code[s] for s in present], dtype=pl.Int8).gather(at),
            "ts": when,
            "prev_ts": prev,
            "entry_ts": entry,
            "__source": first_row,
            # a reached row always has both times (a stage is reached at a time)
            "ts_month": month_keys(when),
            "entry_month": month_keys(entry),
        }
    ).with_columns(
        pl.when(pl.col(c) != NO_TIME).then(pl.col(c)).cast(pl.Datetime("us")).alias(c)
        for c in ("ts", "prev_ts", "entry_ts")
    )
    picked = pl.when(pl.col("__source") >= 0).then(pl.col("__source"))
    if first is not None:
        info = first.select(
            pl.col("source_channel").cast(pl.Categorical),
            pl.col("source_campaign").cast(pl.Categorical),
        )
        reached = pl.concat(
            [reached, info.gather(reached.select(picked).to_series())], how="horizontal"
        )
    else:
        reached = reached.with_columns(
            pl.lit(None, pl.Categorical).alias("source_channel"),
            pl.lit(None, pl.Categorical).alias("source_campaign"),
        )
    return reached.select([c for c in REACHED_SCHEMA if c in reached.columns]), present


@dataclass(frozen=True)
class StageFacts:
    """Per-entity facts the funnel and the ROI stage counts share (computed once per run)."""

    reached: pl.DataFrame  # reached_stages() (REACHED_SCHEMA), with each entity's source
    present: list[str]  # stages present in the data, in funnel order
    source: (
        pl.DataFrame
    )  # first_touch_channel(): entity_id, source_channel, source_campaign, first_ts


def stage_facts(
    stages: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    deals: pl.DataFrame | None,
    settings: MetricsSettings,
    *,
    present: list[str] | None = None,
    source: pl.DataFrame | None = None,
) -> StageFacts:
    """Reached stages and each entity's first touch, for ``compute_funnel`` and the ROI step.

    ``present``: the run's present stages when this is one batch of many; ``source``:
    ``first_touch_channel(touches)`` when the caller has it already.
    """
    source = source if source is not None else first_touch_channel(touches)
    reached, present = reached_stages(
        stages, touches, deals, settings, source=source, present=present, with_ids=False
    )
    return StageFacts(reached, present, source)


def present_stages(
    stages: pl.DataFrame | None,
    deals: pl.DataFrame | None,
    settings: MetricsSettings,
    *,
    has_touches: bool,
) -> list[str]:
    """The funnel stages a run's data holds, in order: ``session`` where there are touches,
    the mapped stage names, ``opportunity`` where there are deals and ``customer`` where a
    won deal has closed.

    The one definition ``reached_stages`` uses; a batched run calls it once on the whole
    tables so that every batch agrees on the stages before any is seen.
    """
    seen: set[str] = set()
    if stages is not None and stages.height:
        # the distinct names only: the table itself is normalized once, by reached_stages
        seen.update(_stage_lookup(stages.filter(pl.col("ts").is_not_null()), settings).values())
    seen &= set(STAGE_ORDER[1:])
    if has_touches:
        seen.add("session")
    if deals is not None and deals.height:
        if deals.get_column("created_at").drop_nulls().len():
            seen.add("opportunity")
        won = deals.filter((pl.col("status") == "won") & pl.col("closed_at").is_not_null())
        if won.height:
            seen.add("customer")
    return [s for s in STAGE_ORDER if s in seen]


@dataclass(frozen=True)
class FunnelPartial:
    """One batch's additive share of the funnel (entities never span batches).

    ``counts``: ``view, m, channel, stage_order, count`` (``m``: month key of the view's
    date, rows inside the window only); ``days``: one row per (view, entity, stage) with a
    previous stage, ``view, m, channel, stage_order, days`` (medians need the values);
    ``channels``: every source channel seen, so a channel outside the window still gets its
    zero rows.
    """

    counts: pl.DataFrame
    days: pl.DataFrame
    channels: pl.DataFrame


_VIEW = pl.Enum(["period", "cohort"])


def funnel_map(facts: StageFacts, window: tuple[date, date] | None) -> FunnelPartial:
    """Reduce one batch's reached stages to additive counts and the days-between-stages."""
    reached = facts.reached
    # categorical: the days rows keep the small codes; counts come from dense codes
    channel = reached.get_column("source_channel").fill_null(NO_CHANNEL).alias("channel")
    codes, names = _dense_channels(channel)
    stage = reached.get_column("stage_order").cast(pl.Int8)
    r = pl.DataFrame(
        [
            stage,
            channel,
            reached.select(
                ((pl.col("ts") - pl.col("prev_ts")).dt.total_microseconds() / US_PER_DAY).alias(
                    "days"
                )
            ).to_series(),
        ]
    )
    counts, days = [], []
    for view, column, months in (
        ("period", "ts", "ts_month"),
        ("cohort", "entry_ts", "entry_month"),
    ):
        m = reached.get_column(months)
        keep = (
            reached.select(in_window(pl.col(column), *window)).to_series()
            if window is not None
            else pl.Series(np.ones(reached.height, dtype=np.bool_))
        )
        first, grid = stage_counts(
            m.to_numpy(), codes, stage.to_numpy(), keep.to_numpy(), len(names), len(STAGE_ORDER)
        )
        at = np.nonzero(grid)
        counts.append(
            pl.DataFrame(
                {
                    "view": pl.Series([view] * len(at[0]), dtype=pl.String),
                    "m": (first + at[0]).astype(np.int32),
                    "channel": names.gather(at[1]),
                    "stage_order": at[2].astype(np.int8),
                    "count": grid[at],
                }
            )
        )
        days.append(
            r.with_columns(m.alias("m"))
            .filter(keep & pl.col("days").is_not_null())
            .select(pl.lit(view, _VIEW).alias("view"), "m", "channel", "stage_order", "days")
        )
    return FunnelPartial(
        counts=pl.concat(counts, how="vertical"),
        days=pl.concat(days, how="vertical"),
        channels=pl.DataFrame({"channel": names}),
    )


def funnel_finalize(
    parts: list[FunnelPartial],
    present: list[str],
    window: tuple[date, date] | None,
    settings: MetricsSettings,
    *,
    spilled_days: Path | None = None,
) -> pl.DataFrame:
    """The funnel table (``FUNNEL_SCHEMA``) from every batch's ``funnel_map``.

    ``spilled_days``: the folder where an engine wrote the batches' ``days`` rows
    (``spill_days``) rather than keeping them in the partials; medians read one (stage, view)
    slice at a time, so memory holds that slice's rows, not all.
    """
    if window is None or not present:
        return pl.DataFrame(schema=FUNNEL_SCHEMA)
    cal = period_calendar(*window)
    counts = pl.concat([p.counts for p in parts], how="vertical")
    counts = counts.group_by("view", "m", "channel", "stage_order").agg(pl.col("count").sum())
    days = pl.concat([p.days for p in parts], how="vertical").lazy()
    orders = [STAGE_ORDER.index(s) for s in present]
    agg = _stage_aggregates(counts, days, cal, orders, spilled_days)
    channels = pl.concat(
        [pl.DataFrame({"channel": [ALL_CHANNELS]}), *[p.channels for p in parts]],
        how="vertical",
    ).unique()
    # the full grid, so that a month without data and a stage nobody reached show as 0
    grid = (
        pl.DataFrame({"view": ["cohort", "period"]})
        .join(cal.select("period", "order"), how="cross")
        .join(channels, how="cross")
        .join(
            pl.DataFrame(
                {"stage": present, "stage_order": [STAGE_ORDER.index(s) for s in present]},
                schema={"stage": pl.String, "stage_order": pl.Int64},
            ),
            how="cross",
        )
    )
    f = (
        grid.join(agg, on=["view", "period", "channel", "stage_order"], how="left")
        .with_columns(pl.col("count").fill_null(0))
        .sort("view", "order", "channel", "stage_order")
    )
    grp = ["view", "period", "channel"]
    prev_count = pl.col("count").shift(1).over(grp, order_by="stage_order")
    lead_count = pl.col("count").filter(pl.col("stage") == "lead").first().over(grp)
    has_lead = "lead" in present
    lead_ok = pl.lit(has_lead) & (pl.col("stage_order") >= STAGE_ORDER.index("lead"))
    p_lo, p_hi = wilson_interval(pl.col("count"), prev_count, settings.alpha)
    l_lo, l_hi = wilson_interval(pl.col("count"), lead_count, settings.alpha)
    if not has_lead:
        lead_count = pl.lit(None, pl.Int64)
        l_lo = l_hi = pl.lit(None, pl.Float64)
    f = f.with_columns(
        safe_div(pl.col("count"), prev_count).alias("rate_from_previous"),
        p_lo.alias("rate_from_previous_lo"),
        p_hi.alias("rate_from_previous_hi"),
        pl.when(lead_ok).then(safe_div(pl.col("count"), lead_count)).alias("rate_from_lead"),
        pl.when(lead_ok).then(l_lo).alias("rate_from_lead_lo"),
        pl.when(lead_ok).then(l_hi).alias("rate_from_lead_hi"),
    )
    return f.sort("view", "order", "channel", "stage_order").select(
        [pl.col(k).cast(t) for k, t in FUNNEL_SCHEMA.items()]
    )


def compute_funnel(
    stages: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    deals: pl.DataFrame | None,
    settings: MetricsSettings,
    *,
    facts: StageFacts | None = None,
) -> pl.DataFrame:
    """Stage counts and conversion rates per view × period × source channel (``FUNNEL_SCHEMA``).

    ``view="period"`` puts an entity in the period it reached each stage; ``view="cohort"``
    puts all of an entity's stages in the period it entered the funnel. ``channel`` is the
    entity's source: its first touch's channel, "(none)" without touches or when the touch
    came after the entity's first milestone; plus an "(all)" row. (One batch
    of ``funnel_map`` and its ``funnel_finalize``.)
    """
    window = resolve_window(settings, touches, deals, stages)
    facts = facts or stage_facts(stages, touches, deals, settings)
    if window is None or not facts.present:
        return pl.DataFrame(schema=FUNNEL_SCHEMA)
    return funnel_finalize([funnel_map(facts, window)], facts.present, window, settings)


def _period_keys(cal: pl.DataFrame) -> pl.DataFrame:
    """The calendar's labels by integer key: ``kind`` (all/month/quarter), ``key``, ``period``."""
    start = pl.col("start")
    key = (
        pl.when(pl.col("kind") == "month")
        .then(month_key(start))
        .when(pl.col("kind") == "quarter")
        .then(quarter_key(start))
        .otherwise(pl.lit(0, pl.Int32))
    )
    return cal.select("kind", key.alias("key"), "period")


def spill_days(days: pl.DataFrame, folder: Path, name: str) -> None:
    """Write ``funnel_map`` days rows to ``folder/s<stage>-<view>/<name>.parquet`` (``m,
    channel, days``), so that the finalize reads one (stage, view) slice at a time."""
    for (stage, view), group in days.group_by("stage_order", "view"):
        target = folder / f"s{stage}-{view}"
        target.mkdir(parents=True, exist_ok=True)
        group.select("m", "channel", "days").write_parquet(target / f"{name}.parquet")


def _days_slice(days: pl.LazyFrame, spilled: Path | None, stage: int, view: str) -> pl.DataFrame:
    """``m, channel, days`` of one (stage, view): in-memory rows plus any spilled files."""
    part = days.filter((pl.col("stage_order") == stage) & (pl.col("view") == view))
    frames = [part.select("m", "channel", "days")]
    folder = spilled / f"s{stage}-{view}" if spilled is not None else None
    if folder is not None and folder.is_dir():
        frames.append(pl.scan_parquet(folder / "*.parquet"))
    return pl.concat(frames, how="vertical").collect()


_MEDIAN = "median_days_from_previous"


def _dense_channels(channel: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """Dense int32 code per row (first-seen order) and the channel name of each code."""
    if channel.dtype != pl.Categorical:
        channel = channel.cast(pl.Categorical)
    physical = channel.to_physical().to_numpy().astype(np.int64)
    codes, first, _ = dense_codes(physical, physical)  # exact: the codes are the keys
    return codes, channel.gather(first).cast(pl.String)


def _slice_medians(d: pl.DataFrame) -> dict[tuple[str, bool], pl.DataFrame]:
    """Medians of one (stage, view) slice (``m, channel, days``) per period kind, by channel
    (``key, channel, median``) and over all channels (``key, median``).

    One numba pass per period kind (``period_medians``: a counting sort by group and a
    selection per group) instead of Polars group-by medians, which sort every group.
    """
    schemas: dict[bool, SchemaDict] = {
        True: {"key": pl.Int32, "channel": pl.String, _MEDIAN: pl.Float64},
        False: {"key": pl.Int32, _MEDIAN: pl.Float64},
    }
    kinds = ("month", "quarter", "all")
    if d.height == 0:
        return {(k, c): pl.DataFrame(schema=schemas[c]) for k in kinds for c in (True, False)}
    months = d.get_column("m").to_numpy().astype(np.int64)
    base = int(months.min())
    base -= base % 3  # the first month of its quarter: month index // 3 = quarter index
    codes, names = _dense_channels(d.get_column("channel"))
    medians = period_medians(
        months - base, codes, len(names), d.get_column("days").cast(pl.Float64).to_numpy()
    )
    first_key = {"month": base, "quarter": quarter_of_month(base), "all": 0}
    out: dict[tuple[str, bool], pl.DataFrame] = {}
    for i, kind in enumerate(kinds):
        by_channel, overall = medians[2 * i], medians[2 * i + 1]
        idx = np.flatnonzero(~np.isnan(by_channel))
        out[(kind, True)] = pl.DataFrame(
            {
                "key": (first_key[kind] + idx // len(names)).astype(np.int32),
                "channel": names.gather(idx % len(names)),
                _MEDIAN: by_channel[idx],
            },
            schema=schemas[True],
        )
        idx = np.flatnonzero(~np.isnan(overall))
        out[(kind, False)] = pl.DataFrame(
            {"key": (first_key[kind] + idx).astype(np.int32), _MEDIAN: overall[idx]},
            schema=schemas[False],
        )
    return out


def _stage_aggregates(
    counts: pl.DataFrame,
    days: pl.LazyFrame,
    cal: pl.DataFrame,
    stage_orders: list[int],
    spilled: Path | None = None,
) -> pl.DataFrame:
    """``view, period, channel, stage_order, count, median_days_from_previous``.

    Month counts (``funnel_map``) summed up to quarters, the whole window and the "(all)"
    channel; medians of the rows that have a previous stage are taken per group, one
    (stage, view) slice at a time (only that slice's rows are in memory; ``spilled`` is the
    folder of ``spill_days``). Integer period keys keep frames narrow.
    """
    kinds = {
        "all": lambda m: pl.lit(0, pl.Int32),
        "month": lambda m: m,
        "quarter": quarter_of_month,
    }
    groupings = [
        (kind, key_of, by_channel) for kind, key_of in kinds.items() for by_channel in (True, False)
    ]

    def grouping(key_of, by_channel: bool) -> tuple[list[str], list[pl.Expr | str]]:
        keys = (
            ["view", "key", "channel", "stage_order"]
            if by_channel
            else ["view", "key", "stage_order"]
        )
        return keys, [key_of(pl.col("m")).alias("key") if k == "key" else k for k in keys]

    medians: dict[tuple[str, bool], list[pl.DataFrame]] = {(k, c): [] for k, _, c in groupings}

    def slice_medians(s: int, view: str) -> dict[tuple[str, bool], pl.DataFrame]:
        # one (stage, view) slice at a time: the largest holds ~1/8 of all rows
        return {
            key: frame.with_columns(
                pl.lit(view).alias("view"),
                pl.lit(s, pl.Int8).alias("stage_order"),
                *([pl.col("channel").cast(pl.String)] if key[1] else []),
            )
            for key, frame in _slice_medians(_days_slice(days, spilled, s, view)).items()
        }

    slices = [(s, view) for s in stage_orders for view in ("period", "cohort")]
    # in memory, two slices at a time (many small Polars calls: a second thread fills the
    # gaps); spilled (out-of-core) slices one at a time, to bound memory
    with ThreadPoolExecutor(max_workers=1 if spilled is not None else 2) as pool:
        for result in pool.map(lambda sv: slice_medians(*sv), slices):
            for key, frame in result.items():
                medians[key].append(frame)
    parts = []
    for kind, key_of, by_channel in groupings:
        keys, by = grouping(key_of, by_channel)
        n = counts.group_by(by).agg(pl.col("count").sum())
        med = pl.concat(medians[(kind, by_channel)], how="vertical_relaxed").select(
            *keys, "median_days_from_previous"
        )
        part = n.join(med, on=keys, how="left")
        if not by_channel:
            part = part.with_columns(pl.lit(ALL_CHANNELS).alias("channel"))
        parts.append(part.with_columns(pl.lit(kind).alias("kind")))
    agg = pl.concat(
        [
            p.select(
                "view",
                "kind",
                pl.col("key").cast(pl.Int32),
                "channel",
                "stage_order",
                pl.col("count").cast(pl.Int64),
                pl.col("median_days_from_previous").cast(pl.Float64),
            )
            for p in parts
        ],
        how="vertical",
    )
    return agg.join(_period_keys(cal), on=["kind", "key"], how="inner").select(
        "view",
        "period",
        "channel",
        pl.col("stage_order").cast(pl.Int64),
        "count",
        "median_days_from_previous",
    )
