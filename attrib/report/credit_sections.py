"""Sections on credit: model comparison, sourced vs influenced, Markov, Shapley, bootstrap
intervals and campaigns."""

from __future__ import annotations

import re
from typing import Any

import polars as pl

from attrib.report import charts
from attrib.report._base import (
    MAX_CHART_CHANNELS,
    NONE_CHANNEL,
    PATHS_HINT,
    Col,
    Context,
    Section,
    cap_note,
    channel_order,
    interval_text,
    not_computed,
    table,
)
from attrib.report._data import has, records
from attrib.report._format import esc, fmt, models_range

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
    order = channel_order(cs, "revenue")
    top = order[:MAX_CHART_CHANNELS]
    parts = ['<div class="grid2">']
    no_open = no_won = False
    for metric, title in (("revenue", "Attributed revenue (won)"), ("pipeline", "Open pipeline")):
        if metric not in cs.columns or not cs.get_column(metric).fill_null(0).abs().sum():
            no_open = no_open or metric == "pipeline"
            no_won = no_won or metric == "revenue"
            continue
        data = (
            cs.select("model", "channel", pl.col(metric).cast(pl.Float64).alias("value"))
            .with_columns(
                (pl.col("value") / pl.col("value").sum().over("model"))
                .fill_nan(None)
                .alias("share")
            )
            .filter(pl.col("channel").is_in(top))
        )
        spec = charts.model_comparison(
            records(data),
            metric_title=title,
            channels=top,
            models=ctx.models,
            validate=ctx.validate,
        )
        parts.append(f"<div><h3>{esc(title)}</h3>{ctx.chart(spec)}</div>")
    parts.append("</div>")
    if no_won:
        parts.append(f'<p class="note">No won revenue to attribute: {_no_won_reason(ctx, cs)}</p>')
    if no_open and not _has_deals(cs):
        parts.append(f'<p class="note">No open pipeline to attribute: {_no_deals_reason(ctx)}</p>')
    elif no_open:
        parts.append(f'<p class="note">No open pipeline to attribute: {_open_in_window(ctx)}</p>')
    elif (window := ctx.window()) is not None and window.given:
        # the headline's "Open pipeline" card is the snapshot: a figure 10x smaller under
        # the same name needs its reason here, not a section further down
        parts.append(f'<p class="note">Open pipeline: {_open_in_window(ctx)}</p>')
    parts.append(cap_note(len(top), len(order), "revenue (mean over models)"))
    parts.append("<h3>Revenue by channel and model</h3>")
    parts.append(_pivot_table(cs, "revenue", order, ctx.models))
    if "pipeline" in cs.columns and cs.get_column("pipeline").fill_null(0).abs().sum():
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
    cs: pl.DataFrame, metric: str, order: list[str], models: list[str], kind: str = "money"
) -> str:
    """Channels down, models across; each cell tinted by the channel's share of the model."""
    values: dict[tuple[str, str], float] = {}
    totals: dict[str, float] = {}
    for r in cs.select("model", "channel", metric).to_dicts():
        value = float(r[metric] or 0.0)
        values[(str(r["model"]), str(r["channel"]))] = value
        totals[str(r["model"])] = totals.get(str(r["model"]), 0.0) + value
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
        cells.append(f'<td class="num muted">{fmt(models_range(vals), kind)}</td>')
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


def category_totals(by_category: pl.DataFrame) -> tuple[dict[str, float], float]:
    """``category, v`` rows (a group-by's, in any order) -> each category's value and their
    total, summed in ``_CATEGORIES`` order so that the shares' last bits, and so the page's
    bytes, do not depend on the order the groups came in."""
    got = {str(c): float(v or 0.0) for c, v in by_category.select("category", "v").iter_rows()}
    return got, sum(got.get(c, 0.0) for c in _CATEGORIES)


