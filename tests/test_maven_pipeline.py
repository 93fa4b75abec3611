"""Maven's CRM pipeline (``$ATTRIB_DATASETS/maven-crm-sales-opportunities``) as a run's deals.

Its opportunities are mapped by a config (``[columns.deals]``, ``[statuses]`` for its
``Engaging`` stage; ``Prospecting`` is one of the open stages attrib knows), its accounts are
the customers, and each account gets one touch (its sector, as the channel) a month before
the pipeline's first engagement, so that journeys, days to deal and first-touch credit have
something to read. The raw file is read where it lies; the prepared deals (open deals valued
at their product's list price, as an analyst would) are written to the test's temp folder.
Every expected number is recounted from the raw CSVs with the csv module.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import csv_rows, dataset_files, run_cli

pytestmark = pytest.mark.datasets

MAVEN = "maven-crm-sales-opportunities"
PIPELINE = "sales_pipeline.csv"
ACCOUNTS = "accounts.csv"
PRODUCTS = "products.csv"

CONFIG = """
[columns.deals]
deal_id = "opportunity_id"
customer_id = "account"
created_at = "engage_date"
closed_at = "close_date"
status = "deal_stage"
amount = "close_value"
"""
STATUSES = '[statuses]\n"Engaging" = "open"\n'


@pytest.fixture(scope="module")
def folder() -> Path:
    names = (PIPELINE, ACCOUNTS, PRODUCTS)
    return dataset_files(*(f"{MAVEN}/{name}" for name in names)) / MAVEN


@pytest.fixture(scope="module")
def raw(folder) -> list[dict[str, str]]:
    return csv_rows(folder / PIPELINE)


@pytest.fixture(scope="module")
def touch_day(raw) -> date:
    return min(date.fromisoformat(r["engage_date"]) for r in raw if r["engage_date"]) - timedelta(
        days=30
    )


@pytest.fixture(scope="module")
def prepared(folder, raw, touch_day, tmp_path_factory) -> Path:
    """Config, touches (one per account: its sector) and the analyst's prepared deals: the
    opportunities with an account and an engage date, open ones valued at list price (the
    pipeline spells ``GTXPro`` where the price list has ``GTX Pro``)."""
    tmp = tmp_path_factory.mktemp("maven")
    (tmp / "maven.toml").write_text(CONFIG + STATUSES, encoding="utf-8")
    (tmp / "no_statuses.toml").write_text(CONFIG, encoding="utf-8")
    with (tmp / "touches.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["customer_id", "ts", "channel"])
        for account in csv_rows(folder / ACCOUNTS):
            writer.writerow([account["account"], touch_day.isoformat(), account["sector"]])
    key = pl.col("product").str.replace_all(" ", "")
    prices = pl.read_csv(folder / PRODUCTS, infer_schema=False).select(
        key.alias("key"), "sales_price"
    )
    (
        pl.read_csv(folder / PIPELINE, infer_schema=False)
        .filter(pl.col("account").is_not_null() & pl.col("engage_date").is_not_null())
        .with_columns(key.alias("key"))
        .join(prices, on="key", how="left", maintain_order="left")
        .with_columns(pl.coalesce("close_value", "sales_price").alias("close_value"))
        .drop("key", "sales_price")
        .write_csv(tmp / "deals.csv")
    )
    return tmp


@pytest.fixture(scope="module")
def kept(prepared) -> list[dict[str, str]]:
    """The prepared deals, recounted from the file the run reads."""
    return csv_rows(prepared / "deals.csv")


@pytest.fixture(scope="module")
def run_out(prepared, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("maven-run") / "out"
    args = ["run", "--touchpoints", prepared / "touches.csv", "--deals", prepared / "deals.csv"]
    run_cli(
        [*args, "--config", prepared / "maven.toml", "--out", out, "--models", "first_touch", "-q"]
    )
    return out


def _kpis(out: Path) -> dict[tuple[str, str], dict]:
    k = pl.read_parquet(out / "kpis.parquet")
    return {(r["kpi"], r["period"]): r for r in k.iter_rows(named=True)}


def _day(text: str) -> date:
    return date.fromisoformat(text)


def _quarter(day: date) -> str:
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def _month_end(label: str) -> date:
    year, month = map(int, label.split("-"))
    return date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)


def test_the_raw_export_rejects_only_what_it_lacks(folder, raw, prepared, tmp_path):
    """The raw pipeline as exported: won and lost deals are all read; open ones without an
    account (the customer), an engage date (Prospecting) or a value are quarantined, each
    with its reason; Engaging is open once mapped, and named with the mapping until then."""
    out = tmp_path / "out"
    args = ["validate", "--deals", folder / PIPELINE, "--touchpoints", prepared / "touches.csv"]
    run_cli([*args, "--config", prepared / "maven.toml", "--out", out])
    q = pl.read_parquet(out / "quarantine" / "deals.parquet")
    missing = {
        i: r
        for i, r in enumerate(raw, start=1)
        if not (r["account"] and r["engage_date"] and r["close_value"])
    }
    assert missing
    assert all(r["deal_stage"] in ("Engaging", "Prospecting") for r in missing.values())
    assert sorted(q["row"].to_list()) == sorted(missing)
    reasons = dict(zip(q["row"], q["reason"], strict=True))
    for i, r in missing.items():
        assert ("customer_id is empty" in reasons[i]) == (not r["account"]), i
        assert ("created_at is empty" in reasons[i]) == (not r["engage_date"]), i
        assert "amount is empty (write 0" in reasons[i], i

    bare = run_cli([*args, "--config", prepared / "no_statuses.toml", "--format", "json"])
    deals = json.loads(bare.stdout)["tables"]["deals"]
    engaging = [i for i, r in enumerate(raw, start=1) if r["deal_stage"] == "Engaging"]
    reasons = deals["reasons"]
    assert any('"Engaging" = "open"' in r["first_reason"] for r in reasons), reasons
    assert deals["rejected"] == len(set(engaging) | set(missing))


def test_deal_kpis_equal_a_recount(run_out, kept):
    """Won deals, revenue, win rate (and its Wilson interval), deal size and sales cycle, for
    the whole run and each quarter of close; pipeline created per quarter of engagement."""
    from statsmodels.stats.proportion import proportion_confint

    k = _kpis(run_out)
    periods = {"all"} | {_quarter(_day(r["close_date"])) for r in kept if r["close_date"]}
    for period in sorted(periods):
        inside = [
            r
            for r in kept
            if r["close_date"] and period in ("all", _quarter(_day(r["close_date"])))
        ]
        won = [r for r in inside if r["deal_stage"] == "Won"]
        lost = [r for r in inside if r["deal_stage"] == "Lost"]
        revenue = math.fsum(float(r["close_value"]) for r in won)
        assert k[("won_deals", period)]["value"] == len(won), period
        assert k[("revenue", period)]["value"] == pytest.approx(revenue, rel=1e-12), period
        rate = k[("win_rate", period)]
        assert rate["value"] == pytest.approx(len(won) / (len(won) + len(lost)), rel=1e-12)
        lo, hi = proportion_confint(len(won), len(won) + len(lost), alpha=0.05, method="wilson")
        assert (rate["lo"], rate["hi"]) == (
            pytest.approx(lo, abs=1e-12),
            pytest.approx(hi, abs=1e-12),
        )
        assert k[("avg_deal_size", period)]["value"] == pytest.approx(revenue / len(won), rel=1e-12)
        cycle = [(_day(r["close_date"]) - _day(r["engage_date"])).days for r in won]
        assert k[("sales_cycle_days_median", period)]["value"] == pytest.approx(
            statistics.median(cycle), rel=1e-12
        ), period
    created: dict[str, list[float]] = defaultdict(list)
    for r in kept:
        created[_quarter(_day(r["engage_date"]))].append(float(r["close_value"]))
        created["all"].append(float(r["close_value"]))
    for period, values in created.items():
        assert k[("pipeline_created", period)]["value"] == pytest.approx(
            math.fsum(values), rel=1e-12
        )


def test_open_pipeline_is_a_month_end_snapshot(run_out, kept):
    """pipeline_open of each month: the deals engaged by its last day and not closed by it
    (a deal won in June was open pipeline in May), at their value, list price for the open."""
    k = _kpis(run_out)
    months = sorted(p for _, p in k if len(p) == 7 and "Q" not in p)
    assert months
    for month in months:
        end = _month_end(month)
        open_then = [
            float(r["close_value"])
            for r in kept
            if _day(r["engage_date"]) <= end
            and (not r["close_date"] or _day(r["close_date"]) > end)
        ]
        assert k[("pipeline_open", month)]["value"] == pytest.approx(
            math.fsum(open_then), rel=1e-12
        )
    still_open = [float(r["close_value"]) for r in kept if not r["close_date"]]
    assert k[("pipeline_open", "all")]["value"] == pytest.approx(math.fsum(still_open), rel=1e-12)


def _first_windows(kept: list[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Each account's deal that takes its one touch: the earliest window end (the close for
    closed deals, the engagement for open ones), ties by deal id as text."""
    first: dict[str, tuple[date, str, dict]] = {}
    for r in kept:
        end = _day(r["close_date"] or r["engage_date"])
        key = (end, r["opportunity_id"], r)
        if r["account"] not in first or key[:2] < first[r["account"]][:2]:
            first[r["account"]] = key
    return {account: r for account, (_, _, r) in first.items()}


