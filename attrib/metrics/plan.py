"""The reverse funnel: what the funnel must produce, and the budget, to reach a revenue target.

customers = ceil(target / avg deal size); walking up the funnel, each stage needs
ceil(next stage / rate into the next stage). Leads split over channels by the channel mix and
cost the channel's historical CPL. Output schema and rounding rules: docs/METRICS.md, "Plan".
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from attrib.errors import ComputationError, ConfigError, InputError, UsageError
from attrib.manifest import PLAN_INPUTS_KEY, PLAN_RUN_KEY, inputs_digest, manifest_digest
from attrib.metrics.funnel import ALL_CHANNELS
from attrib.metrics.periods import (
    PERIOD_ALL,
    in_window,
    month_label,
    period_kind,
    quarter_label,
    resolve_window,
)
from attrib.metrics.settings import PERIOD_LABEL, STAGE_ORDER, MetricsSettings
from attrib.models import model_names

if TYPE_CHECKING:
    from attrib.run import RunResult

PLAN_SCHEMA: dict[str, pl.DataType] = {
    "kind": pl.String(),
    "name": pl.String(),
    "value": pl.Float64(),
    "rate": pl.Float64(),
    "rate_lo": pl.Float64(),
    "rate_hi": pl.Float64(),
    "wide_interval": pl.Boolean(),
    "unit_cost": pl.Float64(),
    "period": pl.String(),
}

TOTAL = "(total)"
_ROUND_DIGITS = 9  # counts are rounded to 1e-9 before ceil, so 20.000000000004 needs 20


def _ceil(x: float) -> float:
    return float(math.ceil(round(x, _ROUND_DIGITS)))


def _needed(x: float, stage: str) -> float:
    """``_ceil`` of a stage's count; a ComputationError when it is too large for a float (a
    huge target, or a rate so small that 1 / rate overflows), which ``math.ceil`` refuses."""
    _check_finite(x, f"{stage} count")
    return _ceil(x)


def _check_finite(x: float, what: str) -> None:
    if not math.isfinite(x):
        raise ComputationError(
            f"the plan's {what} is too large for a number: the target is too large for the rates",
            column="target_revenue",
            hint="give a smaller --target-revenue (target_revenue=), or larger --rate values"
            " (rates_override=)",
        )


def _default_chain(rates: Mapping[str, float]) -> list[str]:
    keys = [s for s in STAGE_ORDER if s in rates]
    if not keys:
        return ["customer"]
    first = STAGE_ORDER.index(keys[0])
    return ([STAGE_ORDER[first - 1]] if first > 0 else []) + keys


def reverse_funnel(
    target_revenue: float,
    *,
    avg_deal_size: float | None,
    rates: Mapping[str, float],
    rate_intervals: Mapping[str, tuple[float | None, float | None]] | None = None,
    cpl_by_channel: Mapping[str, float | None] | None = None,
    channel_mix: Mapping[str, float] | None = None,
    settings: MetricsSettings,
    stages: Sequence[str] | None = None,
    period: str | None = None,
) -> pl.DataFrame:
    """The plan table (``PLAN_SCHEMA``): input rows, one row per stage, one per budget channel.
    ``period`` names the history the rates, deal size and mix came from, on every row (so the
    written table says what it planned from); null for numbers given by hand.

    ``rates[s]`` is the conversion rate into stage ``s`` from the stage before it in
    ``stages`` (default: the canonical stages that have a rate, preceded by the canonical
    stage before the first of them). A rate of 0 or missing leaves the stages above it null.
    Rates above 1 are accepted: a period-view history rate is a flow ratio (this month's
    MQLs over this month's leads) and can exceed 1.
    """
    if not math.isfinite(target_revenue) or target_revenue < 0:
        raise ConfigError(
            f"target revenue must be a number >= 0, got {target_revenue!r}",
            column="target_revenue",
            hint="pass --target-revenue (target_revenue=) as a plain number, e.g. 1200000",
        )
    bad = sorted(k for k in rates if k not in STAGE_ORDER)
    if bad:
        raise ConfigError(
            f"unknown stage(s) in rates: {bad}",
            hint=f"stages are {list(STAGE_ORDER)}; a rate is keyed by the stage it leads into",
        )
    bad_rates = sorted(
        k for k, v in rates.items() if not (v is None or (math.isfinite(v) and v >= 0.0))
    )
    if bad_rates:
        raise ConfigError(
            f"rates must be finite numbers >= 0; bad: {bad_rates}",
            hint="give conversion rates as fractions, e.g. 0.25 for 25%",
        )
    chain = list(stages) if stages is not None else _default_chain(rates)
    if not chain or chain[-1] != "customer":
        raise ConfigError(
            f"the stage chain must end with 'customer', got {chain}",
            hint="include a rate into 'customer'",
        )
    intervals = rate_intervals or {}
    thr = settings.wide_interval_threshold

    needed: dict[str, float | None] = {}
    needed["customer"] = (
        _needed(target_revenue / avg_deal_size, "customer")
        if avg_deal_size is not None and math.isfinite(avg_deal_size) and avg_deal_size > 0
        else None
    )
    for i in range(len(chain) - 1, 0, -1):
        nxt, prev = needed.get(chain[i]), chain[i - 1]
        r = rates.get(chain[i])
        needed[prev] = _needed(nxt / r, prev) if nxt is not None and r else None

    rows: list[dict[str, object]] = [
        {"kind": "input", "name": "target_revenue", "value": float(target_revenue)},
        {
            "kind": "input",
            "name": "avg_deal_size",
            "value": float(avg_deal_size) if avg_deal_size is not None else None,
        },
    ]
    for i, s in enumerate(chain):
        r = rates.get(s) if i else None
        lo, hi = intervals.get(s, (None, None)) if i else (None, None)
        wide = None
        if r is not None and lo is not None and hi is not None:
            wide = bool(r == 0 or (hi - lo) / r > thr)
        rows.append(
            {
                "kind": "stage",
                "name": s,
                "value": needed.get(s),
                "rate": r,
                "rate_lo": lo,
                "rate_hi": hi,
                "wide_interval": wide,
            }
        )
    leads = needed.get("lead")
    if "lead" in chain and channel_mix:
        total_share = sum(v for v in channel_mix.values() if v is not None and v > 0)
        cpl = cpl_by_channel or {}
        budget_total = 0.0
        covered = 0.0  # the lead share whose channels have a cost per lead
        any_known = False
        for ch in sorted(channel_mix):
            share = channel_mix[ch]
            share = share / total_share if share and share > 0 and total_share > 0 else 0.0
            c = cpl.get(ch)
            value = None
            if c is not None and math.isfinite(c):
                covered += share
                any_known = True
                if leads is not None:
                    value = leads * share * c
                    _check_finite(value, f"budget for {ch}")
                    budget_total += value
            rows.append(
                {"kind": "budget", "name": ch, "value": value, "rate": share, "unit_cost": c}
            )
        _check_finite(budget_total, "budget total")  # (finite parts can add up to inf)
        rows.append(
            {
                "kind": "budget",
                "name": TOTAL,
                "value": budget_total if any_known and leads is not None else None,
                # the total buys only this share of the leads: channels without a CPL
                # (organic, direct: no spend rows) are not in it; null without any CPL
                "rate": covered if total_share > 0 and any_known else None,
            }
        )
    return pl.DataFrame(rows, schema=PLAN_SCHEMA).with_columns(
        pl.lit(period, pl.String).alias("period")
    )


def _period_filter(deals: pl.DataFrame, period: str, settings: MetricsSettings) -> pl.DataFrame:
    """Won deals whose ``closed_at`` falls in ``period`` (and in the reporting window)."""
    won = deals.filter((pl.col("status") == "won") & pl.col("closed_at").is_not_null())
    window = resolve_window(settings, None, deals, None)
    if window is not None:
        won = won.filter(in_window(pl.col("closed_at"), *window))
    if period == PERIOD_ALL:
        return won
    label = (
        quarter_label(pl.col("closed_at")) if "-Q" in period else month_label(pl.col("closed_at"))
    )
    return won.filter(label == period)


def plan_from_history(
    target_revenue: float,
    funnel_df: pl.DataFrame,
    *,
    deals: pl.DataFrame | None,
    roi_summary: pl.DataFrame | None,
    settings: MetricsSettings,
    period: str | None = None,
    rates_override: Mapping[str, float] | None = None,
    mix_override: Mapping[str, float] | None = None,
    avg_deal_size: float | None = None,
) -> pl.DataFrame:
    """``reverse_funnel`` at the rates, deal size, CPL and lead mix of a history period.

    Rates and their Wilson intervals: the funnel's ``view="period"``, channel "(all)" rows
    of ``period`` (default settings.plan_period, else "all"). Average deal size: won deals
    closed in that period (or ``avg_deal_size`` when given: a finished run's KPI of the
    period, ``plan_table_of_run``). Mix: each source channel's share of the period's leads. CPL:
    each channel's spend in ``roi_summary`` (the rows of the model first in alphabetical
    order; spend does not depend on the model) over its leads in the
    funnel's "all" period (``_funnel_cpl``: the leads the mix counts).
    """
    p = plan_period(period, settings)
    if funnel_df.height == 0:  # no period at all: the inputs, not the --period, are at fault
        raise InputError(
            "no funnel history: the data reached no funnel stage",
            hint="check the inputs with attrib validate (a header only, or every row rejected?)",
        )
    f = funnel_df.filter((pl.col("view") == "period") & (pl.col("period") == p))
    if f.height == 0:
        months = (
            funnel_df.filter(pl.col("view") == "period", period_kind(pl.col("period")) == "month")
            .get_column("period")
            .unique()
            .sort()
            .to_list()
        )
        covers = f": its months run {months[0]} to {months[-1]}" if months else ""
        raise InputError(
            f"no funnel history for period {p!r}",
            hint=f"pick a period the data covers ('all', 'YYYY-MM' or 'YYYY-Qn'{covers})",
        )
    overall = f.filter(pl.col("channel") == ALL_CHANNELS).sort("stage_order")
    chain = overall.get_column("stage").to_list()
    rates: dict[str, float] = {}
    intervals: dict[str, tuple[float | None, float | None]] = {}
    for row in overall.iter_rows(named=True):  # at most 7 stage rows
        if row["rate_from_previous"] is not None:
            rates[row["stage"]] = row["rate_from_previous"]
            intervals[row["stage"]] = (row["rate_from_previous_lo"], row["rate_from_previous_hi"])
    if rates_override:
        rates_override = _rate_numbers(rates_override)
        # a rate goes into a stage of the chain (not its first): any other would be dropped
        # (checked first: a misspelt stage is the mistake to name, whatever its rate)
        unused = sorted(k for k in rates_override if k not in chain[1:])
        if unused:
            close = difflib.get_close_matches(unused[0], chain[1:], n=1)
            raise ConfigError(
                f"no funnel rate into {', '.join(repr(k) for k in unused)}: the data's funnel "
                f"is {' > '.join(chain)}",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + "give --rate (rates_override=) for a stage after the first of that chain",
            )
        bad = sorted(k for k, v in rates_override.items() if not 0.0 <= v <= 1.0)
        if bad:
            raise ConfigError(
                f"given rates must be in [0, 1]; bad: {bad}",
                hint="give conversion rates as fractions, e.g. 0.25 for 25%",
            )
        for k, v in rates_override.items():
            rates[k] = v
            intervals[k] = (None, None)
    if "customer" not in chain:
        raise InputError(
            "the funnel has no 'customer' stage to plan back from",
            hint="give deals with won status, or a 'customer' stage in the stages table",
        )
    adsz = avg_deal_size
    won = _period_filter(deals, p, settings) if deals is not None and adsz is None else None
    if won is not None and won.height:
        adsz = float(won.get_column("amount").sum()) / won.height

    if mix_override is not None:
        mix = dict(mix_override)
    else:
        leads = f.filter(
            (pl.col("stage") == "lead")
            & (pl.col("channel") != ALL_CHANNELS)
            & (pl.col("count") > 0)
        ).sort("channel")
        mix = dict(
            zip(
                leads.get_column("channel").to_list(),
                leads.get_column("count").cast(pl.Float64).to_list(),
                strict=True,
            )
        )
    cpl = _funnel_cpl(roi_summary, funnel_df)
    return reverse_funnel(
        target_revenue,
        avg_deal_size=adsz,
        rates=rates,
        rate_intervals=intervals,
        cpl_by_channel=cpl,
        channel_mix=mix,
        settings=settings,
        stages=chain,
        period=p,
    )


def _funnel_cpl(
    roi_summary: pl.DataFrame | None, funnel_df: pl.DataFrame
) -> dict[str, float | None]:
    """Each channel's spend over the reporting window / its leads in the funnel's ``all``
    period: the leads the mix counts, so that the budget (leads x share x CPL) adds up. The
    summary's ``cpl`` counts leads by the same source rule, so the two agree; reading the
    funnel keeps the CPL and the mix on one table. Null without spend or leads."""
    if roi_summary is None or roi_summary.height == 0 or "spend" not in roi_summary.columns:
        return {}
    first_model = roi_summary.select(pl.col("model").min()).item()
    spend = roi_summary.filter(pl.col("model") == first_model).select("channel", "spend")
    leads = funnel_df.filter(
        (pl.col("view") == "period")
        & (pl.col("period") == PERIOD_ALL)
        & (pl.col("stage") == "lead")
        & (pl.col("channel") != ALL_CHANNELS)
    ).select("channel", pl.col("count").alias("leads"))
    rows = spend.join(leads, on="channel", how="left").sort("channel")
    cpl = pl.when((pl.col("spend") > 0) & (pl.col("leads") > 0)).then(
        pl.col("spend") / pl.col("leads")
    )
    return dict(rows.select("channel", cpl.alias("cpl")).iter_rows())


def plan_period(period: str | None, settings: MetricsSettings) -> str:
    """The history period a plan reads: the given one, else ``[metrics] plan_period``, else
    the whole reporting window ("all")."""
    given = period if period is not None else settings.plan_period  # ("" is given: refused)
    chosen = (given if given is not None else PERIOD_ALL).strip()
    # labels as the funnel writes them, whatever the case given: all, 2025-12, 2025-Q4
    label = chosen.lower() if chosen.lower() == PERIOD_ALL else chosen.upper()
    if not PERIOD_LABEL.match(label):  # (the config's plan_period is checked with the config)
        raise UsageError(
            f"{chosen!r} is not a period label",
            hint="write all, a month YYYY-MM (e.g. 2025-03) or a quarter YYYY-Qn (e.g. 2025-Q1)",
        )
    return label


@dataclass(frozen=True)
class RunHistory:
    """What a plan reads of a finished run (``read_run``): its funnel, KPIs and channel
    summary, its ``[metrics]`` settings and the warnings it gave."""

    funnel: pl.DataFrame
    kpis: pl.DataFrame
    channel_summary: pl.DataFrame
    settings: MetricsSettings
    warnings: tuple[str, ...] = ()

    def kpi(self, name: str, period: str) -> float | None:
        """A KPI's value in ``period``; None when the run has no such row or value."""
        row = self.kpis.filter((pl.col("kpi") == name) & (pl.col("period") == period))
        return row.get_column("value").item() if row.height else None


