"""The pipeline window's own lookback (DESIGN.md, Journeys): ``pipeline_created`` credits the
touches in ``[created_at - lookback, created_at]`` after the customer's previous deal, even
those older than the lookback counted from the close, which the revenue window leaves out.

Scenario (lookback 365 days; "SDR Outbound" is not marketing):

cA: Webinar 2024-07-01, SDR Outbound 2025-05-01, Email 2025-09-01
    dA won 1000, created 2025-06-01, closed 2026-03-01 (273-day cycle)
    revenue window  [2025-03-01, 2026-03-01]: SDR Outbound, Email
    pipeline window [2024-06-01, 2025-06-01]: Webinar, SDR Outbound
cB: Display 2023-06-01, Social 2024-06-01, Email 2025-06-01
    dB won 600, created 2024-01-01, closed 2025-12-01 (a cycle longer than the lookback)
    revenue window  [2024-12-01, 2025-12-01]: Email
    pipeline window [2023-01-01, 2024-01-01]: Display; Social lies in neither window
cC: Ads 2024-01-10, Email 2024-03-01, Social 2024-09-01
    dC1 won 100, created 2024-02-01, closed 2024-02-15: Ads
    dC2 won 200, created 2024-08-01, closed 2025-04-01
    revenue window  [2024-04-01, 2025-04-01]: Social
    pipeline window [2023-08-02, 2024-08-01] after dC1's window (to 2024-02-15), which took
    Ads: Email
"""

from __future__ import annotations

import polars as pl
import pytest
from conftest import assert_credit, credit, deals, run_job, stages, touches

CONFIG = '[channels."SDR Outbound"]\nmarketing = false\n'
T = [
    ("cA", "2024-07-01 00:00:00", "Webinar"),
    ("cA", "2025-05-01 00:00:00", "SDR Outbound"),
    ("cA", "2025-09-01 00:00:00", "Email"),
    ("cB", "2023-06-01 00:00:00", "Display"),
    ("cB", "2024-06-01 00:00:00", "Social"),
    ("cB", "2025-06-01 00:00:00", "Email"),
    ("cC", "2024-01-10 00:00:00", "Ads"),
    ("cC", "2024-03-01 00:00:00", "Email"),
    ("cC", "2024-09-01 00:00:00", "Social"),
]
D = [
    ("dA", "cA", "2025-06-01 00:00:00", "2026-03-01 00:00:00", "won", 1000),
    ("dB", "cB", "2024-01-01 00:00:00", "2025-12-01 00:00:00", "won", 600),
    ("dC1", "cC", "2024-02-01 00:00:00", "2024-02-15 00:00:00", "won", 100),
    ("dC2", "cC", "2024-08-01 00:00:00", "2025-04-01 00:00:00", "won", 200),
]


def _run(tmp_path, models="first_touch,last_touch,linear,w_shaped", **options):
    return run_job(
        tmp_path,
        touches=touches(T),
        deals=deals(D),
        config=CONFIG,
        models=models,
        lookback_days=365,
        **options,
    )


def test_pipeline_created_reaches_back_from_the_creation(tmp_path):
    result = _run(tmp_path)
    # first touch: dA's pipeline window starts at Webinar, its revenue window at SDR Outbound
    assert_credit(
        credit(result, "first_touch", "pipeline_created"),
        {"Webinar": 1000, "Display": 600, "Ads": 100, "Email": 200},
    )
    assert_credit(
        credit(result, "first_touch", "revenue"),
        {"SDR Outbound": 1000, "Email": 600, "Ads": 100, "Social": 200},
    )
    # last touch at or before the creation: Social (cB, 2024-06-01) is after dB's creation
    assert_credit(
        credit(result, "last_touch", "pipeline_created"),
        {"SDR Outbound": 1000, "Display": 600, "Ads": 100, "Email": 200},
    )
    # linear: dA's pipeline split between Webinar and SDR Outbound, its revenue between SDR
    # Outbound and Email; Social (cB) is in neither of dB's windows
    assert_credit(
        credit(result, "linear", "pipeline_created"),
        {"Webinar": 500, "SDR Outbound": 500, "Display": 600, "Ads": 100, "Email": 200},
    )
    assert_credit(
        credit(result, "linear", "revenue"),
        {"SDR Outbound": 500, "Email": 500 + 600, "Ads": 100, "Social": 200},
    )
    for model in ("first_touch", "last_touch", "linear", "w_shaped"):
        summary = result.channel_summary.filter(pl.col("model") == model)
        assert summary["pipeline_created"].sum() == pytest.approx(1900.0, rel=1e-12)
        assert summary["revenue"].sum() == pytest.approx(1900.0, rel=1e-12)
        none = summary.filter(pl.col("channel") == "(none)")
        assert none.is_empty() or none["pipeline_created"].item() == 0.0


