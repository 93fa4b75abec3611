"""Facts about a run's data that deserve a warning: the run is valid, but its numbers are
probably not what the user meant (ids that match nothing, a window that holds no deal)."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from attrib.columns import ACCOUNT_ID, CAMPAIGN, CHANNEL, CUSTOMER_ID, DEAL_ID, TABLES
from attrib.config import UNASSIGNED
from attrib.encoded import CONVERSION_IN_PERIOD, CREATION_IN_PERIOD, STATUS_NONE, Journeys
from attrib.errors import ChecksFailedError, InputError
from attrib.io import file_columns, file_format, loose_name, scan_file
from attrib.metrics.settings import PERIOD_LABEL
from attrib.progress import Reporter

if TYPE_CHECKING:
    from attrib.config import RunConfig
    from attrib.inputs import Inputs
    from attrib.metrics.bundle import MetricsPlan


@dataclass(frozen=True)
class DealCounts:
    """A batch's deals: how many, how many have a touch, how many the reporting window
    counts (None: no window), and how many zero-touch deals have an entity with touches
    elsewhere (``Journeys.zero_touch_touched``). Additive over batches."""

    deals: int = 0
    touched: int = 0
    in_window: int | None = None
    zero_touch_touched: int = 0

    @classmethod
    def of(cls, journeys: Journeys) -> DealCounts:
        is_deal = journeys.status != STATUS_NONE
        touched = is_deal & (np.diff(journeys.offsets) > 0)
        in_window = None
        if journeys.in_period is not None:
            hit = (journeys.in_period & (CONVERSION_IN_PERIOD | CREATION_IN_PERIOD)) != 0
            in_window = int(np.count_nonzero(is_deal & hit))
        return cls(
            int(np.count_nonzero(is_deal)),
            int(np.count_nonzero(touched)),
            in_window,
            journeys.zero_touch_touched,
        )

    def __add__(self, other: DealCounts) -> DealCounts:
        window = (
            None
            if self.in_window is None and other.in_window is None
            else (self.in_window or 0) + (other.in_window or 0)
        )
        return DealCounts(
            self.deals + other.deals,
            self.touched + other.touched,
            window,
            self.zero_touch_touched + other.zero_touch_touched,
        )

    @property
    def zero_touch(self) -> int:
        """Deals whose journey has no touch (credited to ``(none)``)."""
        return self.deals - self.touched


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
    """Rows quarantined: how many, per table, and where to read why."""
    if not sum(rejected.values()):
        return None
    count = rejected_count(rejected, log_rows)
    if out is not None:
        return f"{count}; each row's reason is in {out / 'quarantine'}/"
    # no out folder (a plan from the inputs, a Python run without out=)
    return (
        f"{count}; `attrib validate DATA_DIR --out DIR` writes each row's "
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


def check_rejections(
    rows_read: dict[str, int],
    rejected: dict[str, int],
    *,
    strict: bool,
    out: Path | None,
    reporter: Reporter,
    log_rows: int | None = None,
) -> None:
    """After the quarantine is written, every engine's one step: a note per table (rows read
    and rejected); ``--strict`` fails on any rejected row (exit 1), else the rejections are a
    warning (``rejected_rows``), and so is an input table that left nothing (``empty_tables``).
    ``log_rows``: an event log's rejected rows, each counted once (``rejected_count``)."""
    for table, n in rows_read.items():
        reporter.note(f"{table}: {n:,} rows read, {rejected.get(table, 0):,} rejected")
    if strict and sum(rejected.values()):
        raise ChecksFailedError(
            f"{rejected_count(rejected, log_rows)} and --strict is set",
            file=str(out / "quarantine") if out else None,
            hint="see the quarantine files for each row's reason; fix the data or drop --strict",
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


def many_zero_touch(counts: DealCounts, level: str = "customer") -> str | None:
    """Many deals, but not all, without a touch in their window: untracked deals are usually
    a few percent; more points at ids that match only partly ('00123' vs '123', '125.0' vs
    '125', one export with prefixed ids), or, where their customers do have touches, at many
    deals per customer sharing few touches (each counts for one deal) or a short lookback."""
    zero = counts.zero_touch
    if not counts.deals or not counts.touched or zero <= ZERO_TOUCH_SHARE * counts.deals:
        return None
    head = (
        f"{zero:,} of {counts.deals:,} deals ({zero / counts.deals:.0%}) have no touch in "
        "their window and are credited to (none)"
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
) -> list[str]:
    """The deal-level warnings of a run (``unmatched_deals``, ``many_zero_touch``,
    ``empty_window``), given its rows read and rejected per table and its journey ``level``."""
    valid = rows_read.get("touchpoints", 0) - rejected.get("touchpoints", 0)
    found = (
        unmatched_deals(counts, valid),
        many_zero_touch(counts, level),
        empty_window(counts),
    )
    return [w for w in found if w is not None]


def _names(values: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _source(config: RunConfig, table: str, column: str) -> str | None:
    """The file column a table's ``column`` is read from (None: a ``[constants]`` value)."""
    if column in config.constants.get(table, {}):
        return None
    return config.source_column(table, column)


def campaign_lookalikes(files: dict[str, list[str]], config: RunConfig) -> list[str]:
    """A touch or cost file without the campaign column but with one named like it
    (``utm_campaign``, ``Campaign Name``): every campaign of it is then ``(none)``, and
    nothing else would say so. One warning per table, naming the first such file and
    offering a name column (``Campaign Name``) before an id (``Campaign ID``)."""
    found = []
    for table, rows in (("touchpoints", "touch"), ("costs", "cost row")):
        if (source := _source(config, table, CAMPAIGN)) is None:
            continue
        for name in files.get(table, []):
            columns = file_columns(Path(name))
            alike = [c for c in columns if CAMPAIGN in loose_name(c)]
            alike.sort(key=lambda c: loose_name(c).endswith("id"))  # a name before an id
            if source not in columns and alike:
                found.append(
                    f"{name}: no {source!r} column, so each {rows}'s campaign is (none);"
                    f" {alike[0]!r} is named like it: map it under [columns.{table}]"
                    f' (campaign = "{alike[0]}") if it holds the campaign'
                )
                break
    return found


#: a number written with a point before a group of exactly three digits ("12.500", "1.250"):
#: a European-locale thousands separator, or a value with three decimals (two such points,
#: "1.250.000", make no number: the validator rejects it)
_DOTTED_THOUSANDS = r"^-?[1-9][0-9]{0,2}\.[0-9]{3}$"
#: a number whose point can only be a decimal point ("98.10", "0.5", "1234.5"), or one of
#: 1,000 or more written without a thousands point ("35100"): either says the file's points
#: are decimal points
_DECIMAL_POINT = (
    r"^-?[0-9]*\.([0-9]{1,2}|[0-9]{4,})$|^-?[0-9]{4,}\.[0-9]+$|^-?0\.[0-9]+$|^-?[1-9][0-9]{3,}$"
)


def _read_back(path: Path, *exprs: pl.Expr) -> pl.DataFrame | None:
    """``exprs`` over a (small) input file read again, for the warnings that look at one or
    two of its columns; None when it cannot be read (the reader has said why)."""
    try:
        return scan_file(path).select(*exprs).collect()
    except (pl.exceptions.PolarsError, OSError, InputError):
        return None


def _day_of(column: str) -> pl.Expr:
    """A date column's day, from its first ten characters (null where they are no ISO date)."""
    text = pl.col(column).cast(pl.String).str.strip_chars().str.slice(0, 10)
    return text.str.to_date("%Y-%m-%d", strict=False)


def dotted_thousands(files: dict[str, list[str]], config: RunConfig) -> list[str]:
    """A CSV amount or spend column whose values are written like ``12.500`` and none with a
    point that can only be a decimal one, nor a number of 1,000 or more without a point
    (``35100``: the file groups no thousands): a spreadsheet in a European locale writes 12,500
    so, and it is read as 12.5 without a word (values with a decimal comma are rejected,
    these are not). One warning per table, naming the first such file. Reads the one
    column of the deals' and costs' CSV files again (small tables; text files only: a typed
    column holds numbers, not text)."""
    found = []
    for table, column in (("deals", "amount"), ("costs", "spend")):
        if (source := _source(config, table, column)) is None:
            continue
        for name in files.get(table, []):
            path = Path(name)  # (a Spark engine's folder or URI: no columns, skipped)
            if source not in file_columns(path) or file_format(path) != "csv":
                continue
            value = pl.col(source).str.strip_chars()
            dotted = value.str.contains(_DOTTED_THOUSANDS)
            read = _read_back(
                path,
                dotted.sum().alias("dotted"),
                value.str.contains(_DECIMAL_POINT).sum().alias("decimal"),
                value.filter(dotted).first().alias("v"),
            )
            if read is None:
                continue
            counts = read.row(0, named=True)
            if counts["dotted"] and not counts["decimal"]:
                example = counts["v"]
                found.append(
                    f"{name}: {counts['dotted']} {column} value(s) written like {example!r}"
                    f" and none with a decimal point: they are read as"
                    f" {float(example):g}; if the point separates"
                    " thousands (a spreadsheet in a European locale), export the numbers"
                    f" without it ({example.replace('.', '')})"
                )
                break
    return found


def channel_variants(touch_channels: Sequence[str]) -> str | None:
    """Touch channels whose names differ only in case or spacing ('Display', 'display'):
    credited apart, each with part of one channel's touches, and spend matches only one."""
    alike: dict[str, list[str]] = {}
    for name in touch_channels:
        alike.setdefault(" ".join(name.casefold().split()), []).append(name)
    groups = sorted(sorted(g) for g in alike.values() if len(g) > 1)
    if not groups:
        return None
    shown = "; ".join(" / ".join(repr(n) for n in g) for g in groups[:5])
    more = f" and {len(groups) - 5} more" if len(groups) > 5 else ""
    return (
        f"{len(groups)} channel(s) written more than one way (case or spaces), each way "
        f"credited as a channel of its own: {shown}{more}; write each channel one way in the "
        "export (or derive channels with [[rules]], which name them once)"
    )


def config_channel_variants(declared: Sequence[str], touch_channels: Sequence[str]) -> str | None:
    """``[channels."..."]`` entries that name a touch channel in another case or spacing
    (``direct`` for the touches' ``Direct``): names match exactly, so their flags (``direct``,
    ``marketing``) apply to no touch, and last_non_direct or the sourced shares silently
    ignore them. An entry no touch has in any spelling (offline ``TV``) is fine."""
    exact = set(touch_channels)
    by_loose = {" ".join(c.casefold().split()): c for c in touch_channels}
    fixes = [
        f"{name!r} -> {by_loose[key]!r}"
        for name in declared
        if name not in exact and (key := " ".join(name.casefold().split())) in by_loose
    ]
    if not fixes:
        return None
    return (
        f"{len(fixes)} [channels] entry(ies) of the config name a touch channel written "
        f"another way, so their flags apply to no touch: {', '.join(fixes[:5])}; names must "
        "match the touches' exactly (case included)"
    )


def unmatched_cost_channels(
    costs: pl.DataFrame | None,
    touch_channels: Sequence[str],
    sales_channels: Sequence[str],
    declared: Sequence[str] = (),
) -> str | None:
    """Spend on channels that no touch has: it can buy no credit (ROAS of the real channel
    null). Names must match exactly; a match up to case is named as the likely fix. Channels
    ``declared`` in the config (``[channels."TV"]``: offline spend, say) are expected."""
    if costs is None or costs.height == 0:
        return None
    sales = {c.lower() for c in sales_channels}
    known = set(touch_channels) | set(declared)
    by_lower = {c.lower(): c for c in (*declared, *touch_channels)}
    spent = costs.filter(pl.col("spend") > 0).get_column("channel").unique().sort().to_list()
    missing = [c for c in spent if c not in known and c.lower() not in sales]
    if not missing or not set(touch_channels) - {"(none)"}:  # no touch: said elsewhere
        return None
    fixes = [f"{c!r} -> {by_lower[c.lower()]!r}" for c in missing if c.lower() in by_lower]
    hint = (
        f"; names must match the touches' exactly (case included): {', '.join(fixes[:5])}"
        if fixes
        else "; check the names against the touches' channels, or list offline channels "
        '(TV, print) in the config to say they are expected: [channels."TV"] marketing = true'
    )
    return f"spend on {len(missing)} channel(s) no touch has: {_names(missing)}{hint}"


def costs_outside_window(
    costs: pl.DataFrame | None, window: tuple[date, date] | None
) -> str | None:
    """Cost rows wholly outside the window (the data's span): their spend is in no number."""
    if costs is None or costs.height == 0 or window is None:
        return None
    from attrib.metrics.periods import detect_cost_grain

    start, end = window
    day = pl.col("date")
    if detect_cost_grain(costs) == "monthly":  # a monthly row is its whole month
        outside = (day.dt.month_end() < start) | (day > end)
    else:
        outside = (day < start) | (day > end)
    n, spend = costs.select(outside.sum(), pl.col("spend").filter(outside).sum()).row(0)
    if not n:
        return None
    weekly = weekly_cost_rows(costs) is not None  # (a small table)
    return (
        f"{n:,} cost row(s) with {spend:,.2f} of spend lie outside the reporting window "
        f"({start} to {end}, the span of the touches, deals and stages) and count nowhere; "
        "set --from/--to to report another window"
        + (" (weekly rows count on their date: see docs/METRICS.md, Cost grain)" if weekly else "")
    )


def partial_months(costs: pl.DataFrame | None, window: tuple[date, date] | None) -> str | None:
    """Monthly spend prorated away at the ends of a window that cuts months (the data's span
    rarely starts on a 1st): the run's spend then matches no total in the books."""
    from attrib.metrics.periods import allocate_costs, detect_cost_grain

    if costs is None or costs.height == 0 or window is None:
        return None
    if detect_cost_grain(costs) != "monthly":
        return None
    start, end = window
    month = pl.col("date").dt.month_start()
    touching = costs.filter((month <= end) & (pl.col("date").dt.month_end() >= start))
    given = touching.get_column("spend").sum()
    counted = allocate_costs(touching, start, end).get_column("spend").sum()
    cut = given - counted
    if cut <= 1e-9 * max(given, 1.0):
        return None
    return (
        f"the reporting window ({start} to {end}, the span of the touches, deals and stages) "
        f"cuts months: {cut:,.2f} of their monthly spend is prorated away (a month counts by "
        "its days inside the window); set --from/--to to whole months to count them whole"
    )


def daily_by_repeats(costs: pl.DataFrame | None) -> str | None:
    """Every cost row dated the 1st, yet read as daily because a few (channel, campaign,
    month) keys repeat: a monthly table with one stray copy loses its proration silently."""
    from attrib.metrics.periods import cost_grain_facts, repeated_cost_key

    if costs is None:
        return None
    all_first, repeated = cost_grain_facts(costs)  # the facts detect_cost_grain reads
    if not all_first or not repeated:
        return None
    example = (
        costs.filter(repeated_cost_key(costs))
        .select(pl.format("{} {}", pl.col("channel"), pl.col("date")))
        .to_series()
        .head(1)
        .item()
    )
    return (
        f"every cost row is dated the 1st of a month, but {repeated:,} row(s) repeat a "
        f"(channel, campaign, month) (e.g. {example}), so the table is read as daily rows "
        "counted on their date, not monthly rows prorated over the window's days; merge the "
        "repeated rows if the spend is monthly (docs/METRICS.md, Cost grain)"
    )


def unmatched_targets(targets: pl.DataFrame | None, kpis: pl.DataFrame | None) -> str | None:
    """Target rows whose (kpi, period) is no row of ``kpis.parquet``: a typo fills nothing."""
    if targets is None or targets.height == 0 or kpis is None:
        return None
    rows = targets.select(pl.col("kpi").cast(pl.String), pl.col("period").cast(pl.String))
    missing = rows.join(kpis.select("kpi", "period"), on=["kpi", "period"], how="anti")
    if missing.height == 0:
        return None
    # a well-formed period outside this run's window is a plan for later, not a mistake
    known_kpis = sorted(set(kpis.get_column("kpi").to_list()))
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


def monthly_rows_among_daily(costs: pl.DataFrame | None) -> str | None:
    """Channels whose rows look monthly (one a month, each on the 1st, two months or more) in
    a table read as daily because other rows are not on the 1st: the grain is the whole
    table's, so their monthly totals count whole on the 1st, not prorated over the month."""
    from attrib.metrics.periods import cost_grain_facts

    if costs is None or costs.height == 0:
        return None
    all_first, _ = cost_grain_facts(costs)
    if all_first:  # a monthly table, or ``daily_by_repeats``' case
        return None
    keys = [c for c in ("channel", "campaign") if c in costs.columns]
    looks_monthly = (
        costs.group_by(keys)
        .agg(
            (pl.col("date").dt.day() == 1).all().alias("firsts"),
            pl.col("date").dt.month_start().n_unique().alias("months"),
            pl.len().alias("rows"),
        )
        .filter(pl.col("firsts") & (pl.col("months") >= 2) & (pl.col("rows") == pl.col("months")))
    )
    if looks_monthly.height == 0:
        return None
    channels = sorted(set(looks_monthly.get_column("channel").cast(pl.String).to_list()))
    return (
        f"the cost rows of {_names(channels)} are one a month, each on the 1st, while other "
        "rows are daily: the whole table is read as daily, so those monthly totals count on "
        "the 1st, not prorated over their month's days; spread them over the days (or give "
        "every channel's spend by month) (docs/METRICS.md, Cost grain)"
    )


def weekly_cost_rows(costs: pl.DataFrame | None) -> str | None:
    """A cost table whose dates are a week apart (a weekly export: marketing-mix data, an
    agency's "Week of" sheet), read as daily: each week's spend counts on its date alone, so
    a window or month boundary inside a week counts all of it on one side."""
    from attrib.metrics.periods import cost_grain_facts

    if costs is None or costs.height == 0 or cost_grain_facts(costs)[0]:
        return None  # (all on 1sts: monthly, or ``daily_by_repeats``' case)
    days = costs.get_column("date").unique().sort()
    if days.len() < 3:
        return None
    gaps = days.diff().drop_nulls().dt.total_days()
    if not ((gaps % 7 == 0).all() and gaps.min() >= 7):
        return None
    return (
        f"the cost rows' {days.len()} dates are whole weeks apart ({days[0]}, {days[1]}, ...):"
        " read as daily, each week's spend counts on its date alone, so a window or a month"
        " that cuts a week gets all of it or none; export daily (or monthly) rows, or spread"
        " each week over its days"
    )


#: the share of pipeline created (or of deals created) on (unassigned) above which the
#: channel rules are flagged
UNASSIGNED_SHARE = 0.05


def unassigned_credit(summary: pl.DataFrame | None, has_rules: bool) -> str | None:
    """Much credit on ``(unassigned)``, the channel of touches no ``[[rules]]`` rule matched:
    usually a missing or misspelt rule (a removed `(direct)/(none)` rule moved 23% of a
    trial's revenue there, silently). By amount, else by count of deals created: where most
    amounts are 0 or unknown (Olist's declared revenue), 29% of the deals sat there unflagged."""
    if summary is None or summary.height == 0 or not has_rules:
        return None
    model = summary.get_column("model")[0]
    rows = summary.filter(pl.col("model") == model)
    unassigned_rows = rows.filter(pl.col("channel") == UNASSIGNED)
    for column, noun, verb in (
        ("pipeline_created", "pipeline", "is"),
        ("deals_created", "deals", "are"),
    ):
        total = rows.get_column(column).sum()
        unassigned = unassigned_rows.get_column(column).sum()
        if total and unassigned > UNASSIGNED_SHARE * total:
            return (
                f"{unassigned / total:.0%} of the {noun} created {verb} credited to "
                f"{UNASSIGNED} under {model}: touches that no [[rules]] rule matched; add "
                "rules for their source/medium values (or a last catch-all rule)"
            )
    return None


#: a value written as a currency: an ISO 4217 code (``EUR``) or a currency sign (``€``)
_CURRENCY = r"^([A-Z]{3}|\p{Sc})$"


def mixed_currencies(files: dict[str, list[str]]) -> list[str]:
    """A deals or costs export with a currency column (Salesforce's ``Amount Currency``, ad
    platforms' ``Currency code``) holding more than one currency: attrib adds the amounts as
    they are, so 12,500 EUR and 30,000 USD made 42,500. One warning per table. Reads that
    one column of the files again (small tables). Only values written as a currency count:
    HubSpot's ``Amount in company currency`` holds amounts, not currencies."""
    found = []
    for table in ("deals", "costs"):
        seen: dict[str, set[str]] = {}  # currency column -> its values, over the files
        for name in files.get(table, []):
            path = Path(name)
            for column in (c for c in file_columns(path) if "currency" in loose_name(c)):
                code = pl.col(column).cast(pl.String).str.strip_chars().str.to_uppercase()
                read = _read_back(path, code.filter(code.str.contains(_CURRENCY)).unique())
                if read is not None:
                    seen.setdefault(column, set()).update(read.to_series().to_list())
        for column, currencies in seen.items():
            if len(currencies) > 1:
                shown = ", ".join(sorted(currencies)[:5])
                found.append(
                    f"{table}: column {column!r} holds {len(currencies)} currencies ({shown}):"
                    " their amounts are added as they are; convert them to one currency in"
                    " the export, or run each currency apart"
                )
                break
    return found


def several_customers_per_deal(inputs: Inputs) -> str | None:
    """Deals whose customer_id lists several contacts (HubSpot's ``Associated Contact IDs``:
    ``105;106``): such a deal matches no touch of either contact, and is credited to
    ``(none)`` with only the zero-touch count to show for it. (By the deals alone, which
    every engine holds: a ';' is no part of a CRM's ids.) Not at account level, where a deal
    joins its account's journey whatever its customer_id says."""
    if inputs.config.level == "account":
        return None
    if CUSTOMER_ID not in inputs.deals.columns or inputs.deals.schema[CUSTOMER_ID] != pl.String:
        return None
    ids = inputs.deals.get_column(CUSTOMER_ID)
    listed = ids.filter(ids.str.contains(";", literal=True)).unique(maintain_order=True)
    if listed.is_empty():
        return None
    return (
        f"{listed.len()} deal customer id(s) list several contacts ({_names(listed.to_list())}):"
        " such a deal matches the touches of no contact and is credited to (none); give each"
        " deal one customer_id in the export (e.g. its primary contact)"
    )


#: how exports write a missing value as text (SQL's NULL, Excel's #N/A, pandas' nan and
#: None, JavaScript's undefined, GA's (not set)): matched in any case, spaces aside
PLACEHOLDERS = frozenset(
    ("null", "nil", "none", "nan", "n/a", "#n/a", "-", "--", "(not set)", "not set", "(null)")
)
PLACEHOLDERS |= {"(blank)", "(empty)", "undefined"}


def _placeholders(values: pl.Series) -> list[str]:
    """The values of a (small) text column that are a missing value written as text."""
    if values.dtype != pl.String:
        return []
    found = values.filter(values.str.strip_chars().str.to_lowercase().is_in(PLACEHOLDERS))
    return sorted(found.unique().to_list())


def placeholder_values(inputs: Inputs, touch_channels: Sequence[str]) -> list[str]:
    """Ids and channels written as a missing value in words (``NULL``, ``N/A``, ``-``,
    ``(not set)``, ``undefined``): each is read as a real id or name, so the deals whose
    customer_id is ``NULL`` all share one customer (and take the touches of every visitor
    whose id is ``NULL``), and a ``N/A`` channel is credited as a channel. Only an empty
    value is missing. By the small tables (deals, costs) and the touches' distinct
    channels, which every engine holds; not the touch rows themselves."""
    found = []
    channels = [c for c in touch_channels if " ".join(c.casefold().split()) in PLACEHOLDERS]
    if channels:
        found.append(
            f"touch channel(s) {_names(channels)} are a missing value written as text, and"
            " are credited as channels of their own: leave the channel empty in the export"
            " (the row is rejected), or name the traffic (with [[rules]], touches no rule"
            " matches are (unassigned))"
        )
    tables = (
        ("deals", inputs.deals, (DEAL_ID, CUSTOMER_ID, ACCOUNT_ID)),
        # (not the costs' campaign: GA writes "(not set)" in touches and cost imports alike,
        # and the two must match)
        ("costs", inputs.costs, (CHANNEL,)),
    )
    for table, frame, columns in tables:
        for column in columns:
            if frame is None or column not in frame.columns:
                continue
            if not (values := _placeholders(frame.get_column(column))):
                continue
            what = {
                DEAL_ID: "read as a real deal id",
                CUSTOMER_ID: "read as a real id: the deals written so are one customer's, and"
                " take the touches of every visitor whose id is written so",
                ACCOUNT_ID: "read as a real id: the deals written so are one account's",
            }.get(column, "read as a name of its own")
            found.append(
                f"{table}: {column} holds {_names(values)}, a missing value written as text,"
                f" {what}; leave it empty in the export"
            )
    return found


#: a cost report's column for the last day each row covers (Meta's ``Reporting ends`` and
#: ``date_stop``, ``End Date``, ``Week ending``), by ``loose_name``'s start; not Meta's
#: ``Ends``, a campaign's scheduled end
_ROW_END_COLUMNS = ("reportingend", "enddate", "dateend", "datestop", "periodend", "weekending")


def multi_day_cost_rows(files: dict[str, list[str]], config: RunConfig) -> list[str]:
    """Cost rows that cover several days, as their file's end column says (an ad platform's
    report of a campaign's whole period: ``Reporting starts`` 2025-01-01, ``Reporting ends``
    2025-03-31): a row is counted on its date's day, or its month when dated on a 1st, so a
    quarter's spend all fell in January, and a window from February counted none of it.
    Rows whose end is their date, or the last day of their 1st's month, are what the run
    reads them as. Reads two columns of the cost files again (a small table)."""
    found = []
    if (source := _source(config, "costs", "date")) is None:
        return found
    for name in files.get("costs", []):
        path = Path(name)  # (a Spark engine's folder or URI: no columns, skipped)
        columns = file_columns(path)
        ends = [c for c in columns if c != source and loose_name(c).startswith(_ROW_END_COLUMNS)]
        if source not in columns or not ends:
            continue
        start, end = _day_of(source), _day_of(ends[0])
        covered = (end <= start) | ((start.dt.day() == 1) & (end <= start.dt.month_end()))
        spans = _read_back(path, start.filter(~covered), end.filter(~covered))
        if spans is not None and spans.height:
            spans.columns = ["start", "end"]
            first = spans.row(0, named=True)
            found.append(
                f"{name}: {spans.height} cost row(s) cover more than the day (or, dated on a"
                f" 1st, the month) they are counted in, as column {ends[0]!r} says (e.g."
                f" {first['start']} to {first['end']}): each row's spend is counted on its"
                f" {source!r} alone, so a window or month after it gets none of it; export"
                " one row per day or month (ad platforms: a breakdown by day)"
            )
    return found


def micro_units(config: RunConfig) -> list[str]:
    """Spend or amounts mapped from a column in millionths (the Google Ads API's
    ``metrics.cost_micros``): read as they are, they are a million times too large."""
    return [
        f"[columns.{table}] {column} = {source!r}: a column in micros holds millionths of the"
        " currency, so every value is read a million times too large; divide it by 1,000,000"
        " in the export"
        for table, column in (("costs", "spend"), ("deals", "amount"))
        if (source := _source(config, table, column)) is not None and "micros" in loose_name(source)
    ]


def input_warnings(
    inputs: Inputs, touch_channels: Sequence[str], sales_channels: Sequence[str]
) -> list[str]:
    """The warnings the validated inputs alone give: first what the config and the files
    say (``micro_units``, ``campaign_lookalikes``, ``dotted_thousands``,
    ``mixed_currencies``: a campaign column named otherwise is also why cost rows repeat),
    then ``unmatched_cost_channels``,
    ``daily_by_repeats``, ``monthly_rows_among_daily``, ``weekly_cost_rows``,
    ``channel_variants``, ``config_channel_variants`` and
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
        several_customers_per_deal(inputs),
    )
    return (
        placeholder_values(inputs, touch_channels)
        + micro_units(inputs.config)
        + campaign_lookalikes(inputs.files, inputs.config)
        + dotted_thousands(inputs.files, inputs.config)
        + multi_day_cost_rows(inputs.files, inputs.config)
        + mixed_currencies(inputs.files)
        + [w for w in found if w is not None]
    )


def metric_warnings(
    inputs: Inputs,
    kpis: pl.DataFrame | None,
    touch_channels: Sequence[str],
    plan: MetricsPlan,
    summary: pl.DataFrame | None = None,
) -> list[str]:
    """The warnings of a run: ``input_warnings``, then the spend and target ones
    (``costs_outside_window`` and ``partial_months`` for the data's span,
    ``unmatched_targets``, ``unassigned_credit`` given the channel summary,
    ``missing_baseline``); every engine calls this."""
    # with --from/--to the user chose what to leave out: only the data's span is checked
    span = None if plan.settings.period_from or plan.settings.period_to else plan.window
    found = (
        costs_outside_window(inputs.costs, span),
        partial_months(inputs.costs, span),
        unmatched_targets(inputs.targets, kpis),
        unassigned_credit(summary, bool(inputs.config.rules)),
        missing_baseline(plan.settings.baseline_period, kpis),
    )
    given = input_warnings(inputs, touch_channels, plan.settings.sales_cost_channels)
    return given + [w for w in found if w is not None]