def read_run(out_dir: str | Path) -> RunHistory:
    """A finished run's ``funnel``, ``kpis`` and ``channel_summary`` tables and its
    manifest's ``[metrics]`` settings; InputError naming what is missing or damaged."""
    import json

    folder = Path(out_dir)
    hint = "point --run at the --out folder of an `attrib run` on touches and deals"
    if not folder.is_dir():
        raise InputError("run folder not found", file=str(folder), hint=hint)
    needed = {
        "funnel": (
            "view",
            "period",
            "channel",
            "stage",
            "stage_order",
            "count",
            "rate_from_previous",
            "rate_from_previous_lo",
            "rate_from_previous_hi",
        ),
        "kpis": ("kpi", "period", "value"),
        "channel_summary": ("model", "channel"),
    }
    tables: dict[str, pl.DataFrame] = {}
    for name, columns in needed.items():
        path = folder / f"{name}.parquet"
        if not path.is_file():
            raise InputError(f"no {name}.parquet in the run folder", file=str(folder), hint=hint)
        try:
            tables[name] = pl.read_parquet(path)
        except Exception as exc:  # any reader failure: the file is not what a run wrote
            raise InputError(
                f"cannot read {name}.parquet ({type(exc).__name__})",
                file=str(path),
                hint="run `attrib run` again into that folder",
            ) from None
        missing = [c for c in columns if c not in tables[name].columns]
        if missing:
            raise InputError(
                f"{name}.parquet lacks column(s) {missing}: not a table attrib wrote",
                file=str(path),
                hint="run `attrib run` again into that folder",
            )
        _check_run_table(name, tables[name], path)
    path = folder / "manifest.json"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        metrics = manifest["config"]["metrics"]
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(
            "the run's manifest.json is missing or unreadable: its settings (window, plan "
            "period, margins) are needed",
            file=str(path),
            hint="run `attrib run` again into that folder",
        ) from None
    warnings = manifest.get("warnings") if isinstance(manifest, dict) else None
    return RunHistory(
        **tables,
        settings=MetricsSettings.from_mapping(metrics),
        warnings=tuple(str(w) for w in warnings) if isinstance(warnings, list) else (),
    )


