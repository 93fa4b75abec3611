"""Sections on spend and the funnel: spend vs return, stage conversion, days to deal."""

from __future__ import annotations

import polars as pl

from attrib.report import charts
from attrib.report._base import (
    MAX_CHART_CHANNELS,
    PATHS_HINT,
    Col,
    Context,
    Section,
    cap_note,
    interval_text,
    not_computed,
    table,
)
from attrib.report._data import has, records
from attrib.report._format import DASH, esc, fmt

SPEND_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("spend", "Spend", "money"),
    ("revenue", "Revenue", "money"),
    ("roas", "ROAS", "ratio"),
    ("romi", "ROMI", "pct"),
    ("leads", "Leads", "count"),
    ("cpl", "CPL", "money"),
    ("mqls", "MQLs", "count"),
    ("cost_per_mql", "Cost / MQL", "money"),
    ("sqls", "SQLs", "count"),
    ("cost_per_sql", "Cost / SQL", "money"),
    ("opportunities", "Opps", "count"),
    ("cost_per_opportunity", "Cost / opp", "money"),
    ("customers", "Customers", "count"),
    ("cac", "CAC", "money"),
)


# ---------------------------------------------------------------------------------------------
# spend and return


def spend_return(ctx: Context) -> Section:
    """Spend against attributed revenue, with ROAS/ROMI and cost per stage per channel."""
    sec = Section(
        "spend",
        "Spend",
        "Spend vs attributed revenue",
        "Revenue attributed by the model chosen at the top of the page against each channel's "
        "spend. Above the dashed line a channel returns more than it costs (ROAS > 1).",
    )
    cs = ctx.out.table("channel_summary")
    inputs = ctx.out.manifest.get("inputs")
    no_costs = isinstance(inputs, dict) and bool(inputs) and "costs" not in inputs
    if no_costs or not has(cs, "model", "channel", "revenue", "spend"):
        # (without a costs file the spend columns are there, all 0: no spend was given)
        sec.body = not_computed(
            "spend, ROAS and ROMI (the run had no costs file)"
            if no_costs
            else "spend, ROAS and ROMI (no spend columns in channel_summary.parquet)",
            PATHS_HINT
            if ctx.paths_run()
            else "give the run a costs file (costs.* with date, channel, spend).",
        )
        return sec
    assert cs is not None
    assert ctx.default_model is not None
    for c in ("roas", "romi"):
        if c not in cs.columns:
            cs = cs.with_columns(pl.lit(None, pl.Float64).alias(c))
    paid = cs.filter(pl.col("spend") > 0).select(
        "model", "channel", "spend", "revenue", "roas", "romi"
    )
    parts = []
    if paid.height:
        positive = [
            float(v)
            for v in paid.get_column("spend").to_list() + paid.get_column("revenue").to_list()
            if v is not None and v > 0
        ]
        scatter = charts.spend_vs_revenue(
            records(paid),
            default_model=ctx.default_model,
            lo=min(positive) * 0.8,
            hi=max(positive) * 1.25,
            validate=ctx.validate,
        )
        n_paid = paid.get_column("channel").n_unique()
        bars = charts.roas_bars(
            records(paid), default_model=ctx.default_model, n_channels=n_paid, validate=ctx.validate
        )
        parts.append(
            '<div class="grid2">'
            f"<div><h3>Spend and revenue per channel</h3>"
            f"{ctx.chart(scatter, follows_model=True)}</div>"
            f"<div><h3>ROAS per paid channel</h3>{ctx.chart(bars, follows_model=True)}</div>"
            "</div>"
        )
        # a paid channel with no revenue cannot sit on a log axis: say which, per model
        unearned = (
            paid.filter(~(pl.col("revenue") > 0))
            .group_by("model")
            .agg(pl.col("channel").sort())
            .sort("model")
        )
        if unearned.height:
            listed = "; ".join(
                f"{esc(str(m))}: {esc(', '.join(str(c) for c in chans))}"
                for m, chans in unearned.iter_rows()
            )
            parts.append(
                '<p class="note">Paid channels with no attributed revenue (off the log-scale '
                f"chart; ROAS 0 in the bars and the table) · {listed}.</p>"
            )
        unpaid = sorted(
            set(cs.get_column("channel").to_list()) - set(paid.get_column("channel").to_list())
        )
        if unpaid:
            parts.append(
                '<p class="note">Channels without spend (not plotted): '
                + esc(", ".join(str(u) for u in unpaid))
                + ".</p>"
            )
    else:
        parts.append('<p class="note">No channel has spend greater than zero.</p>')
    cols = [Col("channel", "channel")] + [
        Col(label, key, kind) for key, label, kind in SPEND_COLUMNS if key in cs.columns
    ]

    def render(model: str) -> str:
        d = cs.filter(pl.col("model") == model).sort(
            ["spend", "revenue", "channel"], descending=[True, True, False]
        )
        total: dict[str, object] = {"channel": "total"}
        for key in ("spend", "revenue", "leads", "mqls", "sqls", "opportunities", "customers"):
            if key in d.columns:
                column = d.get_column(key)
                # a stage absent from the data is null on every row: "—", not a total of 0
                total[key] = column.sum() if column.null_count() < column.len() else None
        return f'<h3>Per channel · <span class="model-name">{esc(model)}</span></h3>' + table(
            cols, d.to_dicts(), total=total
        )

    parts.append(ctx.per_model(render))
    parts.append(
        '<p class="note">ROAS = attributed revenue / spend; ROMI = (revenue × gross margin − '
        "spend) / spend. Stage counts are sourced (by the first touch, when it came before "
        "the lead). Cost ratios are empty where spend or the count is zero.</p>"
    )
    window = ctx.window()
    if window is not None and window.given:
        parts.append(
            '<p class="note">Revenue is that of the deals won in the window '
            f"({window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}), spend is the window's: a "
            "campaign that ran before it can have revenue here and no spend.</p>"
        )
    sec.body = "".join(parts)
    return sec


