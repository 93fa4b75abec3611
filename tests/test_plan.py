"""Reverse funnel: hand-computed plans, flags, budget, errors and the history round trip."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import deals, run_cli, touches, write_inputs
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_frames import add_spend_metrics, deals_frame
from polars.testing import assert_frame_equal

from attrib.credit import SUMMARY_METRICS
from attrib.errors import ComputationError, ConfigError, InputError, UsageError
from attrib.metrics.funnel import compute_funnel
from attrib.metrics.plan import PLAN_SCHEMA, plan_from_history, rate_note, reverse_funnel
from attrib.metrics.settings import MetricsSettings

RATES = {"lead": 0.1, "mql": 0.5, "sql": 0.4, "opportunity": 0.5, "offer": 0.8, "customer": 0.5}
S = MetricsSettings()


def stage_values(plan: pl.DataFrame) -> dict[str, float | None]:
    st_ = plan.filter(pl.col("kind") == "stage")
    return dict(zip(st_["name"].to_list(), st_["value"].to_list(), strict=True))


def test_hand_computed_exact_target():
    p = reverse_funnel(10_000, avg_deal_size=1000, rates=RATES, settings=S)
    assert dict(p.schema) == PLAN_SCHEMA
    assert p.get_column("period").null_count() == p.height  # numbers by hand: no history
    # 10 customers; 20 offers; 20 / 0.8 = 25.000000000000004 must still need 25 opportunities
    assert stage_values(p) == {
        "session": 2500,
        "lead": 250,
        "mql": 125,
        "sql": 50,
        "opportunity": 25,
        "offer": 20,
        "customer": 10,
    }
    inputs = p.filter(pl.col("kind") == "input")
    assert inputs["name"].to_list() == ["target_revenue", "avg_deal_size"]
    assert inputs["value"].to_list() == [10_000, 1000]
    st_ = p.filter(pl.col("kind") == "stage")
    assert st_["rate"].to_list() == [None, 0.1, 0.5, 0.4, 0.5, 0.8, 0.5]


def test_hand_computed_ceil():
    p = reverse_funnel(10_500, avg_deal_size=1000, rates=RATES, settings=S)
    # 10.5 → 11 customers; 22 offers; 27.5 → 28 opportunities; 56; 140; 280; 2800
    assert stage_values(p) == {
        "session": 2800,
        "lead": 280,
        "mql": 140,
        "sql": 56,
        "opportunity": 28,
        "offer": 22,
        "customer": 11,
    }


def test_missing_stage_and_default_chain():
    rates = {"mql": 0.5, "sql": 0.5, "opportunity": 0.5, "customer": 0.25}  # no offer
    p = reverse_funnel(4000, avg_deal_size=1000, rates=rates, settings=S)
    # chain: lead (the stage before mql) → mql → sql → opportunity → customer
    assert stage_values(p) == {"lead": 128, "mql": 64, "sql": 32, "opportunity": 16, "customer": 4}


def test_zero_rate_leaves_upper_stages_null():
    rates = dict(RATES, sql=0.0)
    p = reverse_funnel(
        10_000,
        avg_deal_size=1000,
        rates=rates,
        settings=S,
        cpl_by_channel={"ads": 5.0},
        channel_mix={"ads": 1.0},
    )
    v = stage_values(p)
    assert v["sql"] == 50
    assert v["mql"] is None
    assert v["lead"] is None
    assert v["session"] is None
    budget = p.filter(pl.col("kind") == "budget")
    assert budget["value"].to_list() == [None, None]
    assert rate_note(p, "2025-Q1") == (
        "no count above sql (session, lead, mql) can be planned: the conversion rate into sql "
        "is 0; give a rate with --rate sql=0.25 (rates_override={'sql': 0.25}), or pick"
        " another --period (period=)"
    )


def test_a_missing_rate_is_named_and_a_full_plan_has_no_note():
    chain = ("lead", "mql", "sql", "customer")
    p = reverse_funnel(
        4000, avg_deal_size=1000, rates={"mql": 0.5, "customer": 0.25}, settings=S, stages=chain
    )
    assert stage_values(p) == {"lead": None, "mql": None, "sql": 16, "customer": 4}
    assert rate_note(p, "2025-03") == (
        "no count above sql (lead, mql) can be planned: 2025-03 has no conversion rate into "
        "sql; give a rate with --rate sql=0.25 (rates_override={'sql': 0.25}), or pick"
        " another --period (period=)"
    )
    full = reverse_funnel(
        4000, avg_deal_size=1000, rates={"mql": 0.5, "sql": 0.5, "customer": 0.25}, settings=S
    )
    assert rate_note(full, "2025-03") is None
    empty = reverse_funnel(4000, avg_deal_size=None, rates={"customer": 0.25}, settings=S)
    assert rate_note(empty, "x") is None  # (deal_size_note says why)


def test_no_deal_size_gives_null_plan():
    p = reverse_funnel(10_000, avg_deal_size=None, rates=RATES, settings=S)
    assert all(v is None for v in stage_values(p).values())


def test_wide_interval_flags():
    p = reverse_funnel(
        10_000,
        avg_deal_size=1000,
        rates=RATES,
        settings=S,
        rate_intervals={"lead": (0.08, 0.12), "customer": (0.2, 0.8)},
    )
    st_ = {r["name"]: r for r in p.filter(pl.col("kind") == "stage").iter_rows(named=True)}
    assert st_["lead"]["wide_interval"] is False  # (0.12 − 0.08) / 0.1 = 0.4 ≤ 0.5
    assert st_["customer"]["wide_interval"] is True  # 0.6 / 0.5 = 1.2
    assert st_["mql"]["wide_interval"] is None  # no interval known
    assert st_["customer"]["rate_lo"] == 0.2
    tight = reverse_funnel(
        10_000,
        avg_deal_size=1000,
        rates=RATES,
        settings=MetricsSettings(wide_interval_threshold=2.0),
        rate_intervals={"customer": (0.2, 0.8)},
    )
    assert tight.filter(pl.col("name") == "customer")["wide_interval"].item() is False


def test_wide_interval_is_relative_to_the_rate():
    # rate into customer 0.2 with bounds (0.1, 0.35): the width 0.25 is under the threshold
    # 0.5, but relative to the rate it is 0.25 / 0.2 = 1.25 > 0.5: wide.
    p = reverse_funnel(
        1000,
        avg_deal_size=100,
        rates={"customer": 0.2},
        settings=MetricsSettings(),
        rate_intervals={"customer": (0.1, 0.35)},
    )
    assert p.filter(pl.col("name") == "customer")["wide_interval"].item() is True


def test_budget_by_mix_and_cpl():
    p = reverse_funnel(
        10_000,
        avg_deal_size=1000,
        rates=RATES,
        settings=S,
        cpl_by_channel={"ads": 10.0, "seo": None},
        channel_mix={"seo": 1.0, "ads": 3.0},
    )
    b = {r["name"]: r for r in p.filter(pl.col("kind") == "budget").iter_rows(named=True)}
    assert list(b) == ["ads", "seo", "(total)"]
    assert b["ads"]["value"] == pytest.approx(250 * 0.75 * 10.0)
    assert b["ads"]["rate"] == pytest.approx(0.75)
    assert b["ads"]["unit_cost"] == 10.0
    assert b["seo"]["value"] is None  # unknown CPL (organic): no budget figure
    assert b["(total)"]["value"] == pytest.approx(1875.0)
    assert b["(total)"]["rate"] == pytest.approx(0.75)  # seo's quarter of the leads has no CPL


@pytest.mark.parametrize(
    ("cpl", "avg_deal_size", "total_value", "total_rate"),
    [
        ({"ads": 10.0}, None, None, 1.0),  # leads unknown: no budget, but ads has a CPL
        ({}, 1000, None, None),  # no costs at all: no CPL, no share to claim
        ({"ads": None}, 1000, None, None),
    ],
)
def test_budget_total_without_leads_or_costs(cpl, avg_deal_size, total_value, total_rate):
    p = reverse_funnel(
        10_000,
        avg_deal_size=avg_deal_size,
        rates=RATES,
        settings=S,
        cpl_by_channel=cpl,
        channel_mix={"ads": 1.0},
    )
    total = p.filter(pl.col("name") == "(total)").row(0, named=True)
    assert total["value"] == total_value
    assert total["rate"] == total_rate


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rates": {"lead": -0.5, "customer": 0.5}}, ">= 0"),
        ({"rates": {"lead": float("nan"), "customer": 0.5}}, ">= 0"),
        ({"rates": {"prospect": 0.5, "customer": 0.5}}, "unknown stage"),
        ({"rates": {"lead": 0.5}}, "end with 'customer'"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        reverse_funnel(100.0, avg_deal_size=10.0, settings=S, **kwargs)
    with pytest.raises(ConfigError, match="target revenue"):
        reverse_funnel(-1.0, avg_deal_size=10.0, rates=RATES, settings=S)


@settings(max_examples=100, deadline=None)
@given(
    st.floats(0, 1e6),
    st.floats(1, 1e5),
    st.lists(st.floats(0.05, 1.0), min_size=6, max_size=6),
)
def test_property_plan_is_minimal_and_sufficient(target, adsz, rs):
    rates = dict(zip(RATES, rs, strict=True))
    v = stage_values(reverse_funnel(target, avg_deal_size=adsz, rates=rates, settings=S))
    chain = list(v)
    # counts are rounded to 1e-9 before ceil (documented), hence the 1e-9 slack
    assert v["customer"] >= target / adsz - 1e-9
    assert v["customer"] - 1 < target / adsz
    for prev, nxt in itertools.pairwise(chain):
        r = rates[nxt]
        # enough of the previous stage, and not one more than needed
        assert v[prev] >= v[nxt] / r - 1e-9
        assert v[prev] - 1 < v[nxt] / r
        assert v[prev] == math.floor(v[prev])


# ---- round trip on a synthetic history ------------------------------------------------


def synthetic_history(seed: int = 7, n: int = 900):
    """Entities entering Jan–Jun 2026 and moving down the funnel; one deal at most each."""
    rng = np.random.default_rng(seed)
    t0 = dt.datetime(2026, 1, 1)
    start = rng.integers(0, 181, n)
    channel = rng.choice(["ads", "seo", "email"], n)
    gaps = rng.integers(1, 9, (n, 6))
    step_p = [0.7, 0.6, 0.6, 0.7, 0.7, 0.6]  # lead, mql, sql, opportunity, offer, customer
    go = np.cumprod(rng.random((n, 6)) < np.array(step_p), axis=1).astype(bool)
    t_rows, s_rows, d_rows = [], [], []
    names = ["lead", "mql", "sql", "opportunity", "offer", "customer"]
    for i in range(n):  # test-data generation only
        e = f"e{i}"
        t = t0 + dt.timedelta(days=int(start[i]), hours=int(i % 24))
        t_rows.append((e, t, str(channel[i])))
        created = None
        for k, name in enumerate(names):
            if not go[i, k]:
                break
            t = t + dt.timedelta(days=int(gaps[i, k]))
            if name == "opportunity":
                created = t
            elif name == "customer":
                d_rows.append((f"d{i}", e, created, t, "won", float(100 * (1 + i % 7))))
                created = None
            else:
                s_rows.append((e, name, t))
        if created is not None:
            lost = bool(i % 2)
            d_rows.append(
                (
                    f"d{i}",
                    e,
                    created,
                    created + dt.timedelta(days=5) if lost else None,
                    "lost" if lost else "open",
                    50.0,
                )
            )
    touches = pl.DataFrame(
        {
            "entity_id": [r[0] for r in t_rows],
            "customer_id": [r[0] for r in t_rows],
            "ts": [r[1] for r in t_rows],
            "channel": [r[2] for r in t_rows],
            "campaign": ["(none)"] * len(t_rows),
            "is_marketing": [True] * len(t_rows),
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )
    stages = pl.DataFrame(
        {
            "entity_id": [r[0] for r in s_rows],
            "customer_id": [r[0] for r in s_rows],
            "stage": [r[1] for r in s_rows],
            "ts": [r[2] for r in s_rows],
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )
    deals = pl.DataFrame(
        {
            "deal_id": [r[0] for r in d_rows],
            "entity_id": [r[1] for r in d_rows],
            "customer_id": [r[1] for r in d_rows],
            "created_at": [r[2] for r in d_rows],
            "closed_at": [r[3] for r in d_rows],
            "status": [r[4] for r in d_rows],
            "amount": [r[5] for r in d_rows],
        },
        schema_overrides={"created_at": pl.Datetime("us"), "closed_at": pl.Datetime("us")},
    )
    return touches, stages, deals


@pytest.fixture(scope="module")
def history():
    touches, stages, deals = synthetic_history()
    funnel = compute_funnel(stages, touches, deals, S)
    return touches, stages, deals, funnel


@pytest.mark.parametrize("period", ["2026-06", "2026-Q2", "all"])
def test_round_trip_reproduces_stage_counts(history, period):
    _, _, deals, funnel = history
    won = deals.filter(pl.col("status") == "won")
    if period == "2026-06":
        won = won.filter(pl.col("closed_at").dt.month() == 6)
    elif period == "2026-Q2":
        won = won.filter(pl.col("closed_at").dt.quarter() == 2)
    won = won.filter(pl.col("closed_at") < dt.datetime(2026, 12, 31))
    actual_revenue = float(won["amount"].sum())
    plan = plan_from_history(
        actual_revenue, funnel, deals=deals, roi_summary=None, settings=S, period=period
    )
    assert plan.get_column("period").unique().to_list() == [period]
    actual = funnel.filter(
        (pl.col("view") == "period") & (pl.col("period") == period) & (pl.col("channel") == "(all)")
    )
    expected = dict(zip(actual["stage"].to_list(), actual["count"].to_list(), strict=True))
    assert min(expected.values()) > 0
    assert stage_values(plan) == {k: float(v) for k, v in expected.items()}
    st_ = plan.filter(pl.col("kind") == "stage")
    assert st_["wide_interval"].drop_nulls().len() == len(expected) - 1


def test_round_trip_budget_uses_history_cpl(history):
    touches, stages, deals, funnel = history
    costs = pl.DataFrame(
        {
            "date": [dt.date(2026, m, 1) for m in range(1, 7)] * 2,
            "channel": ["ads"] * 6 + ["email"] * 6,
            "campaign": [None] * 12,
            "spend": [1000.0] * 6 + [300.0] * 6,
        },
        schema_overrides={"campaign": pl.String},
    )
    summary = pl.DataFrame(
        {
            "model": ["linear"] * 3,
            "channel": ["ads", "email", "seo"],
            "is_marketing": [True] * 3,
            **{k: [0.0] * 3 for k in SUMMARY_METRICS},
        }
    )
    roi = add_spend_metrics(summary, costs, touches, stages, deals, S)
    june = deals.filter((pl.col("status") == "won") & (pl.col("closed_at").dt.month() == 6))
    plan = plan_from_history(
        float(june["amount"].sum()),
        funnel,
        deals=deals,
        roi_summary=roi,
        settings=S,
        period="2026-06",
    )
    leads_june = funnel.filter(
        (pl.col("view") == "period")
        & (pl.col("period") == "2026-06")
        & (pl.col("stage") == "lead")
        & (pl.col("channel") != "(all)")
    )
    leads = dict(zip(leads_june["channel"].to_list(), leads_june["count"].to_list(), strict=True))
    # CPL: the window's spend over the funnel's leads of the whole window (the mix's count)
    leads_all = funnel.filter(
        (pl.col("view") == "period")
        & (pl.col("period") == "all")
        & (pl.col("stage") == "lead")
        & (pl.col("channel") != "(all)")
    )
    all_leads = dict(leads_all.select("channel", "count").iter_rows())
    spend = dict(roi.select("channel", "spend").iter_rows())
    cpl = {c: spend[c] / all_leads[c] for c in ("ads", "email")}
    b = {
        r["name"]: r["value"] for r in plan.filter(pl.col("kind") == "budget").iter_rows(named=True)
    }
    assert b["ads"] == pytest.approx(leads["ads"] * cpl["ads"], rel=1e-9)
    assert b["email"] == pytest.approx(leads["email"] * cpl["email"], rel=1e-9)
    assert b["seo"] is None
    assert b["(total)"] == pytest.approx(b["ads"] + b["email"], rel=1e-12)


def test_mix_and_rate_overrides(history):
    _, _, deals, funnel = history
    plan = plan_from_history(
        10_000.0,
        funnel,
        deals=deals,
        roi_summary=None,
        settings=S,
        rates_override={"customer": 0.5},
        mix_override={"ads": 1.0},
    )
    st_ = {r["name"]: r for r in plan.filter(pl.col("kind") == "stage").iter_rows(named=True)}
    assert st_["customer"]["rate"] == 0.5
    assert st_["customer"]["rate_lo"] is None
    assert st_["offer"]["value"] == 2 * st_["customer"]["value"]
    names = plan.filter(pl.col("kind") == "budget")["name"].to_list()
    assert names == ["ads", "(total)"]


def test_unknown_period_is_an_input_error(history):
    _, _, deals, funnel = history
    with pytest.raises(InputError, match="no funnel history") as err:
        plan_from_history(1.0, funnel, deals=deals, roi_summary=None, settings=S, period="2019-01")
    # the months it covers, and no column (an argument, not a column, was wrong)
    months = sorted(p for p in funnel["period"].unique().to_list() if len(p) == 7 and "Q" not in p)
    assert err.value.hint.endswith(f": its months run {months[0]} to {months[-1]})")
    assert err.value.column is None
    # a label that is no period at all says so (it said "no funnel history" too)
    for bad in ("2018-13", "Q1-2025", "2025/03", ""):
        with pytest.raises(UsageError, match=f"'{bad}' is not a period label"):
            plan_from_history(1.0, funnel, deals=deals, roi_summary=None, settings=S, period=bad)


def test_a_plan_of_data_without_rows_says_the_data_is_at_fault(tmp_path):
    """Header-only exports: the error blamed the period ('pick a period the data covers')."""
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email")]).clear(),
        deals=deals([("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]).clear(),
    )
    result = run_cli(["plan", data, "--target-revenue", "1000"], exit_code=2)
    text = " ".join(result.output.split())
    assert "no funnel history: the data reached no funnel stage" in text
    assert "attrib validate" in text


def test_plan_takes_strict_and_no_strict_as_run_does(tmp_path):
    """The config's ``[options] strict`` failed a plan with no way to turn it off for one plan,
    and the hint named the Python API's ``.quarantine``; ``--strict`` was unknown."""
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    bad = [*rows, ("d2", "c1", "2025-01-08", "2025-01-10", "won", -5.0)]
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email")]),
        deals=deals(bad),
        config="[options]\nstrict = true\n",
    )
    out = ["--out", tmp_path / "out", "-q"]
    failed = run_cli(["plan", data, "--target-revenue", "1000", *out], exit_code=1)
    text = " ".join(failed.output.split())
    assert "1 input row(s) rejected (deals: 1) and strict is on" in text
    assert f"attrib validate {data} --out checks/" in text
    assert ".quarantine" not in text
    run_cli(["plan", data, "--target-revenue", "1000", "--no-strict", *out])
    (data / "channels.toml").unlink()
    run_cli(["plan", data, "--target-revenue", "1000", "--strict", *out], exit_code=1)
    ignored = run_cli(
        ["plan", "--run", tmp_path / "out", "--target-revenue", "1000", "--strict"], exit_code=2
    )
    assert "--strict/--no-strict would be ignored" in ignored.output


