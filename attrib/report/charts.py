"""Vega-Lite chart specs for the report, built with altair from plain row dicts.

Each function returns a Vega-Lite spec (a dict) for ``vegaEmbed``. Data rows are inline; field
names are fixed (never taken from data), so a channel name can only ever be a data value.
Charts that follow the page's model selector declare the parameter ``MODEL_PARAM``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

import altair as alt

MODEL_PARAM = "attrib_model"
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
BLUE = "#3b5bdb"
LIGHT_BLUE = "#a5b4fc"
GREEN = "#2b8a3e"
RED = "#c92a2a"
GREY = "#adb5bd"
INK = "#343a40"

Rows = list[dict[str, Any]]


#: rows of the chart being built, by dataset name (moved into the spec by ``_finish``)
_PENDING: dict[str, Rows] = {}


def _data(rows: Rows) -> alt.NamedData:
    """Refer to ``rows`` by a content-derived name; ``_finish`` puts them in ``datasets``.

    Keeping the rows out of the altair objects spares altair from copying and validating
    every row (the slow part of building a spec).
    """
    text = json.dumps(rows, sort_keys=True, default=str, allow_nan=True)
    name = "data-" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]
    _PENDING[name] = rows
    return alt.NamedData(name=name)


def _used_names(node: object, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        data = node.get("data")
        if isinstance(data, dict) and isinstance(data.get("name"), str):
            found.add(data["name"])
        for value in node.values():
            _used_names(value, found)
    elif isinstance(node, list):
        for item in node:
            _used_names(item, found)
    return found


def _finish(chart: alt.TopLevelMixin, *, validate: bool = False) -> dict[str, Any]:
    """Apply the report's look and return the spec dict (with its datasets inline)."""
    styled = (
        chart.configure(font=FONT, background="#ffffff", padding=4)
        .configure_view(stroke=None)
        .configure_axis(
            labelColor="#495057",
            titleColor="#495057",
            gridColor="#eef0f3",
            domainColor="#ced4da",
            tickColor="#ced4da",
            labelFontSize=11,
            titleFontSize=11,
            titleFontWeight="normal",
            labelLimit=220,
        )
        .configure_legend(labelFontSize=11, titleFontSize=11, labelColor="#495057", symbolSize=70)
        .configure_title(fontSize=13, anchor="start", color=INK, fontWeight=600)
    )
    spec = styled.to_dict(validate=validate)
    names = sorted(_used_names(spec, set()))
    spec["datasets"] = {n: _PENDING[n] for n in names}
    _PENDING.clear()
    return spec


def _height(n: int, per_row: int = 22, minimum: int = 80) -> int:
    return max(minimum, per_row * n)


def _room(rows: Rows, field: str, extra: float = 0.14) -> alt.Scale:
    """A zero-based linear scale with room right of the longest bar for its label."""
    top = max((float(r[field]) for r in rows if r.get(field) is not None), default=0.0)
    return alt.Scale(domain=[0, top * (1 + extra)] if top > 0 else [0, 1], nice=False)


def model_param(default: str) -> alt.Parameter:
    """The page-wide model choice, set from the model selector by the page script."""
    return alt.param(name=MODEL_PARAM, value=default)


def kpi_trends(series: list[tuple[str, str, Rows]], *, validate: bool = False) -> dict[str, Any]:
    """Small multiples of KPIs by month: (title, d3 format, rows of period/value/lo/hi)."""
    panels = []
    for title, fmt, rows in series:
        base = alt.Chart(_data(rows)).encode(
            x=alt.X("period:O", title=None, axis=alt.Axis(labelAngle=0, labelOverlap=True)),
        )
        line = base.mark_line(color=BLUE, point=alt.OverlayMarkDef(color=BLUE, size=28)).encode(
            y=alt.Y("value:Q", title=None, axis=alt.Axis(format=fmt, tickCount=4)),
            tooltip=[
                alt.Tooltip("period:O", title="period"),
                alt.Tooltip("value:Q", title=title, format=fmt),
            ],
        )
        layers = [line]
        if any(r.get("lo") is not None for r in rows):
            layers.insert(
                0,
                base.mark_area(color=LIGHT_BLUE, opacity=0.35).encode(
                    y=alt.Y("lo:Q"), y2=alt.Y2("hi:Q")
                ),
            )
        panels.append(alt.layer(*layers).properties(title=title, width=490, height=130))
    return _finish(alt.concat(*panels, columns=2, spacing=28), validate=validate)