# ---------------------------------------------------------------------------------------------
# funnel


def funnel(ctx: Context) -> Section:
    """Stage counts, stage-to-stage rates with Wilson intervals, and conversion by source."""
    sec = Section(
        "funnel",
        "Funnel",
        "The funnel",
        "How many entities reached each stage, the conversion from the previous stage with its "
        "95% Wilson interval, and the median days between stages.",
    )
    f = ctx.out.table("funnel")
    if not has(f, "stage", "stage_order", "count"):
        sec.body = not_computed(
            "the funnel (funnel.parquet is absent)",
            PATHS_HINT
            if ctx.paths_run()
            else "give the run a stages file (stages.* with customer_id, stage, ts).",
        )
        return sec
    assert f is not None
    view = None
    if "view" in f.columns:
        views = f.get_column("view").unique().to_list()
        view = "cohort" if "cohort" in views else sorted(str(v) for v in views)[0]
        f = f.filter(pl.col("view") == view)
    if "period" in f.columns:
        periods = f.get_column("period").unique().to_list()
        f = f.filter(pl.col("period") == ("all" if "all" in periods else sorted(periods)[-1]))
    overall = f.filter(pl.col("channel") == "(all)") if "channel" in f.columns else f
    overall = overall.sort("stage_order")
    for c in (
        "rate_from_previous",
        "rate_from_previous_lo",
        "rate_from_previous_hi",
        "rate_from_lead",
        "rate_from_lead_lo",
        "rate_from_lead_hi",
        "median_days_from_previous",
    ):
        if c not in overall.columns:
            overall = overall.with_columns(pl.lit(None, pl.Float64).alias(c))
    stages = [str(s) for s in overall.get_column("stage").to_list()]
    rows = []
    for r in overall.to_dicts():
        rate = r.get("rate_from_previous")
        label = f"{int(r['count'] or 0):,}"
        if rate is not None:
            label += f"  ·  {rate * 100:.0f}% of previous"
        rows.append(
            {"stage": r["stage"], "count": r["count"], "rate_from_previous": rate, "label": label}
        )
    counts_spec = charts.funnel_counts(rows, stages=stages, validate=ctx.validate)
    rate_rows = [
        {
            "stage": r["stage"],
            "rate": r["rate_from_previous"],
            "lo": r["rate_from_previous_lo"],
            "hi": r["rate_from_previous_hi"],
            "n": r["count"],
        }
        for r in overall.to_dicts()
        if r.get("rate_from_previous") is not None
    ]
    parts = [
        '<div class="grid2">',
        f"<div><h3>Entities per stage</h3>{ctx.chart(counts_spec)}</div>",
    ]
    if rate_rows:
        rates_spec = charts.rate_intervals(
            rate_rows,
            category="stage",
            order=[str(r["stage"]) for r in rate_rows],
            title="conversion from the previous stage",
            validate=ctx.validate,
        )
        parts.append(f"<div><h3>Stage-to-stage conversion</h3>{ctx.chart(rates_spec)}</div>")
    parts.append("</div>")
    trows = [
        {
            "stage": r["stage"],
            "count": r["count"],
            "prev": interval_text(
                r["rate_from_previous"], r["rate_from_previous_lo"], r["rate_from_previous_hi"]
            ),
            # (lead from lead is 100% by definition: its interval says nothing)
            "lead": DASH
            if r["stage"] == "lead"
            else interval_text(r["rate_from_lead"], r["rate_from_lead_lo"], r["rate_from_lead_hi"]),
            "days": r["median_days_from_previous"],
        }
        for r in overall.to_dicts()
    ]
    parts.append(
        table(
            [
                Col("stage", "stage"),
                Col("entities", "count", "count"),
                Col("from previous (95% interval)", "prev", "html"),
                Col("from lead (95% interval)", "lead", "html"),
                Col("median days from previous", "days", "days"),
            ],
            trows,
        )
    )
    parts.append(_by_source(ctx, f, stages))
    note = f"View: {view}." if view else ""
    if view == "cohort":
        note += (
            " Each entity counts in the period it entered the funnel (the spend table's "
            "leads … customers count the stages reached in the period, so they can differ)."
        )
    parts.append(f'<p class="note">{esc(note)} Intervals: Wilson score, 95%.</p>')
    sec.body = "".join(parts)
    return sec