def test_a_malformed_period_fails_before_the_job_runs(tmp_path):
    result = run_cli(
        ["plan", "--target-revenue", "1e6", "--period", "2018-13", "--out", tmp_path], exit_code=2
    )
    assert "'2018-13' is not a period label" in result.output
    assert "YYYY-Qn" in result.output
    assert not (tmp_path / "plan.parquet").exists()


def test_flow_ratio_above_one_is_accepted():
    # more MQLs than leads reached in a month: rate 1.25 is a flow ratio, not an error
    p = reverse_funnel(1000, avg_deal_size=100, rates={"mql": 1.25, "customer": 0.5}, settings=S)
    assert stage_values(p) == {"lead": 16, "mql": 20, "customer": 10}


def test_rate_override_out_of_range(history):
    _, _, deals, funnel = history
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        plan_from_history(
            1.0, funnel, deals=deals, roi_summary=None, settings=S, rates_override={"lead": 25.0}
        )


@pytest.mark.parametrize("period", [None, "2025-Q3"])
def test_plan_from_a_finished_run_equals_plan_from_the_inputs(tmp_path, period):
    """``attrib plan --run OUT`` reads the run's outputs (funnel, kpis, summary, manifest)
    and gives the plan that reading the inputs again gives."""
    samples = str(Path(__file__).resolve().parents[1] / "data_samples")
    run_cli(["run", samples, "--out", tmp_path / "run", "-q", "--from", "2025-02-01"])
    (tmp_path / "config").mkdir()
    config = tmp_path / "config" / "channels.toml"
    original = (Path(samples) / "channels.toml").read_text()
    config.write_text(original + '\n[metrics]\nperiod_from = "2025-02-01"\n')
    args = ["plan", "--target-revenue", "2.5e6", *(["--period", period] if period else [])]
    run_cli([*args, "--run", tmp_path / "run", "--out", tmp_path / "from-run"])
    run_cli([*args, samples, "--config", config, "--out", tmp_path / "from-inputs"])
    from_run = pl.read_parquet(tmp_path / "from-run" / "plan.parquet")
    from_inputs = pl.read_parquet(tmp_path / "from-inputs" / "plan.parquet")
    assert from_run.height > 5
    assert_frame_equal(from_run, from_inputs, check_exact=False, rel_tol=1e-12)


