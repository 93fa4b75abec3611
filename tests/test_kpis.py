"""Company KPIs: every KPI hand-computed on a tiny dataset, edge cases, settings, Maven recount."""

from __future__ import annotations

import csv
import datetime as dt
import os
import statistics
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import deals as deal_rows
from metric_frames import deals_frame

from attrib.errors import ConfigError
from attrib.metrics.kpis import KPI_NAMES, compute_kpis
from attrib.metrics.settings import MetricsSettings

D = dt.datetime
d = dt.date


def journeys_from(deals: pl.DataFrame, sourced: dict, influenced: dict, dtd: dict):
    """One journey per deal with the given flags and days_to_close (the rest is filler)."""
    ids = deals["deal_id"].to_list()
    return deals.select(
        pl.int_range(pl.len(), dtype=pl.Int64).alias("journey_id"),
        "entity_id",
        "deal_id",
        "status",
        "amount",
        pl.lit(1, pl.Int64).alias("n_touches"),
        pl.lit("ads").alias("path"),
        pl.lit("ads").alias("first_channel"),
        pl.lit("ads").alias("last_channel"),
        pl.col("created_at").alias("first_touch_at"),
        pl.col("created_at").alias("last_touch_at"),
        "created_at",
        "closed_at",
        pl.Series("days_to_close", [dtd.get(i) for i in ids], dtype=pl.Float64),
        pl.Series("marketing_sourced", [sourced[i] for i in ids]),
        pl.Series("marketing_influenced", [influenced[i] for i in ids]),
        # the first touch at the creation: the pipeline window's flags are the journey's
        pl.Series("pipeline_sourced", [sourced[i] for i in ids]),
        pl.Series("pipeline_influenced", [influenced[i] for i in ids]),
    )


def touches_frame(rows):
    return pl.DataFrame(
        {
            "entity_id": [r[0] for r in rows],
            "customer_id": [r[0] for r in rows],
            "ts": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
            "campaign": ["(none)"] * len(rows),
            "is_marketing": [r[3] for r in rows],
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )


def costs_frame(rows):
    return pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "channel": [r[1] for r in rows],
            "campaign": [None] * len(rows),
            "spend": [r[2] for r in rows],
        },
        schema={"date": pl.Date, "channel": pl.String, "campaign": pl.String, "spend": pl.Float64},
    )


@pytest.fixture
def world():
    deals = deals_frame(
        [
            ("1", "a", D(2026, 1, 5), D(2026, 1, 25), "won", 1000.0),
            ("2", "b", D(2026, 1, 10), D(2026, 1, 30), "lost", 500.0),
            ("3", "c", D(2026, 1, 15), D(2026, 3, 20), "won", 3000.0),
            ("4", "e", D(2026, 3, 1), None, "open", 2000.0),
            ("5", "a", D(2026, 1, 20), D(2026, 3, 10), "won", 2000.0),
        ]
    )
    journeys = journeys_from(
        deals,
        sourced={"1": True, "2": False, "3": False, "4": True, "5": True},
        influenced={"1": True, "2": False, "3": True, "4": True, "5": True},
        dtd={"1": 30.0, "3": 70.0, "5": 60.0},
    )
    touches = touches_frame(
        [
            ("a", D(2026, 1, 2), "ads", True),
            ("b", D(2026, 1, 3), "partner", False),
            ("c", D(2026, 1, 4), "seo", True),
            ("e", D(2026, 3, 1), "ads", True),
        ]
    )
    # monthly costs; February holds only a non-marketing (partner) cost
    costs = costs_frame(
        [
            (d(2026, 1, 1), "ads", 600.0),
            (d(2026, 3, 1), "ads", 400.0),
            (d(2026, 1, 1), "SALES", 300.0),
            (d(2026, 2, 1), "partner", 100.0),
        ]
    )
    s = MetricsSettings(
        gross_margin=0.8,
        expected_purchases_per_customer=2.0,
        period_from=d(2026, 1, 1),
        period_to=d(2026, 3, 31),
    )
    return journeys, deals, costs, touches, s


def kpi_table(out: pl.DataFrame) -> dict[tuple[str, str], dict]:
    return {(r["kpi"], r["period"]): r for r in out.iter_rows(named=True)}


