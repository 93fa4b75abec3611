"""Property tests of the metrics layer (docs/METRICS.md): what the funnel, the KPIs, the
spend columns and the plan must keep on any input, recounted here from the definitions.

Inputs are the synthetic generator's frames (``attrib.synth.generate_frames``, a few dozen
customers over one to five months, seeded by hypothesis) with cost rows the generator never
writes added on top: a ``Sales`` channel (sales cost, never channel spend), spend on the
non-marketing ``SDR Outbound`` channel and on ``TV``, a channel with spend but no touch;
sometimes as daily rows; with or without a reporting window and a gross margin.

- funnel: ``(all)`` is the sum of the source channels, months and quarters partition ``all``,
  rates are count / previous (or lead) count with Wilson bounds around proportions only,
  and every (view, period, channel, present stage) has its row;
- KPIs: additive KPIs of the months and of the quarters add up to ``all``, ``pipeline_open``
  is a snapshot at the window's end, each ratio KPI is its numerator over its denominator,
  shares lie in [0, 1] with influence ≥ sourcing, and revenue, won deals and pipeline created
  equal a plain recount of the deals in the window;
- spend columns: spend equals a plain proration of the cost rows, marketing channels' spend is
  the ``marketing_spend`` KPI, every cost ratio is its quotient (null without spend), a
  channel's campaigns add up to it, credited revenue is the revenue KPI;
- invariance: renaming channels by a bijection renames the rows and changes no number; a
  second copy of the data under other ids doubles what is additive and keeps every ratio;
  shuffled input rows give byte-identical output files;
- plan: at rates that are quotients of whole counts the reverse funnel gives those counts
  back and k times the target k times every count and budget; a larger target never needs
  less; ``plan_from_run`` equals ``plan_from_inputs``.
"""

from __future__ import annotations

import calendar
import math
import tomllib
from collections import defaultdict
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

import attrib.api as at
from attrib.credit import SUMMARY_METRICS
from attrib.metrics.plan import reverse_funnel
from attrib.metrics.settings import MetricsSettings
from attrib.synth import generate_frames
from attrib.synth.spec import channels_toml

MODELS = "first_touch,linear"
SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
STAGES = ("session", "lead", "mql", "sql", "opportunity", "offer", "customer")
ADDITIVE_KPIS = ("revenue", "pipeline_created", "won_deals", "marketing_spend")
SHARE_KPIS = (
    "marketing_sourced_revenue_share",
    "marketing_sourced_pipeline_share",
    "marketing_sourced_deal_share",
    "marketing_influenced_revenue_share",
    "marketing_influenced_pipeline_share",
)
#: channel_summary columns that add up (over a disjoint union of inputs)
ADDITIVE_COLUMNS = (
    *SUMMARY_METRICS,
    "spend",
    "leads",
    "mqls",
    "sqls",
    "opportunities",
    "customers",
)
#: cost ratios of channel_summary: (column, denominator column)
COST_RATIOS = (
    ("cpl", "leads"),
    ("cost_per_mql", "mqls"),
    ("cost_per_sql", "sqls"),
    ("cost_per_opportunity", "opportunities"),
    ("cac", "customers"),
)


def close(a: float | None, b: float | None, rel: float = 1e-9, abs_: float = 1e-9) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def ratio(num: float | None, den: float | None) -> float | None:
    """The documented division: null when either side is null or the denominator is 0."""
    if num is None or den is None or den == 0:
        return None
    return num / den


# ---- inputs ----------------------------------------------------------------------------------


def _config(tv_marketing: bool) -> at.RunConfig:
    """The generator's channel flags, and TV's (a channel with spend and no touch)."""
    data = tomllib.loads(channels_toml())
    data.setdefault("channels", {})["TV"] = {"marketing": tv_marketing}
    return at.config_from_mapping(data)


def _renamed_config(config: at.RunConfig, rename: dict[str, str]) -> at.RunConfig:
    channels = {
        rename.get(name, name): {"marketing": f.marketing, "direct": f.direct}
        for name, f in config.channels.items()
    }
    return at.config_from_mapping({"channels": channels})


def _months(first: date, last: date) -> list[date]:
    out, m = [], first.replace(day=1)
    while m <= last:
        out.append(m)
        m = (m + timedelta(days=32)).replace(day=1)
    return out