def sourced_influenced(ctx: Context) -> Section:
    """Share of revenue, pipeline and deals sourced or influenced by marketing."""
    sec = Section(
        "sourced",
        "Sourced",
        "Marketing-sourced vs influenced",
        "Sourced: the journey's first touch is on a marketing channel. Influenced: any touch "
        "is. 'Influenced only' journeys had a marketing touch, but not the first one. (The "
        "KPI marketing_sourced_pipeline_share reads the pipeline window instead: a deal's "
        "pipeline is sourced by its first touch at or before its creation, the lookback "
        "counted from the creation.)",
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
    j = ctx.in_window(j)  # the deals the summaries credit (all of them without --from/--to)
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
        ("Won revenue", pl.col("status") == "won", pl.col("amount").sum()),
        # the open deals the window counts (created in it), not the KPI's period-end snapshot
        ("Open deals' pipeline", pl.col("status") == "open", pl.col("amount").sum()),
        ("Won deals", pl.col("status") == "won", pl.len()),
        ("All deals", pl.col("status").is_in(["won", "open", "lost"]), pl.len()),
    ]
    rows: list[dict[str, Any]] = []
    table_rows: list[dict[str, Any]] = []
    for name, cond, agg in measures:
        got, total = category_totals(
            jj.filter(cond).group_by("category").agg(agg.cast(pl.Float64).alias("v"))
        )
        trow: dict[str, Any] = {"measure": name, "total": total}
        cum = 0.0
        for rank, c in enumerate(_CATEGORIES):
            v = got.get(c, 0.0)
            share = v / total if total else 0.0
            if total:  # (a measure of nothing has no split to draw: an empty bar)
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
        table_rows.append(trow)
    drawn = [r["measure"] for r in table_rows if r["total"]]
    cols = [Col("measure", "measure")]
    for c in _CATEGORIES:
        cols += [Col(c, c, "money"), Col("share", c + " %", "pct")]
    cols.append(Col("total", "total", "money"))
    if drawn:
        spec = charts.sourced_split(rows, measures=drawn, validate=ctx.validate)
        sec.body = ctx.chart(spec) + table(cols, table_rows)
    else:
        sec.body = table(cols, table_rows)
    if len(drawn) < len(table_rows):
        empty = [r["measure"] for r in table_rows if not r["total"]]
        sec.body += (
            f'<p class="note">Nothing to split for {", ".join(esc(m) for m in empty)}: '
            f"{_no_deals_reason(ctx)}</p>"
        )
    window = ctx.window()
    if window is not None and window.given:
        sec.body += f'<p class="note">{_open_in_window(ctx)}</p>'
    return sec


def _has_deals(cs: pl.DataFrame) -> bool:
    """Whether the run credits any deal (won, open or lost: the summaries' ``deals``)."""
    return "deals" not in cs.columns or bool(cs.get_column("deals").fill_null(0).abs().sum())


def _no_deals_reason(ctx: Context) -> str:
    """Why a measure over the credited deals is empty: the window holds none, or the run
    has none of that kind."""
    window = ctx.window()
    if window is not None and window.given:
        return (
            f"the reporting window ({window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}) holds no"
            " such deal."
        )
    return "the run has no such deal."


def _no_won_reason(ctx: Context, cs: pl.DataFrame) -> str:
    """Why no model credits any won revenue."""
    if not _has_deals(cs):
        return _no_deals_reason(ctx)
    window = ctx.window()
    where = (
        f"in the reporting window ({window.start:%Y-%m-%d} to {window.end:%Y-%m-%d})"
        if window is not None and window.given
        else "in the run"
    )
    return f"no deal {where} is won with an amount above 0."


