"""Weekly marketing-mix spend (Robyn's and Meridian's simulated MMM tables) as a run's costs.

The wide tables are read where they lie (``$ATTRIB_DATASETS/mmm-robyn-simulated``,
``mmm-meridian-simulated``) and melted into ``date, channel, spend`` rows as the README's
"Wide spend tables" recipe says, into the test's temp folder. The touches and deals are
Olist's real leads and won deals (Robyn's weeks cover them), or, for Meridian's 2021-2024
weeks, the generator's touches over those years. Every expected number is recounted from
the raw wide files with the csv module: spend per channel (and geo) inside the window, the
weeks and spend outside it, first-touch revenue per Olist origin, so ROAS and ROMI are
checked end to end, not as attrib's own columns divided by each other.
"""

from __future__ import annotations

import calendar
import csv
import json
import math
from collections import defaultdict
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import csv_rows, dataset_files, olist_config, run_cli

pytestmark = pytest.mark.datasets

ROBYN = "mmm-robyn-simulated/dt_simulated_weekly.csv"
MERIDIAN_NATIONAL = "mmm-meridian-simulated/national_all_channels.csv"
MERIDIAN_GEO = "mmm-meridian-simulated/geo_all_channels.csv"
MQL = "olist-marketing-funnel/olist_marketing_qualified_leads_dataset.csv"
DEALS = "olist-marketing-funnel/olist_closed_deals_dataset.csv"

# Robyn's spend columns as the touches name the channels (Olist's origins); TV, OOH and print
# have no touch: offline spend, listed in the config so that it is expected
ROBYN_CHANNELS = {
    "search_S": "paid_search",
    "facebook_S": "social",
    "tv_S": "TV",
    "ooh_S": "OOH",
    "print_S": "Print",
}
OFFLINE = ("TV", "OOH", "Print")
GROSS_MARGIN = 0.7


@pytest.fixture(scope="module")
def root() -> Path:
    return dataset_files(ROBYN, MQL, DEALS)


@pytest.fixture(scope="module")
def robyn(root) -> list[dict[str, str]]:
    return csv_rows(root / ROBYN)


@pytest.fixture(scope="module")
def prepared(root, tmp_path_factory) -> Path:
    """The melted weekly costs (as the README's recipe writes them) and the Olist config."""
    tmp = tmp_path_factory.mktemp("mmm")
    wide = pl.read_csv(root / ROBYN)
    (
        wide.unpivot(
            index="DATE", on=list(ROBYN_CHANNELS), variable_name="channel", value_name="spend"
        )
        .rename({"DATE": "date"})
        .with_columns(pl.col("channel").replace_strict(ROBYN_CHANNELS))
        .write_csv(tmp / "costs.csv")
    )
    offline = "".join(f'[channels."{c}"]\nmarketing = true\n' for c in OFFLINE)
    (tmp / "olist.toml").write_text(olist_config() + offline, encoding="utf-8")
    (tmp / "undeclared.toml").write_text(olist_config(), encoding="utf-8")
    return tmp


def _inputs(root: Path, prepared: Path, config: str = "olist.toml") -> list:
    return [
        "--touchpoints",
        root / MQL,
        "--deals",
        root / DEALS,
        "--costs",
        prepared / "costs.csv",
        "--config",
        prepared / config,
    ]


def _run(root: Path, prepared: Path, out: Path, *window: str) -> dict:
    args = ["run", *_inputs(root, prepared), "--out", out, "--models", "first_touch"]
    run_cli([*args, "--gross-margin", GROSS_MARGIN, "-q", *window])
    return json.loads((out / "manifest.json").read_text())


def _weekly_spend(robyn, start: date, end: date) -> dict[str, float]:
    """Σ each spend column over the weeks dated inside [start, end]: a weekly row is read as
    a day (docs/METRICS.md, Cost grain), so it counts in full on its date or not at all."""
    spend: dict[str, list[float]] = defaultdict(list)
    for row in robyn:
        if start <= date.fromisoformat(row["DATE"]) <= end:
            for column, channel in ROBYN_CHANNELS.items():
                spend[channel].append(float(row[column]))
    return {c: math.fsum(v) for c, v in spend.items()}


