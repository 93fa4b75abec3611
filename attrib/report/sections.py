"""The report's sections: each reads what it needs from the out folder, or says it is absent.

A section is a function ``(ctx) -> Section``. It renders its tables as escaped HTML and its
charts as Vega-Lite specs registered on the context; when its file or columns are missing it
returns a short "not computed in this run" note instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from attrib.report import charts
from attrib.report._data import OutFolder, has, records
from attrib.report._format import DASH, change, compact, esc, fmt, fmt_card

NONE_CHANNEL = "(none)"
#: models preferred as the page's initial choice (data-driven first)
PREFERRED_MODELS = ("markov", "shapley", "w_shaped", "full_path", "linear", "position_based")

#: kpi -> (label, kind, better direction)
KPI_INFO: dict[str, tuple[str, str, str | None]] = {
    "revenue": ("Revenue (won)", "money", "up"),
    "pipeline_open": ("Open pipeline (period end)", "money", "up"),
    "pipeline_created": ("Pipeline created", "money", "up"),
    "won_deals": ("Won deals", "count", "up"),
    "win_rate": ("Win rate", "pct", "up"),
    "avg_deal_size": ("Average deal size", "money", "up"),
    "marketing_spend": ("Marketing spend", "money", None),
    "mer": ("Marketing efficiency ratio (MER)", "ratio", "up"),
    "marketing_sourced_revenue_share": ("Marketing-sourced revenue share", "pct", "up"),
    "marketing_sourced_pipeline_share": ("Marketing-sourced pipeline share", "pct", "up"),
    "marketing_sourced_deal_share": ("Marketing-sourced deal share", "pct", "up"),
    "marketing_influenced_revenue_share": ("Marketing-influenced revenue share", "pct", "up"),
    "marketing_influenced_pipeline_share": ("Marketing-influenced pipeline share", "pct", "up"),
    "cac_marketing": ("CAC (marketing)", "money", "down"),
    "cac_total": ("CAC (total)", "money", "down"),
    "marketing_share_of_cac": ("Marketing share of CAC", "pct", None),
    "ltv": ("LTV", "money", "up"),
    "ltv_to_cac": ("LTV : CAC", "ratio", "up"),
    "cac_payback_months": ("CAC payback (months)", "number", "down"),
    "days_to_deal_median": ("Days to deal (median)", "days", "down"),
    "days_to_deal_p75": ("Days to deal (p75)", "days", "down"),
    "sales_cycle_days_median": ("Sales cycle (median days)", "days", "down"),
    "pipeline_velocity": ("Pipeline velocity (per day)", "money", "up"),
}

#: shorter labels for the headline cards
CARD_LABELS: dict[str, str] = {
    "pipeline_open": "Open pipeline",
    "mer": "MER (revenue / spend)",
    "marketing_sourced_revenue_share": "Marketing-sourced revenue",
}

HEADLINE_KPIS = (
    "revenue",
    "won_deals",
    "win_rate",
    "avg_deal_size",
    "pipeline_created",
    "pipeline_open",
    "marketing_spend",
    "mer",
    "cac_total",
    "ltv_to_cac",
    "marketing_sourced_revenue_share",
    "days_to_deal_median",
)

TREND_KPIS = (
    ("revenue", "Revenue (won)", "~s"),
    ("pipeline_created", "Pipeline created", "~s"),
    ("won_deals", "Won deals", ",.0f"),
    ("win_rate", "Win rate (95% interval)", ".0%"),
)

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

_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


@dataclass
class Section:
    """One part of the page."""

    id: str
    nav: str
    title: str
    body: str
    lead: str = ""


@dataclass
class Context:
    """What every section shares: the out folder, the chart registry, the model choice."""

    out: OutFolder
    validate: bool = False
    charts: dict[str, dict[str, Any]] = field(default_factory=dict)
    model_charts: set[str] = field(default_factory=set)
    models: list[str] = field(default_factory=list)
    default_model: str | None = None

    def chart(self, spec: dict[str, Any], *, follows_model: bool = False, cls: str = "") -> str:
        """Register a spec; return its container ``<div>``."""
        cid = f"chart-{len(self.charts) + 1}"
        self.charts[cid] = spec
        attrs = ' data-model-param="1"' if follows_model else ""
        if follows_model:
            self.model_charts.add(cid)
        return f'<div class="chart {esc(cls)}" id="{cid}"{attrs}></div>'

    def per_model(self, render: Callable[[str], str]) -> str:
        """One block per model; the page shows the selected model's block only."""
        parts = []
        for m in self.models:
            hidden = "" if m == self.default_model else " hidden"
            parts.append(f'<div class="per-model" data-model="{esc(m)}"{hidden}>{render(m)}</div>')
        return "".join(parts)


@dataclass(frozen=True)
class Col:
    """A table column: header label, row key, cell kind (see ``_format.fmt``)."""

    label: str
    key: str
    kind: str = "text"


def table(
    cols: list[Col], rows: list[dict[str, Any]], *, total: dict[str, Any] | None = None
) -> str:
    """An HTML table with escaped text and right-aligned numbers."""
    head = "".join(
        f'<th class="{"txt" if c.kind == "text" else "num"}">{esc(c.label)}</th>' for c in cols
    )
    body = []
    for r in rows:
        body.append("<tr>" + "".join(_cell(c, r.get(c.key)) for c in cols) + "</tr>")
    foot = ""
    if total is not None:
        foot = (
            '<tfoot><tr class="total">'
            + "".join(_cell(c, total.get(c.key)) for c in cols)
            + "</tr></tfoot>"
        )
    dense = ' class="dense"' if len(cols) > 9 else ""
    return (
        f'<div class="table-wrap"><table{dense}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody>{foot}</table></div>"
    )


