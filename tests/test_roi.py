"""Spend metrics per model × channel (× campaign) and cost proration, hand-computed."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_frames import add_spend_metrics, deals_frame, stages_frame

from attrib.credit import SUMMARY_METRICS
from attrib.metrics.periods import (
    allocate_costs,
    detect_cost_grain,
    prorate_costs,
    resolve_window,
)
from attrib.metrics.roi import ADDED_COLUMNS
from attrib.metrics.settings import MetricsSettings

D = dt.datetime
d = dt.date

SUMMARY_NUMERIC = SUMMARY_METRICS


def touches_frame(rows):
    """(entity, ts, channel, campaign) → canonical touches."""
    return pl.DataFrame(
        {
            "entity_id": [r[0] for r in rows],
            "customer_id": [r[0] for r in rows],
            "ts": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
            "campaign": [r[3] for r in rows],
            "is_marketing": [r[2] != "partner" for r in rows],
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )


def costs_frame(rows):
    """(date, channel, campaign, spend) → canonical costs."""
    return pl.DataFrame(
        {
            "date": [r[0] for r in rows],
            "channel": [r[1] for r in rows],
            "campaign": [r[2] for r in rows],
            "spend": [r[3] for r in rows],
        },
        schema={"date": pl.Date, "channel": pl.String, "campaign": pl.String, "spend": pl.Float64},
    )


def summary_frame(rows, *, campaign=False):
    """(model, channel[, campaign], revenue) → a channel/campaign summary."""
    n = len(rows)
    data = {"model": [r[0] for r in rows], "channel": [r[1] for r in rows]}
    if campaign:
        data["campaign"] = [r[2] for r in rows]
    data["is_marketing"] = [True] * n
    for k in SUMMARY_NUMERIC:
        data[k] = [float(r[-1]) if k == "revenue" else 0.0 for r in rows]
    return pl.DataFrame(data)


@pytest.fixture
def world():
    touches = touches_frame(
        [
            ("a", D(2026, 1, 1), "ads", "x"),
            ("a", D(2026, 1, 5), "email", "(none)"),
            ("b", D(2026, 1, 3), "seo", "(none)"),
            ("c", D(2026, 2, 1), "ads", "y"),
            ("d", D(2026, 2, 2), "seo", "(none)"),
        ]
    )
    stages = stages_frame(
        [
            ("a", "lead", D(2026, 1, 2)),
            ("a", "sql", D(2026, 1, 10)),
            ("b", "lead", D(2026, 1, 4)),
            ("c", "mql", D(2026, 2, 3)),
        ]
    )
    deals = deals_frame(
        [
            ("1", "a", D(2026, 1, 12), D(2026, 2, 1), "won", 100.0),
            ("2", "c", D(2026, 2, 5), None, "open", 50.0),
        ]
    )
    # daily costs (not all on the 1st); the window is the data span 2026-01-01..2026-02-05
    costs = costs_frame(
        [
            (d(2026, 1, 10), "ads", "x", 30.0),
            (d(2026, 2, 10), "ads", "x", 99.0),
            (d(2026, 1, 15), "display", None, 20.0),
            (d(2026, 1, 20), "Sales", None, 500.0),
        ]
    )
    return touches, stages, deals, costs


def by_key(df: pl.DataFrame, *keys: str) -> dict:
    return {tuple(r[k] for k in keys): r for r in df.iter_rows(named=True)}


def test_hand_computed_channel_metrics(world):
    touches, stages, deals, costs = world
    summary = summary_frame(
        [
            ("first_touch", "ads", 100),
            ("first_touch", "seo", 0),
            ("linear", "ads", 50),
            ("linear", "email", 50),
            ("linear", "seo", 0),
        ]
    )
    s = MetricsSettings(gross_margin=0.5)
    out = add_spend_metrics(summary, costs, touches, stages, deals, s)
    assert out.columns[-len(ADDED_COLUMNS) :] == list(ADDED_COLUMNS)
    assert out.select("model", "channel").rows() == [
        ("first_touch", "ads"),
        ("first_touch", "display"),
        ("first_touch", "seo"),
        ("linear", "ads"),
        ("linear", "display"),
        ("linear", "email"),
        ("linear", "seo"),
    ]
    r = by_key(out, "model", "channel")
    ft_ads = r[("first_touch", "ads")]
    assert ft_ads["spend"] == pytest.approx(30.0)  # the 2026-02-10 row is outside the window
    assert ft_ads["roas"] == pytest.approx(100 / 30)
    assert ft_ads["romi"] == pytest.approx((100 * 0.5 - 30) / 30)
    # leads: a (ads 1/1 ≤ lead 1/2), c (ads 2/1 ≤ lead-by-mql 2/3); sqls: a, c (by opp 2/5)
    assert (ft_ads["leads"], ft_ads["mqls"], ft_ads["sqls"], ft_ads["opportunities"]) == (
        2,
        2,
        2,
        2,
    )
    assert ft_ads["cpl"] == pytest.approx(15.0)
    assert ft_ads["cost_per_mql"] == pytest.approx(15.0)
    assert ft_ads["cost_per_opportunity"] == pytest.approx(15.0)
    assert ft_ads["customers"] == 1
    assert ft_ads["cac"] == pytest.approx(30.0)
    lin_ads = r[("linear", "ads")]
    assert lin_ads["romi"] == pytest.approx((50 * 0.5 - 30) / 30)
    assert lin_ads["leads"] == 2  # sourced counts do not depend on the model
    # credited channel without spend: spend 0, every ratio null
    seo = r[("first_touch", "seo")]
    assert seo["spend"] == 0.0
    assert seo["leads"] == 1
    assert all(seo[k] is None for k in ("roas", "romi", "cpl", "cost_per_mql", "cac"))
    # channel with spend but no credit: a row per model, zero credit, zero leads → null CPL
    disp = r[("linear", "display")]
    assert disp["spend"] == pytest.approx(20.0)
    assert disp["revenue"] == 0.0
    assert disp["roas"] == 0.0
    assert disp["romi"] == pytest.approx(-1.0)
    assert disp["leads"] == 0
    assert disp["cpl"] is None
    assert disp["is_marketing"] is True
    # sales-cost rows never become a channel
    assert "Sales" not in out["channel"].to_list()


def test_zero_spend_gives_null_ratios(world):
    touches, stages, deals, _ = world
    costs = costs_frame([(d(2026, 1, 10), "ads", "x", 0.0)])
    summary = summary_frame([("first_touch", "ads", 100)])
    out = add_spend_metrics(summary, costs, touches, stages, deals, MetricsSettings())
    row = out.row(0, named=True)
    assert row["spend"] == 0.0
    assert row["leads"] == 2
    for k in ("roas", "romi", "cpl", "cost_per_mql", "cost_per_sql", "cost_per_opportunity", "cac"):
        assert row[k] is None, k


def test_no_costs_and_no_stages(world):
    touches, _, deals, _ = world
    summary = summary_frame([("first_touch", "ads", 100)])
    out = add_spend_metrics(summary, None, touches, None, deals, MetricsSettings())
    row = out.row(0, named=True)
    assert row["spend"] == 0.0
    # lead/mql/sql are absent from the data: null, not 0; opportunities come from deals
    assert row["leads"] is None
    assert row["mqls"] is None
    assert row["sqls"] is None
    assert row["opportunities"] == 2
    assert row["customers"] == 1


def test_first_touch_after_stage_counts_for_none():
    touches = touches_frame([("e", D(2026, 1, 20), "ads", "(none)")])
    stages = stages_frame([("e", "lead", D(2026, 1, 6))])
    summary = summary_frame([("first_touch", "(none)", 0), ("first_touch", "ads", 0)])
    costs = costs_frame([(d(2026, 1, 7), "ads", None, 10.0)])
    out = add_spend_metrics(summary, costs, touches, stages, None, MetricsSettings())
    r = by_key(out, "channel")
    assert r[("(none)",)]["leads"] == 1
    assert r[("ads",)]["leads"] == 0
    assert r[("ads",)]["cpl"] is None


def test_none_row_added_for_unsourced_leads_is_not_marketing():
    # e2 has a lead (1/6) and no touch: its lead counts for (none), a channel the summary
    # lacks; the row added for it is not marketing ((none) is no channel anyone paid for).
    touches = touches_frame([("e1", D(2026, 1, 1), "ads", "(none)")])
    stages = stages_frame([("e1", "lead", D(2026, 1, 2)), ("e2", "lead", D(2026, 1, 6))])
    summary = summary_frame([("first_touch", "ads", 0)])
    out = add_spend_metrics(summary, None, touches, stages, None, MetricsSettings())
    r = by_key(out, "channel")
    assert r[("ads",)]["leads"] == 1
    assert r[("(none)",)]["leads"] == 1
    assert r[("(none)",)]["is_marketing"] is False
    assert r[("ads",)]["is_marketing"] is True


def test_customer_of_a_date_only_close_counts_the_touch_of_that_day():
    # without journeys a won deal's customer is its entity's first touch at or before the
    # close; a close on a date (midnight) holds the whole day: the 15:00 ads touch counts
    touches = touches_frame([("e", D(2026, 1, 20, 15), "ads", "(none)")])
    deals = deals_frame([("1", "e", D(2026, 1, 20), D(2026, 1, 20), "won", 10.0)])
    summary = summary_frame([("first_touch", "ads", 10)])
    out = add_spend_metrics(summary, None, touches, None, deals, MetricsSettings())
    assert by_key(out, "channel")[("ads",)]["customers"] == 1
    # a close at 12:00 is a time: the 15:00 touch came after it, the customer is (none)'s
    deals = deals_frame([("1", "e", D(2026, 1, 20), D(2026, 1, 20, 12), "won", 10.0)])
    out = add_spend_metrics(summary, None, touches, None, deals, MetricsSettings())
    assert by_key(out, "channel")[("ads",)]["customers"] == 0


def test_stage_counts_and_customers_follow_the_reporting_window():
    # window February 2026. Sources (first touch at or before the first milestone): e1 ads
    # (1/2 <= lead 1/5), e2 ads (2/2 <= lead 2/3), e3 email (1/3 <= lead 1/4).
    # Cumulative stage times: e1 lead 1/5, sql 2/10, opportunity 2/12, customer 2/15;
    # e2 lead 2/3, sql = opportunity 2/5 (created), customer 3/5; e3 lead 1/4, sql =
    # opportunity 1/25, customer 2/20.
    # Counted where the stage was reached in February: ads leads 1 (e2), sqls 2 (e1, e2),
    # opportunities 2 (e1, e2); email none. Customers: won deals closed in February, by
    # first touch: deal 1 (e1, ads) and deal 3 (e3, email); deal 2 closes in March.
    # ads spend 60: cpl 60 / 1, cost_per_sql 60 / 2, cac 60 / 1.
    touches = touches_frame(
        [
            ("e1", D(2026, 1, 2), "ads", "x"),
            ("e2", D(2026, 2, 2), "ads", "x"),
            ("e3", D(2026, 1, 3), "email", "(none)"),
        ]
    )
    stages = stages_frame(
        [
            ("e1", "lead", D(2026, 1, 5)),
            ("e1", "sql", D(2026, 2, 10)),
            ("e2", "lead", D(2026, 2, 3)),
            ("e3", "lead", D(2026, 1, 4)),
        ]
    )
    deals = deals_frame(
        [
            ("1", "e1", D(2026, 2, 12), D(2026, 2, 15), "won", 100.0),
            ("2", "e2", D(2026, 2, 5), D(2026, 3, 5), "won", 50.0),
            ("3", "e3", D(2026, 1, 25), D(2026, 2, 20), "won", 70.0),
        ]
    )
    costs = costs_frame([(d(2026, 2, 10), "ads", "x", 60.0)])
    summary = summary_frame([("first_touch", "ads", 100), ("first_touch", "email", 70)])
    s = MetricsSettings(period_from=d(2026, 2, 1), period_to=d(2026, 2, 28))
    r = by_key(add_spend_metrics(summary, costs, touches, stages, deals, s), "channel")
    ads, email = r[("ads",)], r[("email",)]
    assert (ads["leads"], ads["sqls"], ads["opportunities"], ads["customers"]) == (1, 2, 2, 1)
    assert (email["leads"], email["sqls"], email["opportunities"], email["customers"]) == (
        0,
        0,
        0,
        1,
    )
    assert ads["cpl"] == pytest.approx(60.0)
    assert ads["cost_per_sql"] == pytest.approx(30.0)
    assert ads["cac"] == pytest.approx(60.0)


def test_campaign_level_with_journeys(world):
    touches, stages, deals, costs = world
    journeys = pl.DataFrame(
        {
            "journey_id": [1, 2],
            "entity_id": ["a", "c"],
            "deal_id": ["1", "2"],
            "status": ["won", "open"],
            "amount": [100.0, 50.0],
            "n_touches": [2, 1],
            "path": ["ads > email", "ads"],
            "first_channel": ["ads", "ads"],
            "last_channel": ["email", "ads"],
            "first_touch_at": [D(2026, 1, 1), D(2026, 2, 1)],
            "last_touch_at": [D(2026, 1, 5), D(2026, 2, 1)],
            "created_at": [D(2026, 1, 12), D(2026, 2, 5)],
            "closed_at": [D(2026, 2, 1), None],
            "days_to_close": [31.0, None],
            "marketing_sourced": [True, True],
            "marketing_influenced": [True, True],
        },
        schema_overrides={"closed_at": pl.Datetime("us")},
    )
    summary = summary_frame(
        [("first_touch", "ads", "x", 100), ("first_touch", "ads", "y", 0)], campaign=True
    )
    out = add_spend_metrics(
        summary,
        costs,
        touches,
        stages,
        deals,
        MetricsSettings(),
        by_campaign=True,
        journeys=journeys,
    )
    assert out.select("channel", "campaign").rows() == [
        ("ads", "x"),
        ("ads", "y"),
        ("display", "(none)"),
        ("seo", "(none)"),  # no credit, no spend: listed for the lead it sourced (b)
    ]
    r = by_key(out, "channel", "campaign")
    assert r[("seo", "(none)")]["leads"] == 1
    assert r[("seo", "(none)")]["revenue"] == 0.0
    assert r[("seo", "(none)")]["spend"] == 0.0
    assert r[("seo", "(none)")]["cpl"] is None
    assert r[("seo", "(none)")]["is_marketing"] is True
    assert r[("ads", "x")]["spend"] == pytest.approx(30.0)
    assert r[("ads", "x")]["leads"] == 1  # a
    assert r[("ads", "y")]["leads"] == 1  # c
    assert r[("ads", "x")]["customers"] == 1
    assert r[("ads", "x")]["cac"] == pytest.approx(30.0)
    assert r[("ads", "y")]["customers"] == 0
    assert r[("display", "(none)")]["spend"] == pytest.approx(20.0)


def test_customer_campaign_of_tied_first_touches_is_the_first_by_name():
    # e's first touches tie at 1/1 10:00 on ads, campaigns "b" and "a": journeys order ties
    # by channel then campaign name, so the journey's first touch is ads/"a", and the won
    # deal's customer counts for ("ads", "a") (not "b").
    touches = touches_frame(
        [("e", D(2026, 1, 1, 10), "ads", "b"), ("e", D(2026, 1, 1, 10), "ads", "a")]
    )
    deals = deals_frame([("1", "e", D(2026, 1, 5), D(2026, 1, 9), "won", 10.0)])
    journeys = pl.DataFrame(
        {
            "journey_id": [0],
            "entity_id": ["e"],
            "deal_id": ["1"],
            "status": ["won"],
            "amount": [10.0],
            "n_touches": [2],
            "path": ["ads > ads"],
            "first_channel": ["ads"],
            "last_channel": ["ads"],
            "first_touch_at": [D(2026, 1, 1, 10)],
            "last_touch_at": [D(2026, 1, 1, 10)],
            "created_at": [D(2026, 1, 5)],
            "closed_at": [D(2026, 1, 9)],
            "days_to_close": [7.0 + 14 / 24],
            "marketing_sourced": [True],
            "marketing_influenced": [True],
        }
    )
    summary = summary_frame(
        [("first_touch", "ads", "a", 10), ("first_touch", "ads", "b", 0)], campaign=True
    )
    out = add_spend_metrics(
        summary, None, touches, None, deals, MetricsSettings(), by_campaign=True, journeys=journeys
    )
    r = by_key(out, "channel", "campaign")
    assert r[("ads", "a")]["customers"] == 1
    assert r[("ads", "b")]["customers"] == 0


def test_monthly_costs_prorated_to_window(world):
    touches, stages, deals, _ = world
    costs = costs_frame(
        [
            (d(2026, 1, 1), "ads", None, 310.0),
            (d(2026, 2, 1), "ads", None, 280.0),
            (d(2026, 3, 1), "ads", None, 1000.0),
        ]
    )
    assert detect_cost_grain(costs) == "monthly"
    s = MetricsSettings(period_from=d(2026, 1, 16), period_to=d(2026, 2, 10))
    summary = summary_frame([("first_touch", "ads", 100)])
    out = add_spend_metrics(summary, costs, touches, stages, deals, s)
    # January: 16 of 31 days; February: 10 of 28 days; March: none
    assert out["spend"][0] == pytest.approx(310 * 16 / 31 + 280 * 10 / 28)


def test_grain_detection_daily_when_duplicates():
    c = costs_frame([(d(2026, 1, 1), "ads", None, 1.0), (d(2026, 1, 1), "ads", None, 2.0)])
    assert detect_cost_grain(c) == "daily"
    c2 = costs_frame([(d(2026, 1, 1), "ads", "a", 1.0), (d(2026, 1, 1), "ads", "b", 2.0)])
    assert detect_cost_grain(c2) == "monthly"


def test_resolve_window_default_span(world):
    touches, stages, deals, _ = world
    assert resolve_window(MetricsSettings(), touches, deals, stages) == (
        d(2026, 1, 1),
        d(2026, 2, 5),
    )
    assert resolve_window(MetricsSettings(), None, None, None) is None


@st.composite
def cost_tables(draw):
    monthly = draw(st.booleans())
    n = draw(st.integers(1, 8))
    rows = []
    for i in range(n):
        if monthly:
            day = d(2025, 11, 1) + dt.timedelta(days=31 * i)
            day = day.replace(day=1)
        else:
            day = d(2025, 11, 1) + dt.timedelta(days=draw(st.integers(0, 200)))
        rows.append(
            (
                day,
                draw(st.sampled_from(["ads", "seo"])),
                None,
                draw(st.floats(0, 1e6, allow_nan=False)),
            )
        )
    return costs_frame(rows)


@settings(max_examples=60, deadline=None)
@given(cost_tables(), st.integers(0, 300), st.integers(0, 300))
def test_property_proration_conserves_spend(costs, cut_a, cut_b):
    lo, hi = d(2025, 10, 1), d(2026, 8, 31)
    total = costs["spend"].sum()
    # a window covering every row keeps every unit of spend
    assert allocate_costs(costs, lo, hi)["spend"].sum() == pytest.approx(total, rel=1e-9, abs=1e-6)
    # splitting the window in two adjacent parts conserves spend
    a, b = sorted((cut_a, cut_b))
    m1, m2 = lo + dt.timedelta(days=a), lo + dt.timedelta(days=b)
    whole = prorate_costs(costs, m1, m2)["spend"].sum()
    mid = m1 + dt.timedelta(days=(b - a) // 2)
    left = prorate_costs(costs, m1, mid)["spend"].sum()
    right = prorate_costs(costs, mid + dt.timedelta(days=1), m2)["spend"].sum() if mid < m2 else 0.0
    assert left + right == pytest.approx(whole, rel=1e-9, abs=1e-6)
    assert 0.0 <= whole <= total + 1e-6


def test_marketing_flag_of_spend_only_channel_from_summary(world):
    touches, stages, deals, _ = world
    costs = costs_frame([(d(2026, 1, 10), "partner", None, 10.0)])
    summary = summary_frame([("first_touch", "ads", 100)]).vstack(
        summary_frame([("last_touch", "partner", 0)]).with_columns(
            pl.lit(False).alias("is_marketing")
        )
    )
    out = add_spend_metrics(
        summary, costs, touches.drop("is_marketing"), stages, deals, MetricsSettings()
    )
    r = by_key(out, "model", "channel")
    assert r[("first_touch", "partner")]["is_marketing"] is False  # added row, flag from summary
    assert r[("first_touch", "partner")]["spend"] == pytest.approx(10.0)
    assert r[("last_touch", "partner")]["revenue"] == 0.0


def test_window_beyond_data_is_empty_not_swapped(world):
    touches, stages, deals, _ = world
    s = MetricsSettings(period_from=d(2027, 1, 1))
    assert resolve_window(s, touches, deals, stages) == (d(2027, 1, 1), d(2027, 1, 1))
    s = MetricsSettings(period_to=d(2025, 1, 1))
    assert resolve_window(s, touches, deals, stages) == (d(2025, 1, 1), d(2025, 1, 1))


def test_a_channels_campaigns_add_up_to_it_on_the_sample():
    """Campaigns that sourced leads but won no credit and have no spend used to be absent
    from campaign_summary, so a channel's campaign leads fell short of its own."""
    from pathlib import Path

    from attrib.metrics.roi import STAGE_COLUMNS
    from attrib.run import run

    result = run(Path(__file__).resolve().parent.parent / "data_samples")
    counts = [c for c, _ in STAGE_COLUMNS.values() if c in result.channel_summary.columns]
    columns = [*counts, "customers", "spend", "revenue", "pipeline", "conversions"]
    channel = result.channel_summary.select("model", "channel", *columns)
    summed = result.attribution.campaign_summary.group_by("model", "channel").agg(
        pl.col(*columns).sum()
    )
    joined = channel.join(summed, on=["model", "channel"], how="left", suffix="_c")
    assert joined.height == channel.height
    for column in columns:
        diff = (pl.col(column) - pl.col(f"{column}_c").fill_null(0)).abs()
        assert joined.filter(diff > 1e-6).height == 0, column


