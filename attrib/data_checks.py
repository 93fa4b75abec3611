"""Facts about a run's data that deserve a warning: the run is valid, but its numbers are
probably not what the user meant (ids that match nothing, a window that holds no deal)."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from attrib.columns import CHANNEL, MEDIUM, SOURCE, TABLES
from attrib.config import UNASSIGNED
from attrib.encoded import (
    CONVERSION_IN_PERIOD,
    CREATION_IN_PERIOD,
    STATUS_NONE,
    Journeys,
    touched_in_a_window,
)
from attrib.errors import ChecksFailedError
from attrib.export_checks import (
    PLACEHOLDERS,
    campaign_lookalikes,
    channel_variants,
    config_channel_variants,
    dotted_thousands,
    micro_units,
    mixed_currencies,
    multi_day_cost_rows,
    placeholder_channels,
    placeholder_values,
    quoted_names,
    replaced_columns,
    several_customers_per_deal,
    unclassified_channels,
)
from attrib.metrics.settings import PERIOD_LABEL
from attrib.progress import Reporter
from attrib.spend_checks import (
    costs_outside_window,
    daily_by_repeats,
    monthly_rows_among_daily,
    partial_months,
    unmatched_cost_channels,
    weekly_cost_rows,
)

if TYPE_CHECKING:
    from attrib.inputs import Inputs
    from attrib.metrics.bundle import MetricsPlan


#: a missing id written as text (``export_checks.PLACEHOLDERS``) as exports spell it: lower,
#: upper or title case, so the journeys' check is one hash lookup per journey (~2 ms over the
#: 1.9M journeys of 10M touches, where stripping and lower-casing every id took ~0.1 s)
PLACEHOLDER_SPELLINGS = sorted(
    {spell(p) for p in PLACEHOLDERS for spell in (str.lower, str.upper, str.title)}
    | {"NaN", "N/a", "#N/a"}  # (pandas and R write NaN; title case makes N/A of n/a)
)


def placeholder_touches(
    ids: pl.Series, touches: pl.Series | None = None
) -> tuple[tuple[str, int], ...]:
    """The ids in ``ids`` (text) spelt as a missing value (``NULL``, ``N/A``, ``(not set)``), each
    with its touches: the sum of ``touches`` over its rows (a journeys table's ``n_touches``),
    or its row count (one row per touch); ids with no touch are left out. Sorted by id."""
    frame = pl.DataFrame({"id": ids, "touches": 1 if touches is None else touches})
    hit = frame.filter(pl.col("id").is_in(PLACEHOLDER_SPELLINGS) & (pl.col("touches") > 0))
    if hit.height == 0:
        return ()
    counts = hit.group_by("id").agg(pl.col("touches").sum()).sort("id")
    return tuple((str(i), int(n)) for i, n in counts.iter_rows())


@dataclass(frozen=True)
class DealCounts:
    """A batch's deals: how many, how many have a touch, how many the reporting window
    counts (None: no window) and how many of those have a touch, and how many zero-touch
    deals (in the window, where one is set) have an entity with touches elsewhere
    (``Journeys.zero_touch_touched``); and the batch's journeys whose entity id is a missing
    value written as text, with their touches (``placeholder_touches``). Additive over
    batches."""

    deals: int = 0
    touched: int = 0
    in_window: int | None = None
    zero_touch_touched: int = 0
    placeholders: tuple[tuple[str, int], ...] = ()
    touched_in_window: int | None = None

    @classmethod
    def of(cls, journeys: Journeys) -> DealCounts:
        is_deal = journeys.status != STATUS_NONE
        # a touch in either window: the ids match (a deal whose touches all lie in its
        # pipeline window still credits its revenue to (none))
        touched = is_deal & touched_in_a_window(journeys.starts, journeys.ends, journeys.n_created)
        in_window = touched_in_window = None
        if journeys.in_period is not None:
            hit = (journeys.in_period & (CONVERSION_IN_PERIOD | CREATION_IN_PERIOD)) != 0
            in_window = int(np.count_nonzero(is_deal & hit))
            touched_in_window = int(np.count_nonzero(touched & hit))
        table = journeys.table  # (a path table's journeys have no entity)
        placeholders = (
            placeholder_touches(table.get_column("entity_id"), table.get_column("n_touches"))
            if "entity_id" in table.columns
            else ()
        )
        return cls(
            int(np.count_nonzero(is_deal)),
            int(np.count_nonzero(touched)),
            in_window,
            journeys.zero_touch_touched,
            placeholders,
            touched_in_window,
        )

    def __add__(self, other: DealCounts) -> DealCounts:
        def window_sum(a: int | None, b: int | None) -> int | None:
            return None if a is None and b is None else (a or 0) + (b or 0)

        placeholders = dict(self.placeholders)
        for name, touches in other.placeholders:
            placeholders[name] = placeholders.get(name, 0) + touches
        return DealCounts(
            self.deals + other.deals,
            self.touched + other.touched,
            window_sum(self.in_window, other.in_window),
            self.zero_touch_touched + other.zero_touch_touched,
            tuple(sorted(placeholders.items())),
            window_sum(self.touched_in_window, other.touched_in_window),
        )

    @property
    def zero_touch(self) -> int:
        """Deals whose journey has no touch (zero-touch journeys)."""
        return self.deals - self.touched

    def credited(self) -> tuple[int, int]:
        """(deals the attribution credits, zero-touch ones among them): those in the
        reporting window where one is set, else all."""
        if self.in_window is None:
            return self.deals, self.zero_touch
        return self.in_window, self.in_window - (self.touched_in_window or 0)


def rejected_count(rejected: dict[str, int], log_rows: int | None = None) -> str:
    """'1,203 input row(s) rejected (touchpoints: 1,200, deals: 3)'; for an event log, whose
    conversion rows are a touch and a deal each, its own rows (``log_rows``): '3 event log
    row(s) rejected (as touches: 3, as conversions: 1)'."""
    if log_rows is not None:
        return (
            f"{log_rows:,} event log row(s) rejected (as touches: "
            f"{rejected.get('touchpoints', 0):,}, as conversions: {rejected.get('deals', 0):,})"
        )
    # one table order in every engine
    tables = sorted(rejected, key=lambda t: TABLES.index(t) if t in TABLES else len(TABLES))
    detail = ", ".join(f"{t}: {rejected[t]:,}" for t in tables if rejected[t])
    return f"{sum(rejected.values()):,} input row(s) rejected ({detail})"


def event_log_rejected_rows(quarantine: dict[str, pl.DataFrame]) -> int:
    """An event log's rejected rows, each once: a conversion row is a touch and a deal, and
    a bad time rejects both (``rejected_count``'s ``log_rows``)."""
    parts = [q.select("file", "row") for q in quarantine.values() if q.height]
    return pl.concat(parts).unique().height if parts else 0


def rejected_rows(
    rejected: dict[str, int], out: Path | None, log_rows: int | None = None
) -> str | None:
    """Rows quarantined: how many, per table, and where to read why (the folder named whole:
    ``attrib plan --run`` and the report repeat the warning from other folders)."""
    if not sum(rejected.values()):
        return None
    count = rejected_count(rejected, log_rows)
    if out is not None:
        return f"{count}; each row's reason is in {out.absolute() / 'quarantine'}/"
    # no out folder (a plan from the inputs, a Python run without out=)
    return (
        f"{count}; `attrib validate` on the same inputs with `--out DIR` writes each row's "
        "reason (in Python: RunResult.inputs.quarantine)"
    )


def empty_tables(rows_read: dict[str, int], rejected: dict[str, int]) -> list[str]:
    """Touchpoints or deals that left nothing to attribute: a file with a header only, or
    every row rejected (the rejected-rows warning gives the count, not that it is all)."""
    found = []
    for table in ("deals", "touchpoints"):
        n = rows_read.get(table)
        if n == 0 and table == "deals":  # no touchpoints read: ``unmatched_deals`` says so
            found.append("no deal rows were read: nothing to attribute")
        elif n and rejected.get(table, 0) >= n:
            found.append(f"all {n:,} {table} rows were rejected: none of them is used")
    return found


#: how to turn strict off on the command line (the CLI's own hints; ``check_rejections``
#: names the Python arguments too)
STRICT_OFF = "turn strict off (drop --strict; --no-strict over the config's [options] strict)"


def check_rejections(
    rows_read: dict[str, int],
    rejected: dict[str, int],
    *,
    strict: bool,
    out: Path | None,
    reporter: Reporter,
    log_rows: int | None = None,
    quarantine: Mapping[str, pl.DataFrame] | None = None,
) -> None:
    """After the quarantine is written, every engine's one step: a note per table (rows read
    and rejected); ``--strict`` fails on any rejected row (exit 1), else the rejections are a
    warning (``rejected_rows``), and so is an input table that left nothing (``empty_tables``).
    ``log_rows``: an event log's rejected rows, each counted once (``rejected_count``);
    ``quarantine``: the rejected rows, which the error carries for a run without ``out``."""
    for table, n in rows_read.items():
        reporter.note(f"{table}: {n:,} rows read, {rejected.get(table, 0):,} rejected")
    if strict and any(rejected.values()):
        kept = {t: f for t, f in (quarantine or {}).items() if f.height}
        where = (
            "see the quarantine files for each row's reason"
            if out is not None
            else "each row's reason is in the error's .quarantine (table -> frame); pass out="
            " to write them as files too"
            if kept
            else "run without strict to see each row's reason in the run's warnings"
        )
        if out is not None and (out / "manifest.json").is_file():
            where += f" (the tables beside it in {out} are an earlier run's, left as they were)"
        raise ChecksFailedError(
            f"{rejected_count(rejected, log_rows)} and strict is on",
            details={"rows_read": dict(rows_read), "rejected": dict(rejected)},
            file=str(out / "quarantine") if out else None,
            hint=f"{where}; fix the data, or turn strict off (drop --strict or strict=True;"
            " --no-strict or strict=False over the config's [options] strict)",
            quarantine=kept,
        )
    if (warning := rejected_rows(rejected, out, log_rows)) is not None:
        reporter.warn(warning)
    for warning in empty_tables(rows_read, rejected):
        reporter.warn(warning)


def unmatched_deals(counts: DealCounts, n_touches_valid: int) -> str | None:
    """Every deal zero-touch: almost always ids that do not match between the tables."""
    if not counts.deals or counts.touched:
        return None
    if not n_touches_valid:  # (none read, or every one rejected: said by its own warning)
        return f"no valid touchpoint: all {counts.deals:,} deals are credited to (none)"
    return (
        f"none of the {counts.deals:,} deals' customers has a touch in its window: every deal "
        "is credited to (none). Check that touchpoints and deals use the same customer ids "
        "(same column, same format) and the --lookback-days"
    )


#: above this share of zero-touch deals (but not all) the ids are probably partly mismatched
ZERO_TOUCH_SHARE = 0.25


def placeholder_journeys(
    counts: DealCounts, level: str = "customer", counted: str = "touch(es) in journeys"
) -> str | None:
    """Touches whose customer (or account) id is a missing value written as text (``NULL``
    for every anonymous visitor): they are one customer's, whose single journey takes them
    all, a path of thousands of touches in the journeys, the funnel and the path models.
    ``counted`` says what the counts are: a run's count the touches its journeys keep (not
    those before the lookback), ``attrib validate``'s the touch rows. The deals' own ids are
    checked by ``placeholder_values``."""
    if not counts.placeholders:
        return None
    names = quoted_names([name for name, _ in counts.placeholders])
    touches = sum(n for _, n in counts.placeholders)
    return (
        f"touchpoints: {touches:,} {counted} have {names} as their {level} id, a missing value"
        f" written as text: each such id is read as one {level}, whose journey takes the"
        " touches of every visitor written so; leave the id empty in the export (such rows are"
        " rejected), or drop those rows"
    )


def many_zero_touch(
    counts: DealCounts, level: str = "customer", event_log: bool = False
) -> str | None:
    """Many, but not all, of the deals a run credits (those in the reporting window, where
    one is set) without a touch in their window: untracked deals are usually a few percent;
    more points at ids that match only partly ('00123' vs '123', '125.0' vs
    '125', one export with prefixed ids), or, where their customers do have touches, at many
    deals per customer sharing few touches (each counts for one deal) or a short lookback.
    In an ``event_log`` run the ids come from one file: its conversion rows without a channel
    (deal only) or without an earlier touch of their cookie are the cause."""
    deals, zero = counts.credited()
    if not deals or not counts.touched or zero <= ZERO_TOUCH_SHARE * deals:
        return None
    scope = " in the reporting window" if counts.in_window is not None else ""
    if event_log:
        return (
            f"{zero:,} of {deals:,} conversions{scope} ({zero / deals:.0%}) have no touch in"
            " their window and are credited to (none): conversion rows without a channel"
            " (empty or (none): a conversion only), or whose cookie has no touch before them"
            " (an earlier conversion took it, or it is older than the --lookback-days)"
        )
    head = (
        f"{zero:,} of {deals:,} deals{scope} ({zero / deals:.0%}) have no touch in their "
        "window and are credited to (none)"
    )
    untouched = zero - counts.zero_touch_touched
    ids = (
        "check that their customer ids are written as in the touchpoints (leading zeros, a "
        "trailing '.0', prefixes)"
    )
    if counts.zero_touch_touched <= untouched:
        return f"{head}; {ids} and the --lookback-days"
    return (
        f"{head}. {counts.zero_touch_touched:,} of them belong to {level}s that do have "
        "touches, all outside the deal's window: in an earlier deal's (a touch counts for one "
        f"deal only, so many deals per {level} share few touches), after the deal, or older "
        "than the --lookback-days" + (f"; for the other {untouched:,}, {ids}" if untouched else "")
    )


def empty_window(counts: DealCounts) -> str | None:
    """A reporting window that no deal's close or creation falls in."""
    if counts.in_window is None or not counts.deals or counts.in_window:
        return None
    return (
        "no deal was closed or created in the reporting window (--from/--to): every "
        "attribution column is 0"
    )


def deal_warnings(
    counts: DealCounts,
    rows_read: dict[str, int],
    rejected: dict[str, int],
    level: str = "customer",
    event_log: bool = False,
) -> list[str]:
    """The journey-level warnings of a run (``placeholder_journeys``, ``unmatched_deals``,
    ``many_zero_touch``, ``empty_window``), given its rows read and rejected per table, its
    journey ``level`` and whether its tables come from one ``event_log``."""
    valid = rows_read.get("touchpoints", 0) - rejected.get("touchpoints", 0)
    found = (
        placeholder_journeys(counts, level),
        unmatched_deals(counts, valid),
        many_zero_touch(counts, level, event_log),
        empty_window(counts),
    )
    return [w for w in found if w is not None]


def unmatched_targets(targets: pl.DataFrame | None, kpis: pl.DataFrame | None) -> str | None:
    """Target rows whose (kpi, period) is no row of ``kpis.parquet``: a typo fills nothing.
    Without ``kpis`` (``attrib validate``: no KPIs computed) the rows whose KPI is none the
    run makes or whose period is malformed, which no run could fill."""
    if targets is None or targets.height == 0:
        return None
    rows = targets.select(pl.col("kpi").cast(pl.String), pl.col("period").cast(pl.String))
    if kpis is None:
        from attrib.metrics.kpis import KPI_NAMES

        missing, known_kpis = rows, sorted(KPI_NAMES)
    else:
        missing = rows.join(kpis.select("kpi", "period"), on=["kpi", "period"], how="anti")
        known_kpis = sorted(set(kpis.get_column("kpi").to_list()))
    if missing.height == 0:
        return None
    # a well-formed period outside this run's window is a plan for later, not a mistake
    label = PERIOD_LABEL.pattern
    bad_kpi = missing.filter(~pl.col("kpi").is_in(known_kpis))
    bad_period = missing.filter(
        pl.col("kpi").is_in(known_kpis) & ~pl.col("period").fill_null("").str.contains(label)
    )
    why = []
    for kpi in bad_kpi.get_column("kpi").unique(maintain_order=True).head(5).to_list():
        close = difflib.get_close_matches(kpi or "", known_kpis, n=1)
        why.append(f"{kpi!r} is not a KPI" + (f" (did you mean {close[0]!r}?)" if close else ""))
    periods = bad_period.get_column("period").unique(maintain_order=True).head(5).to_list()
    if periods:
        why.append(f"{', '.join(repr(p) for p in periods)} not a period (all, YYYY-MM or YYYY-Qn)")
    if not why:
        return None
    n = bad_kpi.height + bad_period.height
    return f"{n:,} target row(s) fill nothing: {'; '.join(why)}"


def missing_baseline(baseline: str | None, kpis: pl.DataFrame | None) -> str | None:
    """A ``baseline_period`` the KPIs have no row for: every ``index_vs_baseline`` is null."""
    if not baseline or kpis is None or kpis.height == 0:
        return None
    if kpis.filter(pl.col("period") == baseline).height:
        return None
    periods = kpis.get_column("period").unique().sort().to_list()
    span = [p for p in periods if p != "all"]
    covered = f"{span[0]} to {span[-1]}" if span else "none"
    return (
        f"baseline_period {baseline!r} is outside the reporting window (periods {covered}): "
        "every index_vs_baseline is null; pick a period the data covers"
    )


#: the share of pipeline created (or of deals created) on (unassigned) above which the
#: channel rules are flagged
UNASSIGNED_SHARE = 0.05


def unassigned_sources(touches: pl.DataFrame | None) -> pl.DataFrame | None:
    """The touches no rule matched, counted (``len``) by their source/medium values; None
    where the touches carry neither column. Additive: the bucketed engine concatenates its
    buckets' counts (``unmatched_values`` sums them)."""
    if touches is None or CHANNEL not in touches.columns:
        return None
    fields = [c for c in (SOURCE, MEDIUM) if c in touches.columns]
    if not fields:
        return None
    return (  # (lazy: only the three columns are read, no copy of the unmatched touches)
        touches.lazy()
        .filter(pl.col(CHANNEL).cast(pl.String) == UNASSIGNED)
        .group_by(fields)
        .len()
        .collect()
    )


def unmatched_values(counts: pl.DataFrame | None, limit: int = 3) -> str:
    """``": most often source / medium google / cpc (12 touch(es)), ..."``: the values of the
    touches no rule matched that a rule would need (``unassigned_sources``), most frequent
    first; "" where they are not at hand (the Spark engine's touches are never collected)."""
    if counts is None or counts.height == 0:
        return ""
    fields = [c for c in counts.columns if c != "len"]
    top = (
        counts.group_by(fields)
        .agg(pl.col("len").sum())
        .sort(["len", *fields], descending=[True, *[False] * len(fields)], nulls_last=True)
        .head(limit)
    )
    shown = ", ".join(
        " / ".join("(empty)" if v is None else str(v) for v in values) + f" ({n:,} touch(es))"
        for *values, n in top.rows()
    )
    return f"; most often {' / '.join(fields)} {shown}"


def _largest_unassigned_share(summary: pl.DataFrame, column: str) -> tuple[str, float] | None:
    """(model, share) of the model that credits the largest share of ``column``'s total to
    ``(unassigned)``, where that share is above ``UNASSIGNED_SHARE``; None otherwise. Every
    model, not the first: first touch never credits an unmatched touch mid-journey (an email
    without a rule) that last touch may credit most of the pipeline to."""
    shares = (
        summary.group_by("model", maintain_order=True)
        .agg(
            pl.col(column).sum().cast(pl.Float64).alias("total"),
            pl.col(column).filter(pl.col("channel") == UNASSIGNED).sum().cast(pl.Float64),
        )
        .filter(pl.col("total") > 0)
        .select("model", (pl.col(column) / pl.col("total")).alias("share"))
        .filter(pl.col("share") > UNASSIGNED_SHARE)
        .sort("share", descending=True, maintain_order=True)
    )
    if shares.height == 0:
        return None
    model, share = shares.row(0)
    return str(model), float(share)


def unassigned_credit(
    summary: pl.DataFrame | None,
    has_rules: bool,
    sources: Callable[[], pl.DataFrame | None] | None = None,
) -> str | None:
    """Much credit on ``(unassigned)``, the channel of touches no ``[[rules]]`` rule matched:
    usually a missing or misspelt rule (a removed `(direct)/(none)` rule moved 23% of a
    trial's revenue there, silently). By amount, else by count of deals created: where most
    amounts are 0 or unknown (Olist's declared revenue), 29% of the deals sat there unflagged.
    ``sources``: the touches' ``unassigned_sources`` counts, asked for only when the warning
    fires, for the values their rules would need (``unmatched_values``). Without rules,
    touches with no channel column are all ``(unassigned)``: the config lacks them. The
    warning names the model that credits ``(unassigned)`` the most."""
    if summary is None or summary.height == 0:
        return None
    for column, noun, verb in (
        ("pipeline_created", "pipeline", "is"),
        ("deals_created", "deals", "are"),
    ):
        worst = _largest_unassigned_share(summary, column)
        if worst is None:
            continue
        model, share = worst
        head = f"{share:.0%} of the {noun} created {verb} credited to {UNASSIGNED}"
        if not has_rules:
            return (
                f"{head} under {model}: the config has no [[rules]] to name channels from the"
                " touches' source/medium; write them (README, The config), or map the column"
                ' that names the channel: [columns.touchpoints] channel = "..."'
            )
        return (
            f"{head} under {model}: touches that no [[rules]] rule matched; add rules for"
            " their source/medium values (or a last catch-all rule)"
            + unmatched_values(sources() if sources is not None else None)
        )
    return None


def input_warnings(
    inputs: Inputs, touch_channels: Sequence[str], sales_channels: Sequence[str]
) -> list[str]:
    """The warnings the validated inputs alone give: first ``placeholder_values``, then
    what the config and the files say (``micro_units``, ``replaced_columns``,
    ``campaign_lookalikes``,
    ``dotted_thousands``, ``multi_day_cost_rows``, ``mixed_currencies``: a campaign column
    named otherwise is also why cost rows repeat), then ``unmatched_cost_channels``,
    ``daily_by_repeats``, ``monthly_rows_among_daily``, ``weekly_cost_rows``,
    ``channel_variants``, ``config_channel_variants``, ``unclassified_channels`` and
    ``several_customers_per_deal``. ``attrib validate`` shows them; a run adds its own."""
    found = (
        unmatched_cost_channels(
            inputs.costs, touch_channels, sales_channels, declared=list(inputs.config.channels)
        ),
        daily_by_repeats(inputs.costs),
        monthly_rows_among_daily(inputs.costs),
        weekly_cost_rows(inputs.costs),
        channel_variants(touch_channels),
        config_channel_variants(list(inputs.config.channels), touch_channels),
        unclassified_channels(touch_channels, list(inputs.config.channels)),
        several_customers_per_deal(inputs),
    )
    return (
        placeholder_values(inputs, touch_channels)
        + micro_units(inputs.config)
        + replaced_columns(inputs.files, inputs.config, inputs.frames)
        + campaign_lookalikes(inputs.files, inputs.config, inputs.frames)
        + dotted_thousands(inputs.files, inputs.config, inputs.frames)
        + multi_day_cost_rows(inputs.files, inputs.config, inputs.frames)
        + mixed_currencies(inputs.files, inputs.frames)
        + [w for w in found if w is not None]
    )


def clipped_shapley(model_tables: Mapping[str, pl.DataFrame]) -> str | None:
    """Channels whose Shapley value is negative, which get no credit (their value is set to
    0): on Olist's one-touch journeys a channel with 74 won deals got none. Documented, but
    a table read alone looks like the channel sold nothing; None without such a channel."""
    values = model_tables.get("shapley_values")
    if values is None or values.height == 0:
        return None
    scale = values.select(pl.col("shapley_value").abs().max()).item() or 0.0
    # a sampled value (more channels than max_exact_channels) below 0 by less than twice its
    # standard error may be noise: not said to convert worse
    noise = 2.0 * pl.col("std_error").fill_null(0.0)
    below = values.filter(
        (pl.col("shapley_value") < -1e-12 * scale) & (pl.col("shapley_value") < -noise)
    )
    if below.height == 0:
        return None
    names = quoted_names(below.sort("shapley_value").get_column("channel").to_list())
    return (
        f"shapley: {below.height} channel(s) got no credit, their Shapley value being negative"
        f" (journeys with them convert worse than those without) and set to 0: {names};"
        " shapley_values.parquet holds the values, and [models.shapley] value_function ="
        ' "dp6" gives none below 0'
    )


def metric_warnings(
    inputs: Inputs,
    kpis: pl.DataFrame | None,
    touch_channels: Sequence[str],
    plan: MetricsPlan,
    summary: pl.DataFrame | None = None,
    model_tables: Mapping[str, pl.DataFrame] | None = None,
    unassigned: pl.DataFrame | None = None,
) -> list[str]:
    """The warnings of a run: ``input_warnings``, then the spend and target ones
    (``costs_outside_window`` and ``partial_months`` for the data's span,
    ``unmatched_targets``, ``unassigned_credit`` given the channel summary,
    ``missing_baseline``), then ``clipped_shapley`` given the models' own tables; every
    engine calls this. ``unassigned``: the ``unassigned_sources`` counts of an engine that
    streams the touches (else they are counted from ``inputs.touches``)."""
    # with --from/--to the user chose what to leave out: only the data's span is checked
    span = None if plan.settings.period_from or plan.settings.period_to else plan.window
    found = (
        costs_outside_window(inputs.costs, span),
        partial_months(inputs.costs, span),
        unmatched_targets(inputs.targets, kpis),
        unassigned_credit(
            summary,
            bool(inputs.config.rules),
            lambda: unassigned if unassigned is not None else unassigned_sources(inputs.touches),
        ),
        missing_baseline(plan.settings.baseline_period, kpis),
        clipped_shapley(model_tables or {}),
    )
    given = input_warnings(inputs, touch_channels, plan.settings.sales_cost_channels)
    return given + [w for w in found if w is not None]


def path_warnings(channels: Sequence[str], model_tables: Mapping[str, pl.DataFrame]) -> list[str]:
    """The warnings an aggregated path table allows (``attrib run --paths``): it holds channel
    names and counts only, so of ``metric_warnings`` the channels' own (``placeholder_channels``,
    ``channel_variants``) and ``clipped_shapley``."""
    found = (  # ([[rules]] do not apply to a path table's channels)
        placeholder_channels(channels, "name the channel in the path table"),
        channel_variants(channels, "write each channel one way in the path table"),
        clipped_shapley(model_tables),
    )
    return [w for w in found if w is not None]