#: the columns a plan reads as numbers, and the keys each row of a table must not repeat
_RUN_NUMBERS = {
    "funnel": (
        "stage_order",
        "count",
        "rate_from_previous",
        "rate_from_previous_lo",
        "rate_from_previous_hi",
    ),
    "kpis": ("value",),
    "channel_summary": ("spend",),
}
_RUN_KEYS = {
    "funnel": ("view", "period", "channel", "stage"),
    "kpis": ("kpi", "period"),
}


def _check_run_table(name: str, df: pl.DataFrame, path: Path) -> None:
    """InputError naming ``path`` when a run table holds what no run writes: a number column
    of another type (text), or a key repeated (two values for one KPI and period)."""
    hint = "run `attrib run` again into that folder"
    for col in _RUN_NUMBERS.get(name, ()):
        dtype = df.schema.get(col)
        if dtype is not None and not (dtype.is_numeric() or dtype == pl.Null):
            raise InputError(
                f"{name}.parquet holds {dtype} in a column of numbers: not a table attrib wrote",
                file=str(path),
                column=col,
                hint=hint,
            )
    keys = _RUN_KEYS.get(name)
    if keys and df.select(keys).is_duplicated().any():
        raise InputError(
            f"{name}.parquet repeats rows of one {', '.join(keys)}: not a table attrib wrote",
            file=str(path),
            hint=hint,
        )