def _first_touch_revenue(root: Path, start: date, end: date) -> dict[str, float]:
    """Olist revenue per origin under first touch, recounted: a deal's one touch is its MQL's
    first contact (a date: midnight) when it lies within the 365 days up to the win; deals
    won in [start, end] only (a won deal belongs to its close's day)."""
    origin = {m["mql_id"]: (m["origin"], m["first_contact_date"]) for m in csv_rows(root / MQL)}
    revenue: dict[str, list[float]] = defaultdict(list)
    for deal in csv_rows(root / DEALS):
        won = datetime.fromisoformat(deal["won_date"])
        if not start <= won.date() <= end:
            continue
        channel, contact = origin[deal["mql_id"]]
        touched = datetime.fromisoformat(contact)
        credited = channel if channel and timedelta(0) <= won - touched <= timedelta(365) else None
        revenue[credited or "(none)"].append(float(deal["declared_monthly_revenue"]))
    return {c: math.fsum(v) for c, v in revenue.items()}


def _data_span(root: Path) -> tuple[date, date]:
    """The reporting window without --from/--to: the valid touches' and deals' span (MQLs
    without an origin are rejected touches)."""
    days = [
        date.fromisoformat(m["first_contact_date"]) for m in csv_rows(root / MQL) if m["origin"]
    ]
    days += [datetime.fromisoformat(d["won_date"]).date() for d in csv_rows(root / DEALS)]
    return min(days), max(days)


def _summary(out: Path) -> dict[str, dict]:
    cs = pl.read_parquet(out / "channel_summary.parquet").filter(pl.col("model") == "first_touch")
    return {r["channel"]: r for r in cs.iter_rows(named=True)}


def _kpis(out: Path) -> dict[tuple[str, str], float | None]:
    k = pl.read_parquet(out / "kpis.parquet")
    return {(r["kpi"], r["period"]): r["value"] for r in k.iter_rows(named=True)}


def test_weekly_spend_over_the_data_span(root, robyn, prepared, tmp_path):
    """Without --from/--to the window is the data's span: the weeks dated in it count whole,
    the others nowhere (and the run says how many, and how much), and each channel's ROAS
    and ROMI divide its recounted first-touch revenue by its recounted spend."""
    manifest = _run(root, prepared, tmp_path / "out")
    start, end = _data_span(root)
    assert manifest["reporting_window"]["from"] == start.isoformat()
    assert manifest["reporting_window"]["to"] == end.isoformat()

    spend = _weekly_spend(robyn, start, end)
    revenue = _first_touch_revenue(root, start, end)
    summary = _summary(tmp_path / "out")
    for channel, expected in spend.items():
        row = summary[channel]
        assert row["spend"] == pytest.approx(expected, rel=1e-9), channel
        got = revenue.get(channel, 0.0)
        assert row["revenue"] == pytest.approx(got, rel=1e-9, abs=1e-9), channel
        assert row["roas"] == pytest.approx(got / expected, rel=1e-9, abs=1e-12), channel
        romi = (got * GROSS_MARGIN - expected) / expected
        assert row["romi"] == pytest.approx(romi, rel=1e-9), channel
    for channel in OFFLINE:  # spend, no touch: no return
        assert summary[channel]["revenue"] == 0
        assert summary[channel]["romi"] == -1
    # organic origins have credit and no cost: their cost ratios are unmeasured, not 0
    assert summary["organic_search"]["spend"] == 0
    assert summary["organic_search"]["roas"] is None
    assert summary["organic_search"]["cac"] is None

    k = _kpis(tmp_path / "out")
    total = math.fsum(spend.values())
    assert k[("marketing_spend", "all")] == pytest.approx(total, rel=1e-9)
    assert k[("mer", "all")] == pytest.approx(math.fsum(revenue.values()) / total, rel=1e-9)

    warnings = manifest["warnings"]
    weeks = sorted({r["DATE"] for r in robyn})
    weekly = [w for w in warnings if "whole weeks apart" in w]
    assert len(weekly) == 1, warnings
    assert f"{len(weeks)} dates" in weekly[0]
    assert weeks[0] in weekly[0]
    outside = [r for r in robyn if not start <= date.fromisoformat(r["DATE"]) <= end]
    lost = math.fsum(float(r[c]) for r in outside for c in ROBYN_CHANNELS)
    n_rows = len(outside) * len(ROBYN_CHANNELS)
    said = f"{n_rows:,} cost row(s) with {lost:,.2f} of spend lie outside the reporting window"
    assert any(said in w for w in warnings), warnings
    # the offline channels are declared in the config: their spend is expected
    assert not [w for w in warnings if "no touch has" in w], warnings