def test_w_shaped_lead_anchor_in_the_pipeline_window_only(tmp_path):
    """dA's lead (2024-08-01) anchors on Webinar: in the pipeline window (first and lead
    touch, 2 x 0.3; SDR Outbound the opportunity touch, 0.3: all anchors, scaled to 1) but
    before the revenue window, where the lead role is missing (SDR Outbound first and
    opportunity touch, 0.9; Email the rest, 0.1)."""
    result = run_job(
        tmp_path,
        touches=touches([r for r in T if r[0] == "cA"]),
        deals=deals([r for r in D if r[0] == "dA"]),
        stages=stages([("cA", "lead", "2024-08-01 00:00:00")]),
        config=CONFIG,
        models="w_shaped",
        lookback_days=365,
    )
    assert_credit(
        credit(result, "w_shaped", "pipeline_created"),
        {"Webinar": 1000 * 2 / 3, "SDR Outbound": 1000 / 3},
    )
    assert_credit(credit(result, "w_shaped", "revenue"), {"SDR Outbound": 900, "Email": 100})


def test_journeys_table_describes_the_revenue_window_and_flags_the_pipeline(tmp_path):
    table = _run(tmp_path).journeys.table.filter(pl.col("deal_id").is_not_null())
    rows = {r["deal_id"]: r for r in table.iter_rows(named=True)}
    assert rows["dA"]["path"] == "SDR Outbound > Email"
    assert rows["dA"]["n_touches"] == 2
    assert rows["dA"]["first_channel"] == "SDR Outbound"
    # the revenue journey starts on a non-marketing touch; the pipeline on a Webinar
    assert rows["dA"]["marketing_sourced"] is False
    assert rows["dA"]["pipeline_sourced"] is True
    assert rows["dB"]["path"] == "Email"
    assert rows["dB"]["pipeline_sourced"] is True  # Display
    assert rows["dC2"]["path"] == "Social"
    assert rows["dC2"]["pipeline_sourced"] is True  # Email


def test_sourced_pipeline_share_reads_the_pipeline_window(tmp_path):
    """dA's pipeline was sourced by marketing (Webinar first) though its revenue journey
    starts on SDR Outbound; every deal's pipeline here is marketing-sourced."""
    kpis = _run(tmp_path, models="first_touch").tables["kpis"]
    whole = kpis.filter(pl.col("period") == "all")
    value = dict(zip(whole["kpi"], whole["value"], strict=True))
    assert value["marketing_sourced_pipeline_share"] == pytest.approx(1.0)
    assert value["marketing_sourced_revenue_share"] == pytest.approx(900 / 1900)


def test_touch_credits_hold_the_pipeline_only_touches(tmp_path):
    """Webinar (cA) is credited in touch_credits: pipeline_created only, no revenue weight;
    per model the touch rows sum to the channel summary's pipeline_created. Rows: dA's three
    touches, dB's Display and Email, dC1's Ads, dC2's Email and Social."""
    result = _run(tmp_path, models="linear", out=True, touch_credits=True)
    rows = pl.read_parquet(tmp_path / "out" / "touch_credits.parquet")
    webinar = rows.filter(pl.col("channel") == "Webinar")
    assert webinar["weight"].to_list() == [0.0]
    assert webinar["revenue"].to_list() == [0.0]
    assert webinar["pipeline_created"].item() == pytest.approx(500.0)
    assert webinar["touch_index"].to_list() == [-1]  # before dA's revenue window
    # dB's Display: -1 too, though Social (in neither window) lies between it and Email
    display = rows.filter(pl.col("channel") == "Display")
    assert display["touch_index"].to_list() == [-1]
    email_b = rows.filter((pl.col("channel") == "Email") & (pl.col("ts").dt.year() == 2025))
    assert sorted(email_b["touch_index"].to_list()) == [0, 1]  # dB's first, dA's second
    # Social (cB, 2024-06-01) lies in neither of dB's windows: not listed
    assert rows.filter((pl.col("channel") == "Social") & (pl.col("ts").dt.month() == 6)).is_empty()
    assert rows.filter(pl.col("model") == "linear").height == 3 + 2 + 1 + 2
    summary = result.channel_summary
    assert rows["pipeline_created"].sum() == pytest.approx(summary["pipeline_created"].sum())
    assert rows["revenue"].sum() == pytest.approx(summary["revenue"].sum())