@dataclass(frozen=True)
class Plan:
    """A plan (``plan.parquet``'s table) and the warnings that bear on it: the run's own
    (rejected rows, spend) and the repeat-buyer caveat."""

    table: pl.DataFrame
    warnings: tuple[str, ...] = ()
    #: the history period whose rates, deal size and lead mix the plan used ("all", ...)
    period: str = PERIOD_ALL
    #: a plan from the inputs: ``manifest.inputs_digest`` of the files it read (None: frames,
    #: or a plan from a run's outputs)
    inputs_sha256: str | None = None
    #: a plan from a run's out folder: ``manifest.manifest_digest`` of that run
    run_sha256: str | None = None

    def write(self, folder: str | Path) -> Path:
        """Write ``folder/plan.parquet`` (atomically), as ``attrib plan`` does: with the run's
        or the inputs' digest in its metadata, by which ``attrib report`` tells a plan of
        another run or other data beside the run it reports. Returns the file's path."""
        from attrib.outputs import check_out_folder
        from attrib.writers import write_parquet

        check_out_folder(Path(folder))  # a file there: "lies under a file", not EEXIST
        metadata = None
        if self.run_sha256 is not None:
            metadata = {PLAN_RUN_KEY: self.run_sha256}
        elif self.inputs_sha256 is not None:
            metadata = {PLAN_INPUTS_KEY: self.inputs_sha256}
        path = Path(folder) / "plan.parquet"
        write_parquet(self.table, path, metadata)
        return path


