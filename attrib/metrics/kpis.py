"""Company KPIs per period: revenue, pipeline, win rate, MER, sourced shares, CAC, LTV, velocity.

One row per KPI and period ("all", each month, each quarter of the reporting window). Every
formula, denominator and null rule is in docs/METRICS.md, section "KPIs".
"""

from __future__ import annotations

from datetime import date

import polars as pl

from attrib.columns import CLOSED_STATUSES
from attrib.encoded import US_PER_DAY
from attrib.metrics.funnel import safe_div, wilson_interval
from attrib.metrics.periods import (
    aggregate_by_period,
    allocate_costs,
    in_window,
    period_calendar,
    period_kind,
    resolve_window,
    spend_by_period,
)
from attrib.metrics.roi import channel_marketing_flags
from attrib.metrics.settings import MetricsSettings

#: KPI names in output order.
KPI_NAMES: tuple[str, ...] = (
    "revenue",
    "pipeline_open",
    "pipeline_created",
    "won_deals",
    "win_rate",
    "avg_deal_size",
    "marketing_spend",
    "mer",
    "marketing_sourced_revenue_share",
    "marketing_sourced_pipeline_share",
    "marketing_sourced_deal_share",
    "marketing_influenced_revenue_share",
    "marketing_influenced_pipeline_share",
    "cac_marketing",
    "cac_total",
    "marketing_share_of_cac",
    "ltv",
    "ltv_to_cac",
    "cac_payback_months",
    "days_to_deal_median",
    "days_to_deal_p75",
    "days_to_deal_won_deals",
    "sales_cycle_days_median",
    "pipeline_velocity",
)

#: KPIs that carry a Wilson interval: kpi → (successes column, trials column)
_INTERVALS: dict[str, tuple[str, str]] = {
    "win_rate": ("won_deals", "closed_deals"),
    "marketing_sourced_deal_share": ("j_won_sourced_n", "j_won_n"),
}

KPI_SCHEMA: dict[str, pl.DataType] = {
    "kpi": pl.String(),
    "period": pl.String(),
    "value": pl.Float64(),
    "lo": pl.Float64(),
    "hi": pl.Float64(),
    "target": pl.Float64(),
    "index": pl.Float64(),
    "index_vs_baseline": pl.Float64(),
}


#: journey columns the KPIs read (of deal journeys only)
JOURNEY_COLUMNS = (
    "deal_id",
    "status",
    "amount",
    "created_at",
    "closed_at",
    "days_to_close",
    "first_touch_at",
    "marketing_sourced",
    "marketing_influenced",
    "pipeline_sourced",
    "pipeline_influenced",
)


def _days(a: pl.Expr, b: pl.Expr) -> pl.Expr:
    """(a − b) in fractional days."""
    return (a - b).dt.total_microseconds() / US_PER_DAY


def _by_period(
    df: pl.DataFrame | None,
    ts_col: str,
    cal: pl.DataFrame,
    window: tuple[date, date],
    aggs: list[pl.Expr],
    names: dict[str, type[pl.DataType]],
) -> pl.DataFrame:
    """Aggregate the rows whose ``ts_col`` is in the window into every calendar period."""
    if df is None or df.height == 0:
        out = cal.select("period")
        return out.with_columns(pl.lit(None, t).alias(n) for n, t in names.items())
    rows = df.filter(in_window(pl.col(ts_col), *window))
    agg = aggregate_by_period(rows, ts_col, aggs)
    return (
        cal.select("period")
        .join(agg, on="period", how="left")
        .select("period", *[pl.col(n).cast(t) for n, t in names.items()])
    )


