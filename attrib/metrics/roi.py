"""Spend and return per model × channel (× campaign): ROAS, ROMI, CPL, cost per stage, CAC.

Spend is prorated to the reporting window (``attrib.metrics.periods``). Stage counts are
*sourced* counts: an entity counts for the channel of its first touch, when that first touch
happened at or before the entity reached the stage (else for "(none)"). Every ratio is null
when its denominator is 0, and every cost ratio is null when spend is 0 (see docs/METRICS.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import polars as pl

from attrib.metrics.funnel import (
    NO_CHANNEL,
    StageFacts,
    safe_div,
)
from attrib.metrics.periods import detect_cost_grain, in_window, prorate_costs
from attrib.metrics.settings import MetricsSettings
from attrib.schema import at_or_before

#: stage name → sourced-count column and its cost column
STAGE_COLUMNS: dict[str, tuple[str, str]] = {
    "lead": ("leads", "cpl"),
    "mql": ("mqls", "cost_per_mql"),
    "sql": ("sqls", "cost_per_sql"),
    "opportunity": ("opportunities", "cost_per_opportunity"),
}

ADDED_COLUMNS: tuple[str, ...] = (
    "spend",
    "roas",
    "romi",
    "leads",
    "cpl",
    "mqls",
    "cost_per_mql",
    "sqls",
    "cost_per_sql",
    "opportunities",
    "cost_per_opportunity",
    "customers",
    "cac",
)


def _is_sales_channel(settings: MetricsSettings) -> pl.Expr:
    names = [c.lower() for c in settings.sales_cost_channels]
    return pl.col("channel").str.to_lowercase().is_in(names)


def channel_marketing_flags(
    touches: pl.DataFrame | None, summary: pl.DataFrame | None = None
) -> pl.DataFrame:
    """``channel, is_marketing``: from the summary's flags, else touches' ``is_marketing``.

    A channel is marketing when any of its rows says so; channels found nowhere are absent.
    """
    parts = []
    for frame in (summary, touches):
        if frame is not None and frame.height and "is_marketing" in frame.columns:
            parts.append(frame.select(pl.col("channel").cast(pl.String), "is_marketing"))
    if not parts:
        return pl.DataFrame(schema={"channel": pl.String, "is_marketing": pl.Boolean})
    return (
        pl.concat(parts, how="vertical")
        .group_by("channel")
        .agg(pl.col("is_marketing").any())
        .sort("channel")
    )


def channel_spend(
    costs: pl.DataFrame | None,
    settings: MetricsSettings,
    window: tuple[date, date] | None,
    *,
    by_campaign: bool = False,
) -> pl.DataFrame:
    """Marketing spend in the window per channel (× campaign, null campaign → "(none)").

    Cost rows of a sales-cost channel (settings.sales_cost_channels) are excluded: they are
    sales cost, used by ``cac_total`` only. The grain is the whole table's, as the KPIs
    read it: a sales row that repeats a month, or is dated on another day, makes it daily.
    """
    keys = ["channel", "campaign"] if by_campaign else ["channel"]
    empty = pl.DataFrame(schema={**dict.fromkeys(keys, pl.String), "spend": pl.Float64})
    if costs is None or costs.height == 0 or window is None:
        return empty
    grain = detect_cost_grain(costs)
    c = costs.filter(~_is_sales_channel(settings))
    if by_campaign:
        if "campaign" not in c.columns:
            c = c.with_columns(pl.lit(None, pl.String).alias("campaign"))
        c = c.with_columns(pl.col("campaign").cast(pl.String).fill_null(NO_CHANNEL))
    out = prorate_costs(c, window[0], window[1], by_campaign=by_campaign, grain=grain)
    return out.group_by(keys).agg(pl.col("spend").sum()).sort(keys)


@dataclass(frozen=True)
class SourcedCounts:
    """Sourced stage counts (by the entity's source channel × campaign, as the funnel) and
    won customers (by their journey's first channel × campaign).

    ``stages``: ``channel, campaign, stage, n``; ``customers``: ``channel, campaign,
    customers``. Additive over batches of entities (``reduce_sourced``); the channel view is
    the sum over campaigns.
    """

    stages: pl.DataFrame
    customers: pl.DataFrame


def sourced_map(
    facts: StageFacts,
    deals: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    journeys: pl.DataFrame | None,
    window: tuple[date, date] | None,
) -> SourcedCounts:
    """One batch's sourced stage counts and won customers (see ``SourcedCounts``)."""
    return SourcedCounts(
        stages=stage_count_map(facts, window),
        customers=sourced_customers(deals, touches, journeys, window, facts.source),
    )


def reduce_sourced(parts: list[SourcedCounts]) -> SourcedCounts:
    """Sum batches' ``SourcedCounts``."""
    stages = pl.concat([p.stages for p in parts], how="vertical")
    customers = pl.concat([p.customers for p in parts], how="vertical")
    return SourcedCounts(
        stages=stages.group_by("channel", "campaign", "stage").agg(pl.col("n").sum()),
        customers=customers.group_by("channel", "campaign").agg(pl.col("customers").sum()),
    )


def stage_count_map(facts: StageFacts, window: tuple[date, date] | None) -> pl.DataFrame:
    """Entities reaching lead/mql/sql/opportunity in the window, per source channel ×
    campaign (``channel, campaign, stage, n``), from the cumulative stage times of
    ``funnel.reached_stages``: the funnel's counts, so that the two agree. An entity whose
    first touch came after its first milestone (so after every stage counted here) has no
    source and counts for "(none)"."""
    schema = {"channel": pl.String, "campaign": pl.String, "stage": pl.String, "n": pl.Int64}
    wanted = [s for s in STAGE_COLUMNS if s in facts.present]
    if window is None or not wanted:
        return pl.DataFrame(schema=schema)
    # counted on the categorical codes; named (and a missing source called "(none)") after:
    # text for every reached row cost ~150 MB at 10M touches
    counts = (
        facts.reached.filter(pl.col("stage").is_in(wanted) & in_window(pl.col("ts"), *window))
        .group_by("source_channel", "source_campaign", "stage")
        .agg(pl.len().alias("n"))
        .select(
            pl.col("source_channel").cast(pl.String).fill_null(NO_CHANNEL).alias("channel"),
            pl.col("source_campaign").cast(pl.String).fill_null(NO_CHANNEL).alias("campaign"),
            pl.col("stage").cast(pl.String),
            "n",
        )
        .group_by("channel", "campaign", "stage")
        .agg(pl.col("n").sum())
    )
    return counts.select([pl.col(k).cast(t) for k, t in schema.items()])


def _stage_count_columns(counts: pl.DataFrame, present: list[str], keys: list[str]) -> pl.DataFrame:
    """Wide ``*keys, leads, mqls, sqls, opportunities`` (present stages only; 0 where none)."""
    wanted = [s for s in STAGE_COLUMNS if s in present]
    summed = counts.group_by(*keys, "stage").agg(pl.col("n").sum())
    base = summed.select(keys).unique()
    for s in wanted:
        base = base.join(
            summed.filter(pl.col("stage") == s).select(
                *keys, pl.col("n").alias(STAGE_COLUMNS[s][0])
            ),
            on=keys,
            how="left",
        )
    return base.with_columns(pl.col(STAGE_COLUMNS[s][0]).fill_null(0) for s in wanted).sort(keys)


def sourced_customers(
    deals: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    journeys: pl.DataFrame | None,
    window: tuple[date, date] | None,
    source: pl.DataFrame,
) -> pl.DataFrame:
    """Won deals closed in the window per first channel × campaign of their journey
    (``channel, campaign, customers``; the channel view sums over campaigns).

    With ``journeys``: the journey's ``first_channel`` and the campaign of the touch at its
    ``first_touch_at``. Without: the entity's first touch (``source``, from
    ``first_touch_channel``) when at or before ``closed_at`` (a date: its whole day).
    """
    keys = ["channel", "campaign"]
    schema = {**dict.fromkeys(keys, pl.String), "customers": pl.Int64}
    if window is None or deals is None or deals.height == 0:
        return pl.DataFrame(schema=schema)
    won = deals.filter(
        (pl.col("status") == "won") & in_window(pl.col("closed_at"), *window)
    ).select("deal_id", "entity_id", "closed_at")
    if journeys is not None and journeys.height:
        j = journeys.filter(pl.col("deal_id").is_not_null()).select(
            "deal_id",
            pl.col("first_channel").alias("channel"),
            pl.col("first_touch_at"),
        )
        won = won.join(j, on="deal_id", how="left")
        if touches is not None and touches.height:
            starts = won.select("entity_id", pl.col("first_touch_at").alias("ts"), "channel")
            camp = (
                touches.join(starts, on=["entity_id", "ts", "channel"], how="semi")
                .group_by("entity_id", pl.col("ts").alias("first_touch_at"), "channel")
                .agg(pl.col("campaign").min())
            )
            won = won.join(camp, on=["entity_id", "first_touch_at", "channel"], how="left")
        else:
            won = won.with_columns(pl.lit(None, pl.String).alias("campaign"))
    else:
        won = (
            won.join(source, on="entity_id", how="left")
            .with_columns(
                (
                    pl.col("first_ts").is_not_null()
                    & at_or_before(pl.col("first_ts"), pl.col("closed_at"))
                ).alias("ok")
            )
            .with_columns(
                pl.when("ok").then(pl.col("source_channel")).alias("channel"),
                pl.when("ok").then(pl.col("source_campaign")).alias("campaign"),
            )
        )
    won = won.with_columns(pl.col(k).cast(pl.String).fill_null(NO_CHANNEL) for k in keys)
    return (
        won.group_by(keys)
        .agg(pl.len().cast(pl.Int64).alias("customers"))
        .select(list(schema))
        .sort(keys)
    )


def spend_metrics(
    summary: pl.DataFrame,
    costs: pl.DataFrame | None,
    settings: MetricsSettings,
    window: tuple[date, date] | None,
    sourced: SourcedCounts,
    present: list[str],
    *,
    by_campaign: bool = False,
    flags: pl.DataFrame | None = None,
    models: Sequence[str] | None = None,
) -> pl.DataFrame:
    """Add ``ADDED_COLUMNS`` to a channel (or campaign) summary, one row per model × key.

    Channels (campaigns) with spend, sourced stages or customers but no credit get a row for
    every model (numeric summary columns 0); credited channels without spend get spend 0 and
    null cost ratios. Stage counts of a
    stage absent from the data are null. Sorted by model (in the summary's order, i.e. as
    requested), channel (, campaign). ``flags`` (``channel, is_marketing``) marks channels
    the summary does not list. ``models``: the run's models in requested order (default: the
    summary's); a campaign summary may have no row of a model (no campaign with credit, e.g.
    no deal in the window) whose campaigns with spend or sourced stages still get rows.
    """
    keys = ["channel", "campaign"] if by_campaign else ["channel"]
    spend = channel_spend(costs, settings, window, by_campaign=by_campaign)
    counts = _stage_count_columns(sourced.stages, present, keys)
    customers = sourced.customers.group_by(keys).agg(pl.col("customers").sum())

    s = summary
    if by_campaign:
        s = s.with_columns(pl.col("campaign").cast(pl.String).fill_null(NO_CHANNEL))
    order = (
        list(models)
        if models is not None
        else summary.get_column("model").unique(maintain_order=True).to_list()
    )
    models_df = pl.DataFrame({"model": sorted(order)}, schema={"model": pl.String})
    # keys with spend, sourced stages or customers but no row for a model (no credit: a
    # channel or campaign that sourced leads and no deal, "(none)" for leads no touch
    # sourced): zero rows, so that the summary's stage counts are the funnel's and a
    # channel's campaigns add up to it
    found = pl.concat(
        [f.select(pl.col(k).cast(pl.String) for k in keys) for f in (spend, counts, customers)],
        how="vertical",
    ).unique()
    missing = models_df.join(found, how="cross").join(
        s.select("model", *keys), on=["model", *keys], how="anti"
    )
    if missing.height:
        marketing = channel_marketing_flags(flags, s)
        fill: list[pl.Expr] = []
        for name, dtype in s.schema.items():
            if name in ("model", *keys):
                continue
            if name == "is_marketing":
                continue
            if dtype.is_numeric():
                fill.append(pl.lit(0, dtype).alias(name))
            else:
                fill.append(pl.lit(None, dtype).alias(name))
        extra = missing.join(marketing, on="channel", how="left").with_columns(
            pl.col("is_marketing").fill_null(pl.col("channel") != NO_CHANNEL), *fill
        )
        s = pl.concat([s, extra.select(s.columns)], how="vertical")

    out = s.join(spend, on=keys, how="left").with_columns(pl.col("spend").fill_null(0.0))
    # stage counts: null when the stage is absent from the data, else 0 where none
    for col, _cost in STAGE_COLUMNS.values():
        if col in counts.columns:
            out = out.join(counts.select(*keys, col), on=keys, how="left").with_columns(
                pl.col(col).fill_null(0)
            )
        else:
            out = out.with_columns(pl.lit(None, pl.Int64).alias(col))
    out = out.join(customers, on=keys, how="left").with_columns(pl.col("customers").fill_null(0))
    spend_e = pl.col("spend")
    has_spend = spend_e > 0

    def cost_per(col: str) -> pl.Expr:
        return pl.when(has_spend).then(safe_div(spend_e, pl.col(col)))

    gm = settings.gross_margin
    out = out.with_columns(
        safe_div(pl.col("revenue"), spend_e).alias("roas"),
        safe_div(pl.col("revenue") * gm - spend_e, spend_e).alias("romi"),
        *[cost_per(c).alias(k) for c, k in STAGE_COLUMNS.values()],
        cost_per("customers").alias("cac"),
    )
    base_cols = [c for c in s.columns if c not in ADDED_COLUMNS]
    # models keep the order they were requested in (the summary's order), then keys
    rank = {m: i for i, m in enumerate(order)}
    model_rank = pl.col("model").replace_strict(rank, return_dtype=pl.Int64)
    return out.select(*base_cols, *ADDED_COLUMNS).sort(model_rank, *keys)
