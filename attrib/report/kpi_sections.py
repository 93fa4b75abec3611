"""Sections on company KPIs: the headline (cards, highlights, trends), targets, the plan."""

from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import polars as pl

from attrib.metrics.periods import period_kind
from attrib.report import charts
from attrib.report._base import (
    NONE_CHANNEL,
    PATHS_HINT,
    Col,
    Context,
    Section,
    interval_text,
    not_computed,
    table,
)
from attrib.report._data import has, records
from attrib.report._format import DASH, change, compact, esc, fmt, fmt_card, models_range

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
    "days_to_deal_won_deals": ("Won deals measured for days to deal", "count", None),
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

_QUARTER = re.compile(r"^\d{4}-Q[1-4]$")
_MONTH = re.compile(r"^\d{4}-\d{2}$")


# ---------------------------------------------------------------------------------------------
# headline


def _days(span: tuple[date, date]) -> str:
    return f"{span[0].isoformat()} to {span[1].isoformat()}"


def _partial(ctx: Context, period: str) -> str:
    """ " (partial: from to to)" when the reporting window covers only part of ``period``."""
    span = ctx.coverage(period)
    return f" (partial: {_days(span)})" if span is not None else ""


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
        totals = _fallback_cards(ctx)
        hint = (
            "The totals below come from journeys.parquet; period-over-period change needs KPIs."
            if totals
            else "Runs on touches and deals write them."
        )
        sec.body = (
            not_computed("company KPIs (kpis.parquet is absent)", hint) + totals + highlights(ctx)
        )
        return sec
    assert kpis is not None
    values: dict[tuple[str, str], dict[str, Any]] = {
        (str(r["kpi"]), str(r["period"])): r for r in kpis.to_dicts()
    }
    periods = [str(p) for p in kpis.get_column("period").unique().to_list()]
    # compare whole periods: a period the window covers in part (the data ends mid-quarter)
    # would show every total falling. Quarters when two are whole, else months when two
    # are, else the periods there are, said to be partial
    grain, pick = _period_grain(periods), []
    for candidates in (_QUARTER, _MONTH):
        of_kind = sorted(p for p in periods if candidates.match(p))
        whole = [p for p in of_kind if ctx.coverage(p) is None]
        if len(whole) >= 2:
            grain, pick = of_kind, whole
            break
    pick = pick or grain
    cur = pick[-1] if pick else "all"
    prev = pick[-2] if len(pick) >= 2 else None
    unequal = prev is not None and (ctx.coverage(cur) or ctx.coverage(prev)) is not None
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
        if delta is not None and delta != 0 and better is not None and not unequal:
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
            foot = f"95% CI {fmt(row['lo'], kind)}–{fmt(row['hi'], kind)}"
        elif all_row is not None and cur != "all":
            foot = f"{_all_label(ctx)}: {fmt_card(all_row.get('value'), kind)}"
        if name == "days_to_deal_median" and (few := _measured_of(values, cur)) is not None:
            foot = few  # (a zero-touch deal has no first touch to count from)
        if name == "win_rate" and (all_row or row).get("value") == 1.0:
            # an event log, or an export of won deals only: no lost deal in the whole run to
            # rate against (a quarter without one keeps its interval)
            foot = "no lost deal to rate against"
        cards.append(
            f'<div class="card"><div class="card-label">{esc(label)}</div>'
            f'<div class="card-value">{fmt_card(row.get("value"), kind)}</div>'
            f'{delta_html}<div class="card-foot">{foot}</div></div>'
        )
    lead = (
        ("Latest whole period" if cur != (grain[-1] if grain else cur) else "Latest period")
        + f" <strong>{esc(cur)}</strong>{_partial(ctx, cur)}"
        + (f" compared with <strong>{esc(prev)}</strong>{_partial(ctx, prev)}." if prev else ".")
        + " Rates change in percentage points (pp)."
    )
    if grain and cur != grain[-1] and (later := ctx.coverage(grain[-1])) is not None:
        lead += f" {esc(grain[-1])} is partial (the window covers {_days(later)}): not compared."
    if unequal:
        lead += " The periods cover different numbers of days: changes are shown uncoloured."
    body = f'<p class="lead">{lead}</p><div class="cards">{"".join(cards)}</div>'
    body += highlights(ctx)
    body += _kpi_trends(ctx, kpis)
    body += _kpi_table(ctx, kpis, grain)
    sec.body = body
    return sec