def test_bucketed_engine_agrees(tmp_path):
    from attrib.engines.local import run_bucketed

    models = "first_touch,last_touch,linear,position_based,w_shaped,markov"
    memory = _run(tmp_path / "a", models=models)
    data = tmp_path / "a" / "in"
    bucketed = run_bucketed(data, out=tmp_path / "b", buckets=3, models=models, lookback_days=365)
    key = ["model", "channel"]
    a = memory.channel_summary.sort(key)
    b = bucketed.channel_summary.sort(key)
    assert a.select(key).equals(b.select(key))
    for column in ("revenue", "pipeline_created", "conversions", "deals_created"):
        assert b[column].to_list() == pytest.approx(a[column].to_list(), rel=1e-12)
    # the touches counted in windows (cB's Social lies in neither), the zero-touch deals
    assert bucketed.manifest["row_counts"] == memory.manifest["row_counts"]
    assert memory.manifest["row_counts"]["touches_in_journeys"] == len(T) - 1


@pytest.mark.parametrize(
    ("marketing", "sourced", "influenced", "pipeline_flags", "pipeline_share"),
    [
        # Social (2024-06-01: after dB's creation, before its revenue window): in neither
        ("Social", False, False, (False, False), 0.0),
        # Display (2023-06-01): in dB's pipeline window alone
        ("Display", False, False, (True, True), 1.0),
        # Email (2025-06-01): in dB's revenue window alone, after the creation
        ("Email", True, True, (False, True), 1.0),
    ],
)
def test_the_pipeline_flags_read_the_pipeline_window(
    tmp_path, marketing, sourced, influenced, pipeline_flags, pipeline_share
):
    """cB's one marketing channel (the other two are not marketing here) sources and
    influences dB's revenue journey, its pipeline, or neither, as its touch lies; a touch in
    neither window is not counted among the journeys' touches."""
    others = sorted({"Display", "Social", "Email"} - {marketing})
    config = CONFIG + "".join(f"[channels.{c}]\nmarketing = false\n" for c in others)
    result = run_job(
        tmp_path,
        touches=touches([r for r in T if r[0] == "cB"]),
        deals=deals([r for r in D if r[0] == "dB"]),
        config=config,
        models="linear",
        lookback_days=365,
    )
    row = result.journeys.table.filter(pl.col("deal_id") == "dB").row(0, named=True)
    assert (row["marketing_sourced"], row["marketing_influenced"]) == (sourced, influenced)
    assert (row["pipeline_sourced"], row["pipeline_influenced"]) == pipeline_flags
    whole = result.tables["kpis"].filter(pl.col("period") == "all")
    value = dict(zip(whole["kpi"], whole["value"], strict=True))
    assert value["marketing_influenced_pipeline_share"] == pipeline_share
    assert value["marketing_influenced_revenue_share"] == float(influenced)
    assert result.manifest["row_counts"]["touches_in_journeys"] == 2  # Display, Email


def test_a_deal_touched_in_its_pipeline_window_only_is_no_id_mismatch(tmp_path):
    """dB's only touch (Display, 2023-06-01) lies in its pipeline window: its revenue goes to
    (none), but its ids match; the run warned that no deal's customer had a touch."""
    result = run_job(
        tmp_path,
        touches=touches([T[3]]),
        deals=deals([r for r in D if r[0] == "dB"]),
        config=CONFIG,
        models="linear",
        lookback_days=365,
    )
    assert_credit(credit(result, "linear", "pipeline_created"), {"Display": 600})
    assert_credit(credit(result, "linear", "revenue"), {"(none)": 600})
    assert not [w for w in result.warnings if "credited to (none)" in w]


@pytest.mark.parametrize(
    ("closed", "status", "lead_at"),
    [
        ("2025-01-20 12:00:00", "won", "2025-01-07 10:00:00"),  # after creation, before close
        (None, "open", "2025-01-07 10:00:00"),  # after creation: the open deal's window end
        ("2025-01-20 12:00:00", "won", "2025-02-01 10:00:00"),  # after the close
    ],
)
def test_a_lead_after_the_creation_anchors_no_pipeline_lead_role(tmp_path, closed, status, lead_at):
    """The pipeline window ends at the creation (2025-01-05 12:00): a lead milestone after it
    is outside it, so W-shaped's pipeline_created has first (Email) and opportunity (Webinar)
    roles only, 45/45, Display the rest, 10; whether or when the deal closes does not change
    that (a closed deal with its lead before the close gave Webinar the lead role too)."""
    result = run_job(
        tmp_path,
        touches=touches(
            [
                ("c1", "2025-01-01 10:00:00", "Email"),
                ("c1", "2025-01-02 10:00:00", "Display"),
                ("c1", "2025-01-03 10:00:00", "Webinar"),
            ]
        ),
        deals=deals([("d1", "c1", "2025-01-05 12:00:00", closed, status, 100)]),
        stages=stages([("c1", "lead", lead_at)]),
        models="w_shaped",
    )
    assert_credit(
        credit(result, "w_shaped", "pipeline_created"), {"Email": 45, "Webinar": 45, "Display": 10}
    )