def test_shape_and_order(world):
    j, deals, costs, touches, s = world
    out = compute_kpis(j, deals, costs, None, touches, s, None)
    assert out.columns == [
        "kpi",
        "period",
        "value",
        "lo",
        "hi",
        "target",
        "index",
        "index_vs_baseline",
    ]
    periods = ["all", "2026-01", "2026-02", "2026-03", "2026-Q1"]
    assert out.height == len(KPI_NAMES) * len(periods)
    assert out["kpi"].unique(maintain_order=True).to_list() == list(KPI_NAMES)
    assert out["period"].head(5).to_list() == periods
    assert out.select(pl.col("value").is_nan().any()).item() is False
    assert out.select(pl.col("value").is_infinite().any()).item() is False


def test_hand_computed_all_period(world):
    from statsmodels.stats.proportion import proportion_confint

    j, deals, costs, touches, s = world
    k = kpi_table(compute_kpis(j, deals, costs, None, touches, s, None))

    def v(name, period="all"):
        return k[(name, period)]["value"]

    assert v("revenue") == pytest.approx(6000.0)
    assert v("won_deals") == 3
    assert v("win_rate") == pytest.approx(0.75)  # 3 won / 4 closed
    lo, hi = proportion_confint(3, 4, alpha=0.05, method="wilson")
    assert k[("win_rate", "all")]["lo"] == pytest.approx(lo, abs=1e-12)
    assert k[("win_rate", "all")]["hi"] == pytest.approx(hi, abs=1e-12)
    assert v("avg_deal_size") == pytest.approx(2000.0)
    assert v("pipeline_open") == pytest.approx(2000.0)  # deal 4 open on 2026-03-31
    assert v("pipeline_created") == pytest.approx(8500.0)
    assert v("marketing_spend") == pytest.approx(1000.0)  # sales and partner rows excluded
    assert v("mer") == pytest.approx(6.0)
    assert v("marketing_sourced_revenue_share") == pytest.approx(3000 / 6000)
    assert v("marketing_sourced_pipeline_share") == pytest.approx(5000 / 8500)
    assert v("marketing_sourced_deal_share") == pytest.approx(2 / 3)
    lo, hi = proportion_confint(2, 3, alpha=0.05, method="wilson")
    assert k[("marketing_sourced_deal_share", "all")]["lo"] == pytest.approx(lo, abs=1e-12)
    assert v("marketing_influenced_revenue_share") == pytest.approx(1.0)
    assert v("marketing_influenced_pipeline_share") == pytest.approx(8000 / 8500)
    # new customers: a (first won 1/25) and c → 2; other cost = sales 300 + partner 100
    assert v("cac_marketing") == pytest.approx(500.0)
    assert v("cac_total") == pytest.approx(700.0)
    assert v("marketing_share_of_cac") == pytest.approx(1000 / 1400)
    assert v("ltv") == pytest.approx(2000 * 0.8 * 2)
    assert v("ltv_to_cac") == pytest.approx(3200 / 700)
    assert v("cac_payback_months") == pytest.approx(700 / (2000 * 0.8 / 12))
    assert v("days_to_deal_median") == pytest.approx(60.0)
    assert v("days_to_deal_p75") == pytest.approx(65.0)  # linear between 60 and 70
    assert v("days_to_deal_won_deals") == 3  # won deals 1, 3 and 5, each with a first touch
    # sales cycles of won deals: 20, 64, 49 days
    assert v("sales_cycle_days_median") == pytest.approx(49.0)
    assert v("pipeline_velocity") == pytest.approx(1 * 0.75 * 2000 / ((20 + 64 + 49) / 3))
    # the window is exactly Q1, so the quarter equals the whole run
    q1 = [k[(name, "2026-Q1")]["value"] for name in KPI_NAMES]
    assert q1 == pytest.approx([v(name) for name in KPI_NAMES], rel=1e-12)