def test_plan_from_a_run_refuses_inputs_and_non_run_folders(tmp_path):
    refused = run_cli(
        ["plan", "--target-revenue", "1e6", "--run", tmp_path, "--deals", "d.csv"], exit_code=2
    )
    assert "--deals would be ignored" in refused.output
    (tmp_path / "empty").mkdir()
    missing = run_cli(["plan", "--target-revenue", "1e6", "--run", tmp_path / "empty"], exit_code=2)
    assert "no funnel.parquet in the run folder" in missing.output


def test_plan_from_a_damaged_run_folder_names_the_file(tmp_path):
    samples = str(Path(__file__).resolve().parents[1] / "data_samples")
    run_cli(["run", samples, "--out", tmp_path / "run", "-q", "--models", "linear"])
    (tmp_path / "run" / "manifest.json").unlink()
    gone = run_cli(["plan", "--target-revenue", "1e6", "--run", tmp_path / "run"], exit_code=2)
    assert "manifest.json is missing or unreadable" in gone.output
    (tmp_path / "run" / "manifest.json").write_text("{}")
    (tmp_path / "run" / "kpis.parquet").write_text("garbage")
    bad = run_cli(["plan", "--target-revenue", "1e6", "--run", tmp_path / "run"], exit_code=2)
    assert "cannot read kpis.parquet" in bad.output
    nowhere = run_cli(["plan", "--target-revenue", "1e6", "--run", tmp_path / "no"], exit_code=2)
    assert "run folder not found" in nowhere.output


