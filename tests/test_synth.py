"""Tests of the synthetic data generator: determinism, schemas, invariants, known effects."""

from __future__ import annotations

import math
import tomllib
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import run_cli
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from attrib.errors import UsageError
from attrib.synth import (
    CHANNELS,
    PAID_CHANNELS,
    STAGES,
    TRUE_CHANNEL_EFFECTS,
    generate,
    generate_frames,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "data_samples"
SAMPLE_CUSTOMERS = 3000  # must match data_samples/README.md
SAMPLE_SEED = 7

EXPECTED_SCHEMAS = {
    "touchpoints": {
        "customer_id": pl.String,
        "account_id": pl.String,
        "ts": pl.Datetime("us"),
        "channel": pl.String,
        "campaign": pl.String,
        "touch_type": pl.String,
    },
    "deals": {
        "deal_id": pl.String,
        "customer_id": pl.String,
        "account_id": pl.String,
        "created_at": pl.Datetime("us"),
        "closed_at": pl.Datetime("us"),
        "status": pl.String,
        "amount": pl.Float64,
    },
    "stages": {"customer_id": pl.String, "stage": pl.String, "ts": pl.Datetime("us")},
    "costs": {"date": pl.Date, "channel": pl.String, "campaign": pl.String, "spend": pl.Float64},
}


@pytest.fixture(scope="module")
def sample() -> dict[str, pl.DataFrame]:
    return generate_frames(customers=SAMPLE_CUSTOMERS, seed=SAMPLE_SEED)


@pytest.fixture(scope="module")
def big() -> dict[str, pl.DataFrame]:
    # Large enough that estimated effects have standard errors of ~0.04 (opportunity) and
    # ~0.07 (win); the tolerances below are at least 5 standard errors.
    return generate_frames(customers=60_000, seed=11)


# --- oracles: plain checks written independently of the generator -----------------------------


def check_invariants(frames: dict[str, pl.DataFrame], start: datetime, end: datetime) -> None:
    """Every contract invariant of the four tables, checked with plain Polars/Python."""
    tp, deals, stages, costs = (frames[k] for k in ("touchpoints", "deals", "stages", "costs"))
    for name, frame in frames.items():
        assert dict(frame.schema) == EXPECTED_SCHEMAS[name], name

    # touchpoints: in the period, sorted, one account per customer, no nulls but campaign
    assert tp.select(pl.exclude("campaign").null_count().sum()).row(0) == (0,) * 5
    if tp.height:
        assert tp["ts"].min() >= start
        assert tp["ts"].max() < end
    assert tp.equals(tp.sort(["customer_id", "ts"], maintain_order=True))
    assert set(tp["channel"].unique()) <= set(TRUE_CHANNEL_EFFECTS)
    assert not tp.is_duplicated().any()

    # deals
    assert deals["deal_id"].n_unique() == deals.height
    assert deals.equals(deals.sort("deal_id"))
    assert (deals["amount"] >= 0).all()
    assert set(deals["status"].unique()) <= {"open", "won", "lost"}
    is_open = deals["status"] == "open"
    assert (deals["closed_at"].is_null() == is_open).all()
    closed = deals.filter(~is_open)
    assert (closed["closed_at"] >= closed["created_at"]).all()
    assert (closed["closed_at"] < end).all()
    if deals.height:
        assert deals["created_at"].min() >= start
        assert deals["created_at"].max() < end

    # one account per customer across tables
    accounts = pl.concat([tp.select("customer_id", "account_id"), deals.select(tp.columns[:2])])
    assert accounts.unique().height == accounts["customer_id"].n_unique()

    # stages: known names, one row per (customer, stage), first-reach times in stage order
    assert set(stages["stage"].unique()) <= set(STAGES)
    assert stages.select("customer_id", "stage").unique().height == stages.height
    if stages.height:
        assert stages["ts"].min() >= start
        assert stages["ts"].max() < end
    rank = stages.with_columns(r=pl.col("stage").replace_strict(STAGES, list(range(6))))
    bad_order = (
        rank.sort("customer_id", "r")
        .group_by("customer_id")
        .agg((pl.col("ts").diff() < pl.duration(seconds=0)).any().alias("bad"))
    )
    assert not bad_order["bad"].any()
    # a tracked contact's lead time is the time of one of its form_submit touches
    leads = stages.filter(pl.col("stage") == "lead").join(
        tp.select("customer_id").unique(), on="customer_id"
    )
    forms = tp.filter(pl.col("touch_type") == "form_submit").select("customer_id", "ts")
    assert leads.join(forms, on=["customer_id", "ts"], how="anti").height == 0
    # opportunity = the customer's first deal created_at; customer = a won deal's closed_at
    first_deal = deals.group_by("customer_id").agg(pl.col("created_at").min())
    opp = stages.filter(pl.col("stage") == "opportunity").join(
        first_deal, on="customer_id", how="full", coalesce=True
    )
    assert (opp["ts"] == opp["created_at"]).all()
    assert opp["ts"].null_count() == opp["created_at"].null_count() == 0
    won = deals.filter(pl.col("status") == "won").select("customer_id", ts="closed_at")
    cust = stages.filter(pl.col("stage") == "customer").select("customer_id", "ts")
    assert cust.join(won, on=["customer_id", "ts"], how="anti").height == 0
    # a customer with a won deal reached the customer stage
    assert won.join(cust, on="customer_id", how="anti").height == 0

    # costs: non-negative, first of month (a period starting later: days inside it), only
    # paid channels, one row per key
    assert (costs["spend"] >= 0).all()
    if start.day == 1:
        assert costs["date"].dt.day().eq(1).all()
    else:
        assert costs["date"].is_between(start.date(), end.date(), closed="left").all()
    assert set(costs["channel"].unique()) <= PAID_CHANNELS
    assert costs.select("date", "channel", "campaign").unique().height == costs.height


def period(start: str, months: int) -> tuple[datetime, datetime]:
    """Start and end of the period as datetimes, computed with calendar arithmetic."""
    d0 = date.fromisoformat(start)
    y, m = divmod(d0.month - 1 + months, 12)
    return datetime(d0.year, d0.month, d0.day), datetime(d0.year + y, m + 1, d0.day)


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames() -> None:
    a = generate_frames(customers=400, seed=3)
    b = generate_frames(customers=400, seed=3)
    for name in a:
        assert_frame_equal(a[name], b[name])


def test_different_seed_gives_different_frames() -> None:
    a = generate_frames(customers=400, seed=3)
    b = generate_frames(customers=400, seed=4)
    assert not a["touchpoints"].equals(b["touchpoints"])
    assert not a["deals"].equals(b["deals"])


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_generate_writes_byte_identical_files(tmp_path: Path, fmt: str) -> None:
    rows_a = generate(tmp_path / "a", customers=300, seed=5, fmt=fmt)
    rows_b = generate(tmp_path / "b", customers=300, seed=5, fmt=fmt)
    assert rows_a == rows_b
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(
        [f"{t}.{fmt}" for t in ("touchpoints", "deals", "stages", "costs")] + ["channels.toml"]
    )
    for name in names:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_generate_starts_the_history_where_asked(tmp_path: Path) -> None:
    """`attrib generate --start` (as Python's start=): synthetic touches that line up with a
    real spend table's dates."""
    run_cli(
        ["generate", tmp_path / "g", "--customers", "200", "--start", "2021-02-01", "--months", "3"]
    )
    ts = pl.read_csv(tmp_path / "g" / "touchpoints.csv", try_parse_dates=True)["ts"]
    assert ts.min() >= datetime(2021, 2, 1)
    assert ts.max() < datetime(2021, 5, 1)
    bad = run_cli(["generate", tmp_path / "h", "--start", "Feb 2021"], exit_code=2)
    assert "Usage error: --start (start=) must be a date like '2025-01-01'" in bad.output
    assert "column" not in bad.output


def test_generate_out_option_says_the_folder_is_the_argument(tmp_path):
    """`attrib generate --out demo/`, as `attrib run` spells its folder: click suggested
    --format or --months. Nothing is written."""
    bad = run_cli(["generate", "--out", str(tmp_path / "my demo")], exit_code=2)
    assert "generate takes its folder as an argument, not --out" in bad.output
    assert f"attrib generate '{tmp_path / 'my demo'}'" in bad.output
    assert not (tmp_path / "my demo").exists()


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_files_round_trip_to_the_frames(tmp_path: Path, fmt: str) -> None:
    rows = generate(tmp_path, customers=300, seed=9, fmt=fmt)
    frames = generate_frames(customers=300, seed=9)
    for name, frame in frames.items():
        path = tmp_path / f"{name}.{fmt}"
        back = (
            pl.read_csv(path, schema=EXPECTED_SCHEMAS[name])
            if fmt == "csv"
            else pl.read_parquet(path)
        )
        assert rows[name] == frame.height == back.height
        # amounts and spend are rounded to cents, so 2 decimals in CSV lose nothing
        assert_frame_equal(back, frame)


def test_csv_text_format(tmp_path: Path) -> None:
    generate(tmp_path, customers=200, seed=1)
    lines = (tmp_path / "deals.csv").read_text().splitlines()
    assert lines[0] == "deal_id,customer_id,account_id,created_at,closed_at,status,amount"
    created = lines[1].split(",")[3]
    assert len(created) == 19
    assert datetime.strptime(created, "%Y-%m-%d %H:%M:%S")
    assert (tmp_path / "costs.csv").read_text().splitlines()[0] == "date,channel,campaign,spend"


# --- schemas and invariants -------------------------------------------------------------------


def test_sample_invariants(sample: dict[str, pl.DataFrame]) -> None:
    check_invariants(sample, *period("2025-01-01", 12))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    customers=st.integers(1, 400),
    seed=st.integers(0, 2**32 - 1),
    months=st.integers(1, 30),
    start=st.dates(date(2019, 1, 1), date(2030, 12, 1)).map(
        lambda d: d.replace(day=min(d.day, 28)).isoformat()
    ),
)
def test_invariants_hold_for_any_arguments(
    customers: int, seed: int, months: int, start: str
) -> None:
    frames = generate_frames(customers=customers, seed=seed, start=start, months=months)
    check_invariants(frames, *period(start, months))