def _rate_numbers(given: object) -> dict[str, float]:
    """``rates_override`` as {stage: rate}, refused with a hint unless it is a mapping of
    stage names to numbers (``"mql=0.5"``, the CLI's form, was read a letter at a time)."""
    if not isinstance(given, Mapping):
        raise UsageError(
            f"rates_override= must be a dict of stage -> rate, got {given!r}",
            hint='e.g. rates_override={"mql": 0.5} (the CLI\'s --rate mql=0.5)',
        )
    rates = {}
    for stage, rate in given.items():
        if isinstance(rate, bool) or not isinstance(rate, Real):
            raise UsageError(
                f"rates_override= gives {stage!r} the rate {rate!r}, not a number",
                hint=f"give it as a fraction of 1, e.g. {{{str(stage)!r}: 0.5}}",
            )
        rates[str(stage)] = float(rate)
    return rates


def plan_from_inputs(
    target_revenue: float,
    data_dir: str | Path | None = None,
    *,
    period: str | None = None,
    rates_override: Mapping[str, float] | None = None,
    **inputs: Any,
) -> Plan:
    """``attrib plan DATA_DIR``: run the job on the inputs (``attrib.run.run``'s table and
    config arguments, e.g. ``touchpoints=``, ``config=``; first-touch credit only, the
    plan's rates and CPL do not depend on the model) and plan from its funnel, deals and
    spend."""
    from attrib.run import run

    check_target_revenue(target_revenue)  # before the job runs, as the CLI does
    fixed = sorted({"models", "out", "bootstrap", "seed", "reporter"} & set(inputs))
    if fixed:
        raise UsageError(
            f"plan_from_inputs takes the inputs and their config, not {', '.join(fixed)}",
            hint="plan from a finished run's outputs with plan_from_run for other runs",
        )
    if period is not None:  # a malformed --period fails before the job runs
        plan_period(period, MetricsSettings())
    result = run(data_dir, models="first_touch", **inputs)
    planned = plan_from_run(target_revenue, history_of_result(result), period, rates_override)
    return replace(planned, inputs_sha256=inputs_digest(result.manifest.get("inputs", {})))