def _cell(col: Col, value: Any) -> str:
    if col.kind == "html":  # pre-rendered, already escaped markup
        return f'<td class="num">{value if value is not None else DASH}</td>'
    cls = "txt" if col.kind == "text" else "num"
    text = fmt(value, col.kind)
    if text == DASH:
        cls += " muted"
    return f'<td class="{cls}">{text}</td>'


def not_computed(what: str, hint: str) -> str:
    """The note a section shows when its data is not in this run."""
    return (
        f'<p class="na"><strong>Not computed in this run:</strong> {esc(what)}. '
        f'<span class="hint">{esc(hint)}</span></p>'
    )


def interval_text(value: Any, lo: Any, hi: Any, kind: str = "pct") -> str:
    """``26.3% (22.0–31.1%)`` as escaped markup, the interval small."""
    main = fmt(value, kind)
    if lo is None or hi is None or main == DASH:
        return main
    return f'{main} <small class="ci">{fmt(lo, kind)}–{fmt(hi, kind)}</small>'


# ---------------------------------------------------------------------------------------------
# model context


def prepare_models(ctx: Context) -> None:
    """Models in the run's order and the page's initial model."""
    cs = ctx.out.table("channel_summary")
    models: list[str] = []
    if has(cs, "model"):
        models = [str(m) for m in cs.get_column("model").unique(maintain_order=True).to_list()]
    listed = [
        str(m.get("name")) for m in (ctx.out.manifest.get("models") or []) if isinstance(m, dict)
    ]
    models = [m for m in listed if m in models] + [m for m in models if m not in listed]
    ctx.models = models
    ctx.default_model = next((m for m in PREFERRED_MODELS if m in models), None) or (
        models[0] if models else None
    )


def _channel_order(cs: pl.DataFrame, metric: str) -> list[str]:
    """Channels by mean ``metric`` over models (descending), ``(none)`` last."""
    order = (
        cs.group_by("channel")
        .agg(pl.col(metric).mean().alias("m"))
        .with_columns((pl.col("channel") == NONE_CHANNEL).alias("is_none"))
        .sort(["is_none", "m", "channel"], descending=[False, True, False])
    )
    return [str(c) for c in order.get_column("channel").to_list()]


# ---------------------------------------------------------------------------------------------
# headline


def _period_grain(periods: list[str]) -> list[str]:
    quarters = sorted(p for p in periods if _QUARTER.match(p))
    months = sorted(p for p in periods if _MONTH.match(p))
    if len(quarters) >= 2:
        return quarters
    if len(months) >= 2:
        return months
    return quarters or months


def headline(ctx: Context) -> Section:
    """KPI cards for the latest period with the change from the one before."""
    kpis = ctx.out.table("kpis")
    sec = Section("headline", "Headline", "Headline KPIs", "")
    if not has(kpis, "kpi", "period", "value"):
        sec.body = not_computed(
            "company KPIs (kpis.parquet is absent)",
            "the totals below come from journeys.parquet; period-over-period change needs KPIs.",
        ) + _fallback_cards(ctx)
        return sec
    assert kpis is not None
    values: dict[tuple[str, str], dict[str, Any]] = {
        (str(r["kpi"]), str(r["period"])): r for r in kpis.to_dicts()
    }
    periods = [str(p) for p in kpis.get_column("period").unique().to_list()]
    grain = _period_grain(periods)
    cur = grain[-1] if grain else "all"
    prev = grain[-2] if len(grain) >= 2 else None
    cards = []
    for name in HEADLINE_KPIS:
        label, kind, better = KPI_INFO[name]
        label = CARD_LABELS.get(name, label)
        row = values.get((name, cur))
        if row is None:
            continue
        prev_row = values.get((name, prev)) if prev else None
        all_row = values.get((name, "all"))
        delta_text, delta = change(row.get("value"), (prev_row or {}).get("value"), kind)
        tone = "flat"
        if delta is not None and delta != 0 and better is not None:
            tone = "good" if (delta > 0) == (better == "up") else "bad"
        arrow = "▲" if (delta or 0) > 0 else "▼" if (delta or 0) < 0 else ""
        delta_html = (
            f'<div class="delta {tone}">{arrow} {esc(delta_text)} '
            f'<span class="vs">vs {esc(prev)}</span></div>'
            if prev is not None
            else '<div class="delta flat">&nbsp;</div>'
        )
        foot = ""
        if row.get("lo") is not None and row.get("hi") is not None:
            foot = f"95% interval {fmt(row['lo'], kind)}–{fmt(row['hi'], kind)}"
        elif all_row is not None and cur != "all":
            foot = f"all periods: {fmt_card(all_row.get('value'), kind)}"
        cards.append(
            f'<div class="card"><div class="card-label">{esc(label)}</div>'
            f'<div class="card-value">{fmt_card(row.get("value"), kind)}</div>'
            f'{delta_html}<div class="card-foot">{foot}</div></div>'
        )
    lead = (
        f"Latest period <strong>{esc(cur)}</strong>"
        + (f" compared with <strong>{esc(prev)}</strong>." if prev else ".")
        + " Rates change in percentage points (pp)."
    )
    body = f'<p class="lead">{lead}</p><div class="cards">{"".join(cards)}</div>'
    body += _kpi_trends(ctx, kpis)
    body += _kpi_table(kpis, grain)
    sec.body = body
    return sec


def _kpi_trends(ctx: Context, kpis: pl.DataFrame) -> str:
    monthly = kpis.filter(pl.col("period").str.contains(r"^\d{4}-\d{2}$"))
    if monthly.get_column("period").n_unique() < 2:
        return ""
    series = []
    cols = [c for c in ("period", "value", "lo", "hi") if c in monthly.columns]
    for name, title, d3 in TREND_KPIS:
        rows = records(monthly.filter(pl.col("kpi") == name).sort("period"), cols)
        if rows:
            series.append((title, d3, rows))
    if not series:
        return ""
    return "<h3>Monthly trend</h3>" + ctx.chart(charts.kpi_trends(series, validate=ctx.validate))