def test_customers_one_is_valid() -> None:
    frames = generate_frames(customers=1, seed=0)
    assert frames["touchpoints"]["customer_id"].unique().to_list() in ([], ["c000000"])


def test_scale_is_linear_in_customers() -> None:
    small = generate_frames(customers=2_000, seed=21)
    large = generate_frames(customers=8_000, seed=21)
    per_customer = large["touchpoints"].height / 8_000
    assert 4.5 <= per_customer <= 7.5  # documented: mean ~5-8 touches per contact
    assert large["touchpoints"].height / small["touchpoints"].height == pytest.approx(4, rel=0.1)
    assert large["deals"].height / small["deals"].height == pytest.approx(4, rel=0.2)
    assert 0.08 <= large["deals"].height / 8_000 <= 0.25


def test_realistic_shape(sample: dict[str, pl.DataFrame]) -> None:
    tp, deals = sample["touchpoints"], sample["deals"]
    touched = set(tp["customer_id"].unique())
    dealt = set(deals["customer_id"].unique())
    # most contacts have no deal
    assert len(touched - dealt) > 0.7 * len(touched)
    # zero-touch deals exist, but are a small share
    zero_touch = dealt - touched
    assert 1 <= len(zero_touch) <= 0.15 * len(dealt)
    # repeat purchase: some customers have two deals
    assert deals.group_by("customer_id").len()["len"].max() == 2
    # all three statuses occur; open deals are the recent ones on average
    by_status = deals.group_by("status").agg(pl.col("created_at").mean()).sort("status")
    assert by_status["status"].to_list() == ["lost", "open", "won"]
    created = dict(by_status.iter_rows())
    assert created["open"] > created["won"]
    assert created["open"] > created["lost"]
    # B2B amounts: thousands to tens of thousands
    assert 5_000 <= deals["amount"].median() <= 40_000
    # touches after a deal closed
    after = tp.join(deals.drop_nulls("closed_at"), on="customer_id").filter(
        pl.col("ts") > pl.col("closed_at")
    )
    assert after.height > 0
    # same-timestamp ties and repeated channels within a journey
    assert tp.select("customer_id", "ts").is_duplicated().any()
    assert tp.select("customer_id", "channel").is_duplicated().sum() > 0.2 * tp.height
    # several contacts per account
    contacts = tp.group_by("account_id").agg(pl.col("customer_id").n_unique())
    assert contacts["customer_id"].max() >= 3
    # a realistic funnel: every stage is reached by fewer customers than the one before
    counts = sample["stages"]["stage"].value_counts()
    n_by_stage = dict(counts.iter_rows())
    assert [n_by_stage[s] for s in STAGES] == sorted(n_by_stage.values(), reverse=True)


