"""A reporting window (``--from/--to``, ``[metrics] period_from/period_to``) limits the
attribution columns to the deals whose event lies in it, as it limits spend and the KPIs."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import assert_credit, credit, deals, run_cli, run_job, touches, write_inputs

from attrib.encoded import CREATED_METRICS, METRICS
from attrib.engines.local import run_bucketed

TOUCHES = touches(
    [
        ("c1", "2025-01-05", "Email", "jan"),
        ("c1", "2025-01-10", "Paid Search", "brand"),
        ("c2", "2025-02-01", "Webinar", "w1"),
        ("c3", "2025-01-15", "Display", "d1"),
        ("c4", "2025-01-03", "Events", "e1"),
    ]
)
DEALS = deals(
    [
        ("d1", "c1", "2025-01-12", "2025-01-20", "won", 100.0),  # won in January
        ("d2", "c2", "2025-02-05", "2025-03-10", "won", 200.0),  # created Feb, won in March
        ("d3", "c3", "2025-02-20", None, "open", 50.0),  # open, created in February
        ("d4", "c4", "2025-01-04", "2025-02-02", "lost", 70.0),  # created Jan, lost in Feb
    ]
)
MONTHS = {
    "jan": (date(2025, 1, 1), date(2025, 1, 31)),
    "feb": (date(2025, 2, 1), date(2025, 2, 28)),
    "mar": (date(2025, 3, 1), date(2025, 3, 31)),
}
COLUMNS = (*METRICS, *CREATED_METRICS)  # every attribution column


def _window(month: str) -> dict[str, date]:
    start, end = MONTHS[month]
    return {"period_from": start, "period_to": end}


def _run(tmp_path: Path, month: str | None, models: str = "first_touch,last_touch"):
    metrics = _window(month) if month else None
    return run_job(
        tmp_path / (month or "all"), touches=TOUCHES, deals=DEALS, models=models, metrics=metrics
    )


def test_revenue_counts_the_deals_won_in_the_window(tmp_path):
    jan = _run(tmp_path, "jan")
    assert_credit(credit(jan, "first_touch"), {"Email": 100.0})
    assert_credit(credit(jan, "last_touch"), {"Paid Search": 100.0})
    assert_credit(credit(jan, "first_touch", "conversions"), {"Email": 1.0})
    assert credit(jan, "first_touch", "pipeline") == {}  # d3 was created in February
    assert credit(jan, "first_touch", "lost_deals") == {}  # d4 was lost in February
    # created in January: d1 and d4, credited over their touches up to created_at
    assert_credit(credit(jan, "first_touch", "pipeline_created"), {"Email": 100.0, "Events": 70.0})
    feb = _run(tmp_path, "feb")
    assert credit(feb, "first_touch") == {}
    assert_credit(credit(feb, "first_touch", "pipeline"), {"Display": 50.0})
    assert_credit(credit(feb, "first_touch", "lost_deals"), {"Events": 1.0})
    assert_credit(
        credit(feb, "first_touch", "pipeline_created"), {"Webinar": 200.0, "Display": 50.0}
    )
    assert_credit(credit(_run(tmp_path, "mar"), "last_touch"), {"Webinar": 200.0})


def test_the_windows_last_day_counts_and_the_next_midnight_does_not(tmp_path):
    # window 2025-01-01 ... 2025-01-31, inclusive days. d5 closed 2025-01-31 18:00: on the
    # window's last day, in it. d6 closed on the date 2025-02-01 (midnight): the first instant
    # after the window, out. Both were created in January.
    # first_touch revenue: Email 300 (d5) only; pipeline_created: Email 300, Webinar 400.
    t = touches([("c5", "2025-01-02", "Email", "e"), ("c6", "2025-01-03", "Webinar", "w")])
    d = deals(
        [
            ("d5", "c5", "2025-01-10", "2025-01-31 18:00:00", "won", 300.0),
            ("d6", "c6", "2025-01-11", "2025-02-01", "won", 400.0),
        ]
    )
    result = run_job(tmp_path, touches=t, deals=d, models="first_touch", metrics=_window("jan"))
    assert_credit(credit(result, "first_touch"), {"Email": 300.0})
    assert_credit(credit(result, "first_touch", "conversions"), {"Email": 1.0})
    assert_credit(
        credit(result, "first_touch", "pipeline_created"), {"Email": 300.0, "Webinar": 400.0}
    )
    kpis = result.tables["kpis"].filter(pl.col("period") == "all")
    assert kpis.filter(pl.col("kpi") == "revenue")["value"].item() == pytest.approx(300.0)


def test_windows_that_split_the_data_add_up_to_the_whole(tmp_path):
    whole = _run(tmp_path, None).channel_summary
    parts = pl.concat([_run(tmp_path, m).channel_summary for m in MONTHS])
    summed = parts.group_by("model", "channel").agg(pl.col(COLUMNS).sum())
    joined = whole.join(summed, on=["model", "channel"], how="left", suffix="_parts")
    for column in COLUMNS:
        assert joined[column].to_list() == pytest.approx(joined[f"{column}_parts"].to_list())


def test_credited_revenue_equals_the_windows_revenue_kpi(tmp_path):
    for month in MONTHS:
        result = _run(tmp_path, month, models="linear,markov")
        kpis = result.tables["kpis"].filter(pl.col("period") == "all")
        revenue = kpis.filter(pl.col("kpi") == "revenue")["value"].item()
        created = kpis.filter(pl.col("kpi") == "pipeline_created")["value"].item()
        for _, model in result.channel_summary.group_by("model"):
            assert model["revenue"].sum() == pytest.approx(revenue)
            assert model["pipeline_created"].sum() == pytest.approx(created)


def test_the_journeys_table_keeps_every_journey(tmp_path):
    """The window decides what is credited, not which journeys exist (nor the Markov fit)."""
    jan, whole = _run(tmp_path, "jan"), _run(tmp_path, None)
    assert jan.journeys.table.equals(whole.journeys.table)


def test_the_bucketed_engine_credits_the_same_window(tmp_path):
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=DEALS)
    models = "first_touch,linear,markov"
    window = _window("feb")
    mem = _run(tmp_path, "feb", models=models).channel_summary
    bucketed = run_bucketed(data, buckets=2, models=models, metrics=window).channel_summary
    assert bucketed.select("model", "channel", *COLUMNS).equals(
        mem.select("model", "channel", *COLUMNS)
    )


def test_cli_from_to_limits_the_credited_revenue(tmp_path):
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=DEALS)
    out = tmp_path / "out"
    args = ["run", data, "--out", out, "--models", "last_touch", "-q"]
    run_cli([*args, "--from", "2025-03-01", "--to", "2025-03-31"])
    summary = pl.read_parquet(out / "channel_summary.parquet").filter(pl.col("revenue") > 0)
    assert summary.select("channel", "revenue").rows() == [("Webinar", 200.0)]


def test_a_window_given_as_text_or_datetime_is_the_same_window(tmp_path):
    """Python callers pass dates as they have them: date, "YYYY-MM-DD" or a datetime."""
    start, end = MONTHS["jan"]
    forms = [
        {"period_from": start, "period_to": end},
        {"period_from": start.isoformat(), "period_to": end.isoformat()},
        {"period_from": datetime(2025, 1, 1, 9, 30), "period_to": datetime(2025, 1, 31)},
    ]
    got = [
        run_job(
            tmp_path / str(i), touches=TOUCHES, deals=DEALS, models="linear", metrics=m
        ).channel_summary.select("channel", *COLUMNS)
        for i, m in enumerate(forms)
    ]
    assert got[0].equals(got[1])
    assert got[0].equals(got[2])
    assert got[0]["revenue"].sum() == 100.0