def test_windows_count_each_week_on_its_date(root, robyn, prepared, tmp_path):
    """--from/--to: a week's row counts in full when its date (Robyn's Monday) is inside,
    so a window from a Wednesday leaves that week out, and two adjacent windows add up to
    the window they split; each month's marketing_spend is its own weeks'."""
    windows = [(date(2018, 1, 3), date(2018, 4, 30)), (date(2018, 5, 1), date(2018, 9, 30))]
    parts = []
    for i, (start, end) in enumerate(windows):
        out = tmp_path / f"w{i}"
        window = ["--from", start.isoformat(), "--to", end.isoformat()]
        manifest = _run(root, prepared, out, *window)
        assert manifest["reporting_window"]["given"] is True
        assert not [w for w in manifest["warnings"] if "outside the reporting window" in w]
        summary = _summary(out)
        spend = _weekly_spend(robyn, start, end)
        revenue = _first_touch_revenue(root, start, end)
        for channel, expected in spend.items():
            assert summary[channel]["spend"] == pytest.approx(expected, rel=1e-9), channel
            got = revenue.get(channel, 0.0)
            assert summary[channel]["revenue"] == pytest.approx(got, rel=1e-9, abs=1e-9)
        k = _kpis(out)
        month = date(start.year, start.month, 1)
        while month <= end:
            last = date(month.year, month.month, calendar.monthrange(month.year, month.month)[1])
            in_month = _weekly_spend(robyn, max(month, start), min(last, end))
            assert k[("marketing_spend", f"{month:%Y-%m}")] == pytest.approx(
                math.fsum(in_month.values()), rel=1e-9
            ), month
            month = last + timedelta(days=1)
        parts.append(summary)
    # the week dated Monday 2018-01-01 is before a window from Wednesday 2018-01-03
    monday = next(r for r in robyn if r["DATE"] == "2018-01-01")
    with_it = _weekly_spend(robyn, date(2018, 1, 1), windows[0][1])["paid_search"]
    assert parts[0]["paid_search"]["spend"] == pytest.approx(
        with_it - float(monday["search_S"]), rel=1e-9
    )
    whole = _weekly_spend(robyn, windows[0][0], windows[-1][1])
    for channel, expected in whole.items():
        assert math.fsum(p[channel]["spend"] for p in parts) == pytest.approx(expected, rel=1e-9)


def test_weekly_spend_summed_into_months_is_prorated(root, robyn, prepared, tmp_path):
    """The other fix the weekly warning offers: sum the weeks into months (dated the 1st).
    The data's span cuts its first and last month, whose spend counts by the days inside,
    and the run says how much was prorated away."""
    monthly: dict[tuple[str, str], list[float]] = defaultdict(list)
    for row in robyn:
        first = date.fromisoformat(row["DATE"]).replace(day=1).isoformat()
        for column, channel in ROBYN_CHANNELS.items():
            monthly[(first, channel)].append(float(row[column]))
    costs = tmp_path / "monthly.csv"
    with costs.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["date", "channel", "spend"])
        for (first, channel), values in sorted(monthly.items()):
            writer.writerow([first, channel, repr(math.fsum(values))])
    out = tmp_path / "out"
    args = [
        "run",
        *_inputs(root, prepared),
        "--costs",
        costs,
        "--out",
        out,
        "--models",
        "first_touch",
        "-q",
    ]
    run_cli(args)
    start, end = _data_span(root)
    expected: dict[str, float] = defaultdict(float)
    cut = 0.0
    for (first, channel), values in monthly.items():
        month = date.fromisoformat(first)
        days = calendar.monthrange(month.year, month.month)[1]
        last = month.replace(day=days)
        inside = (min(last, end) - max(month, start)).days + 1
        if inside > 0:
            expected[channel] += math.fsum(values) * inside / days
            cut += math.fsum(values) * (days - inside) / days
    summary = _summary(out)
    for channel, value in expected.items():
        assert summary[channel]["spend"] == pytest.approx(value, rel=1e-9), channel
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert not [w for w in warnings if "whole weeks apart" in w], warnings
    assert any(f"{cut:,.2f} of their monthly spend is prorated away" in w for w in warnings)