def test_campaigns(sample: dict[str, pl.DataFrame]) -> None:
    tp = sample["touchpoints"]
    slugs = {c.name: c.slug for c in CHANNELS}
    per_channel = tp.group_by("channel").agg(
        pl.col("campaign").null_count().alias("nulls"),
        pl.len(),
        pl.col("campaign").str.split("/").list.first().drop_nulls().unique().alias("prefix"),
    )
    for name, nulls, n, prefix in per_channel.iter_rows():
        if slugs[name] is None:
            assert nulls == n, name
        else:
            assert nulls == 0, name
            assert prefix == [slugs[name]], name


def test_channels_toml(tmp_path: Path) -> None:
    generate(tmp_path, customers=50, seed=1)
    text = (tmp_path / "channels.toml").read_text()
    assert text.startswith("#")
    flags = tomllib.loads(text)["channels"]
    assert flags == {
        "Direct": {"direct": True},
        "SDR Outbound": {"marketing": False},
        "Partner Referral": {"marketing": False},
    }
    assert set(flags) <= set(TRUE_CHANNEL_EFFECTS)


def test_true_effects_constant() -> None:
    assert len(TRUE_CHANNEL_EFFECTS) >= 12
    assert {"SDR Outbound", "Partner Referral", "Direct"} <= set(TRUE_CHANNEL_EFFECTS)
    assert all(math.isfinite(v) and v >= 0 for v in TRUE_CHANNEL_EFFECTS.values())
    # distinct effects, so "rank by true effect" is well defined
    assert len(set(TRUE_CHANNEL_EFFECTS.values())) == len(TRUE_CHANNEL_EFFECTS)
    assert not PAID_CHANNELS & {"Organic Search", "Direct", "Referral", "SDR Outbound"}