@st.composite
def synth_inputs(draw, *, window: bool = True):
    """(frames, config, metrics) of a small synthetic export with extra cost rows."""
    start = draw(st.sampled_from((date(2025, 1, 1), date(2025, 2, 17), date(2024, 11, 20))))
    months = draw(st.integers(1, 5))
    frames = generate_frames(
        customers=draw(st.integers(8, 60)),
        seed=draw(st.integers(0, 2**16)),
        start=start.isoformat(),
        months=months,
    )
    costs = frames["costs"]
    extra = []
    span = _months(start, start + timedelta(days=31 * months))
    for channel, campaign in (("Sales", None), ("SDR Outbound", None), ("TV", "tv/brand")):
        if draw(st.booleans()):
            for m in span:
                extra.append((m, channel, campaign, float(draw(st.integers(0, 5000)))))
    if extra:
        costs = pl.concat([costs, pl.DataFrame(extra, schema=costs.schema, orient="row")])
    if draw(st.booleans()):  # daily rows: each on a day of its month other than the 1st
        costs = costs.with_columns(
            (pl.col("date") + pl.duration(days=1 + pl.int_range(pl.len()) % 27)).alias("date")
        )
    frames["costs"] = costs
    metrics: dict[str, object] = {"gross_margin": draw(st.sampled_from((1.0, 0.35)))}
    if window and draw(st.booleans()):
        lo = start + timedelta(days=draw(st.integers(-20, 60)))
        metrics["period_from"] = lo.isoformat()
        if draw(st.booleans()):
            metrics["period_to"] = (lo + timedelta(days=draw(st.integers(0, 120)))).isoformat()
    return frames, _config(draw(st.booleans())), metrics


def _run(frames, config, metrics, **kw) -> at.RunResult:
    return at.run(models=MODELS, config=config, metrics=metrics, **frames, **kw)


def _window(result) -> tuple[date, date]:
    w = result.manifest["reporting_window"]
    return date.fromisoformat(w["from"]), date.fromisoformat(w["to"])


def _kpis(result) -> dict[tuple[str, str], dict]:
    return {(r["kpi"], r["period"]): r for r in result.tables["kpis"].iter_rows(named=True)}


def _prorated_spend(costs: pl.DataFrame, lo: date, hi: date) -> dict[str, float]:
    """Spend per channel in the window, read as docs/METRICS.md says (plain Python): monthly
    when every date is a 1st and no (channel, campaign, month) repeats, else daily."""
    rows = costs.select("date", "channel", "campaign", "spend").rows()
    keys = [(c, camp, d.replace(day=1)) for d, c, camp, _ in rows]
    monthly = all(d.day == 1 for d, *_ in rows) and len(set(keys)) == len(keys)
    out: dict[str, float] = defaultdict(float)
    for d, channel, _, spend in rows:
        if monthly:
            days = calendar.monthrange(d.year, d.month)[1]
            last = d.replace(day=days)
            inside = (min(last, hi) - max(d, lo)).days + 1
            out[channel] += spend * max(inside, 0) / days
        elif lo <= d <= hi:
            out[channel] += spend
    return dict(out)


# ---- funnel ----------------------------------------------------------------------------------


