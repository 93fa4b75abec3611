"""The real Olist B2B funnel (MQLs as touchpoints, closed deals as won deals) end to end.

The files are read where they lie (``$ATTRIB_DATASETS/olist-marketing-funnel``) and mapped
by a config written here, never edited. Every expected number is recounted in plain Python
with the csv module: totals, quarantined rows (MQLs with an empty ``origin``), and first-touch
conversions per channel, including the data's quirk of deals won before the MQL's recorded
first contact (up to 2 days) and deals won more than the 365-day lookback after it: both are
zero-touch journeys credited to ``(none)``.
"""

from __future__ import annotations

import csv
import json
import math
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from conftest import datasets_dir, olist_config, run_cli

pytestmark = pytest.mark.datasets

MQL = "olist_marketing_qualified_leads_dataset.csv"
DEALS = "olist_closed_deals_dataset.csv"


@pytest.fixture(scope="module")
def folder() -> Path:
    path = datasets_dir() / "olist-marketing-funnel"
    if not (path / MQL).is_file() or not (path / DEALS).is_file():
        pytest.skip(f"{path} lacks the Olist files ({MQL}, {DEALS})")
    return path


@pytest.fixture(scope="module")
def rows(folder):
    with (folder / MQL).open(newline="", encoding="utf-8") as fh:
        mqls = list(csv.DictReader(fh))
    with (folder / DEALS).open(newline="", encoding="utf-8") as fh:
        deals = list(csv.DictReader(fh))
    return mqls, deals


@pytest.fixture(scope="module")
def run_out(folder, rows, tmp_path_factory):
    _, deals = rows
    # seller_id as the deal id when it is unique, else the (unique) mql_id
    sellers = [d["seller_id"] for d in deals]
    deal_id = "seller_id" if len(set(sellers)) == len(sellers) and all(sellers) else "mql_id"
    tmp = tmp_path_factory.mktemp("olist")
    config = tmp / "olist.toml"
    config.write_text(olist_config(deal_id), encoding="utf-8")
    out = tmp / "out"
    result = run_cli(
        [
            "run",
            "--touchpoints",
            folder / MQL,
            "--deals",
            folder / DEALS,
            "--config",
            config,
            "--out",
            out,
            "--models",
            "first_touch,last_touch,linear,time_decay,position_based,w_shaped,full_path",
            "-q",
        ]
    )
    assert result.exit_code == 0
    return out


def test_empty_origin_rows_are_quarantined(run_out, rows, folder):
    mqls, _ = rows
    # data row numbers (1-based, header excluded) of MQLs without an origin
    expected = [i for i, m in enumerate(mqls, start=1) if not m["origin"].strip()]
    assert expected  # the file has such rows (60 in the published copy)
    q = pl.read_parquet(run_out / "quarantine" / "touchpoints.parquet")
    assert q["row"].to_list() == expected
    assert set(q["column"]) == {"origin"}  # the file's own column, which maps to channel
    assert set(q["file"]) == {str(folder / MQL)}
    assert not (run_out / "quarantine" / "deals.parquet").exists()
    manifest = json.loads((run_out / "manifest.json").read_text())
    assert manifest["rejected"]["touchpoints"] == len(expected)
    assert manifest["row_counts"]["touchpoints_read"] == len(mqls)


def test_conservation_against_recounted_totals(run_out, rows):
    _, deals = rows
    n_won = len(deals)
    revenue = math.fsum(float(d["declared_monthly_revenue"]) for d in deals)
    cs = pl.read_parquet(run_out / "channel_summary.parquet")
    for model, part in cs.group_by("model"):
        assert math.isclose(part["conversions"].sum(), n_won, rel_tol=1e-9), model
        assert math.isclose(part["revenue"].sum(), revenue, rel_tol=1e-9), model
        assert math.isclose(part["deals_created"].sum(), n_won, rel_tol=1e-9), model
        assert math.isclose(part["pipeline_created"].sum(), revenue, rel_tol=1e-9), model
        assert part["pipeline"].sum() == 0  # every deal is won
    journeys = pl.read_parquet(run_out / "journeys.parquet")
    assert journeys.filter(pl.col("deal_id").is_not_null()).height == n_won


def _first_touch_recount(mqls, deals) -> Counter:
    """Won deals per first-touch channel: the MQL's origin when its first contact lies in
    [won − 365 days, won]; otherwise (empty origin, contact after the win, beyond the
    lookback) a zero-touch journey, "(none)"."""
    by_id = {m["mql_id"]: m for m in mqls}
    counts: Counter = Counter()
    for d in deals:
        mql = by_id.get(d["mql_id"])
        won = datetime.strptime(d["won_date"], "%Y-%m-%d %H:%M:%S")
        channel = "(none)"
        if mql is not None and mql["origin"].strip():
            contact = datetime.strptime(mql["first_contact_date"], "%Y-%m-%d")
            if won - timedelta(days=365) <= contact <= won:
                channel = mql["origin"].strip()
        counts[channel] += 1
    return counts


def test_first_touch_conversions_match_recount(run_out, rows):
    mqls, deals = rows
    expected = _first_touch_recount(mqls, deals)
    # the data's quirks are really exercised: some deals won before first contact
    by_id = {m["mql_id"]: m for m in mqls}
    early = sum(
        1
        for d in deals
        if datetime.strptime(by_id[d["mql_id"]]["first_contact_date"], "%Y-%m-%d")
        > datetime.strptime(d["won_date"], "%Y-%m-%d %H:%M:%S")
    )
    assert early > 0
    assert expected["(none)"] >= early
    cs = pl.read_parquet(run_out / "channel_summary.parquet").filter(
        pl.col("model") == "first_touch"
    )
    got = {c: v for c, v in zip(cs["channel"], cs["conversions"], strict=True) if v}
    assert got == {k: float(v) for k, v in expected.items()}
    # one touch per journey: every rule-based model gives the same split
    full = pl.read_parquet(run_out / "channel_summary.parquet")
    for model, part in full.group_by("model"):
        split = {c: v for c, v in zip(part["channel"], part["conversions"], strict=True) if v}
        assert split == pytest.approx(got, rel=1e-12), model
