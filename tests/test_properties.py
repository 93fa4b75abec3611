"""Property tests of the invariants every model and run must keep (DESIGN.md "Invariants").

Random small exports (a few customers, overlapping deals, ties, zero-touch deals, stages)
are written as CSV and run through ``attrib.run.run``:

- conservation: per model, Σ over channels of each metric equals the totals recounted here
  from the generated deals (1e-9 relative), Markov and Shapley included;
- weights: every model's touch weights sum to 1 over each journey with a touch (and over
  each non-empty pipeline-window prefix);
- determinism: two runs write byte-identical Parquet files;
- order independence: shuffled input rows give identical summaries and journeys.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from conftest import deals as deal_frame
from conftest import stages as stage_frame
from conftest import touches as touch_frame
from conftest import write_inputs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attrib.models import model_names
from attrib.run import run

MODELS = model_names()  # every registered model (markov and shapley when importable)
CHANNELS = ("Direct", "Email", "Paid Search", "SDR Outbound", "Webinar")
CONFIG = '[channels."Direct"]\ndirect = true\n[channels."SDR Outbound"]\nmarketing = false\n'
BASE = datetime(2025, 1, 1)
#: account of each generated customer (used at --level account; c1 and c4 share A0)
ACCOUNT = {"c0": "A0", "c1": "A0", "c2": "A1", "c3": "A2", "c4": "A0"}
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _ts(hours: int) -> str:
    return (BASE + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")


@st.composite
def exports(draw, step: int = 12):
    """(touch rows, deal rows, stage rows, lookback days) of a small random export, its times
    on a grid of ``step`` hours (12: ties and window bounds; 3: several records a day, so a
    date-only milestone, at midnight, meets timed ones of its day)."""
    n = draw(st.integers(1, 4))
    customers = [f"c{i}" for i in range(n + 1)]  # the last one may have deals but no touches
    touch_rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(customers[:-1]),
                st.integers(0, 30).map(lambda k: _ts(step * k)),  # coarse: ties, bounds
                st.sampled_from(CHANNELS),
                st.sampled_from(("a", "b", "")),
            ),
            max_size=25,
        )
    )
    deal_specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(customers),
                st.integers(0, 30).map(lambda k: step * k),
                st.integers(0, 10).map(lambda k: step * k),
                st.sampled_from(("won", "lost", "open")),
                st.integers(0, 100_000),
            ),
            min_size=1,
            max_size=8,
        )
    )
    deal_rows = [
        (
            f"d{i}",
            cust,
            _ts(created),
            None if status == "open" else _ts(created + length),
            status,
            f"{cents / 100:.2f}",
        )
        for i, (cust, created, length, status, cents) in enumerate(deal_specs)
    ]
    stage_rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(customers),
                st.sampled_from(("lead", "mql", "sql")),
                # the touches' grid: stages before, on and after a first touch
                st.integers(0, 30).map(lambda k: _ts(step * k)),
            ),
            max_size=5,
        )
    )
    lookback = draw(st.sampled_from((365, 1, 2, 3)))
    # touches exactly on window bounds: a deal's lookback start (inclusive) and its end
    bounds = draw(
        st.lists(
            st.tuples(
                st.integers(0, len(deal_specs) - 1),
                st.sampled_from((0, lookback * 24)),
                st.sampled_from(CHANNELS),
            ),
            max_size=3,
        )
    )
    for i, hours_before_end, channel in bounds:
        cust, created, length, status, _ = deal_specs[i]
        end = created + (0 if status == "open" else length)
        touch_rows.append((cust, _ts(end - hours_before_end), channel, "a"))
    return touch_rows, deal_rows, stage_rows, lookback


def _write(folder: Path, export, rng: random.Random | None = None) -> Path:
    touch_rows, deal_rows, stage_rows, _ = export
    if rng is not None:
        touch_rows, deal_rows, stage_rows = (
            rng.sample(rows, len(rows)) for rows in (touch_rows, deal_rows, stage_rows)
        )
    with_account = [(c, ACCOUNT[c], ts, ch, camp) for c, ts, ch, camp in touch_rows]
    return write_inputs(
        folder,
        touches=touch_frame(
            with_account, ("customer_id", "account_id", "ts", "channel", "campaign")
        ),
        deals=deal_frame(deal_rows),
        stages=stage_frame(stage_rows) if stage_rows else None,
        config=CONFIG,
    )


def _totals(deal_rows) -> dict[str, float]:
    """Journey totals recounted from the generated deals (plain Python)."""
    won = [float(d[5]) for d in deal_rows if d[4] == "won"]
    return {
        "conversions": len(won),
        "revenue": sum(won),
        "pipeline": sum(float(d[5]) for d in deal_rows if d[4] == "open"),
        "deals": len(deal_rows),
        "lost_deals": sum(1 for d in deal_rows if d[4] == "lost"),
        "deals_created": len(deal_rows),
        "pipeline_created": sum(float(d[5]) for d in deal_rows),
    }


def _journey_sums(weights: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(weights)])
    return cum[ends] - cum[starts]


@SETTINGS
@given(export=exports(), level=st.sampled_from(("customer", "account")))
def test_conservation_and_weights(tmp_path_factory, export, level):
    folder = _write(tmp_path_factory.mktemp("prop"), export)
    result = run(folder, models=MODELS, lookback_days=export[3], level=level)
    deal_rows = export[1]
    if level == "account":  # deals of customers without touches have no account: rejected
        with_touches = {t[0] for t in export[0]}
        deal_rows = [d for d in deal_rows if d[1] in with_touches]
        assert result.inputs.rejected["deals"] == len(export[1]) - len(deal_rows)
    else:
        assert sum(result.inputs.rejected.values()) == 0
    expected = _totals(deal_rows)
    cs = result.channel_summary
    for model in MODELS:
        rows = cs.filter(pl.col("model") == model)
        for metric, total in expected.items():
            got = rows[metric].sum()
            assert math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-9), (model, metric, got, total)
        camp = result.attribution.campaign_summary.filter(pl.col("model") == model)
        if model not in ("markov", "shapley"):  # channel-level models: campaigns from touches
            for metric, total in expected.items():
                got = camp[metric].sum()
                assert math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-9), (model, metric)

    j = result.journeys
    lengths = j.offsets[1:] - j.offsets[:-1]
    for mc in result.attribution.credits:
        w = mc.model.touch_weights(j, mc.fitted)
        assert (w >= 0).all()
        sums = _journey_sums(w, j.starts, j.ends)
        np.testing.assert_allclose(sums[lengths > 0], 1.0, rtol=1e-12, err_msg=mc.model.name)
        wc = mc.model.touch_weights(j, mc.fitted, created=True)
        prefix = _journey_sums(wc, j.starts, j.created_ends)
        np.testing.assert_allclose(prefix[j.n_created > 0], 1.0, rtol=1e-12, err_msg=mc.model.name)
        # nothing outside the prefix is credited for pipeline created
        assert math.isclose(wc.sum(), prefix.sum(), abs_tol=1e-9)
        # ``valued_only``: the weights of the valued journeys are the same; the rest may be 0
        for created, full in ((False, w), (True, wc)):
            part = mc.model.touch_weights(j, mc.fitted, created=created, valued_only=True)
            on_live = np.repeat(j.valued(created), lengths)
            np.testing.assert_array_equal(part[on_live], full[on_live], err_msg=mc.model.name)
            assert not part[~on_live].any() or mc.model.name in ("markov", "shapley")
            # in a reused buffer (the credit step's scratch) every touch the credit step
            # reads, each valued journey's window, is written over whatever was there
            journey = np.repeat(np.arange(j.n_journeys), lengths)
            read = on_live & (np.arange(j.n_touches) < j.window_ends(created)[journey])
            junk = np.full(j.n_touches, np.nan)
            reused = mc.model.touch_weights(
                j, mc.fitted, created=created, valued_only=True, out=junk
            )
            np.testing.assert_array_equal(reused[read], full[read], err_msg=mc.model.name)
    # no touch in two journeys, and never more touches than were given
    assert j.n_touches <= len(export[0])
    _sourced_counts_match_the_funnel(result.tables)


def _sourced_counts_match_the_funnel(tables: dict[str, pl.DataFrame]) -> None:
    """channel_summary's leads … opportunities are the funnel's period-view counts of the
    whole window, channel by channel: both count an entity for its one source."""
    cs, funnel = tables["channel_summary"], tables["funnel"]
    if cs.height == 0:  # no valid deal (at account level, deals without an account)
        return
    rows = cs.filter(pl.col("model") == cs["model"][0])
    whole = funnel.filter(
        (pl.col("view") == "period") & (pl.col("period") == "all") & (pl.col("channel") != "(all)")
    )
    for stage, column in (
        ("lead", "leads"),
        ("mql", "mqls"),
        ("sql", "sqls"),
        ("opportunity", "opportunities"),
    ):
        counted = whole.filter((pl.col("stage") == stage) & (pl.col("count") > 0))
        if column not in rows.columns or rows[column].null_count() == rows.height:
            assert counted.height == 0, stage
            continue
        got = dict(rows.filter(pl.col(column) > 0).select("channel", column).iter_rows())
        assert got == dict(counted.select("channel", "count").iter_rows()), stage


@settings(SETTINGS, max_examples=25)
@given(
    export=exports(),
    seed=st.integers(0, 2**16),
    level=st.sampled_from(("customer", "account")),
)
def test_determinism_and_order_independence(tmp_path_factory, export, seed, level):
    tmp = tmp_path_factory.mktemp("det")
    folder = _write(tmp / "in", export)
    shuffled = _write(tmp / "shuffled", export, random.Random(seed))
    models = ",".join(MODELS)
    opts = {"models": models, "lookback_days": export[3], "level": level}
    a = run(folder, out=tmp / "a", touch_credits=True, **opts)
    run(folder, out=tmp / "b", touch_credits=True, **opts)
    files = sorted(p.relative_to(tmp / "a") for p in (tmp / "a").rglob("*.parquet"))
    assert Path("channel_summary.parquet") in files
    assert Path("touch_credits.parquet") in files
    for rel in files:
        assert (tmp / "a" / rel).read_bytes() == (tmp / "b" / rel).read_bytes(), rel
    s = run(shuffled, **opts)
    for name in ("channel_summary", "campaign_summary", "journeys", "kpis", "funnel"):
        left = a.tables[name]
        right = s.tables[name]
        assert left.equals(right), (name, left, right)


# --- oracle: an independent plain-Python reading of the README's journeys and models ----------
def _dt(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S")


def _oracle_weights(model: str, ts, channels, end, lead_i, opp_i, closed, half_life=7.0):
    """Weights of one journey's touches under one rule-based model (README definitions)."""
    n = len(ts)
    if model == "first_touch":
        return [1.0] + [0.0] * (n - 1)
    if model == "last_touch":
        return [0.0] * (n - 1) + [1.0]
    if model == "last_non_direct":
        non_direct = [i for i in range(n) if channels[i] != "Direct"]
        pick = non_direct[-1] if non_direct else n - 1
        return [1.0 if i == pick else 0.0 for i in range(n)]
    if model == "linear":
        return [1.0 / n] * n
    if model == "time_decay":
        raw = [2 ** (-((end - t).total_seconds() / 86400) / half_life) for t in ts]
        return [r / sum(raw) for r in raw]
    if model == "position_based":
        if n == 1:
            return [1.0]
        if n == 2:
            return [0.5, 0.5]
        return [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
    # w_shaped / full_path: roles first, lead, opportunity (and close)
    if n == 1:
        return [1.0]
    roles = [0]
    if lead_i is not None:
        roles.append(lead_i)
    if opp_i is not None:
        roles.append(opp_i)
    if model == "full_path" and closed:
        roles.append(n - 1)
    anchors = set(roles)
    others = [i for i in range(n) if i not in anchors]
    per_role = (0.9 if others else 1.0) / len(roles)
    w = [0.0] * n
    for r in roles:
        w[r] += per_role
    for i in others:
        w[i] = 0.1 / len(others)
    return w


def _whole_day(t: datetime) -> datetime:
    """A window end or lead as the journeys read it: a date (midnight) holds its whole day."""
    return t + timedelta(days=1, microseconds=-1) if t.time() == time(0) else t


def _oracle(export, level: str = "customer") -> dict[tuple[str, str, str], float]:
    """(model, channel, metric) -> credit, from the generated rows by plain loops.

    At account level the entity is the customer's account, known from its touches; deals and
    stages of customers without touches have no account and are rejected (left out here).
    """
    touch_rows, deal_rows, stage_rows, lookback = export
    known = {t[0] for t in touch_rows}

    def entity(cust: str) -> str | None:
        if level == "customer":
            return cust
        return ACCOUNT[cust] if cust in known else None

    by_cust: dict[str, list] = {}
    for cust, ts, channel, campaign in touch_rows:
        by_cust.setdefault(entity(cust), []).append((_dt(ts), channel, campaign or "(none)"))
    lead: dict[str, datetime] = {}
    for cust, stage, ts in stage_rows:
        if entity(cust) is not None and stage in ("lead", "mql"):
            lead[entity(cust)] = min(lead.get(entity(cust), _dt(ts)), _dt(ts))
    timed: dict[str, datetime] = {}  # the first milestone record with a time, from the lead
    for cust, _, ts in stage_rows:
        e, when = entity(cust), _dt(ts)
        if e is not None and when.time() != time(0) and when >= lead.get(e, datetime.min):
            timed[e] = min(timed.get(e, when), when)
    out: dict[tuple[str, str, str], float] = {}

    def add(model, channel, metric, value):
        key = (model, channel, metric)
        out[key] = out.get(key, 0.0) + value

    deals_by_cust: dict[str, list] = {}
    for d in deal_rows:
        stated = _dt(d[3]) if d[4] in ("won", "lost") else _dt(d[2])
        if entity(d[1]) is not None:
            item = (_whole_day(stated), d[0], stated, d)
            deals_by_cust.setdefault(entity(d[1]), []).append(item)
    for cust, items in deals_by_cust.items():
        touches_sorted = sorted(by_cust.get(cust, []))
        prev_end = None
        for end, _, stated, d in sorted(items):
            created, status, amount = _whole_day(_dt(d[2])), d[4], float(d[5])
            lo = stated - timedelta(days=lookback)
            journey = [
                t
                for t in touches_sorted
                if lo <= t[0] <= end and (prev_end is None or t[0] > prev_end)
            ]
            prev_end = end
            ts = [t[0] for t in journey]
            channels = [t[1] for t in journey]
            lead_i = None
            if cust in lead and lead[cust] <= end:  # a milestone after the end: no anchor
                lead_at = _whole_day(lead[cust])
                if lead[cust].time() == time(0):  # a date-only lead: not past a milestone
                    # with a time after it that day (the deal's creation, a stage record)
                    for after in (created, timed.get(cust, datetime.max)):
                        if lead[cust] <= after:
                            lead_at = min(lead_at, after)
                before = [i for i, t in enumerate(ts) if t <= lead_at]
                lead_i = before[-1] if before else None
            n_created = sum(1 for t in ts if t <= created)
            opp_i = n_created - 1 if n_created else None
            values = {
                "conversions": 1.0 if status == "won" else 0.0,
                "revenue": amount if status == "won" else 0.0,
                "pipeline": amount if status == "open" else 0.0,
                "lost_deals": 1.0 if status == "lost" else 0.0,
            }
            for model in RULE_MODELS:
                if not journey:
                    for metric, v in values.items():
                        add(model, "(none)", metric, v)
                else:
                    w = _oracle_weights(
                        model, ts, channels, end, lead_i, opp_i, status in ("won", "lost")
                    )
                    for i, c in enumerate(channels):
                        for metric, v in values.items():
                            add(model, c, metric, w[i] * v)
                if n_created == 0:
                    add(model, "(none)", "pipeline_created", amount)
                else:
                    p_lead = lead_i if lead_i is not None and lead_i < n_created else None
                    w = _oracle_weights(
                        model, ts[:n_created], channels, created, p_lead, n_created - 1, False
                    )
                    for i in range(n_created):
                        add(model, channels[i], "pipeline_created", w[i] * amount)
    return out


RULE_MODELS = (
    "first_touch",
    "last_touch",
    "last_non_direct",
    "linear",
    "time_decay",
    "position_based",
    "w_shaped",
    "full_path",
)


@settings(SETTINGS, max_examples=60)
@given(export=exports(), level=st.sampled_from(("customer", "account")))
def test_rule_based_models_match_plain_oracle(tmp_path_factory, export, level):
    _matches_the_oracle(tmp_path_factory, export, level)


@settings(SETTINGS, max_examples=60)
@given(export=exports(step=3), level=st.sampled_from(("customer", "account")))
def test_rule_based_models_match_plain_oracle_within_days(tmp_path_factory, export, level):
    """Times 3 hours apart: date-only (midnight) leads, closes and creations beside timed
    records and touches of the same day."""
    _matches_the_oracle(tmp_path_factory, export, level)


def _matches_the_oracle(tmp_path_factory, export, level) -> None:
    folder = _write(tmp_path_factory.mktemp("oracle"), export)
    result = run(folder, models=list(RULE_MODELS), lookback_days=export[3], level=level)
    expected = _oracle(export, level)
    got: dict[tuple[str, str, str], float] = {}
    for row in result.channel_summary.iter_rows(named=True):
        for metric in ("conversions", "revenue", "pipeline", "lost_deals", "pipeline_created"):
            if row[metric]:
                got[(row["model"], row["channel"], metric)] = row[metric]
    keys = {k for k, v in expected.items() if abs(v) > 1e-9} | set(got)
    for key in keys:
        assert math.isclose(
            got.get(key, 0.0), expected.get(key, 0.0), rel_tol=1e-9, abs_tol=1e-6
        ), (
            key,
            got.get(key),
            expected.get(key),
        )