def _wilson(count: int, nobs: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = count / nobs
    denom = 1 + z * z / nobs
    centre = (p + z * z / (2 * nobs)) / denom
    half = z * math.sqrt(p * (1 - p) / nobs + z * z / (4 * nobs * nobs)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@SETTINGS
@given(synth_inputs())
def test_funnel_counts_partition_and_rates_are_their_quotients(inputs):
    frames, config, metrics = inputs
    result = _run(frames, config, metrics)
    f = result.tables["funnel"]
    assume(f.height > 0)
    lo, hi = _window(result)
    months = [m.strftime("%Y-%m") for m in _months(lo, hi)]
    quarters = list(dict.fromkeys(f"{m[:4]}-Q{(int(m[5:]) - 1) // 3 + 1}" for m in months))
    # every month and quarter touching the window, in order, and nothing else
    assert f["period"].unique(maintain_order=True).to_list() == ["all", *months, *quarters]
    present = f.filter(pl.col("stage_order").is_not_null())["stage"].unique().to_list()
    present = [s for s in STAGES if s in present]
    channels = f["channel"].unique().to_list()
    assert "(all)" in channels
    # every (view, period, channel, present stage) has exactly one row
    assert f.height == 2 * (1 + len(months) + len(quarters)) * len(channels) * len(present)
    assert f.select("view", "period", "channel", "stage").n_unique() == f.height
    count = {
        (r["view"], r["period"], r["channel"], r["stage"]): r["count"]
        for r in f.select("view", "period", "channel", "stage", "count").iter_rows(named=True)
    }
    for view in ("period", "cohort"):
        for stage in present:
            for period in ["all", *months, *quarters]:
                # one source channel per entity: (all) is the sum over the channels
                by_channel = sum(count[view, period, c, stage] for c in channels if c != "(all)")
                assert count[view, period, "(all)", stage] == by_channel, (view, period, stage)
            for channel in channels:
                # one stage time (or entry time) per entity: months and quarters partition all
                whole = count[view, "all", channel, stage]
                assert sum(count[view, m, channel, stage] for m in months) == whole
                assert sum(count[view, q, channel, stage] for q in quarters) == whole
    for r in f.iter_rows(named=True):
        i = present.index(r["stage"])
        assert r["stage_order"] == STAGES.index(r["stage"])
        key = (r["view"], r["period"], r["channel"])
        prev = count[(*key, present[i - 1])] if i else None
        lead = count[(*key, "lead")] if "lead" in present[: i + 1] else None
        for name, den in (("rate_from_previous", prev), ("rate_from_lead", lead)):
            rate, r_lo, r_hi = r[name], r[f"{name}_lo"], r[f"{name}_hi"]
            expected = ratio(r["count"], den)
            assert close(rate, expected, rel=1e-12), (name, r)
            if expected is None or r["count"] > den:  # no proportion: no interval
                assert r_lo is None, (name, r)
                assert r_hi is None, (name, r)
            else:
                w_lo, w_hi = _wilson(r["count"], den)
                assert close(r_lo, w_lo, 1e-9), (name, r)
                assert close(r_hi, w_hi, 1e-9), (name, r)
                assert 0.0 <= r_lo <= rate + 1e-12, (name, r)
                assert rate - 1e-12 <= r_hi <= 1.0, (name, r)
        if r["view"] == "cohort" and prev is not None:
            assert r["count"] <= prev, r  # cohort counts never grow down the funnel
        # a stage time is never before the previous stage's; no entity, no median
        days = r["median_days_from_previous"]
        if i == 0 or r["count"] == 0:
            assert days is None, r
        else:
            assert days is not None, r
            assert days >= 0.0, r


# ---- KPIs ------------------------------------------------------------------------------------


@SETTINGS
@given(synth_inputs(), st.sampled_from((None, "all", "first-month", "first-quarter")))
def test_kpis_add_up_over_periods_and_ratios_are_their_quotients(inputs, baseline):
    frames, config, metrics = inputs
    if baseline is not None:  # a baseline in the data (or, with a window, maybe outside it)
        first = frames["touchpoints"]["ts"].min().date()
        metrics = dict(
            metrics,
            baseline_period={
                "all": "all",
                "first-month": first.strftime("%Y-%m"),
                "first-quarter": f"{first.year}-Q{(first.month - 1) // 3 + 1}",
            }[baseline],
        )
    result = _run(frames, config, metrics)
    k = _kpis(result)
    lo, hi = _window(result)
    periods = list(dict.fromkeys(p for _, p in k))
    months = [p for p in periods if len(p) == 7 and "-Q" not in p]
    quarters = [p for p in periods if "-Q" in p]
    assert periods == ["all", *months, *quarters]

    def v(kpi: str, period: str = "all") -> float | None:
        return k[kpi, period]["value"]

    for kpi in ADDITIVE_KPIS:
        for part in (months, quarters):
            assert close(sum(v(kpi, p) for p in part), v(kpi), 1e-9, 1e-6), (kpi, part)
    # open pipeline is a snapshot at the period's end: the last month's and quarter's is all's
    assert v("pipeline_open", months[-1]) == v("pipeline_open") == v("pipeline_open", quarters[-1])

    # a plain recount of the deals in the window
    deals = frames["deals"]
    start, end = (
        datetime.combine(lo, datetime.min.time()),
        datetime.combine(hi, datetime.max.time()),
    )
    closed = deals.filter(pl.col("closed_at").is_between(start, end))
    won = closed.filter(pl.col("status") == "won")
    assert close(v("revenue"), float(won["amount"].sum()), 1e-9, 1e-6)
    assert v("won_deals") == won.height
    created = deals.filter(pl.col("created_at").is_between(start, end))
    assert close(v("pipeline_created"), float(created["amount"].sum()), 1e-9, 1e-6)
    lost = closed.filter(pl.col("status") == "lost").height
    assert close(v("win_rate"), ratio(won.height, won.height + lost), 1e-12)

    s = MetricsSettings.from_mapping(metrics)
    gm = s.gross_margin
    for p in periods:
        row = {name: v(name, p) for name, _ in k if (name, p) in k}
        for name, value in row.items():
            assert value is None or math.isfinite(value), (name, p)  # null, never inf or NaN
        assert close(row["avg_deal_size"], ratio(row["revenue"], row["won_deals"]), 1e-12)
        assert close(row["mer"], ratio(row["revenue"], row["marketing_spend"]), 1e-12)
        adsz = row["avg_deal_size"]
        ltv = None if adsz is None else adsz * gm * s.expected_purchases_per_customer
        assert close(row["ltv"], ltv, 1e-12)
        assert close(row["ltv_to_cac"], ratio(ltv, row["cac_total"]), 1e-12)
        monthly_profit = None if adsz is None else adsz * gm / s.revenue_months_per_deal
        assert close(row["cac_payback_months"], ratio(row["cac_total"], monthly_profit), 1e-12)
        if row["cac_total"]:  # with new customers: the share is the CAC quotient
            assert close(
                row["marketing_share_of_cac"], ratio(row["cac_marketing"], row["cac_total"]), 1e-9
            )
        assert (row["cac_marketing"] is None) == (row["cac_total"] is None), p
        for name in (*SHARE_KPIS, "win_rate", "marketing_share_of_cac"):
            assert row[name] is None or 0.0 <= row[name] <= 1.0, (name, p, row[name])
        for kind in ("revenue", "pipeline"):  # the first touch is a touch of the journey
            sourced = row[f"marketing_sourced_{kind}_share"]
            influenced = row[f"marketing_influenced_{kind}_share"]
            assert (sourced is None) == (influenced is None), (kind, p)
            assert sourced is None or sourced <= influenced + 1e-12, (kind, p)
        for name in ("win_rate", "marketing_sourced_deal_share"):
            r = k[name, p]
            if r["value"] is None:
                assert r["lo"] is None
                assert r["hi"] is None
            else:
                assert 0.0 <= r["lo"] <= r["value"] + 1e-12 <= r["hi"] + 2e-12 <= 1.0 + 2e-12
        if row["won_deals"] == 0:
            assert row["avg_deal_size"] is None
            assert row["days_to_deal_median"] is None
        for name in ("days_to_deal_median", "days_to_deal_p75", "sales_cycle_days_median"):
            assert row[name] is None or row[name] >= 0.0, (name, p)
        if row["days_to_deal_median"] is not None:
            assert row["days_to_deal_median"] <= row["days_to_deal_p75"] + 1e-9
    # index_vs_baseline: value / the baseline's value × 100 for periods of its kind only
    base = s.baseline_period

    def kind(period: str) -> str:
        return "all" if period == "all" else "quarter" if "-Q" in period else "month"

    for (name, p), r in k.items():
        expected = None
        if base is not None and (name, base) in k and kind(p) == kind(base):
            expected = ratio(r["value"], k[name, base]["value"])
            expected = None if expected is None else expected * 100
        assert close(r["index_vs_baseline"], expected, 1e-12), (name, p, base)


# ---- spend columns ---------------------------------------------------------------------------


@SETTINGS
@given(synth_inputs())
def test_spend_columns_recount_the_costs_and_add_up(inputs):
    frames, config, metrics = inputs
    result = _run(frames, config, metrics)
    cs = result.channel_summary
    k = _kpis(result)
    lo, hi = _window(result)
    gm = MetricsSettings.from_mapping(metrics).gross_margin
    oracle = _prorated_spend(frames["costs"], lo, hi)
    sales = sum(v for c, v in oracle.items() if c.lower() == "sales")
    models = cs["model"].unique(maintain_order=True).to_list()
    assert models == MODELS.split(",")
    first = cs.filter(pl.col("model") == models[0])
    assert "Sales" not in first["channel"].to_list()  # sales cost is never channel spend
    for model in models:
        rows = cs.filter(pl.col("model") == model)
        # spend (and every sourced count) does not depend on the model
        for column in ("channel", "is_marketing", "spend", "leads", "mqls", "customers"):
            assert rows[column].to_list() == first[column].to_list(), (model, column)
        # credited revenue and pipeline created are the window's KPIs (docs: the attribution
        # columns follow the window)
        assert close(rows["revenue"].sum(), k["revenue", "all"]["value"], 1e-9, 1e-6)
        assert close(
            rows["pipeline_created"].sum(), k["pipeline_created", "all"]["value"], 1e-9, 1e-6
        )
        # customers: won deals closed in the window, each counted for one channel
        assert rows["customers"].sum() == k["won_deals", "all"]["value"]
        for r in rows.iter_rows(named=True):
            assert close(r["spend"], oracle.get(r["channel"], 0.0), 1e-9, 1e-6), r["channel"]
            assert close(r["roas"], ratio(r["revenue"], r["spend"]), 1e-12)
            romi = ratio(r["revenue"] * gm - r["spend"], r["spend"])
            assert close(r["romi"], romi, 1e-12, 1e-12)
            for column, den in COST_RATIOS:  # null without spend: its cost is unmeasured
                cost = ratio(r["spend"], r[den]) if r["spend"] > 0 else None
                assert close(r[column], cost, 1e-12), (column, r)
    # every unit of non-sales spend lands on a channel row; marketing channels' spend is the KPI
    non_sales = sum(v for c, v in oracle.items() if c.lower() != "sales")
    assert close(first["spend"].sum(), non_sales, 1e-9, 1e-6)
    marketing = first.filter(pl.col("is_marketing"))["spend"].sum()
    ms = k["marketing_spend", "all"]["value"]
    assert close(ms, marketing, 1e-9, 1e-6)
    share = k["marketing_share_of_cac", "all"]["value"]
    if ms > 0:  # marketing + other cost (sales rows and non-marketing channels) = every row
        assert close(ms / share, non_sales + sales, 1e-9, 1e-6)
    # a channel's campaigns add up to it
    camp = result.tables["campaign_summary"]
    summed = camp.group_by("model", "channel").agg(pl.col(c).sum() for c in ADDITIVE_COLUMNS)
    joined = cs.join(summed, on=["model", "channel"], how="left", suffix="_c")
    for c in ADDITIVE_COLUMNS:
        got, want = joined[f"{c}_c"].fill_null(0), joined[c].fill_null(0)
        assert all(close(a, b, 1e-9, 1e-6) for a, b in zip(got, want, strict=True)), c


# ---- invariance ------------------------------------------------------------------------------


def _untied(frames):
    """The frames without a second touch of a customer at the same time (channel names break
    such ties, so renaming could change which one is first)."""
    touches = frames["touchpoints"].unique(["customer_id", "ts"], keep="first", maintain_order=True)
    return dict(frames, touchpoints=touches)


@SETTINGS
@given(synth_inputs(), st.randoms(use_true_random=False))
def test_renaming_channels_renames_rows_and_changes_no_number(inputs, rnd):
    frames, config, metrics = inputs
    frames = _untied(frames)
    names = sorted(
        set(frames["touchpoints"]["channel"]) | set(frames["costs"]["channel"]) - {"Sales"}
    )
    # new names in another order (leading and trailing blanks are trimmed on reading)
    new = [f"{rnd.choice('ABCXYZabcxyz')}{i} ·{rnd.randrange(100)}" for i in range(len(names))]
    rnd.shuffle(new)
    rename = dict(zip(names, new, strict=True))
    renamed = dict(
        frames,
        touchpoints=frames["touchpoints"].with_columns(pl.col("channel").replace(rename)),
        costs=frames["costs"].with_columns(pl.col("channel").replace(rename)),
    )
    a = _run(frames, config, metrics)
    b = _run(renamed, _renamed_config(config, rename), metrics)
    assert_frame_equal(a.tables["kpis"], b.tables["kpis"], check_exact=False, rel_tol=1e-12)
    for name, keys in (
        ("channel_summary", ["model", "channel"]),
        ("campaign_summary", ["model", "channel", "campaign"]),
        ("funnel", ["view", "period", "channel", "stage"]),
    ):
        left = a.tables[name].with_columns(pl.col("channel").replace(rename)).sort(keys)
        right = b.tables[name].sort(keys)
        assert_frame_equal(left, right, check_exact=False, rel_tol=1e-12)


def _second_copy(frames):
    """The frames and a copy of them under other customer, account and deal ids; spend
    doubled in place (a repeated cost row would turn a monthly table daily)."""

    def copy(df: pl.DataFrame, ids: tuple[str, ...]) -> pl.DataFrame:
        other = df.with_columns(("x" + pl.col(c)).alias(c) for c in ids if c in df.columns)
        return pl.concat([df, other])

    return dict(
        frames,
        touchpoints=copy(frames["touchpoints"], ("customer_id", "account_id")),
        deals=copy(frames["deals"], ("deal_id", "customer_id", "account_id")),
        stages=copy(frames["stages"], ("customer_id",)),
        costs=frames["costs"].with_columns(pl.col("spend") * 2),
    )


#: KPIs that double with a second copy of the data; every other one (but the p75, a quantile
#: of a doubled sample, and the Wilson bounds, narrower) stays as it is
DOUBLING_KPIS = (
    "revenue",
    "pipeline_open",
    "pipeline_created",
    "won_deals",
    "days_to_deal_won_deals",
    "marketing_spend",
    "pipeline_velocity",  # open deals × (unchanged) win rate, deal size and cycle
)


@SETTINGS
@given(synth_inputs())
def test_a_second_copy_of_the_data_doubles_totals_and_keeps_ratios(inputs):
    frames, config, metrics = inputs
    a = _run(frames, config, metrics)
    b = _run(_second_copy(frames), config, metrics)
    assert _window(a) == _window(b)
    ka, kb = _kpis(a), _kpis(b)
    assert ka.keys() == kb.keys()
    for (kpi, period), r in ka.items():
        if kpi == "days_to_deal_p75":
            continue
        factor = 2 if kpi in DOUBLING_KPIS else 1
        want = None if r["value"] is None else factor * r["value"]
        assert close(kb[kpi, period]["value"], want, 1e-9, 1e-9), (kpi, period)
    fa, fb = a.tables["funnel"], b.tables["funnel"]
    assert fa.select("view", "period", "channel", "stage").equals(
        fb.select("view", "period", "channel", "stage")
    )
    assert (fb["count"] == 2 * fa["count"]).all()
    for column in ("rate_from_previous", "rate_from_lead", "median_days_from_previous"):
        for x, y in zip(fa[column], fb[column], strict=True):
            assert close(x, y, 1e-9), column
    for name in ("channel_summary", "campaign_summary"):
        sa, sb = a.tables[name], b.tables[name]
        keys = [c for c in ("model", "channel", "campaign", "is_marketing") if c in sa.columns]
        assert sa.select(keys).equals(sb.select(keys)), name
        for column in sa.columns:
            if column in keys:
                continue
            factor = 2 if column in ADDITIVE_COLUMNS else 1  # roas, romi and cost ratios stay
            for x, y in zip(sa[column], sb[column], strict=True):
                assert close(y, None if x is None else factor * x, 1e-9, 1e-9), (name, column)


@settings(SETTINGS, max_examples=10)
@given(synth_inputs(), st.integers(0, 2**32 - 1))
def test_shuffled_input_rows_give_byte_identical_files(tmp_path_factory, inputs, seed):
    frames, config, metrics = inputs
    tmp = tmp_path_factory.mktemp("shuffle")
    shuffled = {
        name: df.sample(fraction=1.0, shuffle=True, seed=seed + i)
        for i, (name, df) in enumerate(frames.items())
    }
    _run(frames, config, metrics, out=tmp / "a")
    _run(shuffled, config, metrics, out=tmp / "b")
    files = sorted(p.relative_to(tmp / "a") for p in (tmp / "a").rglob("*.parquet"))
    assert {p.name for p in files} >= {"kpis.parquet", "funnel.parquet", "channel_summary.parquet"}
    assert files == sorted(p.relative_to(tmp / "b") for p in (tmp / "b").rglob("*.parquet"))
    for rel in files:
        assert (tmp / "a" / rel).read_bytes() == (tmp / "b" / rel).read_bytes(), rel


# ---- plan ------------------------------------------------------------------------------------

PLAN_SETTINGS = MetricsSettings()


def _plan_values(table: pl.DataFrame, kind: str) -> dict[str, float | None]:
    rows = table.filter(pl.col("kind") == kind)
    return dict(zip(rows["name"].to_list(), rows["value"].to_list(), strict=True))


@st.composite
def plan_inputs(draw, exact: bool):
    """(rates, chain, cpl, mix, counts) of a plan. ``exact``: each rate is the quotient of two
    whole stage counts (25 → 20: 0.8, where 20 / 0.8 = 25.000000000000004), so that the
    reverse funnel gives those counts back; else any rate in (0, 1] (counts None)."""
    n = draw(st.integers(1, 6))
    chain = list(STAGES[-(n + 1) :])
    counts = None
    if exact:
        counts = [draw(st.integers(1, 60))]  # customers, then each stage above
        for _ in range(n):
            counts.insert(0, counts[0] + draw(st.integers(0, 500)))
        rs = [counts[i + 1] / counts[i] for i in range(n)]
    else:
        rs = [draw(st.floats(0.001, 1.0)) for _ in range(n)]
    rates = dict(zip(chain[1:], rs, strict=True))
    channels = draw(st.lists(st.sampled_from(("ads", "seo", "email", "tv")), unique=True))
    mix = {c: float(draw(st.integers(1, 50))) for c in channels}
    cpl = {c: draw(st.one_of(st.none(), st.floats(0.5, 500.0))) for c in channels}
    return rates, chain, cpl, mix, counts


def _plan(target: float, adsz: float, plan) -> pl.DataFrame:
    rates, chain, cpl, mix, _ = plan
    return reverse_funnel(
        target,
        avg_deal_size=adsz,
        rates=rates,
        stages=chain,
        cpl_by_channel=cpl,
        channel_mix=mix,
        settings=PLAN_SETTINGS,
    )


@settings(max_examples=60, deadline=None)
@given(plan_inputs(exact=True), st.integers(1, 10**5), st.integers(2, 30))
def test_plan_of_k_times_an_exact_target_is_k_times_the_plan(plan, adsz, k):
    """At rates that are quotients of whole counts, a target of the customers' revenue gives
    those counts back (docs: rounded to 9 decimals before each ceil), and k times the target
    k times every count and budget (no ceil rounds anything up)."""
    _rates, chain, cpl, mix, exact = plan
    one = _plan(float(exact[-1] * adsz), float(adsz), plan)
    many = _plan(float(k * exact[-1] * adsz), float(adsz), plan)
    counts = _plan_values(one, "stage")
    assert counts == {s: float(c) for s, c in zip(chain, exact, strict=True)}
    for stage, value in counts.items():
        assert _plan_values(many, "stage")[stage] == k * value, stage
    budget_one, budget_many = _plan_values(one, "budget"), _plan_values(many, "budget")
    assert budget_one.keys() == budget_many.keys()
    for name, value in budget_one.items():
        assert close(budget_many[name], None if value is None else k * value, 1e-12), name
    assert_frame_equal(
        one.filter(pl.col("kind") != "input").drop("value"),
        many.filter(pl.col("kind") != "input").drop("value"),
    )  # shares, CPLs, rates and intervals do not depend on the target
    if "lead" in chain and mix:  # budget = leads × share × CPL; the total adds the channels
        total_share = sum(mix.values())
        known = [c for c in mix if cpl[c] is not None]
        for c in mix:
            want = None if cpl[c] is None else counts["lead"] * mix[c] / total_share * cpl[c]
            assert close(budget_one[c], want, 1e-12), c
        want_total = sum(budget_one[c] for c in known) if known else None
        assert close(budget_one["(total)"], want_total, 1e-12)


@settings(max_examples=60, deadline=None)
@given(plan_inputs(exact=False), st.floats(0, 1e7), st.floats(0, 1e7), st.floats(1, 1e5))
def test_a_larger_target_never_needs_less(plan, t1, t2, adsz):
    small, large = sorted((t1, t2))
    a, b = _plan(small, adsz, plan), _plan(large, adsz, plan)
    for kind in ("stage", "budget"):
        va, vb = _plan_values(a, kind), _plan_values(b, kind)
        for name, value in va.items():
            assert (value is None) == (vb[name] is None), name
            assert value is None or value <= vb[name] * (1 + 1e-12), (kind, name, value, vb[name])


@settings(SETTINGS, max_examples=8)
@given(synth_inputs(), st.floats(1e3, 1e7), st.data())
def test_plan_from_a_run_equals_plan_from_the_inputs(tmp_path_factory, inputs, target, data):
    frames, config, metrics = inputs
    # a setting the plan reads from the run's manifest
    threshold = data.draw(st.sampled_from((0.05, 0.5, 3.0)), label="wide_interval_threshold")
    metrics = dict(metrics, wide_interval_threshold=threshold)
    out = tmp_path_factory.mktemp("plan") / "run"
    result = _run(frames, config, metrics, out=out)
    periods = result.tables["funnel"]["period"].unique(maintain_order=True).to_list()
    period = data.draw(st.sampled_from([None, *periods]), label="period")

    def plan(make):
        try:
            return make()
        except Exception as err:  # both ways must fail alike (no history, no customer)
            return type(err), str(err)

    from_run = plan(lambda: at.plan_from_run(target, out, period))
    from_inputs = plan(
        lambda: at.plan_from_inputs(target, config=config, metrics=metrics, period=period, **frames)
    )
    if isinstance(from_run, tuple):
        assert from_run == from_inputs
        return
    assert from_run.period == from_inputs.period
    assert from_run.warnings == from_inputs.warnings
    assert_frame_equal(from_run.table, from_inputs.table, check_exact=False, rel_tol=1e-12)


def test_campaigns_with_spend_have_rows_when_no_campaign_has_credit():
    """Found by ``test_spend_columns_recount_the_costs_and_add_up``: with no deal in the
    reporting window (or none at all), no campaign holds credit, and the campaign summary had
    no row, while the channel summary held the window's spend and sourced leads: a channel's
    campaigns did not add up to it."""
    touches = pl.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "ts": [datetime(2026, 1, 5, 10), datetime(2026, 1, 7, 10)],
            "channel": ["Email", "Paid Search"],
            "campaign": ["spring", "brand"],
        }
    )
    deals = pl.DataFrame(
        {
            "deal_id": ["d1"],
            "customer_id": ["c1"],
            "created_at": [datetime(2026, 2, 2)],
            "closed_at": [datetime(2026, 2, 20)],
            "status": ["won"],
            "amount": [500.0],
        }
    )
    stages = pl.DataFrame(
        {"customer_id": ["c1", "c2"], "stage": ["lead", "lead"], "ts": [datetime(2026, 1, 8)] * 2}
    )
    costs = pl.DataFrame(
        {
            "date": [date(2026, 1, 1), date(2026, 1, 1), date(2026, 2, 1)],
            "channel": ["Email", "Paid Search", "Email"],
            "campaign": ["spring", "brand", "spring"],
            "spend": [310.0, 62.0, 280.0],
        }
    )
    for window, tables in (
        ({"period_from": "2026-01-01", "period_to": "2026-01-31"}, {"deals": deals}),
        ({}, {"deals": deals.clear()}),
    ):
        result = at.run(
            models=MODELS, touchpoints=touches, stages=stages, costs=costs, metrics=window, **tables
        )
        cs, camp = result.channel_summary, result.tables["campaign_summary"]
        assert cs["revenue"].sum() == 0.0
        expected = [
            (model, channel, campaign, spend, 1)
            for model in MODELS.split(",")
            for channel, campaign, spend in (
                ("Email", "spring", 310.0),
                ("Paid Search", "brand", 62.0),
            )
        ]
        if not window:  # the data's span: 5 to 8 January of the January rows
            expected = [(*e[:3], e[3] * 4 / 31, e[4]) for e in expected]
        got = camp.select("model", "channel", "campaign", "spend", "leads").rows()
        assert [g[:3] for g in got] == [e[:3] for e in expected]
        for g, e in zip(got, expected, strict=True):
            assert g[3] == pytest.approx(e[3])
            assert g[4] == e[4]
        spend = cs.filter(pl.col("channel").is_in(["Email", "Paid Search"]))["spend"].to_list()
        assert spend == pytest.approx([e[3] for e in expected])