def _by_source(ctx: Context, f: pl.DataFrame, stages: list[str]) -> str:
    if "channel" not in f.columns or "rate_from_lead" not in f.columns or not stages:
        return ""
    last = stages[-1]
    lead = f.filter(pl.col("stage") == "lead").select("channel", pl.col("count").alias("n"))
    d = (
        f.filter((pl.col("stage") == last) & (pl.col("channel") != "(all)"))
        .join(lead, on="channel", how="left")
        .filter(pl.col("rate_from_lead").is_not_null())
    )
    if d.height == 0:
        return ""
    lo = "rate_from_lead_lo" if "rate_from_lead_lo" in d.columns else "rate_from_lead"
    hi = "rate_from_lead_hi" if "rate_from_lead_hi" in d.columns else "rate_from_lead"
    total = d.height
    d = (
        d.select(
            "channel",
            pl.col("rate_from_lead").alias("rate"),
            pl.col(lo).alias("lo"),
            pl.col(hi).alias("hi"),
            "n",
        )
        .sort(["n", "channel"], descending=[True, False], nulls_last=True)
        .head(MAX_CHART_CHANNELS)
        .sort(["rate", "channel"], descending=[True, False])
    )
    spec = charts.rate_intervals(
        records(d),
        category="channel",
        order=[str(c) for c in d.get_column("channel").to_list()],
        title=f"lead → {last} conversion",
        validate=ctx.validate,
    )
    return (
        f"<h3>Lead → {esc(last)} conversion by source (the first touch, when before the lead)</h3>"
        + ctx.chart(spec)
        + cap_note(d.height, total, "leads")
        + '<p class="note">Wide intervals mean few leads: read them before ranking channels.</p>'
    )