def test_repeat_buyers_get_a_caveat(tmp_path):
    """Two customers with five won deals: the plan counts a customer per won deal, and says
    so, from the inputs and from a finished run alike; one deal each: no caveat."""
    t = touches([("c1", "2025-01-02", "Email", "a"), ("c2", "2025-01-03", "Webinar", "b")])
    rows = [(f"d{i}", "c1", "2025-01-05", f"2025-02-0{i}", "won", 100.0) for i in range(1, 5)]
    data = write_inputs(
        tmp_path / "in",
        touches=t,
        deals=deals([*rows, ("d9", "c2", "2025-01-06", "2025-02-09", "won", 50.0)]),
    )
    words = (
        "5 won deals closed in the whole history, but only 2 customer(s) won their first deal"
        " in it (2.5"
    )
    from_inputs = run_cli(["plan", data, "--target-revenue", "1000", "--out", tmp_path / "p"])
    assert words in " ".join(from_inputs.output.split())
    run_cli(["run", data, "--out", tmp_path / "run", "-q"])
    args = ["plan", "--target-revenue", "1000", "--run", tmp_path / "run", "--format", "json"]
    payload = json.loads(run_cli([*args, "--out", tmp_path / "q"]).stdout)
    assert any(words in w for w in payload["warnings"])
    single = write_inputs(
        tmp_path / "one",
        touches=t,
        deals=deals([rows[0], ("d9", "c2", "2025-01-06", "2025-02-09", "won", 50.0)]),
    )
    quiet = run_cli(["plan", single, "--target-revenue", "1000", "--out", tmp_path / "r"])
    assert "won deals closed in" not in quiet.output