def model_comparison(
    rows: Rows,
    *,
    metric_title: str,
    channels: list[str],
    models: list[str],
    validate: bool = False,
) -> dict[str, Any]:
    """Each channel's credit under every model: a dot per model on a min-max range."""
    data = _data(rows)
    pick = alt.selection_point(fields=["model"], bind="legend", name="pick")
    y = alt.Y("channel:N", sort=channels, title=None)
    ranges = (
        alt.Chart(data)
        .mark_rule(color="#dee2e6", strokeWidth=6, strokeCap="round")
        .encode(y=y, x=alt.X("min(value):Q"), x2=alt.X2("max(value):Q"))
    )
    dots = (
        alt.Chart(data)
        .mark_point(filled=True, size=70, opacity=0.9)
        .encode(
            y=y,
            x=alt.X(
                "value:Q",
                title=metric_title,
                axis=alt.Axis(format="~s", labelOverlap="greedy", labelSeparation=8),
            ),
            color=alt.Color(
                "model:N",
                sort=models,
                scale=alt.Scale(scheme="tableau10"),
                legend=alt.Legend(title="model (click to highlight)", orient="bottom", columns=4),
            ),
            opacity=alt.condition(pick, alt.value(0.95), alt.value(0.12)),
            tooltip=[
                alt.Tooltip("channel:N"),
                alt.Tooltip("model:N"),
                alt.Tooltip("value:Q", title=metric_title, format=",.0f"),
                alt.Tooltip("share:Q", title="share of model total", format=".1%"),
            ],
        )
        .add_params(pick)
    )
    chart = alt.layer(ranges, dots).properties(width="container", height=_height(len(channels)))
    return _finish(chart, validate=validate)


def sourced_split(rows: Rows, *, measures: list[str], validate: bool = False) -> dict[str, Any]:
    """100% stacked bars: marketing-sourced, influenced only, no marketing touch."""
    order = ["Marketing-sourced", "Influenced only", "No marketing touch"]
    colors = [BLUE, LIGHT_BLUE, "#dee2e6"]
    base = alt.Chart(_data(rows))
    bars = base.mark_bar(height=26).encode(
        y=alt.Y("measure:N", sort=measures, title=None),
        x=alt.X(
            "share:Q",
            stack="zero",
            title=None,
            axis=alt.Axis(format="%", values=[0, 0.25, 0.5, 0.75, 1]),
            scale=alt.Scale(domain=[0, 1]),
        ),
        color=alt.Color(
            "category:N",
            sort=order,
            scale=alt.Scale(domain=order, range=colors),
            legend=alt.Legend(title=None, orient="bottom"),
        ),
        order=alt.Order("rank:Q"),
        tooltip=[
            alt.Tooltip("measure:N"),
            alt.Tooltip("category:N"),
            alt.Tooltip("value:Q", format=",.0f"),
            alt.Tooltip("share:Q", format=".1%"),
        ],
    )
    labels = (
        base.transform_filter("datum.share >= 0.06")
        .mark_text(color="#ffffff", fontWeight=600, fontSize=11)
        .encode(
            y=alt.Y("measure:N", sort=measures),
            x=alt.X("mid:Q"),
            text=alt.Text("share:Q", format=".0%"),
            color=alt.condition(
                "datum.category === 'No marketing touch'", alt.value(INK), alt.value("#ffffff")
            ),
        )
    )
    chart = alt.layer(bars, labels).properties(width="container", height=_height(len(measures), 40))
    return _finish(chart, validate=validate)