def _open_at_period_end(deals: pl.DataFrame | None, cal: pl.DataFrame) -> pl.DataFrame:
    """Deals open at the end of each period: ``period, open_deals, pipeline_open``.

    Open at the end of day E = created on or before E and not closed on or before E (a null
    ``closed_at`` is still open). Computed as cumulative created minus cumulative closed.
    """
    ends = cal.select(
        "period",
        (pl.col("end").cast(pl.Datetime("us")) + pl.duration(days=1)).alias("cut"),
    ).sort("cut")
    if deals is None or deals.height == 0:
        return ends.select(
            "period",
            pl.lit(0, pl.Int64).alias("open_deals"),
            pl.lit(0.0).alias("pipeline_open"),
        )
    d = deals.filter(pl.col("created_at").is_not_null()).select(
        pl.col("created_at"),
        pl.max_horizontal("closed_at", "created_at").alias("closed_at"),
        pl.col("closed_at").is_not_null().alias("is_closed"),
        pl.col("amount").cast(pl.Float64).fill_null(0.0),
    )

    def cumulative(ts: str, frame: pl.DataFrame, prefix: str) -> pl.DataFrame:
        c = (
            frame.select(pl.col(ts).alias("t"), "amount")
            .sort("t", "amount")
            .with_columns(
                pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(f"{prefix}_n"),
                pl.col("amount").cum_sum().alias(f"{prefix}_amt"),
            )
            .group_by("t")
            .agg(pl.col(f"{prefix}_n").max(), pl.col(f"{prefix}_amt").max())
            .sort("t")
        )
        return ends.join_asof(
            c, left_on="cut", right_on="t", strategy="backward", allow_exact_matches=False
        ).select(
            "period", pl.col(f"{prefix}_n").fill_null(0), pl.col(f"{prefix}_amt").fill_null(0.0)
        )

    created = cumulative("created_at", d, "cr")
    closed = cumulative("closed_at", d.filter("is_closed"), "cl")
    open_n = pl.col("cr_n") - pl.col("cl_n")
    # a difference of two running sums: none open is exactly 0 (not -5.8e-11), never below
    open_amount = pl.when(open_n > 0).then((pl.col("cr_amt") - pl.col("cl_amt")).clip(0.0))
    return created.join(closed, on="period").select(
        "period",
        open_n.alias("open_deals"),
        open_amount.otherwise(0.0).alias("pipeline_open"),
    )