def test_repeat_buyer_caveat_of_a_period_counts_new_customers_as_such(tmp_path):
    """In a later period the funnel's customer stage holds only the customers whose first won
    deal closed in it: the caveat said February's 4 won deals "came from 1 customers" when
    two customers won them (c1 had won before, in January)."""
    t = touches([("c1", "2025-01-02", "Email", "a"), ("c2", "2025-01-03", "Webinar", "b")])
    rows = [("d1", "c1", "2025-01-05", "2025-01-20", "won", 100.0)]
    rows += [(f"d{i}", "c1", "2025-01-21", f"2025-02-1{i}", "won", 100.0) for i in (2, 3, 4)]
    rows += [("d9", "c2", "2025-01-06", "2025-02-09", "won", 100.0)]
    data = write_inputs(tmp_path / "in", touches=t, deals=deals(rows))
    args = ["plan", data, "--target-revenue", "1000", "--period", "2025-02", "--format", "json"]
    payload = json.loads(run_cli([*args, "--out", tmp_path / "p"]).stdout)
    caveat = [w for w in payload["warnings"] if "what repeat buyers would need" in w]
    assert len(caveat) == 1, payload["warnings"]
    assert "came from 1 customers" not in caveat[0]
    assert "4 won deals closed in 2025-02, but only 1 customer(s) won their first" in caveat[0]


def test_a_period_of_repeat_buyers_only_gets_the_caveat(tmp_path):
    """February's 3 won deals were all c1's, a customer since January: no customer won a
    first deal in February, and the caveat, which divided by the new customers, said
    nothing while the plan counted a new customer per won deal."""
    t = touches([("c1", "2025-01-02", "Email", "a")])
    rows = [("d1", "c1", "2025-01-05", "2025-01-20", "won", 100.0)]
    rows += [(f"d{i}", "c1", "2025-01-21", f"2025-02-1{i}", "won", 100.0) for i in (2, 3, 4)]
    data = write_inputs(tmp_path / "in", touches=t, deals=deals(rows))
    args = ["plan", data, "--target-revenue", "1000", "--period", "2025-02", "--format", "json"]
    payload = json.loads(run_cli([*args, "--out", tmp_path / "p"]).stdout)
    caveat = [w for w in payload["warnings"] if "repeat buyer" in w]
    assert caveat == [
        "3 won deals closed in 2025-02, but no customer won their first deal in it: the plan"
        " counts one new customer per won deal, and every won deal of 2025-02 was a repeat"
        " buyer's; plan from a period with new customers (--period)"
    ]