def _open_in_window(ctx: Context) -> str:
    """Why the attributed open pipeline can differ from the headline's: the window credits
    the open deals created in it; the KPI is every deal open at the window's end."""
    window = ctx.window()
    if window is None or not window.given:
        return "no open deal of the run has an amount."
    return (
        f"with a reporting window ({window.start:%Y-%m-%d} to {window.end:%Y-%m-%d}), the open "
        "pipeline credited is that of the open deals created in it; the headline's open "
        "pipeline is every deal still open at the window's end (a snapshot), so they differ."
    )


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
        shown = d.head(MAX_CHART_CHANNELS)
        order = [str(c) for c in shown.get_column("channel").to_list()]
        spec = charts.signed_bars(
            records(shown, ["channel", "removal_effect"]),
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
            f'<div class="grid2"><div><h3>Removal effects</h3>{ctx.chart(spec)}'
            f"{cap_note(shown.height, d.height, 'removal effect')}</div>"
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
            # a matrix of readable cells: on a narrow screen it scrolls sideways
            "</p>" + f'<div class="scroll-x">{ctx.chart(spec, cls="matrix")}</div>'
        )
    rows = top.head(20).to_dicts()
    parts.append(
        "<details><summary>Top 20 transitions by count</summary>"
        + table(
            [
                Col("from", "from_state"),
                Col("to", "to_state"),
                Col("transitions", "count", "count"),
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
    shown = d.head(MAX_CHART_CHANNELS)
    order = [str(c) for c in shown.get_column("channel").to_list()]
    spec = charts.signed_bars(
        records(shown, ["channel", "shapley_value", "err_lo", "err_hi"]),
        field="shapley_value",
        title="Shapley value (conversion-rate units)",
        fmt=".2~%",
        channels=order,
        err=sampled,
        validate=ctx.validate,
    )
    cols = [
        Col("channel", "channel"),
        # conversion-rate points, as the chart's axis reads them (0.0123 is 1.23%)
        Col("Shapley value (conversion rate)", "shapley_value", "pct2"),
        Col("share of credit", "share", "pct"),
    ]
    if sampled:
        cols.insert(2, Col("std. error", "std_error", "pct2"))
    note = (
        "Estimated from sampled permutations; bars show ±1.96 standard errors."
        if sampled
        else "Computed exactly over all coalitions."
    )
    sec.body = (
        f'<div class="grid2"><div>{ctx.chart(spec)}'
        f"{cap_note(shown.height, d.height, 'Shapley value')}</div>"
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
        ).filter(pl.col("channel").is_in(channel_order(cs, m)[:MAX_CHART_CHANNELS]))
        spec = charts.bootstrap_intervals(
            records(d),
            default_model=ctx.default_model,
            n_channels=d.get_column("channel").n_unique(),
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
                kind = "count" if m == "conversions" else "money"  # exact, as tables are
                row[m] = interval_text(r.get(m), r.get(f"{m}_lo"), r.get(f"{m}_hi"), kind)
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
    if ctx.paths_run():  # (its campaign_summary holds one "(none)" row per channel)
        sec.body = not_computed("campaign credit (a path table has no campaigns)", PATHS_HINT)
        return sec
    if not has(cp, "model", "channel", "campaign", "revenue") or not ctx.models:
        empty = cp is not None and cp.height == 0
        sec.body = not_computed(
            "campaign credit ("
            + (
                "no campaign has credit or spend in this run"
                if empty
                else "campaign_summary.parquet is absent"
            )
            + ")",
            "the reporting window may hold no deal; see the run's warnings below"
            if empty
            else "run `attrib run` first.",
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
        of_model = cp.filter(pl.col("model") == model)
        d = (
            of_model.filter(
                (pl.col("campaign") != NONE_CHANNEL)
                & (pl.col("revenue") > 0)  # "top by revenue": a campaign with none is not
            )
            .sort(["revenue", "channel", "campaign"], descending=[True, False, False])
            .head(15)
        )
        # touches without a campaign (organic, direct, a zero-touch deal) are not a campaign
        # to rank; the page says how much revenue they hold rather than drop it unsaid
        unnamed = float(
            of_model.filter(pl.col("campaign") == NONE_CHANNEL).get_column("revenue").sum()
        )
        note = (
            f'<p class="note">Revenue credited to touches without a campaign '
            f"({esc(NONE_CHANNEL)}) is left out of this ranking: {fmt(unnamed, 'money')}.</p>"
            if unnamed > 0
            else ""
        )
        if d.height == 0:
            return '<p class="na">No campaign earned revenue under this model.</p>' + note
        return table(cols, d.to_dicts()) + note

    sec.body = ctx.per_model(render)
    return sec