def highlights(ctx: Context) -> str:
    """A few plain sentences with what stands out, each from one table of the run."""
    items: list[str] = []
    for find in (_hl_top_channel, _hl_disagreement, _hl_sourced, _hl_roas, _hl_funnel):
        try:
            text = find(ctx)
        except Exception:  # a highlight is optional; its section shows the details
            text = None
        if text:
            items.append(f"<li>{text}</li>")
    if not items:
        return ""
    return f'<h3>Highlights</h3><ul class="highlights">{"".join(items)}</ul>'


def _hl_top_channel(ctx: Context) -> str | None:
    cs = ctx.out.table("channel_summary")
    if not has(cs, "model", "channel", "revenue") or ctx.default_model is None:
        return None
    assert cs is not None
    d = cs.filter(pl.col("model") == ctx.default_model)
    total = float(d.get_column("revenue").sum())
    top = d.filter(pl.col("channel") != NONE_CHANNEL).sort(
        ["revenue", "channel"], descending=[True, False]
    )
    if total <= 0 or top.height == 0 or float(top.get_column("revenue")[0]) <= 0:
        return None  # (every won deal zero-touch: no channel earned anything)
    ch, rev = top.row(0)[top.columns.index("channel")], float(top.get_column("revenue")[0])
    tied = top.filter(pl.col("revenue") == rev).get_column("channel").to_list()
    who = (
        f"<strong>{esc(ch)}</strong> earns"
        if len(tied) == 1
        else " and ".join(f"<strong>{esc(c)}</strong>" for c in tied[:3])
        + (" (and others)" if len(tied) > 3 else "")
        + " earn"
    )
    each = "" if len(tied) == 1 else " each"
    # more on the deals no touch reached than on any channel: the channel's lead is small
    none = float(d.filter(pl.col("channel") == NONE_CHANNEL).get_column("revenue").sum())
    untouched = (
        f" More, {fmt(none / total, 'pct')}, is on <strong>{esc(NONE_CHANNEL)}</strong>:"
        " won deals with no touch, which no channel can claim."
        if none > rev
        else ""
    )
    return (
        f"Under <strong>{esc(ctx.default_model)}</strong>, {who} the most won revenue{each}: "
        f"{compact(rev)} ({fmt(rev / total, 'pct')} of {compact(total)}).{untouched}"
    )


def _hl_disagreement(ctx: Context) -> str | None:
    cs = ctx.out.table("channel_summary")
    if not has(cs, "model", "channel", "revenue") or len(ctx.models) < 2:
        return None
    assert cs is not None
    spread = (
        cs.filter(pl.col("channel") != NONE_CHANNEL)
        .group_by("channel")
        .agg(
            (pl.col("revenue").max() - pl.col("revenue").min()).alias("range"),
            pl.col("revenue").min().alias("lo"),
            pl.col("revenue").max().alias("hi"),
            pl.col("model").sort_by("revenue").first().alias("lo_model"),
            pl.col("model").sort_by("revenue").last().alias("hi_model"),
        )
        .sort(["range", "channel"], descending=[True, False])
    )
    if spread.height == 0:
        return None
    r = spread.row(0, named=True)
    if not models_range([r["lo"], r["hi"]]):  # (float noise: the models agree)
        return None
    return (
        f"The models disagree most about <strong>{esc(r['channel'])}</strong>: from "
        f"{compact(r['lo'])} ({esc(r['lo_model'])}) to {compact(r['hi'])} "
        f"({esc(r['hi_model'])}) of won revenue."
    )