def test_journeys_give_each_account_touch_to_one_deal(run_out, kept, touch_day, folder):
    """A touch counts for one deal: each account's earliest deal takes it, the others are
    zero-touch (credited to (none), and the run says why); days to deal and first-touch
    revenue per sector follow from that."""
    first = _first_windows(kept)
    touched = {r["opportunity_id"] for r in first.values()}
    j = pl.read_parquet(run_out / "journeys.parquet").filter(pl.col("deal_id").is_not_null())
    assert set(j.filter(pl.col("n_touches") > 0)["deal_id"]) == touched
    assert j.height == len(kept)

    won_first = [r for r in first.values() if r["deal_stage"] == "Won"]
    days = [(_day(r["close_date"]) - touch_day).days for r in won_first]
    k = _kpis(run_out)
    assert k[("days_to_deal_median", "all")]["value"] == pytest.approx(statistics.median(days))

    sector = {a["account"]: a["sector"] for a in csv_rows(folder / ACCOUNTS)}
    expected: dict[str, list[float]] = defaultdict(list)
    for r in kept:
        if r["deal_stage"] == "Won":
            channel = sector[r["account"]] if r["opportunity_id"] in touched else "(none)"
            expected[channel].append(float(r["close_value"]))
    cs = pl.read_parquet(run_out / "channel_summary.parquet")
    got = {c: v for c, v in zip(cs["channel"], cs["revenue"], strict=True) if v}
    assert got == pytest.approx({c: math.fsum(v) for c, v in expected.items()}, rel=1e-12)

    warnings = json.loads((run_out / "manifest.json").read_text())["warnings"]
    n = len(kept) - len(touched)
    said = f"{n:,} of {len(kept):,} deals ({n / len(kept):.0%}) have no touch in their window"
    assert any(said in w and "a touch counts for one deal only" in w for w in warnings), warnings