def check_target_revenue(target_revenue: object) -> None:
    """UsageError for a target revenue that is no finite number above 0 (a plan's every
    count scales with it)."""
    if isinstance(target_revenue, bool) or not (
        isinstance(target_revenue, int | float) and math.isfinite(target_revenue)
    ):
        raise UsageError(
            f"target revenue must be a number, got {target_revenue!r}", hint="e.g. 2.5e6"
        )
    if target_revenue <= 0:
        raise UsageError(
            f"target revenue must be above 0, got {target_revenue!r}", hint="e.g. 2.5e6"
        )


def history_of_result(result: RunResult) -> RunHistory:
    """What a plan reads of a run's result in memory, as ``read_run`` reads its folder."""
    if result.inputs is None or "funnel" not in result.tables:
        raise UsageError(
            "this run has no funnel to plan from (a --paths run holds paths only)",
            hint="plan from a run over exports: run(DATA_DIR, ...), or plan_from_inputs",
        )
    return RunHistory(
        funnel=result.tables["funnel"],
        kpis=result.tables["kpis"],
        channel_summary=result.channel_summary,
        settings=MetricsSettings.from_mapping(result.inputs.config.metrics),
        warnings=tuple(result.manifest["warnings"]),
    )


def plan_from_run(
    target_revenue: float,
    run: str | Path | RunHistory | RunResult,
    period: str | None = None,
    rates_override: Mapping[str, float] | None = None,
) -> Plan:
    """``attrib plan --run OUT``: the plan from a finished run's outputs (its out folder, a
    ``RunResult`` in memory, or what ``read_run`` read of a folder), without reading the
    inputs again, with what bears on it: the run's warnings, the repeat-buyer caveat and the
    empty-plan notes."""
    from attrib.run import RunResult

    check_target_revenue(target_revenue)
    if isinstance(run, RunResult):
        run = history_of_result(run)
    elif not isinstance(run, RunHistory | str | Path):
        raise UsageError(
            f"run= must be a run's out folder or its RunResult, got {type(run).__name__}",
            hint="e.g. plan_from_run(2.5e6, at.run('exports/', out='out/'))",
        )
    history = run if isinstance(run, RunHistory) else read_run(run)
    digest = None if isinstance(run, RunHistory) else manifest_digest(Path(run))
    table = plan_table_of_run(target_revenue, history, period, rates_override)
    p = plan_period(period, history.settings)
    notes = (
        deal_size_note(table, p),
        rate_note(table, p),
        repeat_deals_note_of_run(history, period),
        budget_note(table),
    )
    # a model's own warnings (shapley: ...) do not bear on a plan, which reads no credit
    models = tuple(f"{name}: " for name in model_names())
    run_warnings = (w for w in history.warnings if not w.startswith(models))
    warnings = (*run_warnings, *(n for n in notes if n is not None))
    return Plan(table, warnings, p, run_sha256=digest)