def _hl_sourced(ctx: Context) -> str | None:
    j = ctx.out.table("journeys")
    if not has(j, "status", "amount", "marketing_sourced", "marketing_influenced"):
        return None
    assert j is not None
    won = ctx.in_window(j).filter(pl.col("status") == "won")
    total = float(won.get_column("amount").sum())
    if total <= 0:
        return None
    sourced = float(won.filter(pl.col("marketing_sourced")).get_column("amount").sum())
    influenced = float(won.filter(pl.col("marketing_influenced")).get_column("amount").sum())
    return (
        f"Marketing sourced <strong>{fmt(sourced / total, 'pct')}</strong> of won revenue and "
        f"influenced <strong>{fmt(influenced / total, 'pct')}</strong>."
    )


def _hl_roas(ctx: Context) -> str | None:
    cs = ctx.out.table("channel_summary")
    if not has(cs, "model", "channel", "spend", "roas") or ctx.default_model is None:
        return None
    assert cs is not None
    marketing = pl.col("is_marketing") if "is_marketing" in cs.columns else pl.lit(True)
    paid = (
        cs.filter(  # marketing channels: a sales cost (an SDR team, a fair) is no campaign
            (pl.col("model") == ctx.default_model)
            & (pl.col("spend") > 0)
            & pl.col("roas").is_not_null()
            & marketing
        )
        .select("channel", "roas")
        .sort(["roas", "channel"], descending=[True, False])
    )
    if paid.height < 2:
        return None
    best, worst = paid.row(0), paid.row(paid.height - 1)
    if not best[1] > worst[1]:  # all alike (e.g. no revenue at all): nothing stands out
        return None
    return (
        f"Best return on spend: <strong>{esc(best[0])}</strong> (ROAS {fmt(best[1], 'ratio')}); "
        f"lowest: <strong>{esc(worst[0])}</strong> (ROAS {fmt(worst[1], 'ratio')}), "
        f"under {esc(ctx.default_model)}."
    )


def _hl_funnel(ctx: Context) -> str | None:
    f = ctx.out.table("funnel")
    if not has(f, "stage", "stage_order", "rate_from_lead"):
        return None
    assert f is not None
    for col, value in (("view", "cohort"), ("period", "all"), ("channel", "(all)")):
        if col in f.columns and value in f.get_column(col).to_list():
            f = f.filter(pl.col(col) == value)
    last = f.sort("stage_order").tail(1).row(0, named=True)
    if last.get("rate_from_lead") is None or last["stage"] == "lead":
        return None
    text = f"Lead → {esc(last['stage'])} conversion: <strong>{fmt(last['rate_from_lead'], 'pct')}"
    lo, hi = last.get("rate_from_lead_lo"), last.get("rate_from_lead_hi")
    if lo is not None and hi is not None:
        return text + f"</strong> (95% interval {fmt(lo, 'pct')}–{fmt(hi, 'pct')})."
    return text + "</strong>."


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
    spec = charts.kpi_trends(series, validate=ctx.validate)
    months = sorted(monthly.get_column("period").unique().to_list())
    partial = [f"{esc(m)}{_partial(ctx, m)}" for m in (months[0], months[-1]) if ctx.coverage(m)]
    note = (
        f'<p class="note">Partial months: {", ".join(dict.fromkeys(partial))}; their totals '
        "cover only those days.</p>"
        if partial
        else ""
    )
    return f'<h3>Monthly trend</h3><div class="scroll-x">{ctx.chart(spec)}</div>{note}'


def _all_label(ctx: Context) -> str:
    """How the page names period "all": the whole window when ``--from/--to`` set one (a
    reader took "all periods" for all the data), else all periods."""
    window = ctx.window()
    if window is not None and window.given:
        return f"whole window {window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}"
    return "all periods"


def _kpi_table(ctx: Context, kpis: pl.DataFrame, grain: list[str]) -> str:
    """Every KPI in every period: the headline's grain (quarters or months) in one fold-out,
    and months in a second where the grain is quarters."""
    months = sorted(str(p) for p in kpis.get_column("period").unique() if _MONTH.match(str(p)))
    out = _kpi_period_table(ctx, kpis, ["all", *grain], "All KPIs by period")
    if grain and not _MONTH.match(grain[0]) and months:
        out += _kpi_period_table(ctx, kpis, months, "All KPIs by month")
    return out