def test_hand_computed_months_and_empty_month(world):
    j, deals, costs, touches, s = world
    k = kpi_table(compute_kpis(j, deals, costs, None, touches, s, None))

    def v(name, period):
        return k[(name, period)]["value"]

    # January
    assert v("revenue", "2026-01") == pytest.approx(1000.0)
    assert v("win_rate", "2026-01") == pytest.approx(0.5)
    assert v("pipeline_open", "2026-01") == pytest.approx(5000.0)  # deals 3 and 5
    assert v("pipeline_created", "2026-01") == pytest.approx(6500.0)
    assert v("mer", "2026-01") == pytest.approx(1000 / 600)
    assert v("marketing_sourced_pipeline_share", "2026-01") == pytest.approx(3000 / 6500)
    assert v("cac_total", "2026-01") == pytest.approx(900.0)
    assert v("cac_payback_months", "2026-01") == pytest.approx(900 / (1000 * 0.8 / 12))
    assert v("pipeline_velocity", "2026-01") == pytest.approx(2 * 0.5 * 1000 / 20)
    # February: no deal, no touch, only a partner cost
    assert v("revenue", "2026-02") == 0.0
    assert v("won_deals", "2026-02") == 0.0
    assert v("pipeline_created", "2026-02") == 0.0
    assert v("pipeline_open", "2026-02") == pytest.approx(5000.0)
    assert v("marketing_spend", "2026-02") == 0.0
    assert v("marketing_share_of_cac", "2026-02") == 0.0
    for name in (
        "win_rate",
        "avg_deal_size",
        "mer",
        "marketing_sourced_revenue_share",
        "cac_marketing",
        "cac_total",
        "ltv",
        "ltv_to_cac",
        "cac_payback_months",
        "days_to_deal_median",
        "sales_cycle_days_median",
        "pipeline_velocity",
    ):
        assert v(name, "2026-02") is None, name
    assert k[("win_rate", "2026-02")]["lo"] is None
    # March
    assert v("revenue", "2026-03") == pytest.approx(5000.0)
    assert v("win_rate", "2026-03") == pytest.approx(1.0)
    assert v("marketing_sourced_revenue_share", "2026-03") == pytest.approx(0.4)
    assert v("cac_marketing", "2026-03") == pytest.approx(400.0)
    assert v("mer", "2026-03") == pytest.approx(12.5)


def test_days_to_deal_counts_the_won_deals_it_is_measured_over(world):
    """A won deal with no touch has no days to deal (no first touch): the median of 85 of
    4,238 won deals read as every deal's, with nothing to say so."""
    j, deals, costs, touches, s = world
    # deal 5 (won, closed in March) loses its first touch: a zero-touch journey
    j = j.with_columns(
        pl.when(pl.col("deal_id") == "5")
        .then(None)
        .otherwise(pl.col("days_to_close"))
        .alias("days_to_close")
    )
    k = kpi_table(compute_kpis(j, deals, costs, None, touches, s, None))
    assert k[("won_deals", "all")]["value"] == 3
    assert k[("days_to_deal_won_deals", "all")]["value"] == 2  # deals 1 (30 d) and 3 (70 d)
    assert k[("days_to_deal_median", "all")]["value"] == pytest.approx(50.0)
    assert k[("days_to_deal_won_deals", "2026-03")]["value"] == 1  # deal 3 of 3 and 5
    assert k[("days_to_deal_won_deals", "2026-02")]["value"] == 0  # no deal closed


def test_no_closed_deals():
    deals = deals_frame(
        [
            ("1", "a", D(2026, 1, 5), None, "open", 100.0),
            ("2", "b", D(2026, 1, 6), None, "open", 300.0),
        ]
    )
    j = journeys_from(deals, {"1": True, "2": False}, {"1": True, "2": True}, {})
    k = kpi_table(compute_kpis(j, deals, None, None, None, MetricsSettings(), None))
    assert k[("revenue", "all")]["value"] == 0.0
    assert k[("won_deals", "all")]["value"] == 0.0
    assert k[("pipeline_open", "all")]["value"] == pytest.approx(400.0)
    assert k[("marketing_sourced_pipeline_share", "all")]["value"] == pytest.approx(0.25)
    for name in (
        "win_rate",
        "avg_deal_size",
        "marketing_sourced_revenue_share",
        "days_to_deal_median",
        "sales_cycle_days_median",
        "pipeline_velocity",
        "ltv",
    ):
        assert k[(name, "all")]["value"] is None, name
    # no cost table at all: spend is unknown, not zero
    assert k[("marketing_spend", "all")]["value"] is None
    assert k[("mer", "all")]["value"] is None


