"""Funnel: hand-computed counts, rates and day gaps; Wilson intervals equal statsmodels."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from metric_frames import deals_frame, stages_frame

from attrib.metrics.funnel import compute_funnel, reached_stages, wilson_interval
from attrib.metrics.settings import MetricsSettings

D = dt.datetime


def touches_frame(rows: list[tuple[str, dt.datetime, str]]) -> pl.DataFrame:
    """(entity, ts, channel) → canonical touches."""
    return pl.DataFrame(
        {
            "entity_id": [r[0] for r in rows],
            "customer_id": [r[0] for r in rows],
            "ts": [r[1] for r in rows],
            "channel": [r[2] for r in rows],
            "campaign": ["(none)"] * len(rows),
            "is_marketing": [True] * len(rows),
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )


@pytest.fixture
def small():
    touches = touches_frame(
        [
            ("a", D(2026, 1, 1), "ads"),
            ("a", D(2026, 1, 5), "email"),
            ("b", D(2026, 1, 3), "seo"),
            ("c", D(2026, 2, 1), "ads"),
            ("d", D(2026, 2, 2), "seo"),
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
    return touches, stages, deals


def rows(f: pl.DataFrame, view: str, period: str, channel: str) -> dict[str, dict]:
    sub = f.filter(
        (pl.col("view") == view) & (pl.col("period") == period) & (pl.col("channel") == channel)
    )
    return {r["stage"]: r for r in sub.iter_rows(named=True)}


def test_hand_computed_all_period(small):
    # a: session 1/1, lead 1/2, sql 1/10 (so mql at 1/10 too), opp 1/12, customer 2/1
    # b: session 1/3, lead 1/4.  c: session 2/1, mql 2/3 (so lead 2/3), opp 2/5 (so sql 2/5)
    # d: session 2/2 only.  No 'offer' anywhere: the stage is skipped.
    f = compute_funnel(small[1], small[0], small[2], MetricsSettings())
    r = rows(f, "period", "all", "(all)")
    assert list(r) == ["session", "lead", "mql", "sql", "opportunity", "customer"]
    assert [r[s]["count"] for s in r] == [4, 3, 2, 2, 2, 1]
    assert r["session"]["rate_from_previous"] is None
    assert r["lead"]["rate_from_previous"] == pytest.approx(3 / 4)
    assert r["mql"]["rate_from_previous"] == pytest.approx(2 / 3)
    assert r["customer"]["rate_from_previous"] == pytest.approx(1 / 2)  # from opportunity
    assert r["customer"]["rate_from_lead"] == pytest.approx(1 / 3)
    assert r["lead"]["rate_from_lead"] == 1.0
    assert r["session"]["rate_from_lead"] is None
    # days: lead−session a 1, b 1, c 2 → median 1; mql−lead a 8, c 0 → 4
    assert r["lead"]["median_days_from_previous"] == pytest.approx(1.0)
    assert r["mql"]["median_days_from_previous"] == pytest.approx(4.0)
    assert r["customer"]["median_days_from_previous"] == pytest.approx(20.0)
    assert r["customer"]["stage_order"] == 6


def test_period_and_cohort_views_differ(small):
    f = compute_funnel(small[1], small[0], small[2], MetricsSettings())
    feb = rows(f, "period", "2026-02", "(all)")
    # reached in February: sessions c, d; lead c; mql c; sql c; opp c; customer a (2/1)
    assert [feb[s]["count"] for s in feb] == [2, 1, 1, 1, 1, 1]
    coh = rows(f, "cohort", "2026-02", "(all)")
    # entered in February: c, d. c reaches lead..opportunity, nobody becomes customer
    assert [coh[s]["count"] for s in coh] == [2, 1, 1, 1, 1, 0]
    assert coh["customer"]["rate_from_previous"] == 0.0
    q1 = rows(f, "cohort", "2026-Q1", "(all)")
    assert q1["session"]["count"] == 4


def test_source_channel_rows(small):
    f = compute_funnel(small[1], small[0], small[2], MetricsSettings())
    ads = rows(f, "cohort", "all", "ads")
    assert [ads[s]["count"] for s in ads] == [2, 2, 2, 2, 2, 1]
    seo = rows(f, "cohort", "all", "seo")
    assert [seo[s]["count"] for s in seo] == [2, 1, 0, 0, 0, 0]
    # channels partition the (all) row
    per = (
        f.filter(pl.col("channel") != "(all)")
        .group_by("view", "period", "stage")
        .agg(pl.col("count").sum())
    )
    tot = f.filter(pl.col("channel") == "(all)").select("view", "period", "stage", "count")
    joined = tot.join(per, on=["view", "period", "stage"], how="left")
    assert (joined["count"] == joined["count_right"].fill_null(0)).all()


def test_entity_without_touch_is_none_channel():
    stages = stages_frame([("x", "lead", D(2026, 3, 1)), ("y", "lead", D(2026, 3, 2))])
    touches = touches_frame([("y", D(2026, 3, 1), "ads")])
    f = compute_funnel(stages, touches, None, MetricsSettings())
    none = rows(f, "period", "all", "(none)")
    assert none["lead"]["count"] == 1
    assert none["session"]["count"] == 1  # cumulative: a lead has had a session
    assert set(f["stage"].unique()) == {"session", "lead"}


def test_month_with_no_data_has_zero_rows():
    touches = touches_frame([("a", D(2026, 1, 5), "ads"), ("b", D(2026, 3, 5), "ads")])
    stages = stages_frame([("a", "lead", D(2026, 1, 6)), ("b", "lead", D(2026, 3, 6))])
    f = compute_funnel(stages, touches, None, MetricsSettings())
    feb = rows(f, "period", "2026-02", "(all)")
    assert feb["session"]["count"] == 0
    assert feb["lead"]["count"] == 0
    assert feb["lead"]["rate_from_previous"] is None
    assert feb["lead"]["rate_from_previous_lo"] is None
    assert feb["lead"]["median_days_from_previous"] is None
    assert f["period"].unique(maintain_order=True).to_list() == [
        "all",
        "2026-01",
        "2026-02",
        "2026-03",
        "2026-Q1",
    ]


def test_stage_missing_is_skipped_and_names_mapped():
    touches = touches_frame([("a", D(2026, 1, 1), "ads"), ("b", D(2026, 1, 1), "ads")])
    stages = stages_frame(
        [
            ("a", "Marketing Qualified", D(2026, 1, 2)),
            ("b", "Marketing Qualified", D(2026, 1, 3)),
            ("a", "OFFER", D(2026, 1, 9)),
        ]
    )
    s = MetricsSettings(stage_names={"marketing qualified": "mql"})
    f = compute_funnel(stages, touches, None, s)
    r = rows(f, "period", "all", "(all)")
    assert list(r) == ["session", "mql", "offer"]  # no lead: rate_from_lead is null
    assert r["offer"]["rate_from_previous"] == pytest.approx(0.5)
    assert f["rate_from_lead"].null_count() == f.height


def test_empty_inputs_give_empty_frame():
    f = compute_funnel(None, None, None, MetricsSettings())
    assert f.height == 0
    assert "rate_from_previous_lo" in f.columns


def test_period_window_from_settings(small):
    s = MetricsSettings(period_from=dt.date(2026, 2, 1), period_to=dt.date(2026, 2, 28))
    f = compute_funnel(small[1], small[0], small[2], s)
    assert set(f["period"].unique()) == {"all", "2026-02", "2026-Q1"}
    r = rows(f, "period", "all", "(all)")
    assert r["session"]["count"] == 2


def test_wilson_matches_statsmodels_grid():
    from statsmodels.stats.proportion import proportion_confint

    pairs = [
        (c, n) for n in [1, 2, 3, 7, 10, 50, 333, 10_000] for c in range(0, n + 1, max(1, n // 9))
    ]
    pairs += [(n, n) for n in [1, 5, 10_000]]
    df = pl.DataFrame({"c": [p[0] for p in pairs], "n": [p[1] for p in pairs]})
    for alpha in (0.05, 0.1):
        lo, hi = wilson_interval(pl.col("c"), pl.col("n"), alpha)
        got = df.select(lo.alias("lo"), hi.alias("hi"))
        ref_lo, ref_hi = proportion_confint(
            df["c"].to_numpy(), df["n"].to_numpy(), alpha=alpha, method="wilson"
        )
        np.testing.assert_allclose(got["lo"].to_numpy(), ref_lo, rtol=0, atol=1e-12)
        np.testing.assert_allclose(got["hi"].to_numpy(), ref_hi, rtol=0, atol=1e-12)


def test_wilson_null_when_not_a_proportion():
    df = pl.DataFrame({"c": [0, 3, 1], "n": [0, 2, None]}, schema={"c": pl.Int64, "n": pl.Int64})
    lo, hi = wilson_interval(pl.col("c"), pl.col("n"))
    got = df.select(lo.alias("lo"), hi.alias("hi"))
    assert got["lo"].null_count() == 3
    assert got["hi"].null_count() == 3


def test_funnel_intervals_equal_statsmodels(small):
    from statsmodels.stats.proportion import proportion_confint

    f = compute_funnel(small[1], small[0], small[2], MetricsSettings())
    f = f.sort("view", "period", "channel", "stage_order").with_columns(
        pl.col("count").shift(1).over(["view", "period", "channel"]).alias("prev")
    )
    ok = f.filter(pl.col("rate_from_previous_lo").is_not_null())
    assert ok.height > 20
    ref_lo, ref_hi = proportion_confint(
        ok["count"].to_numpy(), ok["prev"].to_numpy(), alpha=0.05, method="wilson"
    )
    np.testing.assert_allclose(ok["rate_from_previous_lo"].to_numpy(), ref_lo, atol=1e-12, rtol=0)
    np.testing.assert_allclose(ok["rate_from_previous_hi"].to_numpy(), ref_hi, atol=1e-12, rtol=0)


def test_reached_stages_cumulative_times(small):
    r, present = reached_stages(small[1], small[0], small[2], MetricsSettings())
    assert present == ["session", "lead", "mql", "sql", "opportunity", "customer"]
    a = r.filter(pl.col("entity_id") == "a").sort("stage_order")
    assert a["ts"].to_list() == [
        D(2026, 1, 1),
        D(2026, 1, 2),
        D(2026, 1, 10),
        D(2026, 1, 10),
        D(2026, 1, 12),
        D(2026, 2, 1),
    ]
    assert a["prev_ts"].to_list()[1:] == a["ts"].to_list()[:-1]


_STAGE_CHOICES = ["lead", "mql", "sql", "opportunity", "offer", "customer"]


@st.composite
def random_data(draw):
    n = draw(st.integers(1, 12))
    t_rows, s_rows = [], []
    for i in range(n):
        e = f"e{i}"
        for _ in range(draw(st.integers(0, 3))):
            t_rows.append(
                (
                    e,
                    D(2026, 1, 1)
                    + dt.timedelta(
                        days=draw(st.integers(0, 80)), hours=draw(st.sampled_from([0, 10]))
                    ),
                    draw(st.sampled_from(["ads", "seo", "email"])),
                )
            )
        for s in draw(st.lists(st.sampled_from(_STAGE_CHOICES), max_size=4)):
            # a date (midnight) or a time of day, before or after a same-day touch
            when = dt.timedelta(
                days=draw(st.integers(0, 90)), hours=draw(st.sampled_from([0, 9, 11]))
            )
            s_rows.append((e, s, D(2026, 1, 1) + when))
    return touches_frame(t_rows), stages_frame(s_rows)


@settings(max_examples=40, deadline=None)
@given(random_data())
def test_property_rates_and_intervals(data):
    touches, stages = data
    f = compute_funnel(stages, touches if touches.height else None, None, MetricsSettings())
    if f.height == 0:
        return
    # cohort view: counts never grow down the funnel, rates are proportions
    coh = f.filter(pl.col("view") == "cohort").sort("period", "channel", "stage_order")
    grow = coh.with_columns(pl.col("count").diff().over(["period", "channel"]).alias("d"))[
        "d"
    ].drop_nulls()
    assert (grow <= 0).all()
    for rate, lo, hi in (
        ("rate_from_previous", "rate_from_previous_lo", "rate_from_previous_hi"),
        ("rate_from_lead", "rate_from_lead_lo", "rate_from_lead_hi"),
    ):
        x = coh.filter(pl.col(rate).is_not_null())
        assert ((x[rate] >= 0) & (x[rate] <= 1)).all()
        assert x[lo].null_count() == 0
        assert (x[lo] <= x[rate] + 1e-12).all()
        assert (x[rate] <= x[hi] + 1e-12).all()
    # period view "all" equals cohort view "all" (same population, whole window)
    a = f.filter(pl.col("period") == "all").pivot(
        on="view", index=["channel", "stage"], values="count"
    )
    assert (a["cohort"] == a["period"]).all()


def test_shuffled_inputs_give_the_same_funnel(small):
    from polars.testing import assert_frame_equal

    touches, stages, deals = small
    base = compute_funnel(stages, touches, deals, MetricsSettings())
    for seed in (1, 2):
        got = compute_funnel(
            stages.sample(fraction=1, shuffle=True, seed=seed),
            touches.sample(fraction=1, shuffle=True, seed=seed),
            deals.sample(fraction=1, shuffle=True, seed=seed),
            MetricsSettings(),
        )
        assert_frame_equal(got, base, check_exact=True)


def _reached_reference(touches, stages, deals, present):
    """Plain-Python reached stages: per entity, earliest record per stage, then cumulative
    minima from the last present stage back (independent of the numba kernel). The source
    channel is the first touch's, unless a milestone (any present stage's record but the
    session, each record: a date-only one and a timed one of the same stage alike) came
    before that touch."""
    order = ["session", "lead", "mql", "sql", "opportunity", "offer", "customer"]
    records: dict[str, dict[str, dt.datetime]] = {}
    every: dict[str, list[tuple[str, dt.datetime]]] = {}
    first: dict[str, tuple] = {}

    def note(entity, stage, when):
        if when is None:
            return
        seen = records.setdefault(entity, {})
        seen[stage] = min(seen.get(stage, when), when)
        every.setdefault(entity, []).append((stage, when))

    for e, ts, ch in sorted(touches.select("entity_id", "ts", "channel").iter_rows()):
        if e not in first:
            first[e] = (ch, ts)
            note(e, "session", ts)
    for e, s, ts in stages.select("entity_id", "stage", "ts").iter_rows():
        if s in order:
            note(e, s, ts)
    for e, created, closed, status in deals.select(
        "entity_id", "created_at", "closed_at", "status"
    ).iter_rows():
        note(e, "opportunity", created)
        if status == "won":
            note(e, "customer", closed)
    out = set()
    for e, seen in records.items():
        cum: dict[str, dt.datetime] = {}
        best = None
        for s in reversed(present):
            if s in seen and (best is None or seen[s] < best):
                best = seen[s]
            if best is not None:
                cum[s] = best
        for i, s in enumerate(present):
            if s in cum:
                prev = cum[present[i - 1]] if i else None
                ch, touched = first.get(e, (None, None))
                milestones = [t for m, t in every[e] if m in present and m != "session"]
                if milestones and touched is not None:
                    # a date (midnight) counts its whole day; every milestone bounds the touch
                    deadline = min(
                        m + dt.timedelta(days=1, microseconds=-1) if m.time() == dt.time(0) else m
                        for m in milestones
                    )
                    if touched > deadline:
                        ch = None
                out.add((e, s, cum[s], prev, cum[present[0]], ch))
    return out


@settings(max_examples=60, deadline=None)
@given(random_data(), st.integers(0, 3))
def test_reached_stages_match_a_plain_python_reference(data, n_deals):
    touches, stages = data
    entities = sorted(set(touches["entity_id"].to_list()) | {"zz"})  # "zz": deal only
    deals = deals_frame(
        [
            (
                f"d{i}",
                entities[i % len(entities)],
                D(2026, 1, 5 + i),
                D(2026, 2, 1 + i),
                ("won", "lost", "open")[i % 3],
                10.0,
            )
            for i in range(n_deals)
        ]
    )
    r, present = reached_stages(
        stages, touches if touches.height else None, deals, MetricsSettings()
    )
    got = {
        (e, s, ts, prev, entry, ch)
        for e, s, ts, prev, entry, ch in r.select(
            "entity_id", "stage", "ts", "prev_ts", "entry_ts", "source_channel"
        ).iter_rows()
    }
    assert got == _reached_reference(touches, stages, deals, present)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.datetimes(min_value=D(1, 1, 1), max_value=D(9999, 12, 31, 23, 59, 59)),
        max_size=50,
    )
)
def test_month_keys_kernel_matches_polars(stamps):
    """The funnel's month keys (numba civil-date arithmetic) equal ``periods.month_key``,
    before and after the epoch, at month and year edges."""
    from attrib.metrics._funnel_kernels import month_keys
    from attrib.metrics.periods import month_key

    edges = [D(1970, 1, 1), D(1969, 12, 31, 23, 59, 59), D(2000, 2, 29), D(2100, 3, 1)]
    ts = pl.Series([*stamps, *edges], dtype=pl.Datetime("us"))
    # many rows over a few years (the per-day table) and few over centuries (per row)
    dense = pl.Series(
        [D(1999, 11, 1) + dt.timedelta(hours=7 * i) for i in range(4000)], dtype=pl.Datetime("us")
    )
    for series in (ts, dense, pl.concat([dense, ts])):
        expected = pl.select(month_key(pl.lit(series))).to_series().to_numpy()
        np.testing.assert_array_equal(month_keys(series.dt.epoch("us").to_numpy()), expected)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(24_000, 24_030),  # month keys across quarter and year edges
            st.sampled_from(["ads", "email", "(none)", "seo"]),
            st.floats(0, 400, allow_nan=False),
        ),
        max_size=80,
    )
)
def test_slice_medians_match_polars_group_by(rows):
    """The numba medians per (period, channel) and per period equal Polars' group-by
    medians, bit for bit (month, quarter and whole-window periods)."""
    from attrib.metrics.funnel import _slice_medians
    from attrib.metrics.periods import quarter_of_month

    d = pl.DataFrame(
        {"m": [r[0] for r in rows], "channel": [r[1] for r in rows], "days": [r[2] for r in rows]},
        schema={"m": pl.Int32, "channel": pl.Categorical, "days": pl.Float64},
    )
    got = _slice_medians(d)
    keys = {"month": pl.col("m"), "quarter": quarter_of_month(pl.col("m")), "all": pl.lit(0)}
    for kind, key in keys.items():
        for by_channel in (True, False):
            by = ["key", "channel"] if by_channel else ["key"]
            expected = (
                d.with_columns(key.cast(pl.Int32).alias("key"), pl.col("channel").cast(pl.String))
                .group_by(by)
                .agg(pl.col("days").median().alias("median_days_from_previous"))
                .sort(by)
            )
            actual = got[(kind, by_channel)].sort(by)
            assert actual.equals(expected.select(actual.columns)), (kind, by_channel)


def test_a_date_milestone_is_sourced_by_a_touch_later_that_day():
    """A lead written as a date (midnight) and a first touch at 10:00 that day: the touch
    sourced it. A lead one second after midnight is a time, before the touch: (none)."""
    touches = touches_frame([("a", D(2026, 1, 5, 10), "ads"), ("b", D(2026, 1, 5, 10), "ads")])
    stages = stages_frame([("a", "lead", D(2026, 1, 5)), ("b", "lead", D(2026, 1, 5, 0, 0, 1))])
    r, _ = reached_stages(stages, touches, None, MetricsSettings())
    leads = r.filter(pl.col("stage") == "lead").sort("entity_id")
    assert leads.select("entity_id", "source_channel").rows() == [("a", "ads"), ("b", None)]


def test_a_date_milestone_ends_at_a_timed_milestone_of_its_day():
    """A lead written as a date and a deal created at 09:00 that day: a first touch at 10:00
    came after the opportunity, so it sourced nothing ((none)), though the lead alone would
    have given it the whole day. As the journeys read the lead anchor."""
    touches = touches_frame([("a", D(2026, 1, 5, 10), "ads")])
    stages = stages_frame([("a", "lead", D(2026, 1, 5))])
    deals = deals_frame([("1", "a", D(2026, 1, 5, 9), None, "open", 10.0)])
    r, _ = reached_stages(stages, touches, deals, MetricsSettings())
    assert r.get_column("source_channel").unique().to_list() == [None]
    # the deal created at 11:00 instead: the touch came before every milestone
    deals = deals_frame([("1", "a", D(2026, 1, 5, 11), None, "open", 10.0)])
    r, _ = reached_stages(stages, touches, deals, MetricsSettings())
    assert r.get_column("source_channel").unique().to_list() == ["ads"]
    # two lead records that day, a date and 09:00: the timed one bounds the touch too
    stages = stages_frame([("a", "lead", D(2026, 1, 5)), ("a", "lead", D(2026, 1, 5, 9))])
    r, _ = reached_stages(stages, touches, None, MetricsSettings())
    assert r.get_column("source_channel").unique().to_list() == [None]


def test_a_touch_at_the_milestone_time_itself_sourced_it():
    """At or before the first milestone: a first touch at 10:00 and a lead at 10:00 exactly
    (a time, not a date): the touch sourced the lead. One at 10:00:01 came after: (none)."""
    touches = touches_frame(
        [("a", D(2026, 1, 5, 10), "ads"), ("b", D(2026, 1, 5, 10, 0, 1), "ads")]
    )
    stages = stages_frame([("a", "lead", D(2026, 1, 5, 10)), ("b", "lead", D(2026, 1, 5, 10))])
    r, _ = reached_stages(stages, touches, None, MetricsSettings())
    leads = r.filter(pl.col("stage") == "lead").sort("entity_id")
    assert leads.select("entity_id", "source_channel").rows() == [("a", "ads"), ("b", None)]