def _kpi_period_table(ctx: Context, kpis: pl.DataFrame, periods: list[str], title: str) -> str:
    cols = [Col("KPI", "label")] + [
        Col(
            _all_label(ctx) if p == "all" else p + (" (partial)" if ctx.coverage(p) else ""),
            p,
            "html",
        )
        for p in periods
    ]
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
        f"<details><summary>{esc(title)}</summary>"
        + table(cols, rows)
        + '<p class="note">Definitions: docs/METRICS.md.</p></details>'
    )


def _measured_of(values: dict[tuple[str, str], dict[str, Any]], period: str) -> str | None:
    """ "over 85 of 4,238 won deals" when days to deal is measured over fewer won deals than
    the period has (the rest have no touch), else None."""
    measured = (values.get(("days_to_deal_won_deals", period)) or {}).get("value")
    won = (values.get(("won_deals", period)) or {}).get("value")
    if measured is None or won is None or measured >= won:
        return None
    return f"over {measured:,.0f} of {won:,.0f} won deals (the rest have no touch)"


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
# targets


def targets(ctx: Context) -> Section:
    """Actuals against targets with the index (actual / target × 100)."""
    sec = Section(
        "targets",
        "Targets",
        "Targets vs actuals",
        "Index = actual / target × 100: at or above 100 the target was met, at or below 100 "
        "for costs and days, where lower is better.",
    )
    kpis = ctx.out.table("kpis")
    if ctx.paths_run():
        sec.body = not_computed("targets vs actuals (a path table has no KPIs)", PATHS_HINT)
        return sec
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
            label, kind, better = KPI_INFO.get(str(r["kpi"]), (str(r["kpi"]), "number", None))
            tone = _index_tone(r.get("index"), better)
            rows.append(
                {**r, "label": f"{label} · {r['period']}", "name": label, "kind": kind}
                | {"better": better, "tone": tone}
            )
        spec = charts.target_index(
            [
                {k: r.get(k) for k in ("label", "value", "target", "index", "tone")}
                | {
                    "actual_text": fmt(r.get("value"), r["kind"]),
                    "target_text": fmt(r.get("target"), r["kind"]),
                }
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
                "index": _index_pill(r.get("index"), r["better"]),
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
        metrics = (ctx.out.manifest.get("config") or {}).get("metrics") or {}
        baseline = metrics.get("baseline_period") if isinstance(metrics, dict) else None
        summary = "Index vs the baseline period"
        if isinstance(baseline, str):
            summary += f" {baseline} (value / its value × 100)"
            # a month's or the whole window's total against a quarter's (or the reverse) is
            # no comparison: only the periods of the baseline's kind (as kpis.parquet has
            # them since; an older one indexed every period)
            b = b.filter(period_kind(pl.col("period")) == period_kind(pl.lit(baseline)))
        if b.height:
            brows = [
                {
                    "name": KPI_INFO.get(str(r["kpi"]), (str(r["kpi"]),))[0],
                    "period": r["period"],
                    "index": _index_pill(
                        r["index_vs_baseline"], KPI_INFO.get(str(r["kpi"]), ("", "", None))[2]
                    ),
                }
                for r in b.sort(["kpi", "period"]).to_dicts()
            ]
            parts.append(
                f"<details><summary>{esc(summary)}</summary>"
                + table(
                    [Col("KPI", "name"), Col("period", "period"), Col("index", "index", "html")],
                    brows,
                )
                + "</details>"
            )
    sec.body = "".join(parts)
    return sec


def _index_tone(value: Any, better: str | None) -> str:
    """ "met", "missed" or "neutral" for an index (× 100) of a KPI whose better direction
    is ``better`` ("up", "down", or None: neither)."""
    if value is None or better is None:
        return "neutral"
    met = float(value) >= 100 if better == "up" else float(value) <= 100
    return "met" if met else "missed"


def _index_pill(value: Any, better: str | None) -> str:
    text = fmt(value, "index")
    if text == DASH:
        return text
    tone = {"met": "good", "missed": "bad"}.get(_index_tone(value, better), "flat")
    return f'<span class="pill {tone}">{text}</span>'


# ---------------------------------------------------------------------------------------------
# plan


def _plan_of_another_run(folder: Path) -> str | None:
    """Why the folder's plan.parquet may not be of the run whose outputs are beside it
    (`attrib run` into a folder keeps an earlier plan: a rerun with another window or data),
    else None. A plan made with --run names its run's manifest.json by digest, one made from
    the inputs the files it read (``inputs_digest``: their bytes, not the config); any other,
    or one beside a run whose manifest has no file SHA-256s (frames, a Spark run's sources),
    is compared by time, the manifest being a run's last output."""
    from attrib.manifest import PLAN_INPUTS_KEY, PLAN_RUN_KEY, inputs_digest, manifest_digest

    plan_file = folder / "plan.parquet"
    try:
        metadata = pl.read_parquet_metadata(plan_file)
        if (planned_from := metadata.get(PLAN_RUN_KEY)) is not None:
            digest = manifest_digest(folder)
            if digest is None or planned_from == digest:
                return None
            return "it was planned from another run's outputs (another manifest.json)"
        if (read := metadata.get(PLAN_INPUTS_KEY)) is not None:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            digest = inputs_digest(manifest.get("inputs", {}))
            if digest is not None:  # (None: no file SHA-256s to compare; by time below)
                other = "it was planned from other input files than this run's"
                return None if read == digest else other
        if plan_file.stat().st_mtime_ns < (folder / "manifest.json").stat().st_mtime_ns:
            return "plan.parquet was written before manifest.json"
    except (OSError, ValueError, AttributeError, pl.exceptions.PolarsError):
        return None  # no manifest (or none of a run): nothing to compare with
    return None


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
            "run `attrib plan --target-revenue X --run OUT_DIR` with this run's folder as"
            " OUT_DIR (the plan is written there), then `attrib report OUT_DIR`.",
        )
        return sec
    assert p is not None
    for c in ("rate", "rate_lo", "rate_hi", "wide_interval", "unit_cost"):
        if c not in p.columns:
            p = p.with_columns(pl.lit(None).alias(c))
    parts = []
    if (why := _plan_of_another_run(ctx.out.path)) is not None:
        parts.append(
            f'<p class="note"><strong>This plan may be of another run</strong> ({esc(why)}):'
            " its rates, deal size and costs may not be this run's. Run `attrib plan"
            " --target-revenue X --run OUT_DIR` again.</p>"
        )
    period = p.get_column("period").drop_nulls().unique() if "period" in p.columns else None
    if period is not None and period.len() == 1:
        parts.append(
            f'<p class="note">Rates, average deal size and lead mix of the history period '
            f"<strong>{esc(str(period.item()))}</strong>.</p>"
        )
    inputs = p.filter(pl.col("kind") == "input").to_dicts()
    if inputs:
        facts = "".join(
            f'<div class="card"><div class="card-label">'
            f"{esc(str(r['name']).replace('_', ' ').capitalize())}"
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
            # the lead-mix column sums the channels' mix (the (total) row's rate is the share
            # of the leads the budget buys, which the note below gives in words)
            total={
                "name": "total",
                "value": total["value"],
                "rate": sum(float(r["rate"]) for r in channel_rows if r["rate"] is not None),
            }
            if total
            else None,
        )
        covered = total["rate"] if total is not None and total["value"] is not None else None
        if covered is not None and covered < 1.0 - 1e-9:
            body += (
                f'<p class="note"><strong>The budget total buys {fmt(covered, "pct")} of the '
                "leads needed</strong>: channels without spend (no cost per lead: organic, "
                "direct, referral) must bring the rest, and are not in it.</p>"
            )
        body += (
            '<p class="note">Channels without spend history have no cost per lead and no '
            "budget.</p></div>"
        )
        grid.append(body)
    parts.append(f'<div class="grid2">{"".join(grid)}</div>')
    sec.body = "".join(parts)
    return sec