def test_zero_spend(world):
    j, deals, _, touches, s = world
    costs = costs_frame([(d(2026, 1, 1), "ads", 0.0)])
    k = kpi_table(compute_kpis(j, deals, costs, None, touches, s, None))
    assert k[("marketing_spend", "all")]["value"] == 0.0
    assert k[("mer", "all")]["value"] is None
    assert k[("cac_marketing", "all")]["value"] == 0.0  # 0 spend over 2 new customers
    assert k[("marketing_share_of_cac", "all")]["value"] is None  # 0 / 0


def test_sales_cost_from_settings(world):
    j, deals, costs, touches, _ = world
    s = MetricsSettings(sales_cost=900.0, period_from=d(2026, 1, 1), period_to=d(2026, 3, 31))
    k = kpi_table(compute_kpis(j, deals, costs, None, touches, s, None))
    assert k[("cac_total", "all")]["value"] == pytest.approx((1000 + 900) / 2)
    # prorated by days: January holds 31 of the window's 90 days
    assert k[("cac_total", "2026-01")]["value"] == pytest.approx(600 + 900 * 31 / 90)


def test_targets_and_baseline(world):
    j, deals, costs, touches, _ = world
    s = MetricsSettings(
        baseline_period="2026-01", period_from=d(2026, 1, 1), period_to=d(2026, 3, 31)
    )
    targets = pl.DataFrame(
        {
            "kpi": ["revenue", "win_rate", "mer"],
            "period": ["all", "2026-03", "all"],
            "target": [5000.0, 0.8, 0.0],
        }
    )
    k = kpi_table(compute_kpis(j, deals, costs, None, touches, s, targets))
    assert k[("revenue", "all")]["target"] == 5000.0
    assert k[("revenue", "all")]["index"] == pytest.approx(120.0)
    assert k[("win_rate", "2026-03")]["index"] == pytest.approx(125.0)
    assert k[("mer", "all")]["index"] is None  # target 0
    assert k[("revenue", "2026-01")]["target"] is None
    assert k[("revenue", "2026-03")]["index_vs_baseline"] == pytest.approx(500.0)
    assert k[("revenue", "2026-01")]["index_vs_baseline"] == pytest.approx(100.0)
    assert k[("win_rate", "2026-02")]["index_vs_baseline"] is None
    # a month's baseline indexes months only: the quarter's and the window's revenue totals
    # against January's (600 and 600 against 100 would read as growth) are no comparison
    assert k[("revenue", "2026-Q1")]["index_vs_baseline"] is None
    assert k[("revenue", "all")]["index_vs_baseline"] is None
    quarterly = replace(s, baseline_period="2026-Q1")
    q = kpi_table(compute_kpis(j, deals, costs, None, touches, quarterly, targets))
    assert q[("revenue", "2026-Q1")]["index_vs_baseline"] == pytest.approx(100.0)
    assert q[("revenue", "2026-03")]["index_vs_baseline"] is None


def test_empty_inputs():
    out = compute_kpis(None, None, None, None, None, MetricsSettings(), None)
    assert out.height == 0
    assert out.columns[0] == "kpi"


def test_win_rate_interval_matches_statsmodels_every_period(world):
    from statsmodels.stats.proportion import proportion_confint

    j, deals, costs, touches, s = world
    out = compute_kpis(j, deals, costs, None, touches, s, None).filter(
        pl.col("kpi") == "win_rate", pl.col("lo").is_not_null()
    )
    closed = {"all": (3, 4), "2026-01": (1, 2), "2026-03": (2, 2), "2026-Q1": (3, 4)}
    assert sorted(out["period"].to_list()) == sorted(closed)
    for r in out.iter_rows(named=True):
        lo, hi = proportion_confint(*closed[r["period"]], alpha=0.05, method="wilson")
        assert abs(r["lo"] - lo) < 1e-12
        assert abs(r["hi"] - hi) < 1e-12


# ---- settings -------------------------------------------------------------------------