def test_spend_does_not_depend_on_the_cost_rows_order():
    """Spend sums followed the cost table's row order: shuffled rows changed the last bits of
    spend, ROAS and every cost KPI (floating-point addition is not associative)."""
    import random

    from attrib.metrics.periods import allocate_costs

    draw = random.Random(1)
    rows = [
        (d(2026, 1, 1 + i % 28), "ads", None, round(draw.uniform(0, 1000), 2)) for i in range(50)
    ]
    got = set()
    for seed in range(30):
        shuffled = rows[:]
        random.Random(seed).shuffle(shuffled)
        got.add(
            allocate_costs(costs_frame(shuffled), d(2026, 1, 1), d(2026, 1, 31))["spend"].item()
        )
    assert len(got) == 1


def _one_deal_run(tmp_path, costs_csv: str):
    """A run over one won deal of channel A's touch, the cost table given, and the window
    2025-01-16 .. 2025-02-10 (16 days of January, 10 of February)."""
    from attrib.run import run

    (tmp_path / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-01-20 10:00:00,A\n")
    (tmp_path / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-21 10:00:00,2025-02-05 10:00:00,won,1000\n"
    )
    (tmp_path / "costs.csv").write_text(costs_csv)
    return run(
        tmp_path,
        models="first_touch",
        metrics={"period_from": "2025-01-16", "period_to": "2025-02-10"},
    )


def _spends(result) -> tuple[list[float], list[float], float]:
    """(channel summary's spend of A, campaign summary's spend rows of A, the KPI's)."""
    kpi = result.tables["kpis"].filter(kpi="marketing_spend", period="all")["value"].item()
    return (
        result.tables["channel_summary"].filter(channel="A")["spend"].to_list(),
        result.tables["campaign_summary"].filter(channel="A")["spend"].to_list(),
        kpi,
    )


@pytest.mark.parametrize(
    "sales_rows",
    [
        "2025-01-01,sales,50\n2025-01-01,sales,50\n",  # a (channel, month) repeated
        "2025-01-15,sales,50\n",  # a day that is not a 1st
    ],
)
def test_a_sales_cost_row_sets_the_grain_of_the_channels_spend_too(tmp_path, sales_rows):
    """The grain is the whole cost table's (docs/METRICS.md, Cost grain): read as daily, A's
    spend in the window is its 2025-02-01 row, 280. The channel summary read the grain off
    the marketing rows alone (monthly: 310 * 16/31 + 280 * 10/28 = 260) while the KPIs read
    the whole table (280): ROAS and CAC disagreed with marketing spend."""
    costs = "date,channel,spend\n2025-01-01,A,310\n2025-02-01,A,280\n" + sales_rows
    assert _spends(_one_deal_run(tmp_path, costs)) == ([280.0], [280.0], 280.0)


def test_a_blank_and_a_none_campaign_repeat_a_cost_key(tmp_path):
    """A blank cost campaign is the campaign "(none)": with a literal "(none)" row of the
    same month the key repeats and the table is daily (A: the 2025-02-01 row, 280), in every
    output. The campaign summary read it daily (280), the channel summary and the KPIs
    monthly (310 * 16/31 + 280 * 10/28 = 260): the campaigns did not add up to the channel."""
    costs = (
        "date,channel,campaign,spend\n2025-01-01,A,,310\n2025-01-01,A,(none),0\n2025-02-01,A,,280\n"
    )
    assert _spends(_one_deal_run(tmp_path, costs)) == ([280.0], [280.0], 280.0)


@pytest.mark.parametrize(
    ("touch_on_it", "config", "marketing_spend"),
    [
        (False, "", 10.0),
        (True, "", 10.0),  # the same 90 is other cost whether or not a touch has the channel
        (False, '[channels."(unassigned)"]\nmarketing = true\n', 100.0),
        (True, '[channels."(unassigned)"]\nmarketing = true\n', 100.0),
    ],
)
def test_spend_on_unassigned_is_marketing_only_where_the_config_says(
    tmp_path, touch_on_it, config, marketing_spend
):
    """``(unassigned)`` is no marketing channel unless ``[channels]`` says so: its spend
    counted as marketing spend when no touch had the channel (the fallback for a channel
    with spend and no credit read only the channels the config lists)."""
    from attrib.run import run

    data = tmp_path / "in"
    data.mkdir()
    rows = ["c1,2025-03-01 10:00:00,Email"] + (
        ["c9,2025-03-11,(unassigned)"] if touch_on_it else []
    )
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\n" + "\n".join(rows) + "\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-03-05,2025-03-20,won,1000\n"
    )
    (data / "costs.csv").write_text(
        "date,channel,spend\n2025-03-10,Email,10\n2025-03-10,(unassigned),90\n"
    )
    (data / "channels.toml").write_text(config)
    result = run(data, models="first_touch")
    kpis = result.tables["kpis"].filter(pl.col("period") == "all")
    value = dict(kpis.select("kpi", "value").rows())
    assert value["marketing_spend"] == pytest.approx(marketing_spend)
    assert value["marketing_share_of_cac"] == pytest.approx(marketing_spend / 100.0)
    flags = dict(result.channel_summary.select("channel", "is_marketing").unique().rows())
    assert flags["(unassigned)"] is (marketing_spend == 100.0)