def _costs_by_period(
    costs: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    settings: MetricsSettings,
    cal: pl.DataFrame,
    window: tuple[date, date],
    channel_flags: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """``period, marketing_spend, other_cost`` (other = sales / non-marketing cost).

    Marketing spend: cost rows except sales-cost channels and channels whose touches are all
    non-marketing. Other cost: settings.sales_cost prorated by days when set, else every
    remaining cost row. Both null without any cost table.
    """
    has_costs = costs is not None and costs.height > 0
    days_total = (window[1] - window[0]).days + 1
    if settings.sales_cost is not None:
        period_days = (pl.col("end") - pl.col("start")).dt.total_days() + 1
        sales = cal.select(
            "period",
            (settings.sales_cost * period_days.cast(pl.Float64) / days_total).alias("sales"),
        )
    else:
        sales = None
    if not has_costs:
        out = cal.select("period", pl.lit(None, pl.Float64).alias("marketing_spend"))
        other = (
            sales
            if sales is not None
            else out.select("period", pl.lit(None, pl.Float64).alias("sales"))
        )
        return out.join(other, on="period").rename({"sales": "other_cost"})
    alloc = allocate_costs(costs, *window)
    sales_names = [c.lower() for c in settings.sales_cost_channels]
    non_marketing = (
        channel_marketing_flags(touches, channel_flags)
        .filter(~pl.col("is_marketing"))
        .get_column("channel")
        .to_list()
    )
    is_mkt = ~(
        pl.col("channel").str.to_lowercase().is_in(sales_names)
        | pl.col("channel").is_in(non_marketing)
    )
    alloc = alloc.with_columns(is_mkt.alias("mkt"))
    by = spend_by_period(alloc, cal, keys=["mkt"])
    mkt = by.filter("mkt").select("period", pl.col("spend").alias("marketing_spend"))
    oth = by.filter(~pl.col("mkt")).select("period", pl.col("spend").alias("sales"))
    out = (
        cal.select("period")
        .join(mkt, on="period", how="left")
        .with_columns(pl.col("marketing_spend").fill_null(0.0))
    )
    other = (
        sales
        if sales is not None
        else cal.select("period")
        .join(oth, on="period", how="left")
        .with_columns(pl.col("sales").fill_null(0.0))
    )
    return out.join(other, on="period").rename({"sales": "other_cost"})


def compute_kpis(
    journeys: pl.DataFrame | None,
    deals: pl.DataFrame | None,
    costs: pl.DataFrame | None,
    stages: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    settings: MetricsSettings,
    targets: pl.DataFrame | None = None,
    *,
    channel_flags: pl.DataFrame | None = None,
    window: tuple[date, date] | None = None,
) -> pl.DataFrame:
    """All KPIs per period (``KPI_SCHEMA``), sorted by KPI (``KPI_NAMES`` order) then period.

    A won/lost deal belongs to the period of its ``closed_at``; pipeline created to that of
    its ``created_at``; open pipeline is a snapshot at each period's last day.
    ``channel_flags`` (``channel, is_marketing``, e.g. the channel summary) tells which cost
    channels are not marketing when ``touches`` has no ``is_marketing`` column. ``window``
    (the run's reporting window) saves resolving it from the tables.
    """
    window = window or resolve_window(settings, touches, deals, stages)
    if window is None:
        return pl.DataFrame(schema=KPI_SCHEMA)
    cal = period_calendar(*window)
    # only the columns read below: every filter would otherwise copy the id text too
    if deals is not None:
        deals = deals.select(
            c for c in ("entity_id", "status", "amount", "created_at", "closed_at") if c in deals
        )
    # the values summed per period, in an order of their own (rows that tie hold equal
    # values), so that floating-point sums do not depend on the input's row order
    # (single-threaded: ~2x faster here than Polars' threaded multi-key sort)
    valued = (
        deals.drop("entity_id", strict=False).sort(
            "amount", "created_at", "closed_at", nulls_last=True, multithreaded=False
        )
        if deals is not None
        else None
    )

    closed = _by_period(
        valued.filter(pl.col("status").is_in(CLOSED_STATUSES)) if valued is not None else None,
        "closed_at",
        cal,
        window,
        [
            pl.col("amount").filter(pl.col("status") == "won").sum().alias("revenue"),
            (pl.col("status") == "won").sum().alias("won_deals"),
            pl.len().alias("closed_deals"),
            _days(pl.col("closed_at"), pl.col("created_at"))
            .filter(pl.col("status") == "won")
            .median()
            .alias("cycle_median"),
            _days(pl.col("closed_at"), pl.col("created_at"))
            .filter(pl.col("status") == "won")
            .mean()
            .alias("cycle_mean"),
        ],
        {
            "revenue": pl.Float64,
            "won_deals": pl.Int64,
            "closed_deals": pl.Int64,
            "cycle_median": pl.Float64,
            "cycle_mean": pl.Float64,
        },
    ).with_columns(
        pl.col("revenue").fill_null(0.0),
        pl.col("won_deals").fill_null(0),
        pl.col("closed_deals").fill_null(0),
    )
    created = _by_period(
        valued,
        "created_at",
        cal,
        window,
        [pl.col("amount").sum().alias("pipeline_created")],
        {"pipeline_created": pl.Float64},
    ).with_columns(pl.col("pipeline_created").fill_null(0.0))
    open_ = _open_at_period_end(deals, cal)

    j = (
        journeys.filter(pl.col("deal_id").is_not_null()).select(JOURNEY_COLUMNS)
        if journeys is not None
        else None
    )
    won = pl.col("status") == "won"
    src, inf = pl.col("marketing_sourced"), pl.col("marketing_influenced")
    j_closed = _by_period(
        j.filter(won) if j is not None else None,
        "closed_at",
        cal,
        window,
        [
            pl.col("amount").sum().alias("j_rev"),
            pl.col("amount").filter(src).sum().alias("j_rev_src"),
            pl.col("amount").filter(inf).sum().alias("j_rev_inf"),
            pl.len().alias("j_won_n"),
            src.sum().alias("j_won_sourced_n"),
            pl.col("days_to_close").median().alias("dtd_median"),
            pl.col("days_to_close").quantile(0.75, "linear").alias("dtd_p75"),
            # the won deals days to deal are measured over: a zero-touch one has no first touch
            pl.col("days_to_close").count().alias("dtd_n"),
        ],
        {
            "j_rev": pl.Float64,
            "j_rev_src": pl.Float64,
            "j_rev_inf": pl.Float64,
            "j_won_n": pl.Int64,
            "j_won_sourced_n": pl.Int64,
            "dtd_median": pl.Float64,
            "dtd_p75": pl.Float64,
            "dtd_n": pl.Int64,
        },
    )
    j_created = _by_period(
        j,
        "created_at",
        cal,
        window,
        [
            pl.col("amount").sum().alias("j_pipe"),
            # sourced pipeline: the pipeline window's first touch (at or before the deal's
            # creation, the lookback counted from it, as pipeline_created credits) is on a
            # marketing channel; influenced: any marketing touch in either window
            pl.col("amount").filter(pl.col("pipeline_sourced")).sum().alias("j_pipe_src"),
            pl.col("amount").filter(pl.col("pipeline_influenced")).sum().alias("j_pipe_inf"),
        ],
        {"j_pipe": pl.Float64, "j_pipe_src": pl.Float64, "j_pipe_inf": pl.Float64},
    )
    # new customers: entities whose first-ever won deal closed in the period
    first_won = (
        deals.filter((pl.col("status") == "won") & pl.col("closed_at").is_not_null())
        .group_by("entity_id")
        .agg(pl.col("closed_at").min())
        if deals is not None and deals.height
        else None
    )
    new_cust = _by_period(
        first_won,
        "closed_at",
        cal,
        window,
        [pl.len().alias("new_customers")],
        {"new_customers": pl.Int64},
    ).with_columns(pl.col("new_customers").fill_null(0))
    spend = _costs_by_period(costs, touches, settings, cal, window, channel_flags)

    w = cal.select("period", "order")
    for part in (closed, created, open_, j_closed, j_created, new_cust, spend):
        w = w.join(part, on="period", how="left")

    gm = settings.gross_margin
    total_cost = pl.col("marketing_spend") + pl.col("other_cost")
    w = (
        w.with_columns(
            safe_div(pl.col("won_deals"), pl.col("closed_deals")).alias("win_rate"),
            safe_div(pl.col("revenue"), pl.col("won_deals")).alias("avg_deal_size"),
            safe_div(pl.col("revenue"), pl.col("marketing_spend")).alias("mer"),
            safe_div(pl.col("j_rev_src"), pl.col("j_rev")).alias("marketing_sourced_revenue_share"),
            safe_div(pl.col("j_pipe_src"), pl.col("j_pipe")).alias(
                "marketing_sourced_pipeline_share"
            ),
            safe_div(pl.col("j_won_sourced_n"), pl.col("j_won_n")).alias(
                "marketing_sourced_deal_share"
            ),
            safe_div(pl.col("j_rev_inf"), pl.col("j_rev")).alias(
                "marketing_influenced_revenue_share"
            ),
            safe_div(pl.col("j_pipe_inf"), pl.col("j_pipe")).alias(
                "marketing_influenced_pipeline_share"
            ),
            safe_div(pl.col("marketing_spend"), pl.col("new_customers")).alias("cac_marketing"),
            safe_div(total_cost, pl.col("new_customers")).alias("cac_total"),
            safe_div(pl.col("marketing_spend"), total_cost).alias("marketing_share_of_cac"),
            pl.col("dtd_median").alias("days_to_deal_median"),
            pl.col("dtd_p75").alias("days_to_deal_p75"),
            pl.col("dtd_n").fill_null(0).alias("days_to_deal_won_deals"),
            pl.col("cycle_median").alias("sales_cycle_days_median"),
        )
        .with_columns(
            (pl.col("avg_deal_size") * gm * settings.expected_purchases_per_customer).alias("ltv"),
        )
        .with_columns(
            safe_div(pl.col("ltv"), pl.col("cac_total")).alias("ltv_to_cac"),
            safe_div(
                pl.col("cac_total"),
                pl.col("avg_deal_size") * gm / settings.revenue_months_per_deal,
            ).alias("cac_payback_months"),
            safe_div(
                pl.col("open_deals") * pl.col("win_rate") * pl.col("avg_deal_size"),
                pl.col("cycle_mean"),
            ).alias("pipeline_velocity"),
        )
    )
    long_parts = []
    for k in KPI_NAMES:
        if k in _INTERVALS:
            lo, hi = wilson_interval(
                pl.col(_INTERVALS[k][0]), pl.col(_INTERVALS[k][1]), settings.alpha
            )
        else:
            lo = hi = pl.lit(None, pl.Float64)
        long_parts.append(
            w.select(
                pl.lit(k).alias("kpi"),
                pl.lit(KPI_NAMES.index(k), pl.Int64).alias("kpi_order"),
                "period",
                "order",
                pl.col(k).cast(pl.Float64).alias("value"),
                lo.cast(pl.Float64).alias("lo"),
                hi.cast(pl.Float64).alias("hi"),
            )
        )
    out = pl.concat(long_parts, how="vertical").with_columns(
        pl.when(pl.col("value").is_finite()).then(pl.col("value")).alias("value")
    )
    out = _add_targets(out, targets, settings)
    return out.sort("kpi_order", "order").select([pl.col(c).cast(t) for c, t in KPI_SCHEMA.items()])


def _add_targets(
    out: pl.DataFrame, targets: pl.DataFrame | None, settings: MetricsSettings
) -> pl.DataFrame:
    """Join ``target`` (kpi, period), ``index`` = value / target × 100 and the baseline index."""
    if targets is not None and targets.height:
        t = (
            targets.select(
                pl.col("kpi").cast(pl.String),
                pl.col("period").cast(pl.String),
                pl.col("target").cast(pl.Float64),
            )
            .group_by("kpi", "period")
            .agg(pl.col("target").last())
        )
        out = out.join(t, on=["kpi", "period"], how="left")
    else:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("target"))
    out = out.with_columns(safe_div(pl.col("value") * 100.0, pl.col("target")).alias("index"))
    if settings.baseline_period is not None:
        base = out.filter(pl.col("period") == settings.baseline_period).select(
            "kpi", pl.col("value").alias("baseline")
        )
        # only periods of the baseline's kind: a month's revenue against a quarter's (or the
        # whole window's) is no comparison; "all" is its own kind
        kind = period_kind(pl.lit(settings.baseline_period))
        out = out.join(base, on="kpi", how="left").with_columns(
            pl.when(period_kind(pl.col("period")) == kind)
            .then(pl.col("baseline"))
            .alias("baseline")
        )
    else:
        out = out.with_columns(pl.lit(None, pl.Float64).alias("baseline"))
    return out.with_columns(
        safe_div(pl.col("value") * 100.0, pl.col("baseline")).alias("index_vs_baseline")
    )