def test_settings_from_mapping():
    s = MetricsSettings.from_mapping(
        {
            "gross_margin": 0.7,
            "sales_cost": 1000,
            "period_from": "2026-01-01",
            "period_to": d(2026, 6, 30),
            "baseline_period": "2026-Q1",
            "stage_names": {"Marketing Qualified": "mql"},
            "sales_cost_channels": ["sales", "sdr"],
        }
    )
    assert s.gross_margin == 0.7
    assert s.sales_cost == 1000.0
    assert s.period_from == d(2026, 1, 1)
    assert s.sales_cost_channels == ("sales", "sdr")
    assert MetricsSettings.from_mapping(None) == MetricsSettings()


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ({"gross_margn": 0.5}, "unknown key"),
        ({"gross_margin": 1.5}, "gross_margin"),
        ({"gross_margin": "high"}, "must be a number"),
        ({"sales_cost": -1}, "sales_cost"),
        ({"period_from": "2026-13-01"}, "YYYY-MM-DD"),
        ({"period_from": "2026-02-01", "period_to": "2026-01-01"}, "after"),
        ({"baseline_period": "Q1-2026"}, "baseline_period"),
        ({"stage_names": {"x": "prospect"}}, "unknown stage"),
        ({"alpha": 0}, "alpha"),
    ],
)
def test_settings_errors(table, match):
    with pytest.raises(ConfigError, match=match) as e:
        MetricsSettings.from_mapping(table)
    assert e.value.hint


def test_settings_errors_name_every_problem_at_once():
    """An unknown key, a value of the wrong type and values out of range are named together:
    the unknown key alone was named, and fixing a config took a run per kind of problem."""
    with pytest.raises(ConfigError) as e:
        MetricsSettings.from_mapping(
            {"gross_margn": 0.5, "sales_cost": "x", "gross_margin": 1.5, "alpha": 0}
        )
    text = str(e.value)
    assert "'gross_margn' (did you mean 'gross_margin'?)" in text
    assert "sales_cost: must be a number, got 'x'" in text
    assert "gross_margin must be in (0, 1], got 1.5" in text
    assert "alpha must be in (0, 1), got 0.0" in text
    assert e.value.column == "gross_margn"
    with pytest.raises(ConfigError) as e:
        MetricsSettings.from_mapping({"gross_margin": 1.5})
    assert e.value.column == "gross_margin"
    # a Python caller's key that is not text: named, not a TypeError from the did-you-mean
    with pytest.raises(ConfigError, match=r"unknown key\(s\) 1, 'foo'"):
        MetricsSettings.from_mapping({1: 0.5, "foo": 2})


# ---- real dataset ---------------------------------------------------------------------


@pytest.fixture
def maven_csv() -> Path:
    root = os.environ.get("ATTRIB_DATASETS")
    if not root:
        pytest.skip("ATTRIB_DATASETS is not set: the Maven CRM recount needs the shared datasets")
    p = Path(root) / "maven-crm-sales-opportunities" / "sales_pipeline.csv"
    if not p.is_file():
        pytest.skip(f"{p} is missing")
    return p


@pytest.mark.datasets
def test_maven_crm_recount(maven_csv):
    raw = pl.read_csv(maven_csv, infer_schema_length=0)
    deals = raw.select(
        pl.col("opportunity_id").alias("deal_id"),
        pl.col("account").fill_null("(unknown)").alias("entity_id"),
        pl.col("account").fill_null("(unknown)").alias("customer_id"),
        pl.col("engage_date").str.to_datetime("%Y-%m-%d", time_unit="us").alias("created_at"),
        pl.col("close_date").str.to_datetime("%Y-%m-%d", time_unit="us").alias("closed_at"),
        pl.col("deal_stage")
        .replace_strict({"Won": "won", "Lost": "lost"}, default="open")
        .alias("status"),
        pl.col("close_value").cast(pl.Float64).fill_null(0.0).alias("amount"),
    )
    k = kpi_table(compute_kpis(None, deals, None, None, None, MetricsSettings(), None))

    # independent recount with the csv module
    with maven_csv.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    won = [r for r in rows if r["deal_stage"] == "Won"]
    lost = [r for r in rows if r["deal_stage"] == "Lost"]
    cycles = [
        (dt.date.fromisoformat(r["close_date"]) - dt.date.fromisoformat(r["engage_date"])).days
        for r in won
    ]
    assert k[("won_deals", "all")]["value"] == len(won)
    assert k[("win_rate", "all")]["value"] == pytest.approx(
        len(won) / (len(won) + len(lost)), rel=1e-12
    )
    assert k[("avg_deal_size", "all")]["value"] == pytest.approx(
        sum(float(r["close_value"]) for r in won) / len(won), rel=1e-12
    )
    assert k[("sales_cycle_days_median", "all")]["value"] == pytest.approx(
        statistics.median(cycles), rel=1e-12
    )
    # a month: won deals closed in March 2017
    mar = [r for r in won if r["close_date"].startswith("2017-03")]
    assert k[("revenue", "2017-03")]["value"] == pytest.approx(
        sum(float(r["close_value"]) for r in mar), rel=1e-12
    )
    assert np.isfinite(k[("pipeline_velocity", "all")]["value"])