# ---------------------------------------------------------------------------------------------
# days to deal


def _nice_width(span: float, max_bins: int = 30) -> float:
    raw = max(span / max_bins, 1e-9)
    for step in (1, 2, 5, 7, 10, 14, 15, 20, 25, 30, 50, 60, 90, 100, 180, 365):
        if step >= raw:
            return float(step)
    return float(int(raw) + 1)


def days_to_deal(ctx: Context) -> Section:
    """Distribution of days from first touch to close for won deals."""
    sec = Section(
        "days",
        "Days to deal",
        "Days to deal",
        "Days from a won journey's first touch to its close.",
    )
    j = ctx.out.table("journeys")
    if not has(j, "status", "days_to_close"):
        sec.body = not_computed(
            "days to deal (journeys.parquet with days_to_close is absent)",
            "runs on touches and deals write it.",
        )
        return sec
    assert j is not None
    # the won deals the reporting window counts, as the KPIs' days_to_deal_* do
    won = ctx.in_window(j).filter(
        (pl.col("status") == "won") & pl.col("days_to_close").is_not_null()
    )
    if won.height == 0:
        sec.body = not_computed(
            "days to deal", "no won deal with touches in this run's reporting window."
        )
        return sec
    days = won.get_column("days_to_close").cast(pl.Float64)
    lo, hi = pl.select(lo=days.min(), hi=days.max()).cast(pl.Float64).fill_null(0.0).row(0)
    width = _nice_width(hi - min(lo, 0.0))
    start0 = min(0.0, (lo // width) * width)
    bins = (
        won.select(((pl.col("days_to_close") - start0) // width).cast(pl.Int64).alias("b"))
        .group_by("b")
        .agg(pl.len().alias("count"))
        .sort("b")
    )
    bin_rows = [
        {"start": start0 + b * width, "end": start0 + (b + 1) * width, "count": n}
        for b, n in bins.iter_rows()
    ]
    median = float(days.median())  # type: ignore[arg-type]
    p75 = float(days.quantile(0.75, "linear"))  # type: ignore[arg-type]
    hist = charts.days_histogram(bin_rows, median=median, p75=p75, validate=ctx.validate)
    parts = [
        f'<p class="lead">{won.height:,} won deals with touches · median '
        f"<strong>{fmt(median, 'days')}</strong>"
        f" · p75 <strong>{fmt(p75, 'days')}</strong> · "
        f"p25 {fmt(days.quantile(0.25, 'linear'), 'days')} · max {fmt(hi, 'days')}</p>",
    ]
    box = ""
    if "first_channel" in won.columns:
        q = (
            won.group_by("first_channel")
            .agg(
                pl.len().alias("n"),
                pl.col("days_to_close").min().alias("min"),
                pl.col("days_to_close").quantile(0.25, "linear").alias("q1"),
                pl.col("days_to_close").median().alias("median"),
                pl.col("days_to_close").quantile(0.75, "linear").alias("q3"),
                pl.col("days_to_close").max().alias("max"),
            )
            .sort(["n", "first_channel"], descending=[True, False])
        )
        n_all = q.height
        q = q.head(MAX_CHART_CHANNELS).sort(["median", "first_channel"])
        order = [str(c) for c in q.get_column("first_channel").to_list()]
        spec = charts.days_by_channel(records(q), channels=order, validate=ctx.validate)
        box = (
            f"<div><h3>By first-touch channel</h3>{ctx.chart(spec)}"
            f"{cap_note(q.height, n_all, 'won deals')}</div>"
        )
    parts.append(f'<div class="grid2"><div><h3>Distribution</h3>{ctx.chart(hist)}</div>{box}</div>')
    sec.body = "".join(parts)
    return sec
