"""Warnings about the cost table's grain and reach: spend on channels no touch has or outside
the data's span, months a window cuts, monthly or weekly rows read as daily."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import polars as pl

from attrib.export_checks import quoted_names
from attrib.io import loose_name


def unmatched_cost_channels(
    costs: pl.DataFrame | None,
    touch_channels: Sequence[str],
    sales_channels: Sequence[str],
    declared: Sequence[str] = (),
) -> str | None:
    """Spend on channels that no touch has: it can buy no credit (ROAS of the real channel
    null). Names must match exactly; a match up to case, spaces and separators (``Paid
    Search``, ``paid_search``: ``io.loose_name``) is named as the likely fix. Channels
    ``declared`` in the config (``[channels."TV"]``: offline spend, say) are expected."""
    if costs is None or costs.height == 0:
        return None
    sales = {c.lower() for c in sales_channels}
    known = set(touch_channels) | set(declared)
    by_loose = {loose_name(c): c for c in (*declared, *touch_channels)}
    spent = costs.filter(pl.col("spend") > 0).get_column("channel").unique().sort().to_list()
    missing = [c for c in spent if c not in known and c.lower() not in sales]
    if not missing or not set(touch_channels) - {"(none)"}:  # no touch: said elsewhere
        return None
    fixes = [f"{c!r} -> {by_loose[loose_name(c)]!r}" for c in missing if loose_name(c) in by_loose]
    hint = (
        "; names must match the touches' exactly (case, spaces and separators included): "
        + ", ".join(fixes[:5])
        if fixes
        else "; check the names against the touches' channels, or list offline channels "
        '(TV, print) in the config to say they are expected: [channels."TV"] marketing = true'
    )
    return f"spend on {len(missing)} channel(s) no touch has: {quoted_names(missing)}{hint}"


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
    given = float(touching.get_column("spend").sum())
    counted = float(allocate_costs(touching, start, end).get_column("spend").sum())
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
        f"the cost rows of {quoted_names(channels)} are one a month, each on the 1st, while other "
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
    if not ((gaps % 7 == 0).all() and (gaps >= 7).all()):
        return None
    return (
        f"the cost rows' {days.len()} dates are whole weeks apart ({days[0]}, {days[1]}, ...):"
        " read as daily, each week's spend counts on its date alone, so a window or a month"
        " that cuts a week gets all of it or none; export daily (or monthly) rows, or spread"
        " each week over its days"
    )