def test_channel_flags_when_touches_lack_is_marketing(world):
    j, deals, costs, touches, s = world
    bare = touches.drop("is_marketing")
    flags = pl.DataFrame({"channel": ["ads", "partner"], "is_marketing": [True, False]})
    with_flags = kpi_table(compute_kpis(j, deals, costs, None, bare, s, None, channel_flags=flags))
    assert with_flags[("marketing_spend", "all")]["value"] == pytest.approx(1000.0)
    # without any flag the partner cost counts as marketing spend
    no_flags = kpi_table(compute_kpis(j, deals, costs, None, bare, s, None))
    assert no_flags[("marketing_spend", "all")]["value"] == pytest.approx(1100.0)
    assert no_flags[("cac_total", "all")]["value"] == pytest.approx(1400.0 / 2)


def test_shuffled_inputs_give_the_same_table(world):
    from polars.testing import assert_frame_equal

    j, deals, costs, touches, s = world
    base = compute_kpis(j, deals, costs, None, touches, s, None)
    for seed in (1, 2, 3):
        got = compute_kpis(
            j.sample(fraction=1, shuffle=True, seed=seed),
            deals.sample(fraction=1, shuffle=True, seed=seed),
            costs.sample(fraction=1, shuffle=True, seed=seed),
            None,
            touches.sample(fraction=1, shuffle=True, seed=seed),
            s,
            None,
        )
        assert_frame_equal(got, base, check_exact=True)


def test_aggregate_by_period_labels_and_nulls():
    """One row per period with the same labels as the calendar; null times count in "all"."""
    from attrib.metrics.periods import aggregate_by_period

    df = pl.DataFrame(
        {
            "t": [D(2025, 1, 5), D(2025, 11, 3), D(2025, 12, 31), None],
            "x": [1.0, 2.0, 3.0, 4.0],
            "unused": ["a", "b", "c", "d"],
        }
    )
    out = aggregate_by_period(df, "t", [pl.col("x").sum().alias("sx"), pl.len().alias("n")])
    got = {r["period"]: (r["sx"], r["n"]) for r in out.iter_rows(named=True)}
    assert got == {
        "all": (10.0, 4),
        "2025-01": (1.0, 1),
        "2025-11": (2.0, 1),
        "2025-12": (3.0, 1),
        "2025-Q1": (1.0, 1),
        "2025-Q4": (5.0, 2),
    }
    assert aggregate_by_period(df.head(0), "t", [pl.len().alias("n")]).height == 0