def spend_vs_revenue(
    rows: Rows, *, default_model: str, lo: float, hi: float, validate: bool = False
) -> dict[str, Any]:
    """Spend (x) against attributed revenue (y) per channel for the selected model (log-log).

    ``lo``/``hi`` bound the break-even line (ROAS = 1); channels with no revenue under the
    selected model cannot sit on a log axis and are left out of this chart.
    """
    param = model_param(default_model)
    base = alt.Chart(_data(rows)).transform_filter(
        f"datum.model === {MODEL_PARAM} && datum.revenue > 0 && datum.spend > 0"
    )
    steps = 24
    diagonal = [{"x": lo * (hi / lo) ** (i / steps)} for i in range(steps + 1)]
    log = alt.Scale(type="log", domain=[lo, hi], nice=False)
    line = (
        alt.Chart(_data(diagonal))
        .mark_line(color=GREY, strokeDash=[4, 4])
        .encode(x=alt.X("x:Q", scale=log), y=alt.Y("x:Q", scale=log))
    )
    line_label = (
        alt.Chart(_data([{"x": hi, "t": "break-even (ROAS 1)"}]))
        .mark_text(align="right", dy=-8, color="#868e96", fontSize=10)
        .encode(x=alt.X("x:Q", scale=log), y=alt.Y("x:Q", scale=log), text="t:N")
    )
    points = base.mark_circle(size=90, opacity=0.85).encode(
        x=alt.X(
            "spend:Q",
            title="spend (log scale)",
            scale=log,
            axis=alt.Axis(format="~s", labelOverlap="greedy", labelSeparation=8),
        ),
        y=alt.Y(
            "revenue:Q",
            title="attributed revenue (log scale)",
            scale=log,
            axis=alt.Axis(format="~s", labelOverlap="greedy", labelSeparation=8),
        ),
        color=alt.condition("datum.roas >= 1", alt.value(GREEN), alt.value(RED)),
        tooltip=[
            alt.Tooltip("channel:N"),
            alt.Tooltip("spend:Q", format=",.0f"),
            alt.Tooltip("revenue:Q", format=",.0f"),
            alt.Tooltip("roas:Q", title="ROAS", format=".2f"),
            alt.Tooltip("romi:Q", title="ROMI", format=".0%"),
        ],
    )
    text = base.mark_text(align="left", dx=7, fontSize=10, color="#495057").encode(
        x=alt.X("spend:Q", scale=log), y=alt.Y("revenue:Q", scale=log), text="channel:N"
    )
    chart = (
        alt.layer(line, line_label, points, text)
        .add_params(param)
        .properties(width="container", height=340)
    )
    return _finish(chart, validate=validate)


def roas_bars(
    rows: Rows, *, default_model: str, n_channels: int, validate: bool = False
) -> dict[str, Any]:
    """ROAS per paid channel for the selected model, with the break-even line at 1."""
    param = model_param(default_model)
    base = alt.Chart(_data(rows)).transform_filter(
        f"datum.model === {MODEL_PARAM} && isValid(datum.roas)"
    )
    by_roas = alt.EncodingSortField(field="roas", op="max", order="descending")
    bars = base.mark_bar(height=14).encode(
        y=alt.Y("channel:N", sort=by_roas, title=None),
        x=alt.X("roas:Q", title="ROAS (attributed revenue / spend)", scale=_room(rows, "roas")),
        color=alt.condition("datum.roas >= 1", alt.value(GREEN), alt.value(RED)),
        tooltip=[
            alt.Tooltip("channel:N"),
            alt.Tooltip("roas:Q", title="ROAS", format=".2f"),
            alt.Tooltip("romi:Q", title="ROMI", format=".0%"),
        ],
    )
    labels = base.mark_text(align="left", dx=4, fontSize=10, color="#495057").encode(
        y=alt.Y("channel:N", sort=by_roas), x="roas:Q", text=alt.Text("roas:Q", format=".2f")
    )
    one = alt.Chart(_data([{"x": 1}])).mark_rule(color=INK, strokeDash=[3, 3])
    chart = (
        alt.layer(bars, labels, one.encode(x="x:Q"))
        .add_params(param)
        .properties(width="container", height=_height(n_channels, 24))
    )
    return _finish(chart, validate=validate)