def test_offline_spend_not_in_the_config_is_named(root, prepared):
    """Spend on TV, OOH and print, which no Olist touch has, is named (it buys no credit)
    until the config lists those channels."""
    args = ["validate", *_inputs(root, prepared, "undeclared.toml"), "--format", "json"]
    warnings = json.loads(run_cli(args).stdout)["warnings"]
    named = [w for w in warnings if "no touch has" in w]
    assert len(named) == 1, warnings
    assert all(repr(c) in named[0] for c in OFFLINE)
    assert "paid_search" not in named[0]
    assert "social" not in named[0]


@pytest.mark.parametrize("table", [ROBYN, MERIDIAN_NATIONAL, MERIDIAN_GEO])
def test_a_wide_spend_table_as_costs_is_told_to_melt(table, tmp_path):
    """The wide file itself given as --costs has no channel or spend column to map: the
    error says to melt it (and names its date column), not to map a column it lacks."""
    root = dataset_files(table, MQL, DEALS)
    config = tmp_path / "olist.toml"
    config.write_text(olist_config(), encoding="utf-8")
    args = ["validate", "--touchpoints", root / MQL, "--deals", root / DEALS]
    result = run_cli([*args, "--costs", root / table, "--config", config], exit_code=2)
    text = " ".join(result.output.split())
    assert "wide spend table" in text, text
    assert "unpivot(" in text, text
    with (root / table).open(newline="", encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    day = "DATE" if "DATE" in header else "time"
    assert f'index="{day}"' in text, text
    assert '= "<your column>"' not in text, text


def test_meridian_geo_spend_by_campaign(tmp_path):
    """Meridian's 40 geos as campaigns of five channels (the generator's touches over the
    same years): each (channel, geo)'s spend in a year's window is the raw rows', a channel's
    campaigns add up to it, and each quarter's marketing_spend is its weeks'."""
    import attrib.api as at
    from attrib.synth.process import generate_frames

    root = dataset_files(MERIDIAN_GEO)
    names = {
        f"Channel{i}_spend": n
        for i, n in enumerate(["Paid Search", "LinkedIn Ads", "Display", "Paid Social", "Events"])
    }
    geo = pl.read_csv(root / MERIDIAN_GEO)
    costs = (
        geo.select("time", "geo", *names)
        .unpivot(index=["time", "geo"], variable_name="channel", value_name="spend")
        .rename({"time": "date", "geo": "campaign"})
        .with_columns(pl.col("channel").replace_strict(names))
    )
    frames = generate_frames(customers=600, start="2021-01-01", months=36)
    start, end = date(2022, 1, 1), date(2022, 12, 31)
    window = {"period_from": start.isoformat(), "period_to": end.isoformat()}
    run = at.run(
        touchpoints=frames["touchpoints"],
        deals=frames["deals"],
        stages=frames["stages"],
        costs=costs,
        models="linear",
        metrics=window,
    )
    expected: dict[tuple[str, str], list[float]] = defaultdict(list)
    quarters: dict[str, list[float]] = defaultdict(list)
    for row in csv_rows(root / MERIDIAN_GEO):
        day = date.fromisoformat(row["time"])
        if start <= day <= end:
            for column, channel in names.items():
                expected[(channel, row["geo"])].append(float(row[column]))
                quarters[f"{day.year}-Q{(day.month - 1) // 3 + 1}"].append(float(row[column]))
    campaigns = run.tables["campaign_summary"].filter(pl.col("spend") > 0)
    got = {(r["channel"], r["campaign"]): r["spend"] for r in campaigns.iter_rows(named=True)}
    assert set(got) == {k for k, v in expected.items() if math.fsum(v) > 0}
    for key, value in got.items():
        assert value == pytest.approx(math.fsum(expected[key]), rel=1e-9), key
    channels = run.tables["channel_summary"]
    for channel in names.values():
        spend = channels.filter(pl.col("channel") == channel)["spend"].item()
        parts = [v for (c, _), v in got.items() if c == channel]
        assert spend == pytest.approx(math.fsum(parts), rel=1e-9), channel
    kpis = run.tables["kpis"].filter(pl.col("kpi") == "marketing_spend")
    by_period = dict(zip(kpis["period"], kpis["value"], strict=True))
    for quarter, values in quarters.items():
        assert by_period[quarter] == pytest.approx(math.fsum(values), rel=1e-9), quarter
    assert any("whole weeks apart" in w for w in run.manifest["warnings"])