def test_an_open_deals_expected_close_date_is_not_a_close(tmp_path):
    """CRMs fill closed_at with an expected close date on open deals (Salesforce's CloseDate):
    the deal is still open pipeline in the KPIs, as in the channel summary and the journeys,
    exactly as if the date were empty."""
    from conftest import run_job

    touches = pl.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "ts": ["2025-01-05 10:00:00", "2025-01-06 10:00:00"],
            "channel": ["Email", "Webinar"],
        }
    )

    def deals(expected_close: str | None, created: str = "2025-01-25") -> pl.DataFrame:
        return pl.DataFrame(
            {
                "deal_id": ["d1", "d2"],
                "customer_id": ["c1", "c2"],
                "created_at": ["2025-01-10", created],
                "closed_at": ["2025-02-15", expected_close],
                "status": ["won", "open"],
                "amount": [1000.0, 5000.0],
            }
        )

    runs = {
        name: run_job(tmp_path / name, touches=touches, deals=d, models="linear")
        for name, d in {
            "empty": deals(None),
            "expected": deals("2025-02-20"),
            # an expected date before creation is no reason to reject an open deal
            "earlier": deals("2025-01-20"),
            # nor is one that is no date at all
            "unreadable": deals("TBD"),
        }.items()
    }
    for name, result in runs.items():
        kpis = kpi_table(result.tables["kpis"])
        assert kpis[("pipeline_open", "all")]["value"] == 5000.0, name
        assert result.inputs.quarantine["deals"].height == 0, name
        assert (
            result.tables["journeys"].filter(pl.col("deal_id") == "d2")["closed_at"].is_null().all()
        )
        assert result.tables["kpis"].equals(runs["empty"].tables["kpis"]), name


def test_spend_of_a_declared_non_marketing_channel_without_touches_is_other_cost(tmp_path):
    """A channel with spend and no touch (a trade fair budget) listed as marketing = false
    in [channels]: other cost, not marketing spend, in the KPIs and the channel summary."""
    from conftest import run_job

    touches = pl.DataFrame(
        {"customer_id": ["c1"], "ts": ["2025-01-05 10:00:00"], "channel": ["Email"]}
    )
    deals = deal_rows([("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0)])
    costs = "date,channel,spend\n2025-01-01,Email,300\n2025-01-01,Partner Event,700\n"
    config = '[channels."Partner Event"]\nmarketing = false\n'
    for name, cfg in {"declared": config, "undeclared": ""}.items():
        folder = tmp_path / name
        (folder / "in").mkdir(parents=True)
        (folder / "in" / "costs.csv").write_text(costs, encoding="utf-8")
        result = run_job(folder, touches=touches, deals=deals, config=cfg, models="linear")
        kpis = kpi_table(result.tables["kpis"])
        summary = result.channel_summary.filter(pl.col("channel") == "Partner Event")
        declared = name == "declared"
        # the month's spend, prorated to the data's days (Jan 5-20 of 31)
        share = 16 / 31
        expected = (300 if declared else 1000) * share
        assert kpis[("marketing_spend", "all")]["value"] == pytest.approx(expected), name
        assert summary["is_marketing"].to_list() == [not declared], name
        assert kpis[("cac_marketing", "all")]["value"] == pytest.approx(expected), name


def _sourced_pipeline_run(tmp_path, c2_touch: str):
    """d1 (c1, 300: Email on Jan 5, created Jan 10) and d2 (c2, 100: created on the date
    2025-02-01, won Feb 20), c2's one Email touch at ``c2_touch``; first_touch."""
    from conftest import run_job

    touches = pl.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "ts": ["2025-01-05 10:00:00", c2_touch],
            "channel": ["Email", "Email"],
        }
    )
    deals = pl.DataFrame(
        {
            "deal_id": ["d1", "d2"],
            "customer_id": ["c1", "c2"],
            "created_at": ["2025-01-10", "2025-02-01"],
            "closed_at": ["2025-01-20", "2025-02-20"],
            "status": ["won", "won"],
            "amount": [300.0, 100.0],
        }
    )
    result = run_job(tmp_path, touches=touches, deals=deals, models="first_touch")
    created = result.channel_summary.filter(pl.col("channel") == "Email")["pipeline_created"]
    return kpi_table(result.tables["kpis"]), created.item()


def test_a_deal_first_touched_after_its_creation_is_not_marketing_sourced_pipeline(tmp_path):
    """d2's only touch (Email, Feb 10) came after d2 was created: marketing did not source
    that pipeline, as first_touch's pipeline_created (touches up to creation) says; it
    still influenced it."""
    kpis, created = _sourced_pipeline_run(tmp_path, "2025-02-10 10:00:00")
    assert kpis[("marketing_sourced_pipeline_share", "all")]["value"] == pytest.approx(300 / 400)
    assert kpis[("marketing_influenced_pipeline_share", "all")]["value"] == pytest.approx(1.0)
    assert kpis[("marketing_sourced_revenue_share", "all")]["value"] == pytest.approx(1.0)
    assert created == pytest.approx(300.0)


def test_a_touch_later_on_a_date_only_creation_day_sourced_the_pipeline(tmp_path):
    """d2 was created on a date (2025-02-01, no time) and first touched that day at 10:00:
    the journeys read the date as its whole day, so pipeline_created credits the Email touch;
    the sourced pipeline share reads the creation the same way."""
    kpis, created = _sourced_pipeline_run(tmp_path, "2025-02-01 10:00:00")
    assert created == pytest.approx(400.0)
    assert kpis[("marketing_sourced_pipeline_share", "all")]["value"] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("declared", "share"),
    [("", 0.0), ("marketing = true", 1.0), ("direct = true", 0.0), ("marketing = false", 0.0)],
)
def test_unclassified_traffic_is_not_marketing_unless_declared(tmp_path, declared, share):
    """A journey whose first touch no [[rules]] entry classified ((unassigned)) does not
    count as marketing-sourced: 75% of revenue from unknown traffic used to make the
    sourced share 100%. [channels."(unassigned)"] marketing = true restores it."""
    from conftest import run_job

    touches = pl.DataFrame(
        {
            "customer_id": ["c1"],
            "ts": ["2025-01-05 10:00:00"],
            "source": ["bing"],
            "medium": ["display"],
        }
    )
    deals = deal_rows([("d1", "c1", "2025-01-10", "2025-01-20", "won", 300.0)])
    config = '[[rules]]\nchannel = "Email"\nmedium = "^email$"\n'
    if declared:
        config += f'[channels."(unassigned)"]\n{declared}\n'
    result = run_job(tmp_path, touches=touches, deals=deals, config=config, models="linear")
    kpis = kpi_table(result.tables["kpis"])
    assert kpis[("marketing_sourced_revenue_share", "all")]["value"] == pytest.approx(share)