def _kpi_table(kpis: pl.DataFrame, grain: list[str]) -> str:
    periods = ["all", *grain[-4:]]
    cols = [Col("KPI", "label")] + [Col(p, p, "html") for p in periods]
    rows = []
    names = [str(k) for k in kpis.get_column("kpi").unique(maintain_order=True).to_list()]
    lookup = {(str(r["kpi"]), str(r["period"])): r for r in kpis.to_dicts()}
    for name in names:
        label, kind, _ = KPI_INFO.get(name, (name, "number", None))
        row: dict[str, Any] = {"label": label}
        for p in periods:
            r = lookup.get((name, p))
            row[p] = interval_text(r.get("value"), r.get("lo"), r.get("hi"), kind) if r else None
        rows.append(row)
    return (
        "<details><summary>All KPIs by period</summary>"
        + table(cols, rows)
        + '<p class="note">Definitions: docs/METRICS.md.</p></details>'
    )


def _fallback_cards(ctx: Context) -> str:
    j = ctx.out.table("journeys")
    if not has(j, "status", "amount"):
        return ""
    assert j is not None
    won = j.filter(pl.col("status") == "won")
    lost = j.filter(pl.col("status") == "lost")
    opened = j.filter(pl.col("status") == "open")
    n_won, n_lost = won.height, lost.height
    revenue = float(won.get_column("amount").sum())
    items: list[tuple[str, str]] = [
        ("Revenue (won)", compact(revenue)),
        ("Won deals", compact(n_won)),
        ("Open pipeline", compact(float(opened.get_column("amount").sum()))),
        ("Win rate", fmt(n_won / (n_won + n_lost), "pct") if n_won + n_lost else DASH),
        ("Average deal size", compact(revenue / n_won) if n_won else DASH),
    ]
    if "days_to_close" in j.columns:
        med = won.get_column("days_to_close").drop_nulls().median()
        items.append(("Days to deal (median)", fmt(med, "days")))
    cards = "".join(
        f'<div class="card"><div class="card-label">{esc(label)}</div>'
        f'<div class="card-value">{value}</div><div class="card-foot">all journeys</div></div>'
        for label, value in items
    )
    return f'<div class="cards">{cards}</div>'


# ---------------------------------------------------------------------------------------------
# model comparison


def model_comparison(ctx: Context) -> Section:
    """Revenue and pipeline by channel under every model, side by side."""
    sec = Section(
        "models",
        "Models",
        "Revenue and pipeline by channel, every model",
        "Each dot is one model's credit to the channel; the grey bar spans the models' range. "
        "A long bar means the models disagree about that channel.",
    )
    cs = ctx.out.table("channel_summary")
    if not has(cs, "model", "channel", "revenue"):
        sec.body = not_computed(
            "channel credit (channel_summary.parquet is absent)", "run `attrib run` first."
        )
        return sec
    assert cs is not None
    order = _channel_order(cs, "revenue")
    parts = ['<div class="grid2">']
    for metric, title in (("revenue", "Attributed revenue (won)"), ("pipeline", "Open pipeline")):
        if metric not in cs.columns:
            continue
        data = cs.select(
            "model", "channel", pl.col(metric).cast(pl.Float64).alias("value")
        ).with_columns(
            (pl.col("value") / pl.col("value").sum().over("model")).fill_nan(None).alias("share")
        )
        spec = charts.model_comparison(
            records(data),
            metric_title=title,
            channels=order,
            models=ctx.models,
            validate=ctx.validate,
        )
        parts.append(f"<div><h3>{esc(title)}</h3>{ctx.chart(spec)}</div>")
    parts.append("</div>")
    parts.append("<h3>Revenue by channel and model</h3>")
    parts.append(_pivot_table(cs, "revenue", order, ctx.models))
    if "pipeline" in cs.columns:
        parts.append("<details><summary>Open pipeline by channel and model</summary>")
        parts.append(_pivot_table(cs, "pipeline", order, ctx.models))
        parts.append("</details>")
    if "conversions" in cs.columns:
        parts.append("<details><summary>Won deals (conversions) by channel and model</summary>")
        parts.append(_pivot_table(cs, "conversions", order, ctx.models, kind="count"))
        parts.append("</details>")
    sec.body = "".join(parts)
    return sec


def _pivot_table(
    cs: pl.DataFrame, metric: str, order: list[str], models: list[str], kind: str = "compact"
) -> str:
    """Channels down, models across; each cell tinted by the channel's share of the model."""
    values: dict[tuple[str, str], float] = {}
    totals: dict[str, float] = {}
    for r in cs.select("model", "channel", metric).to_dicts():
        v = float(r[metric] or 0.0)
        values[(str(r["model"]), str(r["channel"]))] = v
        totals[str(r["model"])] = totals.get(str(r["model"]), 0.0) + v
    head = '<th class="txt">channel</th>' + "".join(
        f'<th class="num">{esc(m)}</th>' for m in models
    )
    head += '<th class="num">range</th>'
    rows = []
    for ch in order:
        cells = [f'<td class="txt">{esc(ch)}</td>']
        vals = []
        for m in models:
            v = values.get((m, ch))
            if v is None:
                cells.append('<td class="num muted">—</td>')
                continue
            vals.append(v)
            share = v / totals[m] if totals.get(m) else 0.0
            tint = f"{min(max(share, 0.0), 1.0) * 2.5:.3f}"
            cells.append(
                f'<td class="num heat" style="--h:{tint}" title="{share * 100:.1f}% of {esc(m)}">'
                f"{fmt(v, kind)}</td>"
            )
        spread = (max(vals) - min(vals)) if vals else None
        cells.append(f'<td class="num muted">{fmt(spread, kind)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    total = '<td class="txt">total</td>' + "".join(
        f'<td class="num">{fmt(totals.get(m), kind)}</td>' for m in models
    )
    return (
        f'<div class="table-wrap"><table class="pivot"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody>"
        f'<tfoot><tr class="total">{total}<td></td></tr></tfoot></table></div>'
    )