# --- costs ------------------------------------------------------------------------------------


def test_costs_follow_touch_volume(sample: dict[str, pl.DataFrame]) -> None:
    """Spend per (month, paid channel, campaign) = touches x unit cost x 6 x lognormal noise."""
    unit = {c.name: c.unit_cost * 6.0 for c in CHANNELS if c.unit_cost > 0}
    volume = (
        sample["touchpoints"]
        .filter(pl.col("channel").is_in(list(unit)))
        .group_by(pl.col("ts").dt.truncate("1mo").dt.date().alias("date"), "channel", "campaign")
        .len()
    )
    joined = sample["costs"].join(
        volume, on=["date", "channel", "campaign"], how="full", nulls_equal=True, coalesce=True
    )
    # the same keys on both sides: spend exactly where paid touches are
    assert joined["spend"].null_count() == 0
    assert joined["len"].null_count() == 0
    ratio = (joined["spend"] / (joined["len"] * joined["channel"].replace_strict(unit))).to_numpy()
    sigma = 0.25  # documented noise: lognormal(0, 0.25)
    assert np.all(np.abs(np.log(ratio)) < 5 * sigma)
    assert abs(np.median(np.log(ratio))) < 0.1


def test_a_period_starting_after_a_1st_has_daily_costs(tmp_path: Path) -> None:
    """--start 2015-11-23: November's monthly row held the spend of its last 8 days only, and
    a run read it as spread over the whole month (22/30 of it prorated away, with a
    warning). A period of part-months has daily rows: spend = that day's paid touches x
    unit cost x 6 x noise, and nothing is prorated away."""
    frames = generate_frames(customers=300, seed=3, start="2015-11-23", months=2)
    unit = {c.name: c.unit_cost * 6.0 for c in CHANNELS if c.unit_cost > 0}
    volume = (
        frames["touchpoints"]
        .filter(pl.col("channel").is_in(list(unit)))
        .group_by(pl.col("ts").dt.date().alias("date"), "channel", "campaign")
        .len()
    )
    joined = frames["costs"].join(
        volume, on=["date", "channel", "campaign"], how="full", nulls_equal=True, coalesce=True
    )
    assert joined["spend"].null_count() == 0  # a row for each day with paid touches
    assert joined["len"].null_count() == 0  # and none for a day without
    assert frames["costs"]["date"].min() >= date(2015, 11, 23)
    ratio = (joined["spend"] / (joined["len"] * joined["channel"].replace_strict(unit))).to_numpy()
    assert np.all(np.abs(np.log(ratio)) < 5 * 0.25)
    data = tmp_path / "g"
    run_cli(["generate", data, "--customers", "300", "--start", "2015-11-23", "--months", "2"])
    text = " ".join(run_cli(["run", data, "--out", tmp_path / "out"]).output.split())
    assert "cuts months" not in text
    assert "warning" not in text  # none of the cost table's grain either


