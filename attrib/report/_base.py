"""Shared pieces of the report's sections: the Section and Context types and HTML tables.

A section is a function ``(ctx) -> Section``. It renders its tables as escaped HTML and its
charts as Vega-Lite specs registered on the context; when its file or columns are missing it
returns a short "not computed in this run" note instead.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

import polars as pl

from attrib.columns import NONE_CHANNEL
from attrib.report._data import OutFolder, has
from attrib.report._format import DASH, esc, fmt

#: charts show at most this many channels (the tables list them all)
MAX_CHART_CHANNELS = 30
#: models preferred as the page's initial choice (data-driven first)
PREFERRED_MODELS = ("markov", "shapley", "w_shaped", "full_path", "linear", "position_based")


#: an end of the window the data's span gives may miss this share of a period's days and
#: still cover it
_SPAN_SLACK_SHARE = 0.03


def period_days(period: str) -> tuple[date, date] | None:
    """First and last day of a month (``YYYY-MM``) or quarter (``YYYY-Qn``); else None."""
    if m := re.fullmatch(r"(\d{4})-(\d{2})", period):
        year, month = int(m[1]), int(m[2])
        return date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1])
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", period):
        year, first = int(m[1]), 3 * int(m[2]) - 2
        return date(year, first, 1), date(year, first + 2, calendar.monthrange(year, first + 2)[1])
    return None


#: why a path-table run has no spend, funnel, campaigns or KPIs (it refuses --costs; its rows
#: have no dates)
PATHS_HINT = (
    "a path table (--paths) has no dates, campaigns, stages or spend: run on touchpoints,"
    " deals, costs and stages for them."
)


class Window(NamedTuple):
    """A run's reporting window (``manifest.json``): its days, and whether the user gave
    each end (else the data's span did)."""

    start: date
    end: date
    from_given: bool
    to_given: bool

    @property
    def given(self) -> bool:
        """Either end given (``--from/--to`` or ``[metrics]``)."""
        return self.from_given or self.to_given

    def told(self) -> str:
        """The window's days, each end said to be given or the data's (``--from`` alone:
        its end is the data's)."""
        start, end = self.start.isoformat(), self.end.isoformat()
        if self.from_given == self.to_given:
            return f"{start} to {end} " + ("(given)" if self.given else "(the data's span)")
        first = "(given)" if self.from_given else "(the data's start)"
        last = "(given)" if self.to_given else "(the data's end)"
        return f"{start} {first} to {end} {last}"


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

    def paths_run(self) -> bool:
        """Whether the run read a path table (``--paths``): no dates, campaigns, stages,
        spend or KPIs, and no row it could reject."""
        inputs = self.out.manifest.get("inputs")
        return isinstance(inputs, dict) and "paths" in inputs

    def window(self) -> Window | None:
        """The run's reporting window from its manifest; None for a run that recorded none
        (paths, or an older attrib)."""
        w = self.out.manifest.get("reporting_window")
        if not isinstance(w, dict):
            return None
        try:
            given = bool(w["given"])  # (a manifest before per-end flags: both ends alike)
            return Window(
                date.fromisoformat(w["from"]),
                date.fromisoformat(w["to"]),
                bool(w.get("from_given", given)),
                bool(w.get("to_given", given)),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def coverage(self, period: str) -> tuple[date, date] | None:
        """The days of a month (YYYY-MM) or quarter (YYYY-Qn) the reporting window covers,
        when that is not the whole period (a partial period); else None. An end of the
        window that the data's span gives (not the user) is the first or last event, not
        the export date: a period it misses by at most 3% of its days (two of a quarter's,
        none of a month's) counts as whole, so a quiet last day does not drop a quarter
        (its spend is prorated to the span: short by those days)."""
        window = self.window()
        span = period_days(period)
        if window is None or span is None:
            return None
        lo, hi = max(span[0], window.start), min(span[1], window.end)
        if (lo, hi) == span or lo > hi:
            return None
        slack = int(((span[1] - span[0]).days + 1) * _SPAN_SLACK_SHARE)
        from_given, to_given = window.from_given, window.to_given
        early = (lo - span[0]).days  # days the window misses at the period's start
        late = (span[1] - hi).days  # ... and at its end
        if (early == 0 or (not from_given and early <= slack)) and (
            late == 0 or (not to_given and late <= slack)
        ):
            return None
        return lo, hi

    def in_window(self, journeys: pl.DataFrame) -> pl.DataFrame:
        """The journeys whose deal the run's reporting window (``--from/--to``) counts, as
        the attribution columns do: a closed deal by ``closed_at``, an open one by
        ``created_at``; every journey when the run set no window."""
        from attrib.errors import ConfigError
        from attrib.metrics.periods import in_window
        from attrib.metrics.settings import MetricsSettings
        from attrib.schema import deal_event_time

        config = self.out.manifest.get("config") or {}
        try:  # the run's own [metrics], read as the run read it
            window = MetricsSettings.from_mapping(config.get("metrics") or {}).window()
        except (ConfigError, AttributeError):
            return journeys
        if window is None:
            return journeys
        # the deal's event time and the window's days: the rule the credit used
        return journeys.filter(in_window(deal_event_time(), *window).fill_null(False))

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


def cap_note(shown: int, total: int, by: str) -> str:
    """The note under a chart that shows only the first ``shown`` of ``total`` channels."""
    if total <= shown:
        return ""
    return (
        f'<p class="note">The chart shows the {shown} channels (of {total}) with the most '
        f"{esc(by)}; the table lists them all.</p>"
    )


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


def channel_order(cs: pl.DataFrame, metric: str) -> list[str]:
    """Channels by mean ``metric`` over models (descending), ``(none)`` last."""
    order = (
        cs.group_by("channel")
        .agg(pl.col(metric).mean().alias("m"))
        .with_columns((pl.col("channel") == NONE_CHANNEL).alias("is_none"))
        .sort(["is_none", "m", "channel"], descending=[False, True, False])
    )
    return [str(c) for c in order.get_column("channel").to_list()]