def funnel_counts(rows: Rows, *, stages: list[str], validate: bool = False) -> dict[str, Any]:
    """Stage counts as bars, labelled with the conversion from the previous stage."""
    base = alt.Chart(_data(rows))
    y = alt.Y("stage:N", sort=stages, title=None)
    bars = base.mark_bar(color=BLUE, height=22).encode(
        y=y,
        x=alt.X(
            "count:Q",
            title="entities reaching the stage",
            axis=alt.Axis(format="~s", tickCount=5),
            scale=_room(rows, "count", 0.45),
        ),
        tooltip=[
            alt.Tooltip("stage:N"),
            alt.Tooltip("count:Q", format=","),
            alt.Tooltip("rate_from_previous:Q", title="from previous stage", format=".1%"),
        ],
    )
    text = base.mark_text(align="left", dx=5, fontSize=11, color=INK).encode(
        y=y, x="count:Q", text="label:N"
    )
    chart = alt.layer(bars, text).properties(width="container", height=_height(len(stages), 34))
    return _finish(chart, validate=validate)


def rate_intervals(
    rows: Rows,
    *,
    category: str,
    order: list[str],
    title: str,
    validate: bool = False,
) -> dict[str, Any]:
    """Rates with their 95% intervals (``rate``, ``lo``, ``hi``) for each ``category`` value."""
    base = alt.Chart(_data(rows))
    y = alt.Y(f"{category}:N", sort=order, title=None)
    rule = base.mark_rule(color=LIGHT_BLUE, strokeWidth=3).encode(
        y=y, x=alt.X("lo:Q", title=title, axis=alt.Axis(format="%")), x2="hi:Q"
    )
    point = base.mark_point(filled=True, color=BLUE, size=70).encode(
        y=y,
        x="rate:Q",
        tooltip=[
            alt.Tooltip(f"{category}:N"),
            alt.Tooltip("rate:Q", format=".1%"),
            alt.Tooltip("lo:Q", title="95% low", format=".1%"),
            alt.Tooltip("hi:Q", title="95% high", format=".1%"),
            alt.Tooltip("n:Q", title="entities", format=","),
        ],
    )
    chart = alt.layer(rule, point).properties(width="container", height=_height(len(order), 24))
    return _finish(chart, validate=validate)


def days_histogram(
    bins: Rows, *, median: float | None, p75: float | None, validate: bool = False
) -> dict[str, Any]:
    """Histogram (pre-binned: ``start, end, count``) of days to close, with median and p75."""
    bars = (
        alt.Chart(_data(bins))
        .mark_bar(color=BLUE, opacity=0.85, binSpacing=1)
        .encode(
            x=alt.X("start:Q", title="days from first touch to close", bin="binned"),
            x2="end:Q",
            # headroom above the tallest bar for the median and p75 labels (drawn at the top)
            y=alt.Y("count:Q", title="won deals", scale=_room(bins, "count", 0.2)),
            tooltip=[
                alt.Tooltip("start:Q", title="from day"),
                alt.Tooltip("end:Q", title="to day"),
                alt.Tooltip("count:Q", title="won deals"),
            ],
        )
    )
    layers: list[alt.Chart] = [bars]
    refs: tuple[tuple[str, float | None, Literal["left", "right"], int], ...] = (
        ("median", median, "right", -4),
        ("p75", p75, "left", 4),
    )
    for name, v, align, dx in refs:
        if v is None:
            continue
        ref = alt.Chart(_data([{"days": v, "label": f"{name} {v:,.0f} d"}]))
        layers.append(ref.mark_rule(color=RED, strokeDash=[4, 3]).encode(x="days:Q"))
        layers.append(
            ref.mark_text(align=align, dx=dx, baseline="top", color=RED, fontSize=11).encode(
                x="days:Q", y=alt.value(2), text="label:N"
            )
        )
    chart = alt.layer(*layers).properties(width="container", height=240)
    return _finish(chart, validate=validate)