@given(
    pairs=st.lists(st.tuples(st.integers(0, 50), st.integers(0, 2**20)), max_size=60),
    minor_bits=st.sampled_from([21, 62]),
)
def test_touch_order_matches_a_plain_stable_sort(
    pairs: list[tuple[int, int]], minor_bits: int
) -> None:
    """Both paths of the touch sort (packed key, lexsort fallback) equal Python's sorted()."""
    from attrib.synth.tables import _touch_order

    cust = np.array([c for c, _ in pairs], dtype=np.int64)
    minor = np.array([m for _, m in pairs], dtype=np.int64)
    expected = sorted(range(len(pairs)), key=lambda i: pairs[i])
    assert _touch_order(cust, minor, minor_bits).tolist() == expected


# --- the known true effects -------------------------------------------------------------------


def test_raw_win_rate_ranks_extreme_channels(big: dict[str, pl.DataFrame]) -> None:
    """The four strongest channels have clearly higher raw win rates than the four weakest."""
    won = big["deals"].filter(pl.col("status") == "won").select("customer_id").unique()
    rates = dict(
        big["touchpoints"]
        .select("customer_id", "channel")
        .unique()
        .with_columns(won=pl.col("customer_id").is_in(won["customer_id"].implode()))
        .group_by("channel")
        .agg(pl.col("won").mean())
        .iter_rows()
    )
    ranked = sorted(TRUE_CHANNEL_EFFECTS, key=TRUE_CHANNEL_EFFECTS.__getitem__)
    weakest, strongest = ranked[:4], ranked[-4:]
    assert min(rates[c] for c in strongest) > 1.3 * max(rates[c] for c in weakest)
    # overall monotone trend (Spearman rank correlation, computed by hand)
    true_rank = np.argsort(np.argsort([TRUE_CHANNEL_EFFECTS[c] for c in ranked]))
    raw_rank = np.argsort(np.argsort([rates[c] for c in ranked]))
    assert np.corrcoef(true_rank, raw_rank)[0, 1] > 0.5