def deal_size_note(table: pl.DataFrame, period: str) -> str | None:
    """Why every count of a plan is empty: the period's won deals have no average amount (none
    closed in it, or their amounts are all 0: Olist's 2018-Q2), else None."""
    row = table.filter((pl.col("kind") == "input") & (pl.col("name") == "avg_deal_size"))
    size = row.get_column("value").item() if row.height else None
    if size is not None and size > 0:
        return None
    why = "no won deal closed in it" if size is None else "its won deals' amounts are all 0"
    return (
        f"no stage can be planned: the average deal size of {period} is unknown ({why}); "
        "pick a --period whose won deals have amounts"
    )


def rate_note(table: pl.DataFrame, period: str) -> str | None:
    """Which stages a plan leaves empty because the rate into the stage below them is 0 or
    unknown, else None (an unknown deal size, which empties them all, is ``deal_size_note``'s)."""
    stages = table.filter(pl.col("kind") == "stage")
    names = stages.get_column("name").to_list()
    values = stages.get_column("value").to_list()
    rates = stages.get_column("rate").to_list()
    for i in range(len(names) - 1, 0, -1):
        if values[i] is None or values[i - 1] is not None:
            continue
        above = ", ".join(names[:i])
        if rates[i] == 0:
            why = f"the conversion rate into {names[i]} is 0"
        else:
            why = f"{period} has no conversion rate into {names[i]}"
        return (
            f"no count above {names[i]} ({above}) can be planned: {why}; give a rate with "
            f"--rate {names[i]}=0.25 (rates_override={{{names[i]!r}: 0.25}}), or pick another"
            " --period (period=)"
        )
    return None


def budget_note(table: pl.DataFrame) -> str | None:
    """Why a plan has no budget rows (no lead stage with leads by channel), else None."""
    if table.filter(pl.col("kind") == "budget").height:
        return None
    return (
        "no budget rows: the funnel has no 'lead' stage with leads by channel (a budget buys "
        "leads); map your lead stage in [stages] to get one"
    )


def plan_table_of_run(
    target_revenue: float,
    history: RunHistory,
    period: str | None = None,
    rates_override: Mapping[str, float] | None = None,
) -> pl.DataFrame:
    """``plan_from_history`` from what ``read_run`` read of a finished run. The period's
    average deal size is the run's ``avg_deal_size`` KPI: the won deals closed in it, as from
    the deals."""
    p = plan_period(period, history.settings)
    return plan_from_history(
        target_revenue,
        history.funnel,
        deals=None,
        roi_summary=history.channel_summary,
        settings=history.settings,
        period=p,
        rates_override=rates_override,
        avg_deal_size=history.kpi("avg_deal_size", p),
    )


def repeat_deals_note(funnel_df: pl.DataFrame, won_deals: int | None, period: str) -> str | None:
    """A caveat when the period's customers closed several won deals each: the plan counts
    one customer per won deal (target / average deal), so its customers and the stages above
    them are that many times too high for such a business."""
    row = funnel_df.filter(
        (pl.col("view") == "period")
        & (pl.col("period") == period)
        & (pl.col("channel") == ALL_CHANNELS)
        & (pl.col("stage") == "customer")
    )
    customers = int(row.get_column("count").sum()) if row.height else 0
    when = "the whole history" if period == "all" else period
    if won_deals and not customers and row.height:  # every one a repeat buyer's
        return (
            f"{won_deals:,} won deals closed in {when}, but no customer won their first deal "
            "in it: the plan counts one new customer per won deal, and every won deal of "
            f"{when} was a repeat buyer's; plan from a period with new customers (--period)"
        )
    if not customers or not won_deals or won_deals <= 1.2 * customers:
        return None
    each = won_deals / customers
    # the funnel's customer stage counts an entity once, in the period of its first won
    # deal: a later period's repeat buyers are not in it, so "came from N customers" was
    # false there (Maven's 2017-Q2: 1,254 won deals of 85 accounts, 1 of them new)
    return (
        f"{won_deals:,} won deals closed in {when}, but only {customers:,} customer(s) won "
        f"their first deal in it ({each:.1f} won deals per new customer): the plan counts "
        "one customer per won deal, so its customers and the stages above them are "
        f"~{each:.1f}x what repeat buyers would need"
    )


def repeat_deals_note_of_run(history: RunHistory, period: str | None = None) -> str | None:
    """``repeat_deals_note`` for a plan from a finished run (``plan_from_run``)."""
    p = plan_period(period, history.settings)
    won = history.kpi("won_deals", p)
    return repeat_deals_note(history.funnel, int(won) if won else None, p)