# ---------------------------------------------------------------------------------------------
# sourced vs influenced

_CATEGORIES = ("Marketing-sourced", "Influenced only", "No marketing touch")


def sourced_influenced(ctx: Context) -> Section:
    """Share of revenue, pipeline and deals sourced or influenced by marketing."""
    sec = Section(
        "sourced",
        "Sourced",
        "Marketing-sourced vs influenced",
        "Sourced: the journey's first touch is on a marketing channel. Influenced: any touch "
        "is. 'Influenced only' journeys had a marketing touch, but not the first one.",
    )
    j = ctx.out.table("journeys")
    need = ("status", "amount", "marketing_sourced", "marketing_influenced")
    if not has(j, *need):
        sec.body = not_computed(
            "sourced and influenced shares (journeys.parquet is absent or lacks the flags)",
            "runs on touches and deals write it; path-table runs (--paths) have no journeys.",
        )
        return sec
    assert j is not None
    cat = (
        pl.when(pl.col("marketing_sourced"))
        .then(pl.lit(_CATEGORIES[0]))
        .when(pl.col("marketing_influenced"))
        .then(pl.lit(_CATEGORIES[1]))
        .otherwise(pl.lit(_CATEGORIES[2]))
        .alias("category")
    )
    jj = j.with_columns(cat)
    measures = [
        ("Won revenue", pl.col("status") == "won", pl.col("amount").sum(), "money"),
        ("Open pipeline", pl.col("status") == "open", pl.col("amount").sum(), "money"),
        ("Won deals", pl.col("status") == "won", pl.len(), "count"),
        ("All deals", pl.col("status").is_in(["won", "open", "lost"]), pl.len(), "count"),
    ]
    rows: list[dict[str, Any]] = []
    table_rows: list[dict[str, Any]] = []
    for name, cond, agg, kind in measures:
        agg_df = jj.filter(cond).group_by("category").agg(agg.cast(pl.Float64).alias("v"))
        got = {str(r["category"]): float(r["v"] or 0.0) for r in agg_df.to_dicts()}
        total = sum(got.values())
        trow: dict[str, Any] = {"measure": name, "total": total}
        cum = 0.0
        for rank, c in enumerate(_CATEGORIES):
            v = got.get(c, 0.0)
            share = v / total if total else 0.0
            rows.append(
                {
                    "measure": name,
                    "category": c,
                    "value": v,
                    "share": share,
                    "rank": rank,
                    "mid": cum + share / 2,
                }
            )
            cum += share
            trow[c] = v
            trow[c + " %"] = share if total else None
        trow["kind"] = kind
        table_rows.append(trow)
    spec = charts.sourced_split(rows, measures=[m[0] for m in measures], validate=ctx.validate)
    cols = [Col("measure", "measure")]
    for c in _CATEGORIES:
        cols += [Col(c, c, "compact"), Col("share", c + " %", "pct")]
    cols.append(Col("total", "total", "compact"))
    sec.body = ctx.chart(spec) + table(cols, table_rows)
    return sec


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
    if not has(cs, "model", "channel", "revenue", "spend"):
        sec.body = not_computed(
            "spend, ROAS and ROMI (no spend columns in channel_summary.parquet)",
            "give the run a costs file (costs.* with date, channel, spend).",
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
        total = {"channel": "total"}
        for key in ("spend", "revenue", "leads", "mqls", "sqls", "opportunities", "customers"):
            if key in d.columns:
                total[key] = d.get_column(key).sum()
        return f'<h3>Per channel · <span class="model-name">{esc(model)}</span></h3>' + table(
            cols, d.to_dicts(), total=total
        )

    parts.append(ctx.per_model(render))
    parts.append(
        '<p class="note">ROAS = attributed revenue / spend; ROMI = (revenue × gross margin − '
        "spend) / spend. Stage counts are sourced (first touch). Cost ratios are empty where "
        "spend or the count is zero.</p>"
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
            "give the run a stages file (stages.* with customer_id, stage, ts).",
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
            "lead": interval_text(
                r["rate_from_lead"], r["rate_from_lead_lo"], r["rate_from_lead_hi"]
            ),
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
        note += " Each entity counts in the period it entered the funnel."
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
    d = d.select(
        "channel",
        pl.col("rate_from_lead").alias("rate"),
        pl.col(lo).alias("lo"),
        pl.col(hi).alias("hi"),
        "n",
    ).sort(["rate", "channel"], descending=[True, False])
    spec = charts.rate_intervals(
        records(d),
        category="channel",
        order=[str(c) for c in d.get_column("channel").to_list()],
        title=f"lead → {last} conversion",
        validate=ctx.validate,
    )
    return (
        f"<h3>Lead → {esc(last)} conversion by original source (first touch)</h3>"
        + ctx.chart(spec)
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
    won = j.filter((pl.col("status") == "won") & pl.col("days_to_close").is_not_null())
    if won.height == 0:
        sec.body = not_computed("days to deal", "no won deal with touches in this run.")
        return sec
    days = won.get_column("days_to_close").cast(pl.Float64)
    lo, hi = float(days.min() or 0.0), float(days.max() or 0.0)
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
        f'<p class="lead">{won.height:,} won deals · median <strong>{fmt(median, "days")}</strong>'
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
            .sort(["median", "first_channel"])
        )
        order = [str(c) for c in q.get_column("first_channel").to_list()]
        spec = charts.days_by_channel(records(q), channels=order, validate=ctx.validate)
        box = f"<div><h3>By first-touch channel</h3>{ctx.chart(spec)}</div>"
    parts.append(f'<div class="grid2"><div><h3>Distribution</h3>{ctx.chart(hist)}</div>{box}</div>')
    sec.body = "".join(parts)
    return sec


# ---------------------------------------------------------------------------------------------
# Markov


def markov(ctx: Context) -> Section:
    """Removal effects and the strongest transitions of the fitted Markov chain."""
    sec = Section(
        "markov",
        "Markov",
        "Markov chain: removal effects and transitions",
        "The removal effect of a channel is the share of conversions the chain loses when the "
        "channel is removed; Markov credit is proportional to it.",
    )
    re_df = ctx.out.table("markov_removal_effects")
    tr = ctx.out.table("markov_transitions")
    if not has(re_df, "channel", "removal_effect") and not has(tr, "from_state", "to_state"):
        sec.body = not_computed(
            "Markov removal effects (markov_*.parquet are absent)",
            "include markov in --models.",
        )
        return sec
    parts = []
    if has(re_df, "channel", "removal_effect"):
        assert re_df is not None
        d = re_df.sort(["removal_effect", "channel"], descending=[True, False])
        order = [str(c) for c in d.get_column("channel").to_list()]
        spec = charts.signed_bars(
            records(d, ["channel", "removal_effect"]),
            field="removal_effect",
            title="removal effect",
            fmt=".0%",
            channels=order,
            validate=ctx.validate,
        )
        cols = [Col("channel", "channel"), Col("removal effect", "removal_effect", "pct")]
        if "value_removal_effect" in d.columns:
            cols.append(Col("value removal effect", "value_removal_effect", "pct"))
        if "share" in d.columns:
            cols.append(Col("share of credit", "share", "pct"))
        parts.append(
            f'<div class="grid2"><div><h3>Removal effects</h3>{ctx.chart(spec)}</div>'
            f"<div><h3>&nbsp;</h3>{table(cols, d.to_dicts())}</div></div>"
        )
    if has(tr, "from_state", "to_state", "probability"):
        assert tr is not None
        parts.append(_transitions(ctx, tr))
    sec.body = "".join(parts)
    return sec


def _transitions(ctx: Context, tr: pl.DataFrame) -> str:
    if "count" not in tr.columns:
        tr = tr.with_columns(pl.lit(None, pl.Float64).alias("count"))
    top = tr.sort(
        ["count", "probability", "from_state", "to_state"], descending=[True, True, False, False]
    )
    parts = []
    states_from = [str(s) for s in tr.get_column("from_state").unique().sort().to_list()]
    states_to = [str(s) for s in tr.get_column("to_state").unique().sort().to_list()]
    special_first = ["(start)"]
    special_last = ["(conversion)", "(null)"]
    states_from = [s for s in special_first if s in states_from] + [
        s for s in states_from if s not in special_first
    ]
    states_to = [s for s in states_to if s not in special_last] + [
        s for s in special_last if s in states_to
    ]
    if len(states_from) <= 30 and len(states_to) <= 30:
        spec = charts.transition_heatmap(
            records(tr, ["from_state", "to_state", "probability", "count"]),
            states_from=states_from,
            states_to=states_to,
            validate=ctx.validate,
        )
        parts.append(
            "<h3>Transition probabilities</h3>"
            '<p class="note">Row: the state a journey is in; column: where it goes next. '
            "(start) is the journey's beginning, (conversion) a won deal, (null) no conversion."
            "</p>" + f'<div class="scroll-x">{ctx.chart(spec)}</div>'
        )
    rows = top.head(20).to_dicts()
    parts.append(
        "<details><summary>Top 20 transitions by journeys</summary>"
        + table(
            [
                Col("from", "from_state"),
                Col("to", "to_state"),
                Col("journeys", "count", "count"),
                Col("probability", "probability", "pct"),
            ],
            rows,
        )
        + "</details>"
    )
    return "".join(parts)


# ---------------------------------------------------------------------------------------------
# Shapley


def shapley(ctx: Context) -> Section:
    """Shapley value and credit share per channel."""
    sec = Section(
        "shapley",
        "Shapley",
        "Shapley values",
        "Channels are players and each journey's set of channels a coalition; a channel's "
        "Shapley value is its average marginal contribution to the conversion rate. Negative "
        "values get no credit.",
    )
    sv = ctx.out.table("shapley_values")
    if not has(sv, "channel", "shapley_value"):
        sec.body = not_computed(
            "Shapley values (shapley_values.parquet is absent)", "include shapley in --models."
        )
        return sec
    assert sv is not None
    if "share" not in sv.columns:
        sv = sv.with_columns(pl.lit(None, pl.Float64).alias("share"))
    if "std_error" not in sv.columns:
        sv = sv.with_columns(pl.lit(None, pl.Float64).alias("std_error"))
    d = sv.sort(["shapley_value", "channel"], descending=[True, False]).with_columns(
        (pl.col("shapley_value") - 1.96 * pl.col("std_error")).alias("err_lo"),
        (pl.col("shapley_value") + 1.96 * pl.col("std_error")).alias("err_hi"),
    )
    sampled = d.get_column("std_error").drop_nulls().len() > 0
    order = [str(c) for c in d.get_column("channel").to_list()]
    spec = charts.signed_bars(
        records(d, ["channel", "shapley_value", "err_lo", "err_hi"]),
        field="shapley_value",
        title="Shapley value (conversion-rate units)",
        fmt=".2~%",
        channels=order,
        err=sampled,
        validate=ctx.validate,
    )
    cols = [
        Col("channel", "channel"),
        Col("Shapley value", "shapley_value", "number"),
        Col("share of credit", "share", "pct"),
    ]
    if sampled:
        cols.insert(2, Col("std. error", "std_error", "number"))
    note = (
        "Estimated from sampled permutations; bars show ±1.96 standard errors."
        if sampled
        else "Computed exactly over all coalitions."
    )
    sec.body = (
        f'<div class="grid2"><div>{ctx.chart(spec)}</div>'
        f"<div>{table(cols, d.to_dicts())}</div></div>"
        f'<p class="note">{esc(note)}</p>'
    )
    return sec


# ---------------------------------------------------------------------------------------------
# bootstrap intervals


def _interval_metrics(cs: pl.DataFrame) -> list[str]:
    found = []
    for c in cs.columns:
        if c.endswith("_lo") and f"{c[:-3]}_hi" in cs.columns and c[:-3] in cs.columns:
            found.append(c[:-3])
    first = [m for m in ("revenue", "pipeline", "conversions") if m in found]
    return first + sorted(m for m in found if m not in first)


def bootstrap(ctx: Context) -> Section:
    """Bootstrap intervals of channel credit, where the run computed them."""
    sec = Section(
        "intervals",
        "Intervals",
        "Bootstrap intervals",
        "How much each channel's credit moves when the journeys are resampled: the bar spans "
        "the bootstrap interval, the dot is the estimate on the full data.",
    )
    cs = ctx.out.table("channel_summary")
    metrics = _interval_metrics(cs) if has(cs, "model", "channel") else []
    if not metrics:
        sec.body = not_computed(
            "bootstrap intervals (no *_lo/*_hi columns in channel_summary.parquet)",
            "run with --bootstrap N to resample journeys N times.",
        )
        return sec
    assert cs is not None
    assert ctx.default_model is not None
    parts = []
    boot = ctx.out.manifest.get("bootstrap")
    if isinstance(boot, dict) and boot:
        desc = ", ".join(f"{k} = {v}" for k, v in sorted(boot.items()))
        parts.append(f'<p class="note">Bootstrap settings: {esc(desc)}.</p>')
    else:
        for stage in ctx.out.manifest.get("timings_s") or {}:
            found = re.fullmatch(r"bootstrap x(\d+)", str(stage))
            if found:
                parts.append(
                    f'<p class="note">95% intervals from {int(found.group(1)):,} bootstrap '
                    "resamples of the journeys.</p>"
                )
    shown = [m for m in metrics if m in ("revenue", "pipeline")][:2] or metrics[:1]
    parts.append('<div class="grid2">')
    for m in shown:
        d = cs.select(
            "model",
            "channel",
            pl.col(m).cast(pl.Float64).alias("value"),
            pl.col(f"{m}_lo").cast(pl.Float64).alias("lo"),
            pl.col(f"{m}_hi").cast(pl.Float64).alias("hi"),
        )
        order = _channel_order(cs, m)
        spec = charts.bootstrap_intervals(
            records(d),
            default_model=ctx.default_model,
            channels=order,
            title=m,
            validate=ctx.validate,
        )
        parts.append(
            f'<div><h3>{esc(m.capitalize())} · <span class="model-name" data-model-label></span>'
            f"</h3>{ctx.chart(spec, follows_model=True)}</div>"
        )
    parts.append("</div>")

    def render(model: str) -> str:
        d = cs.filter(pl.col("model") == model).sort("channel")
        rows = []
        for r in d.to_dicts():
            row: dict[str, Any] = {"channel": r["channel"]}
            for m in metrics:
                row[m] = interval_text(r.get(m), r.get(f"{m}_lo"), r.get(f"{m}_hi"), "compact")
            rows.append(row)
        cols = [Col("channel", "channel")] + [Col(f"{m} (interval)", m, "html") for m in metrics]
        return (
            f"<details><summary>Intervals per channel · {esc(model)}</summary>"
            + table(cols, rows)
            + "</details>"
        )

    parts.append(ctx.per_model(render))
    sec.body = "".join(parts)
    return sec


# ---------------------------------------------------------------------------------------------
# targets


def targets(ctx: Context) -> Section:
    """Actuals against targets with the index (actual / target × 100)."""
    sec = Section(
        "targets",
        "Targets",
        "Targets vs actuals",
        "Index = actual / target × 100: at or above 100 the target was met.",
    )
    kpis = ctx.out.table("kpis")
    if not has(kpis, "kpi", "period", "value", "target"):
        sec.body = not_computed(
            "targets vs actuals (no targets in kpis.parquet)",
            "give the run a targets file (targets.* with kpi, period, target).",
        )
        return sec
    assert kpis is not None
    d = kpis.filter(pl.col("target").is_not_null())
    parts = []
    if d.height:
        if "index" not in d.columns:
            d = d.with_columns((pl.col("value") / pl.col("target") * 100).alias("index"))
        rows = []
        for r in d.sort(["kpi", "period"]).to_dicts():
            label, kind, _ = KPI_INFO.get(str(r["kpi"]), (str(r["kpi"]), "number", None))
            rows.append({**r, "label": f"{label} · {r['period']}", "name": label, "kind": kind})
        spec = charts.target_index(
            [
                {k: r.get(k) for k in ("label", "value", "target", "index")}
                for r in rows
                if r.get("index") is not None
            ],
            labels=[r["label"] for r in rows],
            validate=ctx.validate,
        )
        trows = [
            {
                "name": r["name"],
                "period": r["period"],
                "actual": fmt(r.get("value"), r["kind"]),
                "target": fmt(r.get("target"), r["kind"]),
                "index": _index_pill(r.get("index")),
            }
            for r in rows
        ]
        parts.append(
            f'<div class="grid2"><div>{ctx.chart(spec)}</div><div>'
            + table(
                [
                    Col("KPI", "name"),
                    Col("period", "period"),
                    Col("actual", "actual", "html"),
                    Col("target", "target", "html"),
                    Col("index", "index", "html"),
                ],
                trows,
            )
            + "</div></div>"
        )
    else:
        parts.append(
            not_computed(
                "targets vs actuals (no KPI has a target)",
                "give the run a targets file (targets.* with kpi, period, target).",
            )
        )
    if "index_vs_baseline" in kpis.columns:
        b = kpis.filter(pl.col("index_vs_baseline").is_not_null())
        if b.height:
            brows = [
                {
                    "name": KPI_INFO.get(str(r["kpi"]), (str(r["kpi"]),))[0],
                    "period": r["period"],
                    "index": _index_pill(r["index_vs_baseline"]),
                }
                for r in b.sort(["kpi", "period"]).to_dicts()
            ]
            parts.append(
                "<details><summary>Index vs the baseline period</summary>"
                + table(
                    [Col("KPI", "name"), Col("period", "period"), Col("index", "index", "html")],
                    brows,
                )
                + "</details>"
            )
    sec.body = "".join(parts)
    return sec


def _index_pill(value: Any) -> str:
    text = fmt(value, "index")
    if text == DASH:
        return text
    tone = "good" if float(value) >= 100 else "bad"
    return f'<span class="pill {tone}">{text}</span>'


# ---------------------------------------------------------------------------------------------
# plan


def plan(ctx: Context) -> Section:
    """The reverse funnel: what each stage must produce, and the budget, to hit a target."""
    sec = Section(
        "plan",
        "Plan",
        "The plan (reverse funnel)",
        "From the revenue target and the average deal size, the volumes each stage must "
        "produce at historical conversion rates, and the budget at historical cost per lead.",
    )
    p = ctx.out.table("plan")
    if not has(p, "kind", "name", "value"):
        sec.body = not_computed(
            "a plan (plan.parquet is absent)",
            "run `attrib plan --target-revenue X` to make one.",
        )
        return sec
    assert p is not None
    for c in ("rate", "rate_lo", "rate_hi", "wide_interval", "unit_cost"):
        if c not in p.columns:
            p = p.with_columns(pl.lit(None).alias(c))
    parts = []
    inputs = p.filter(pl.col("kind") == "input").to_dicts()
    if inputs:
        facts = "".join(
            f'<div class="card"><div class="card-label">{esc(str(r["name"]).replace("_", " "))}'
            f'</div><div class="card-value">{fmt_card(r["value"], "money")}</div></div>'
            for r in inputs
        )
        parts.append(f'<div class="cards">{facts}</div>')
    stages = p.filter(pl.col("kind") == "stage").to_dicts()
    budget = p.filter(pl.col("kind") == "budget").to_dicts()
    grid = []
    if stages:
        srows = [
            {"stage": r["name"], "value": r["value"]} for r in stages if r["value"] is not None
        ]
        spec = charts.simple_bars(
            srows,
            category="stage",
            order=[str(r["name"]) for r in stages],
            title="needed",
            validate=ctx.validate,
        )
        trows = []
        for r in stages:
            flag = ' <span class="pill bad" title="interval wider than the threshold">wide</span>'
            rate = interval_text(r["rate"], r["rate_lo"], r["rate_hi"])
            trows.append(
                {
                    "stage": r["name"],
                    "value": r["value"],
                    "rate": rate + (flag if r.get("wide_interval") else ""),
                }
            )
        grid.append(
            f"<div><h3>Needed per stage</h3>{ctx.chart(spec)}"
            + table(
                [
                    Col("stage", "stage"),
                    Col("needed", "value", "count"),
                    Col("rate into stage (95% interval)", "rate", "html"),
                ],
                trows,
            )
            + "</div>"
        )
    if budget:
        channel_rows = [r for r in budget if r["name"] != "(total)"]
        brows = [{"channel": r["name"], "value": r["value"]} for r in channel_rows if r["value"]]
        brows.sort(key=lambda r: -float(r["value"]))
        body = "<div><h3>Budget by channel</h3>"
        if brows:
            spec = charts.simple_bars(
                brows,
                category="channel",
                order=[str(r["channel"]) for r in brows],
                title="budget",
                validate=ctx.validate,
            )
            body += ctx.chart(spec)
        total = next((r for r in budget if r["name"] == "(total)"), None)
        body += table(
            [
                Col("channel", "name"),
                Col("budget", "value", "money"),
                Col("lead mix", "rate", "pct"),
                Col("cost per lead", "unit_cost", "money"),
            ],
            sorted(channel_rows, key=lambda r: (r["value"] is None, -(r["value"] or 0.0))),
            total={"name": "total", "value": total["value"]} if total else None,
        )
        body += (
            '<p class="note">Channels without spend history have no cost per lead and no '
            "budget line.</p></div>"
        )
        grid.append(body)
    parts.append(f'<div class="grid2">{"".join(grid)}</div>')
    sec.body = "".join(parts)
    return sec


# ---------------------------------------------------------------------------------------------
# campaigns


def campaigns(ctx: Context) -> Section:
    """Top campaigns by attributed revenue for the selected model."""
    sec = Section(
        "campaigns",
        "Campaigns",
        "Top campaigns",
        "The 15 campaigns with the most attributed revenue under the model chosen at the top.",
    )
    cp = ctx.out.table("campaign_summary")
    if not has(cp, "model", "channel", "campaign", "revenue") or not ctx.models:
        sec.body = not_computed(
            "campaign credit (campaign_summary.parquet is absent)", "run `attrib run` first."
        )
        return sec
    assert cp is not None
    cols = [Col("channel", "channel"), Col("campaign", "campaign")]
    for key, label, kind in (
        ("revenue", "revenue", "money"),
        ("pipeline", "pipeline", "money"),
        ("conversions", "won deals", "count"),
        ("spend", "spend", "money"),
        ("roas", "ROAS", "ratio"),
    ):
        if key in cp.columns:
            cols.append(Col(label, key, kind))

    def render(model: str) -> str:
        d = (
            cp.filter((pl.col("model") == model) & (pl.col("campaign") != NONE_CHANNEL))
            .sort(["revenue", "channel", "campaign"], descending=[True, False, False])
            .head(15)
        )
        return table(cols, d.to_dicts())

    sec.body = ctx.per_model(render)
    return sec


# ---------------------------------------------------------------------------------------------
# data quality


def data_quality(ctx: Context) -> Section:
    """Rows read and rejected, quarantine reasons, models, inputs and versions."""
    sec = Section(
        "quality",
        "Data quality",
        "Data quality and run details",
        "Every rejected row is in the out folder's quarantine/ with its file, row, column "
        "and reason.",
    )
    m = ctx.out.manifest
    parts = []
    counts = m.get("row_counts") or {}
    rejected = m.get("rejected") or {}
    rows = []
    for key, n in counts.items():
        if not str(key).endswith("_read"):
            continue
        t = str(key)[: -len("_read")]
        bad = rejected.get(t, 0) or 0
        rows.append(
            {
                "table": t,
                "read": n,
                "rejected": bad,
                "share": (bad / n) if n else None,
            }
        )
    if rows:
        total_bad = sum(int(r["rejected"]) for r in rows)
        tone = "good" if total_bad == 0 else "bad"
        headline_text = (
            "No input row was rejected."
            if total_bad == 0
            else f"{total_bad:,} input rows were rejected and left out of the run."
        )
        parts.append(f'<p class="lead"><span class="pill {tone}">{esc(headline_text)}</span></p>')
        parts.append(
            table(
                [
                    Col("input table", "table"),
                    Col("rows read", "read", "count"),
                    Col("rejected", "rejected", "count"),
                    Col("rejected share", "share", "pct2"),
                ],
                rows,
            )
        )
    else:
        parts.append(
            not_computed("input row counts (manifest.json absent or without row counts)", "")
        )
    q = ctx.out.quarantine()
    qrows = []
    for t, df in q.items():
        if df.height == 0:
            continue
        keys = [c for c in ("column", "reason") if c in df.columns]
        if not keys:
            qrows.append({"table": t, "column": None, "reason": None, "rows": df.height})
            continue
        g = (
            df.group_by(keys)
            .agg(pl.len().alias("rows"))
            .sort(["rows", *keys], descending=[True] + [False] * len(keys))
            .head(8)
        )
        for r in g.to_dicts():
            qrows.append({"table": t, **r})
    if qrows:
        parts.append("<h3>Why rows were rejected</h3>")
        parts.append(
            table(
                [
                    Col("table", "table"),
                    Col("column", "column"),
                    Col("reason", "reason"),
                    Col("rows", "rows", "count"),
                ],
                qrows,
            )
        )
    j = ctx.out.table("journeys")
    facts = []
    if "journeys" in counts:
        facts.append(f"{int(counts['journeys']):,} journeys")
    if "touches_in_journeys" in counts:
        facts.append(f"{int(counts['touches_in_journeys']):,} touches in journeys")
    if has(j, "status"):
        assert j is not None
        by = j.group_by("status").agg(pl.len().alias("n")).sort("status")
        names = {"none": "without a deal"}
        facts += [f"{int(n):,} {esc(names.get(s, s))}" for s, n in by.iter_rows()]
    if facts:
        parts.append(f'<p class="note">Journeys: {" · ".join(facts)}.</p>')
    if ctx.out.problems:
        parts.append(
            '<p class="na"><strong>Unreadable outputs:</strong> '
            + esc("; ".join(ctx.out.problems))
            + "</p>"
        )
    parts.append(_run_details(m))
    sec.body = "".join(parts)
    return sec


def _run_details(m: dict[str, Any]) -> str:
    parts = ["<details><summary>Models, inputs and versions</summary>"]
    models = m.get("models") or []
    if models:
        mrows = []
        for mod in models:
            if not isinstance(mod, dict):
                continue
            params = mod.get("params") or {}
            mrows.append(
                {
                    "name": mod.get("name"),
                    "title": mod.get("title"),
                    "summary": mod.get("summary"),
                    "params": ", ".join(f"{k}={v}" for k, v in sorted(params.items())) or DASH,
                }
            )
        parts.append("<h3>Models</h3>")
        parts.append(
            table(
                [
                    Col("model", "name"),
                    Col("title", "title"),
                    Col("what it does", "summary"),
                    Col("parameters", "params"),
                ],
                mrows,
            )
        )
    inputs = m.get("inputs") or {}
    irows = []
    for t, files in sorted(inputs.items()):
        for f in files or []:
            if isinstance(f, dict):
                irows.append(
                    {
                        "table": t,
                        "path": f.get("path"),
                        "bytes": f.get("bytes"),
                        "sha": str(f.get("sha256") or "")[:16],
                    }
                )
    if irows:
        parts.append("<h3>Input files</h3>")
        parts.append(
            table(
                [
                    Col("table", "table"),
                    Col("file", "path"),
                    Col("bytes", "bytes", "count"),
                    Col("sha256 (first 16)", "sha"),
                ],
                irows,
            )
        )
    cfg = m.get("config") or {}
    settings = {
        k: cfg.get(k) for k in ("lookback_days", "level", "revenue_window", "strict", "source")
    }
    versions = {"attrib": m.get("attrib_version"), **(m.get("versions") or {})}
    kv = [(k, v) for k, v in {**settings, **versions}.items() if v is not None]
    if kv:
        parts.append("<h3>Settings and versions</h3>")
        parts.append(
            table([Col("item", "k"), Col("value", "v")], [{"k": k, "v": v} for k, v in kv])
        )
    timings = m.get("timings_s") or {}
    if timings:
        trows = [{"stage": k, "s": v} for k, v in timings.items()]
        parts.append("<h3>Stage timings</h3>")
        parts.append(table([Col("stage", "stage"), Col("seconds", "s", "number")], trows))
    parts.append("</details>")
    return "".join(parts)


SECTIONS: tuple[Callable[[Context], Section], ...] = (
    headline,
    model_comparison,
    sourced_influenced,
    spend_return,
    funnel,
    days_to_deal,
    markov,
    shapley,
    bootstrap,
    targets,
    plan,
    campaigns,
    data_quality,
)