def test_zoned_expected_close_dates_do_not_reject_won_deals(tmp_path):
    """Open deals' expected close dates (zoned, from a CRM) used to count in closed_at's
    timezone mixing: two won deals with plain dates were the rarer kind and were rejected."""
    from conftest import run_job

    touches = pl.DataFrame(
        {"customer_id": ["c1", "c2"], "ts": ["2025-01-05 10:00:00"] * 2, "channel": ["Email"] * 2}
    )
    deals = pl.DataFrame(
        {
            "deal_id": ["d1", "d2", "o1", "o2", "o3"],
            "customer_id": ["c1", "c2", "c1", "c2", "c3"],
            "created_at": ["2025-01-10"] * 5,
            "closed_at": ["2025-01-20", "2025-01-21", *["2025-03-01T00:00:00Z"] * 3],
            "status": ["won", "won", "open", "open", "open"],
            "amount": [300.0, 100.0, 50.0, 50.0, 50.0],
        }
    )
    result = run_job(tmp_path, touches=touches, deals=deals, models="linear")
    assert result.inputs.quarantine["deals"].height == 0
    assert kpi_table(result.tables["kpis"])[("revenue", "all")]["value"] == 400.0


def test_no_open_deal_is_exactly_zero_open_pipeline():
    """Open pipeline is a running sum of created amounts minus one of closed amounts: with
    every deal closed it came out -5.8e-11 (shown as "-0.00")."""
    rng = np.random.default_rng(1)
    amounts = np.round(rng.uniform(1, 5000, 60), 2)
    start = dt.datetime(2025, 1, 1)
    deals = deals_frame(  # created in one order, closed in the reverse one: other sums
        [
            (
                f"d{i}",
                f"c{i}",
                start + dt.timedelta(hours=i),
                start + dt.timedelta(days=10, hours=-i),
                "won",
                float(a),
            )
            for i, a in enumerate(amounts)
        ]
    )
    k = compute_kpis(None, deals, None, None, None, MetricsSettings())
    open_amount = k.filter(pl.col("kpi") == "pipeline_open")["value"].to_list()
    assert open_amount
    assert all(v == 0.0 and not np.signbit(v) for v in open_amount)