def days_by_channel(rows: Rows, *, channels: list[str], validate: bool = False) -> dict[str, Any]:
    """Box plots of days to close per first-touch channel from precomputed quantiles.

    ``rows``: ``first_channel, n, min, q1, median, q3, max`` (whiskers span min to max).
    """
    base = alt.Chart(_data(rows))
    y = alt.Y("first_channel:N", sort=channels, title=None)
    tooltip = [
        alt.Tooltip("first_channel:N", title="first touch"),
        alt.Tooltip("n:Q", title="won deals"),
        alt.Tooltip("min:Q", format=",.0f"),
        alt.Tooltip("q1:Q", title="p25", format=",.0f"),
        alt.Tooltip("median:Q", format=",.0f"),
        alt.Tooltip("q3:Q", title="p75", format=",.0f"),
        alt.Tooltip("max:Q", format=",.0f"),
    ]
    whisker = base.mark_rule(color=GREY).encode(
        y=y,
        x=alt.X("min:Q", title="days from first touch to close", axis=alt.Axis(tickCount=6)),
        x2="max:Q",
    )
    box = base.mark_bar(color=LIGHT_BLUE, height=14).encode(
        y=y, x="q1:Q", x2="q3:Q", tooltip=tooltip
    )
    mid = base.mark_tick(color=BLUE, thickness=2.5, size=16).encode(
        y=y, x="median:Q", tooltip=tooltip
    )
    chart = alt.layer(whisker, box, mid).properties(
        width="container", height=_height(len(channels), 24)
    )
    return _finish(chart, validate=validate)


def signed_bars(
    rows: Rows,
    *,
    field: str,
    title: str,
    fmt: str,
    channels: list[str],
    err: bool = False,
    validate: bool = False,
) -> dict[str, Any]:
    """Horizontal bars per channel (negative values in red), optionally with error bars."""
    base = alt.Chart(_data(rows))
    y = alt.Y("channel:N", sort=channels, title=None)
    tooltip = [alt.Tooltip("channel:N"), alt.Tooltip(f"{field}:Q", title=title, format=fmt)]
    if err:
        tooltip.append(alt.Tooltip("err_lo:Q", title="95% low", format=fmt))
        tooltip.append(alt.Tooltip("err_hi:Q", title="95% high", format=fmt))
    bars = base.mark_bar(height=14).encode(
        y=y,
        x=alt.X(f"{field}:Q", title=title, axis=alt.Axis(format=fmt)),
        color=alt.condition(f"datum.{field} < 0", alt.value(RED), alt.value(BLUE)),
        tooltip=tooltip,
    )
    layers: list[alt.Chart] = [bars]
    if err:
        layers.append(
            base.transform_filter("isValid(datum.err_lo)")
            .mark_rule(color=INK, strokeWidth=1.5)
            .encode(y=y, x="err_lo:Q", x2="err_hi:Q")
        )
    chart = alt.layer(*layers).properties(width="container", height=_height(len(channels), 24))
    return _finish(chart, validate=validate)


def transition_heatmap(
    rows: Rows, *, states_from: list[str], states_to: list[str], validate: bool = False
) -> dict[str, Any]:
    top = max((float(r.get("probability") or 0.0) for r in rows), default=1.0) or 1.0
    """Transition probabilities as a from × to matrix (the Markov graph as a heat map)."""
    base = alt.Chart(_data(rows)).encode(
        y=alt.Y("from_state:N", sort=states_from, title="from"),
        x=alt.X(
            "to_state:N",
            sort=states_to,
            title="to",
            axis=alt.Axis(orient="top", labelAngle=-40, labelAlign="left"),
        ),
    )
    cells = base.mark_rect(stroke="#ffffff", strokeWidth=1).encode(
        color=alt.Color(
            "probability:Q",
            scale=alt.Scale(scheme="blues", domain=[0, top]),
            legend=alt.Legend(title="P(to | from)", format=".0%", orient="right"),
        ),
        tooltip=[
            alt.Tooltip("from_state:N", title="from"),
            alt.Tooltip("to_state:N", title="to"),
            alt.Tooltip("probability:Q", format=".1%"),
            alt.Tooltip("count:Q", format=",.0f"),
        ],
    )
    text = (
        base.transform_filter("datum.probability >= 0.05")
        .mark_text(fontSize=9)
        .encode(
            text=alt.Text("probability:Q", format=".0%"),
            color=alt.condition(
                f"datum.probability > {0.6 * top}", alt.value("#ffffff"), alt.value(INK)
            ),
        )
    )
    side = 26
    chart = alt.layer(cells, text).properties(
        width=side * len(states_to), height=side * len(states_from)
    )
    return _finish(chart, validate=validate)