def _presence(tp: pl.DataFrame, outcomes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Design matrix (intercept + one column per channel) and 0/1 outcome per customer."""
    names = sorted(TRUE_CHANNEL_EFFECTS)
    wide = (
        tp.select("customer_id", "channel")
        .unique()
        .with_columns(v=pl.lit(1.0))
        .pivot(on="channel", index="customer_id", values="v")
        .fill_null(0.0)
    )
    for name in names:
        if name not in wide.columns:
            wide = wide.with_columns(pl.lit(0.0).alias(name))
    data = outcomes.join(wide, on="customer_id").sort("customer_id")
    x = np.column_stack([np.ones(data.height), data.select(names).to_numpy()])
    return x, data["y"].to_numpy().astype(np.float64)


def _logit_fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import statsmodels.api as sm

    return np.asarray(sm.Logit(y, x).fit(disp=0).params)[1:]


def test_opportunity_effects_are_recoverable(big: dict[str, pl.DataFrame]) -> None:
    """Logistic regression of 'became an opportunity' on channels touched before it."""
    tp, deals = big["touchpoints"], big["deals"]
    first = deals.group_by("customer_id").agg(pl.col("created_at").min())
    # customers who started in the first half, so that their opportunity (if any) is observed
    early = (
        tp.group_by("customer_id")
        .agg(pl.col("ts").min())
        .filter(pl.col("ts") < datetime(2025, 7, 1))
    )
    pre = tp.join(first, on="customer_id", how="left").filter(
        pl.col("created_at").is_null() | (pl.col("ts") <= pl.col("created_at"))
    )
    outcomes = early.join(first, on="customer_id", how="left").select(
        "customer_id", y=pl.col("created_at").is_not_null()
    )
    est = _logit_fit(*_presence(pre, outcomes))
    truth = np.array([TRUE_CHANNEL_EFFECTS[c] for c in sorted(TRUE_CHANNEL_EFFECTS)])
    assert np.max(np.abs(est - truth)) < 0.25


def test_win_effects_are_recoverable(big: dict[str, pl.DataFrame]) -> None:
    """Logistic regression of 'first deal won' on channels touched up to its close."""
    tp, deals = big["touchpoints"], big["deals"]
    first = (
        deals.sort("created_at")
        .group_by("customer_id")
        .first()
        .filter(pl.col("status") != "open")
        .select("customer_id", "closed_at", y=pl.col("status") == "won")
    )
    upto = tp.join(first, on="customer_id").filter(pl.col("ts") <= pl.col("closed_at"))
    est = _logit_fit(*_presence(upto, first.select("customer_id", "y")))
    truth = np.array([TRUE_CHANNEL_EFFECTS[c] for c in sorted(TRUE_CHANNEL_EFFECTS)])
    assert np.max(np.abs(est - truth)) < 0.4


# --- argument errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"customers": 0}, "customers"),
        ({"customers": 2.5}, "customers"),
        ({"months": 0}, "months"),
        ({"seed": -1}, "seed"),
        ({"start": "January"}, "start"),
        ({"start": ""}, "start"),
        ({"start": 20250101}, "start"),
        # data past 2199 (or before 1900) is all rejected by attrib run: refused here
        ({"months": 2101}, "months"),
        ({"start": "2025-01-02", "months": 2100}, "months"),
        ({"months": 10**20}, "months"),
        ({"customers": 10**20}, "customers"),  # (numpy refused the arrays: exit 5)
        ({"start": "1899-12-01"}, "start"),
        ({"start": "2200-01-01"}, "start"),
    ],
)
def test_bad_arguments_raise_usage_error(kwargs: dict[str, object], column: str) -> None:
    """The message names the argument as the CLI and Python spell it; no data column."""
    with pytest.raises(UsageError) as info:
        generate_frames(**kwargs)  # type: ignore[arg-type]
    assert info.value.message.startswith(f"--{column} ({column}=) ")
    assert info.value.column is None


def test_the_latest_months_the_years_allow_are_generated() -> None:
    frames = generate_frames(customers=20, seed=1, start="2025-01-01", months=2100)
    assert frames["touchpoints"]["ts"].max() < datetime(2200, 1, 1)
    frames = generate_frames(customers=20, seed=1, start="2199-12-01", months=1)
    assert frames["costs"]["date"].max() < date(2200, 1, 1)


def test_bad_format_raises_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="csv"):
        generate(tmp_path, customers=10, fmt="xlsx")
    assert not any(tmp_path.iterdir())


# --- the shipped sample -----------------------------------------------------------------------


def test_data_samples_are_reproducible(tmp_path: Path) -> None:
    """data_samples/ is exactly what the command in its README writes."""
    readme = (SAMPLE_DIR / "README.md").read_text()
    command = (
        "from attrib.synth import generate; "
        f"generate('data_samples', customers={SAMPLE_CUSTOMERS}, seed={SAMPLE_SEED})"
    )
    assert command in readme
    generate(tmp_path, customers=SAMPLE_CUSTOMERS, seed=SAMPLE_SEED)
    shipped = sorted(p.name for p in SAMPLE_DIR.iterdir() if p.name != "README.md")
    assert shipped == sorted(p.name for p in tmp_path.iterdir())
    for name in shipped:
        assert (SAMPLE_DIR / name).read_bytes() == (tmp_path / name).read_bytes(), name
    assert sum((SAMPLE_DIR / n).stat().st_size for n in shipped) < 3_000_000


def test_generating_over_another_formats_tables_is_refused(tmp_path: Path) -> None:
    from attrib.errors import UsageError

    generate(tmp_path, customers=30, seed=1, fmt="parquet")
    generate(tmp_path, customers=20, seed=2, fmt="parquet")  # the same format: replaced
    with pytest.raises(UsageError, match=r"already holds costs\.parquet, deals\.parquet"):
        generate(tmp_path, customers=20, seed=2, fmt="csv")
    assert not (tmp_path / "touchpoints.csv").exists()