def test_plan_warns_of_repeat_buyers_per_period(prepared, kept, tmp_path):
    """Accounts buy again and again: the plan's caveat counts the period's won deals against
    the customers who won their first deal in it (the funnel's customer stage), for the whole
    history and for a later quarter, where most buyers are repeat buyers."""
    first_win: dict[str, date] = {}
    for r in kept:
        if r["deal_stage"] == "Won":
            day = _day(r["close_date"])
            first_win[r["account"]] = min(day, first_win.get(r["account"], day))
    won = [_day(r["close_date"]) for r in kept if r["deal_stage"] == "Won"]
    quarters = sorted({_quarter(d) for d in first_win.values()})
    later = (
        quarters[-1] if len(quarters) > 1 else pytest.skip("every account first won in one quarter")
    )
    args = ["plan", "--touchpoints", prepared / "touches.csv", "--deals", prepared / "deals.csv"]
    args += ["--config", prepared / "maven.toml", "--target-revenue", "1000000", "--format", "json"]
    for i, period in enumerate(["all", later]):
        payload = json.loads(
            run_cli([*args, "--period", period, "--out", tmp_path / f"p{i}"]).stdout
        )
        n_won = sum(1 for d in won if period in ("all", _quarter(d)))
        new = sum(1 for d in first_win.values() if period in ("all", _quarter(d)))
        said = (
            f"{n_won:,} won deals closed in {'the whole history' if period == 'all' else period},"
            f" but only {new:,} customer(s) won their"
            " first deal in it"
        )
        assert any(said in w for w in payload["warnings"]), payload["warnings"]