def test_a_plan_from_a_run_leaves_the_models_own_warnings_out(tmp_path):
    """A plan reads no credit: a run's Shapley warning (negative values clipped) was
    repeated as bearing on the plan; the run's data warnings still are."""
    from attrib.metrics.plan import plan_from_run, read_run

    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email"), ("c2", "2025-01-06", "Email")]),
        deals=deals([("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0)]),
    )
    run_cli(["run", data, "--out", tmp_path / "run", "-q", "--models", "first_touch"])
    history = read_run(tmp_path / "run")
    model_warning = "shapley: 2 channel(s) got no credit"
    data_warning = "2 input row(s) rejected (touchpoints: 2)"
    history = replace(history, warnings=(model_warning, data_warning))
    assert plan_from_run(1000, history).warnings[0] == data_warning
    assert model_warning not in plan_from_run(1000, history).warnings


def test_budget_counts_leads_as_the_mix_does(tmp_path):
    """c2 became a lead before its first touch (Paid Search), which therefore did not source
    it: the funnel (and so the plan's mix) and channel_summary.leads both count that lead for
    `(none)`. (The funnel used to count it for Paid Search, the summary did not, and the
    budget's CPL then had to pick one of two counts.) Paid Search's CPL: spend 180
    (January's 310 over the data's 18 days) / its 1 lead; its share of the mix 1/2."""
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Paid Search"), ("c2", "2025-01-08", "Paid Search")]),
        deals=deals(
            [
                ("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0),
                ("d2", "c2", "2025-01-10", "2025-01-20", "won", 1000.0),
            ]
        ),
        stages=pl.DataFrame(
            {
                "customer_id": ["c1", "c2"],
                "stage": ["lead", "lead"],
                "ts": ["2025-01-06", "2025-01-03"],
            }
        ),
    )
    (data / "costs.csv").write_text("date,channel,spend\n2025-01-01,Paid Search,310\n")
    run_cli(["run", data, "--out", tmp_path / "run", "-q", "--models", "first_touch"])
    summary = pl.read_parquet(tmp_path / "run" / "channel_summary.parquet")
    assert summary.filter(pl.col("channel") == "Paid Search")["leads"].item() == 1
    funnel = pl.read_parquet(tmp_path / "run" / "funnel.parquet").filter(
        (pl.col("view") == "period") & (pl.col("period") == "all") & (pl.col("stage") == "lead")
    )
    assert dict(funnel.select("channel", "count").iter_rows()) == {
        "(all)": 2,
        "(none)": 1,
        "Paid Search": 1,
    }
    # without --out, the plan lands in the run's folder, where `attrib report` reads it
    run_cli(["plan", "--run", tmp_path / "run", "--target-revenue", "4000"])
    plan = pl.read_parquet(tmp_path / "run" / "plan.parquet")
    leads = plan.filter((pl.col("kind") == "stage") & (pl.col("name") == "lead"))["value"].item()
    budget = plan.filter((pl.col("kind") == "budget") & (pl.col("name") == "Paid Search"))
    assert budget["unit_cost"].item() == pytest.approx(180 / 1)
    assert budget["value"].item() == pytest.approx(leads * (1 / 2) * 180)


@pytest.mark.parametrize("stage", ["offer", "session"])
def test_a_rate_for_no_stage_of_the_funnel_is_refused(history, stage):
    """A --rate into a stage the data's funnel lacks (offer), or into its first stage, used
    to be dropped silently: the plan then ignored what the user asked."""
    _, _, deals, funnel = history
    funnel = funnel.filter(pl.col("stage") != "offer")  # a funnel without offers
    with pytest.raises(ConfigError, match=f"no funnel rate into '{stage}'"):
        plan_from_history(
            1000.0, funnel, deals=deals, roi_summary=None, settings=S, rates_override={stage: 0.5}
        )


def test_the_plan_says_when_it_has_no_budget(tmp_path):
    """No lead stage (Olist's deals have none): stage rows only, and a line that says why."""
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email")]),
        deals=deals([("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0)]),
    )
    result = run_cli(["plan", data, "--target-revenue", "2000", "--out", tmp_path / "p"])
    plan = pl.read_parquet(tmp_path / "p" / "plan.parquet")
    assert plan.filter(pl.col("kind") == "budget").height == 0
    assert "warning: no budget rows: the funnel has no 'lead' stage" in " ".join(
        result.output.split()
    )


def test_the_plan_says_why_every_count_is_empty(tmp_path):
    """A period whose won deals all have amount 0 (Olist's 2018-Q2: declared revenue
    unknown) left every stage "—" without a word: the plan now says why."""
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email"), ("c2", "2025-02-05", "Email")]),
        deals=deals(
            [
                ("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0),
                ("d2", "c2", "2025-02-10", "2025-02-20", "won", 0.0),
            ]
        ),
    )
    args = ["plan", data, "--target-revenue", "2000", "--out", tmp_path / "p"]
    result = run_cli([*args, "--period", "2025-02"])
    text = " ".join(result.output.split())
    assert "warning: no stage can be planned: the average deal size of 2025-02 is unknown" in text
    assert "won deals' amounts are all 0" in text
    assert "no stage can be planned" not in " ".join(run_cli(args).output.split())


def test_plan_quiet_prints_no_table(tmp_path):
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email")]),
        deals=deals([("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0)]),
    )
    args = ["plan", data, "--target-revenue", "2000", "--out", tmp_path / "p"]
    assert "customer" in run_cli(args).output
    quiet = run_cli([*args, "-q"]).output
    assert "customer" not in quiet  # no plan table; the warnings still go to stderr
    assert all(line.startswith("warning:") for line in quiet.splitlines())
    assert (tmp_path / "p" / "plan.parquet").exists()


def test_plan_shows_the_runs_warnings_and_takes_rates_in_any_case(tmp_path):
    """Planning from the inputs runs the job: its warnings (here, a monthly cost table read
    as daily) bear on the CPL and are shown; --rate's stage matches in any case."""
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email"), ("c2", "2025-01-06", "Email")]),
        deals=deals(
            [
                ("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0),
                ("d2", "c2", "2025-01-10", "2025-01-20", "lost", 0.0),
            ]
        ),
    )
    (data / "costs.csv").write_text(
        "date,channel,spend\n2025-01-01,Email,100\n2025-01-01,Email,50\n"
    )
    args = ["plan", data, "--target-revenue", "2000", "--out", tmp_path / "p"]
    result = run_cli([*args, "--rate", "Customer=0.25"])
    text = " ".join(result.output.split())
    assert "warning: every cost row is dated the 1st of a month" in text
    plan = pl.read_parquet(tmp_path / "p" / "plan.parquet")
    customer = plan.filter((pl.col("kind") == "stage") & (pl.col("name") == "customer"))
    assert customer["rate"].item() == 0.25
    payload = json.loads(run_cli([*args, "--format", "json"]).output)
    assert any("read as daily" in w for w in payload["warnings"])
    twice = run_cli([*args, "--rate", "Customer=0.25", "--rate", "customer=0.5"], exit_code=2)
    assert "--rate gives 'customer' twice" in twice.output
    percent = run_cli([*args, "--rate", "Customer=50%"], exit_code=2)
    assert "give the rate as a fraction of 1: Customer=0.5" in " ".join(percent.output.split())
    # a misspelt stage is named as such, whatever its rate (it was "must be in [0, 1]")
    misspelt = run_cli([*args, "--rate", "custmer=2"], exit_code=2)
    assert "no funnel rate into 'custmer'" in misspelt.output
    assert "did you mean 'customer'?" in misspelt.output
    # the period's label in any case, as the funnel writes it
    lower = run_cli([*args, "--period", "2025-q1", "--format", "json"])
    assert json.loads(lower.output)["ok"]
    # and the plan says which period it read (it said nothing: a Q4 plan looked like all's)
    assert json.loads(lower.output)["period"] == "2025-Q1"
    assert json.loads(run_cli([*args, "--format", "json"]).output)["period"] == "all"
    titled = run_cli([*args, "--period", "2025-q1"])
    assert "plan (rates, deal size and lead mix of the history period 2025-Q1)" in titled.output
    # as does the written table, on every row (a BI tool reads no terminal title)
    written = pl.read_parquet(tmp_path / "p" / "plan.parquet")
    assert written.get_column("period").unique().to_list() == ["2025-Q1"]
    # from the finished run's outputs, the plan gives that run's warnings too
    run_cli(["run", data, "--out", tmp_path / "run", "-q", "--models", "first_touch"])
    from_run = ["plan", "--run", tmp_path / "run", "--target-revenue", "2000"]
    payload = json.loads(run_cli([*from_run, "--out", tmp_path / "p2", "--format", "json"]).output)
    assert any("read as daily" in w for w in payload["warnings"])


def test_the_api_plans_from_inputs_as_the_cli_does(tmp_path):
    import attrib.api as at

    samples = Path(__file__).resolve().parents[1] / "data_samples"
    run_cli(["plan", samples, "--target-revenue", "1e6", "--out", tmp_path / "cli", "-q"])
    planned = at.plan_from_inputs(1e6, samples)
    assert planned.table.equals(pl.read_parquet(tmp_path / "cli" / "plan.parquet"))
    assert planned.warnings == ()  # (the sample gives none)
    # from a finished run, a Plan too (it was a bare table, without the warnings or period)
    run_cli(["run", samples, "--out", tmp_path / "run", "-q", "--models", "first_touch"])
    from_run = at.plan_from_run(1e6, tmp_path / "run", period="2025-q2")
    assert (from_run.period, from_run.warnings) == ("2025-Q2", ())
    assert from_run.table.equals(at.plan_from_inputs(1e6, samples, period="2025-Q2").table)
    with pytest.raises(UsageError, match="above 0"):
        at.plan_from_inputs(0, tmp_path / "no-such-folder")  # refused before reading
    with pytest.raises(UsageError, match="not models"):
        at.plan_from_inputs(1e6, samples, models="linear")


def test_the_api_plan_carries_the_runs_warnings_and_the_budget_note(tmp_path):
    import attrib.api as at

    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email")]),
        deals=deals([("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0)]),
    )
    (data / "costs.csv").write_text("date,channel,spend\n2025-01-01,Email,1\n2025-01-01,Email,2\n")
    planned = at.plan_from_inputs(2000, data)
    assert any("read as daily" in w for w in planned.warnings)
    assert any(w.startswith("no budget rows") for w in planned.warnings)  # no lead stage


@pytest.mark.parametrize(
    ("target", "rates"),
    [
        (1e308, {"lead": 1e-4, "customer": 0.5}),  # a huge target at a small rate
        (1e6, {"lead": 0.5, "customer": 1e-320}),  # a subnormal rate: 1 / r overflows
    ],
)
def test_a_plan_too_large_for_a_float_is_a_computation_error(target, rates):
    # math.ceil(inf) raised OverflowError: an internal error (exit 5) for a valid target and rate
    with pytest.raises(ComputationError, match="too large"):
        reverse_funnel(target, avg_deal_size=1000.0, rates=rates, settings=S)


@pytest.mark.parametrize(
    ("target", "cpl", "message"),
    [
        (1e300, {"Search": 1e300}, "budget for Search is too large"),
        # each channel's budget a number, their sum not: the total was written as inf
        (1e308, {"Search": 3.0, "Social": 3.0}, "budget total is too large"),
    ],
)
def test_a_budget_too_large_for_a_float_is_a_computation_error(target, cpl, message):
    with pytest.raises(ComputationError, match=message):
        reverse_funnel(
            target,
            avg_deal_size=1.0,
            rates={"lead": 1.0, "customer": 1.0},
            settings=S,
            channel_mix=dict.fromkeys(cpl, 1.0),
            cpl_by_channel=cpl,
        )


def test_plan_from_a_run_with_tampered_tables_names_the_file(tmp_path):
    # a table retyped (text counts or values) or with repeated KPI rows was an internal error
    samples = str(Path(__file__).resolve().parents[1] / "data_samples")
    run = tmp_path / "run"
    run_cli(["run", samples, "--out", run, "-q", "--models", "linear"])
    good = {name: pl.read_parquet(run / f"{name}.parquet") for name in ("funnel", "kpis")}
    plan = ["plan", "--target-revenue", "1e6", "--run", run, "--out", tmp_path / "p"]
    for name, frame, says in (
        ("funnel", good["funnel"].with_columns(pl.col("count").cast(pl.String)), "'count'"),
        ("kpis", good["kpis"].with_columns(pl.col("value").cast(pl.String)), "'value'"),
        ("kpis", pl.concat([good["kpis"], good["kpis"]]), "repeats"),
    ):
        frame.write_parquet(run / f"{name}.parquet")
        bad = run_cli(plan, exit_code=2)
        assert f"{name}.parquet" in bad.output, bad.output
        assert says in bad.output, bad.output
        good[name].write_parquet(run / f"{name}.parquet")
    run_cli(plan)


def test_a_run_folder_given_as_data_dir_is_told_to_use_run(tmp_path):
    """`attrib plan OUT_DIR` (a run's --out folder where --run was meant) said only that the
    folder holds no inputs and to give the exports' folder: it names --run, which plans from
    those very outputs."""
    t = touches([("c1", "2025-01-02", "Email", "a")])
    data = write_inputs(
        tmp_path / "in",
        touches=t,
        deals=deals([("d1", "c1", "2025-01-03", "2025-01-09", "won", 10.0)]),
    )
    run_cli(["run", data, "--out", tmp_path / "run", "--models", "linear", "-q"])
    result = run_cli(["plan", tmp_path / "run", "--target-revenue", "2.5e6"], exit_code=2)
    text = " ".join(result.output.split())
    assert "holds the outputs of `attrib run`" in text, text
    assert f"attrib plan --run {tmp_path / 'run'} --target-revenue 2500000" in text, text
    # a data folder that is also a run's --out folder still plans from its inputs
    run_cli(["run", data, "--out", data, "--models", "linear", "-q"])
    run_cli(["plan", data, "--target-revenue", "1000", "--out", tmp_path / "p"])
    assert (tmp_path / "p" / "plan.parquet").is_file()


@pytest.mark.parametrize("target", ["nan", "inf", "1e400"])
def test_plan_refuses_a_target_that_is_no_finite_number(target):
    """click's range lets ``nan`` and ``inf`` through: the plan then failed as a config error
    naming a "column 'target_revenue'", which no input has."""
    result = run_cli(["plan", "--target-revenue", target], exit_code=2)
    assert "'--target-revenue':" in result.stderr
    assert "is not a finite number" in result.stderr
    assert "column" not in result.stderr


def test_the_plan_says_which_stages_a_rate_leaves_empty(tmp_path):
    """A rate of 0 given by hand, or a stage the history has no rate into, left the stages
    above it "—" without a word (docs/METRICS.md promised a note): the plan names them."""
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2025-01-05", "Email"), ("c2", "2025-02-05", "Email")]),
        deals=deals(
            [
                ("d1", "c1", "2025-01-10", "2025-01-20", "won", 1000.0),
                ("d2", "c2", "2025-02-10", "2025-02-20", "lost", 500.0),
            ]
        ),
        stages=pl.DataFrame(
            {"customer_id": ["c1", "c2"], "stage": ["lead"] * 2, "ts": ["2025-01-02", "2025-02-02"]}
        ),
    )
    args = ["plan", data, "--target-revenue", "2000", "--out", tmp_path / "p"]
    plain = " ".join(run_cli(args).output.split())
    assert "can be planned" not in plain
    zero = " ".join(run_cli([*args, "--rate", "customer=0"]).output.split())
    assert (
        "warning: no count above customer (session, lead, opportunity) can be planned: the "
        "conversion rate into customer is 0; give a rate with --rate customer=0.25" in zero
    )
    plan = pl.read_parquet(tmp_path / "p" / "plan.parquet")
    assert stage_values(plan)["customer"] == 2.0
    assert stage_values(plan)["opportunity"] is None


def _lead_customer_funnel() -> pl.DataFrame:
    """A hand-made funnel table of the "all" period: lead -> customer at rate 0.5 (period
    view: ads 4 leads, 2 customers); the cohort view counts only 2 leads (entered earlier)."""
    rows = [
        ("period", "(all)", "lead", 1, 4, None),
        ("period", "(all)", "customer", 6, 2, 0.5),
        ("period", "ads", "lead", 1, 4, None),
        ("period", "ads", "customer", 6, 2, 0.5),
        ("period", "seo", "lead", 1, 0, None),  # no lead in the period: not in the mix
        ("period", "seo", "customer", 6, 0, None),
        ("cohort", "(all)", "lead", 1, 2, None),
        ("cohort", "(all)", "customer", 6, 2, 1.0),
        ("cohort", "ads", "lead", 1, 2, None),
        ("cohort", "ads", "customer", 6, 2, 1.0),
    ]
    return pl.DataFrame(
        {
            "view": [r[0] for r in rows],
            "period": ["all"] * len(rows),
            "channel": [r[1] for r in rows],
            "stage": [r[2] for r in rows],
            "stage_order": [r[3] for r in rows],
            "count": [r[4] for r in rows],
            "rate_from_previous": [r[5] for r in rows],
            "rate_from_previous_lo": [None] * len(rows),
            "rate_from_previous_hi": [None] * len(rows),
        },
        schema_overrides={
            "rate_from_previous": pl.Float64,
            "rate_from_previous_lo": pl.Float64,
            "rate_from_previous_hi": pl.Float64,
        },
    )


def test_history_cpl_divides_spend_by_the_period_views_leads():
    # CPL = spend / period-view leads of "all" = 400 / 4 = 100 (the cohort view's 2 would
    # give 200). customers = 1000 / 100 = 10; leads = ceil(10 / 0.5) = 20; ads share 1 (its
    # 4 leads of 4); budget = 20 x 1 x 100 = 2000.
    summary = pl.DataFrame({"model": ["first_touch"], "channel": ["ads"], "spend": [400.0]})
    plan = plan_from_history(
        1000.0,
        _lead_customer_funnel(),
        deals=None,
        roi_summary=summary,
        settings=MetricsSettings(),
        avg_deal_size=100.0,
    )
    rows_by = {(r["kind"], r["name"]): r for r in plan.iter_rows(named=True)}
    assert rows_by[("stage", "customer")]["value"] == 10
    assert rows_by[("stage", "lead")]["value"] == 20
    assert rows_by[("budget", "ads")]["unit_cost"] == pytest.approx(100.0)
    assert rows_by[("budget", "ads")]["value"] == pytest.approx(2000.0)
    assert rows_by[("budget", "(total)")]["value"] == pytest.approx(2000.0)
    assert ("budget", "seo") not in rows_by  # a channel without leads in the period


def test_history_deal_size_counts_the_won_deals_of_the_window_only():
    # window January 2025: won deals closed 1/10 (100) and 1/20 (200) are in it, 3/10 (900)
    # is not: avg deal size of "all" = (100 + 200) / 2 = 150 (not 1200 / 3 = 400).
    # customers = ceil(1500 / 150) = 10, leads = 10 / 0.5 = 20.
    D = dt.datetime
    d = deals_frame(
        [
            ("1", "c1", D(2025, 1, 2), D(2025, 1, 10), "won", 100.0),
            ("2", "c2", D(2025, 1, 3), D(2025, 1, 20), "won", 200.0),
            ("3", "c3", D(2025, 1, 4), D(2025, 3, 10), "won", 900.0),
        ]
    )
    s = MetricsSettings(period_from=dt.date(2025, 1, 1), period_to=dt.date(2025, 1, 31))
    plan = plan_from_history(1500.0, _lead_customer_funnel(), deals=d, roi_summary=None, settings=s)
    rows_by = {(r["kind"], r["name"]): r["value"] for r in plan.iter_rows(named=True)}
    assert rows_by[("input", "avg_deal_size")] == pytest.approx(150.0)
    assert rows_by[("stage", "customer")] == 10
    assert rows_by[("stage", "lead")] == 20