def bootstrap_intervals(
    rows: Rows,
    *,
    default_model: str,
    n_channels: int,
    title: str,
    validate: bool = False,
) -> dict[str, Any]:
    """Point estimate and bootstrap interval per channel for the selected model."""
    param = model_param(default_model)
    base = alt.Chart(_data(rows)).transform_filter(f"datum.model === {MODEL_PARAM}")
    y = alt.Y(
        "channel:N",
        sort=alt.EncodingSortField(field="value", op="max", order="descending"),
        title=None,
    )
    rule = base.mark_rule(color=LIGHT_BLUE, strokeWidth=4).encode(
        y=y, x=alt.X("lo:Q", title=title, axis=alt.Axis(format="~s")), x2="hi:Q"
    )
    point = base.mark_point(filled=True, color=BLUE, size=60).encode(
        y=y,
        x="value:Q",
        tooltip=[
            alt.Tooltip("channel:N"),
            alt.Tooltip("value:Q", title=title, format=",.0f"),
            alt.Tooltip("lo:Q", title="low", format=",.0f"),
            alt.Tooltip("hi:Q", title="high", format=",.0f"),
        ],
    )
    chart = (
        alt.layer(rule, point)
        .add_params(param)
        .properties(width="container", height=_height(n_channels, 24))
    )
    return _finish(chart, validate=validate)


def target_index(rows: Rows, *, labels: list[str], validate: bool = False) -> dict[str, Any]:
    """Index (actual / target × 100) per KPI and period, with the 100 line."""
    base = alt.Chart(_data(rows))
    y = alt.Y("label:N", sort=labels, title=None)
    bars = base.mark_bar(height=16).encode(
        y=y,
        x=alt.X("index:Q", title="index (actual / target × 100)", scale=_room(rows, "index")),
        # met or missed as the KPI's better direction says (a cost under its target is met)
        color=alt.Color(
            "tone:N",
            scale=alt.Scale(domain=["met", "missed", "neutral"], range=[GREEN, RED, GREY]),
            legend=None,
        ),
        tooltip=[
            alt.Tooltip("label:N", title="KPI · period"),
            # the table's text, in the KPI's unit (a win rate of 0.367 reads 36.7%)
            alt.Tooltip("actual_text:N", title="actual"),
            alt.Tooltip("target_text:N", title="target"),
            alt.Tooltip("index:Q", format=".0f"),
        ],
    )
    text = base.mark_text(align="left", dx=4, fontSize=10, color=INK).encode(
        y=y, x="index:Q", text=alt.Text("index:Q", format=".0f")
    )
    hundred = alt.Chart(_data([{"x": 100}])).mark_rule(color=INK, strokeDash=[3, 3])
    chart = alt.layer(bars, text, hundred.encode(x="x:Q")).properties(
        width="container", height=_height(len(labels), 26)
    )
    return _finish(chart, validate=validate)


def simple_bars(
    rows: Rows,
    *,
    category: str,
    order: list[str],
    title: str,
    fmt: str = "~s",
    validate: bool = False,
) -> dict[str, Any]:
    """Plain labelled horizontal bars of ``value`` per ``category``."""
    base = alt.Chart(_data(rows))
    y = alt.Y(f"{category}:N", sort=order, title=None)
    bars = base.mark_bar(color=BLUE, height=16).encode(
        y=y,
        x=alt.X("value:Q", title=title, axis=alt.Axis(format=fmt), scale=_room(rows, "value")),
        tooltip=[alt.Tooltip(f"{category}:N"), alt.Tooltip("value:Q", title=title, format=",.0f")],
    )
    text = base.mark_text(align="left", dx=4, fontSize=10, color=INK).encode(
        y=y, x="value:Q", text=alt.Text("value:Q", format=",.0f")
    )
    chart = alt.layer(bars, text).properties(width="container", height=_height(len(order), 26))
    return _finish(chart, validate=validate)
