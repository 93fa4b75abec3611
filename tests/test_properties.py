"""Property tests of the invariants every model and run must keep (DESIGN.md "Invariants").

Random small exports (a few customers, overlapping deals, ties, zero-touch deals, stages)
are written as CSV and run through ``attrib.run.run``:

- conservation: per model, Σ over channels of each metric equals the totals recounted here
  from the generated deals (1e-9 relative), Markov and Shapley included;
- weights: every model's touch weights sum to 1 over each journey with a touch (and over
  each non-empty pipeline-window prefix);
- determinism: two runs write byte-identical Parquet files;
- order independence: shuffled input rows give identical summaries and journeys, and
  byte-identical files with the bootstrap, touch credits and Markov/Shapley tables;
- every model parameter (Markov order/collapse/value weighting, Shapley DP6/cap/sampling,
  half-life, ``revenue_window``) keeps conservation; reporting windows that split the data
  conserve their own deals and add up to the whole, every model;
- oracles: rule-based models, by channel and by campaign (also with ``revenue_window =
  "created_at"``), Markov and Shapley against plain references fed with the run's
  journeys; touch credits add up;
- engine parity: ``run_bucketed`` gives the in-memory tables on any bucket count.
"""

from __future__ import annotations

import math
import random
from datetime import date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from conftest import DEAL_COLUMNS, write_inputs
from conftest import deals as deal_frame
from conftest import stages as stage_frame
from conftest import touches as touch_frame
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from attrib.engines.local import run_bucketed
from attrib.models import model_names
from attrib.run import run

try:  # tests/ may or may not be a package (pytest's rootdir/prepend import modes)
    from tests.oracle_markov import markov_oracle, shapley_oracle
except ImportError:  # pragma: no cover
    from oracle_markov import markov_oracle, shapley_oracle

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
        np.testing.assert_allclose(
            sums[j.touch_counts() > 0], 1.0, rtol=1e-12, err_msg=mc.model.name
        )
        # nothing outside the revenue window is credited for it
        assert math.isclose(w.sum(), sums.sum(), abs_tol=1e-9)
        wc = mc.model.touch_weights(j, mc.fitted, created=True)
        prefix = _journey_sums(wc, j.created_starts, j.created_ends)
        np.testing.assert_allclose(prefix[j.n_created > 0], 1.0, rtol=1e-12, err_msg=mc.model.name)
        # nothing outside the pipeline window is credited for pipeline created
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
            at = np.arange(j.n_touches)
            read = (
                on_live
                & (at >= j.window_starts(created)[journey])
                & (at < j.window_ends(created)[journey])
            )
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


def _oracle_weights(model: str, ts, channels, end, lead_i, opp_i, close_i, half_life=7.0):
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
    if model == "full_path" and close_i is not None:
        roles.append(close_i)
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


def _oracle(
    export, level: str = "customer", window: str = "closed_at"
) -> dict[tuple[str, str, str], float]:
    """(model, channel, metric) -> credit: ``_campaign_oracle``'s credit summed over each
    channel's campaigns."""
    out: dict[tuple[str, str, str], float] = {}
    for (model, channel, _, metric), value in _campaign_oracle(export, level, window).items():
        out[(model, channel, metric)] = out.get((model, channel, metric), 0.0) + value
    return out


def _campaign_oracle(
    export, level: str = "customer", window: str = "closed_at"
) -> dict[tuple[str, str, str, str], float]:
    """(model, channel, campaign, metric) -> credit, from the generated rows by plain loops;
    ``window``: the config's ``revenue_window`` (``created_at``: every window ends at the
    deal's creation). A touch's credit goes to its own campaign, ``(none)`` for an empty one;
    a zero-touch deal's to channel and campaign ``(none)`` (README, Journeys and Outputs).

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
    out: dict[tuple[str, str, str, str], float] = {}

    def add(model, channel, campaign, metric, value):
        key = (model, channel, campaign, metric)
        out[key] = out.get(key, 0.0) + value

    deals_by_cust: dict[str, list] = {}
    for d in deal_rows:
        closed = d[4] in ("won", "lost")
        stated = _dt(d[3]) if closed and window == "closed_at" else _dt(d[2])
        if entity(d[1]) is not None:
            item = (_whole_day(stated), d[0], stated, d)
            deals_by_cust.setdefault(entity(d[1]), []).append(item)
    for cust, items in deals_by_cust.items():
        touches_sorted = sorted(by_cust.get(cust, []))
        prev_end = None
        for end, _, stated, d in sorted(items):
            created, status, amount = _whole_day(_dt(d[2])), d[4], float(d[5])
            # the revenue window's lookback counts from its end, the pipeline window's from
            # the creation (DESIGN.md); both after the previous deal's window end
            lo = stated - timedelta(days=lookback)
            created_lo = _dt(d[2]) - timedelta(days=lookback)
            after_prev = [t for t in touches_sorted if prev_end is None or t[0] > prev_end]
            both = [t for t in after_prev if min(lo, created_lo) <= t[0] <= end]
            journey = [t for t in both if t[0] >= lo]
            pipeline = [t for t in after_prev if created_lo <= t[0] <= min(created, end)]
            n_early = len(both) - len(journey)
            assert both[: len(pipeline)] == pipeline
            assert both[n_early:] == journey
            prev_end = end
            ts = [t[0] for t in journey]
            channels = [t[1] for t in journey]
            campaigns = [t[2] for t in journey]
            # the lead touch: the last at or before the lead of either window's touches
            lead_at = None
            if cust in lead and lead[cust] <= end:  # a milestone after the end: no anchor
                lead_at = _whole_day(lead[cust])
                if lead[cust].time() == time(0):  # a date-only lead: not past a milestone
                    # with a time after it that day (the deal's creation, a stage record)
                    for after in (created, timed.get(cust, datetime.max)):
                        if lead[cust] <= after:
                            lead_at = min(lead_at, after)
            at_lead = [i for i, t in enumerate(both) if lead_at is not None and t[0] <= lead_at]
            lead_u = at_lead[-1] if at_lead else -1
            lead_i = lead_u - n_early if lead_u >= n_early else None
            # the pipeline window ends at the creation: a milestone after it is outside
            by_creation = cust in lead and lead[cust] <= created
            p_lead = lead_u if by_creation and 0 <= lead_u < len(pipeline) else None
            n_created = sum(1 for t in ts if t <= created)
            opp_i = n_created - 1 if n_created else None
            # the close role: the last touch at or before the close (closed deals)
            closes = _whole_day(_dt(d[3])) if status in ("won", "lost") else None
            at_close = [i for i, t in enumerate(ts) if closes is not None and t <= closes]
            close_i = at_close[-1] if at_close else None
            values = {
                "conversions": 1.0 if status == "won" else 0.0,
                "revenue": amount if status == "won" else 0.0,
                "pipeline": amount if status == "open" else 0.0,
                "lost_deals": 1.0 if status == "lost" else 0.0,
                "deals": 1.0,
            }
            created_values = {"pipeline_created": amount, "deals_created": 1.0}
            for model in RULE_MODELS:
                if not journey:
                    for metric, v in values.items():
                        add(model, "(none)", "(none)", metric, v)
                else:
                    w = _oracle_weights(model, ts, channels, end, lead_i, opp_i, close_i)
                    for i, c in enumerate(channels):
                        for metric, v in values.items():
                            add(model, c, campaigns[i], metric, w[i] * v)
                if not pipeline:
                    for metric, v in created_values.items():
                        add(model, "(none)", "(none)", metric, v)
                else:
                    p_ts = [t[0] for t in pipeline]
                    p_channels = [t[1] for t in pipeline]
                    w = _oracle_weights(
                        model, p_ts, p_channels, created, p_lead, len(pipeline) - 1, None
                    )
                    for i, (_, c, campaign) in enumerate(pipeline):
                        for metric, v in created_values.items():
                            add(model, c, campaign, metric, w[i] * v)
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


@st.composite
def late_touch_exports(draw):
    """``exports`` in which some deals are created on a date (midnight: the window holds the
    whole day) and closed at noon that day, with a touch later that day: in the window, but
    after the close."""
    touch_rows, deal_rows, stage_rows, lookback = draw(exports(step=6))
    deal_rows = list(deal_rows)
    for i in draw(st.lists(st.integers(0, len(deal_rows) - 1), max_size=3, unique=True)):
        deal_id, cust, created, closed, status, amount = deal_rows[i]
        day = _dt(created).replace(hour=0)
        if closed is not None:
            closed = (day + timedelta(hours=12)).strftime("%Y-%m-%d %H:%M:%S")
        deal_rows[i] = (deal_id, cust, day.strftime("%Y-%m-%d %H:%M:%S"), closed, status, amount)
        late = (day + timedelta(hours=draw(st.sampled_from((13, 23))))).strftime(
            "%Y-%m-%d %H:%M:%S"
        )
        touch_rows = [*touch_rows, (cust, late, draw(st.sampled_from(CHANNELS)), "a")]
    return touch_rows, deal_rows, stage_rows, lookback


@settings(SETTINGS, max_examples=30)
@given(export=late_touch_exports(), level=st.sampled_from(("customer", "account")))
def test_rule_based_models_match_plain_oracle_at_creation(tmp_path_factory, export, level):
    """``revenue_window = "created_at"`` (README, Journeys): every deal's window, its lookback
    and its time-decay end at its creation; full-path's close role is the last touch at or
    before the close, when the window holds one (a date-only creation holds its whole day)."""
    _matches_the_oracle(tmp_path_factory, export, level, window="created_at")


def _matches_the_oracle(tmp_path_factory, export, level, window: str = "closed_at") -> None:
    folder = _write(tmp_path_factory.mktemp("oracle"), export)
    if window != "closed_at":
        config = f'{CONFIG}[options]\nrevenue_window = "{window}"\n'
        (folder / "channels.toml").write_text(config, encoding="utf-8")
    result = run(folder, models=list(RULE_MODELS), lookback_days=export[3], level=level)
    _same_credit(result.channel_summary, _oracle(export, level, window), ("model", "channel"))
    _same_credit(
        result.attribution.campaign_summary,
        _campaign_oracle(export, level, window),
        ("model", "channel", "campaign"),
    )


#: the attribution columns the oracles recount (every one of channel_summary's)
ORACLE_METRICS = (
    "conversions",
    "revenue",
    "pipeline",
    "deals",
    "lost_deals",
    "deals_created",
    "pipeline_created",
)


def _same_credit(summary: pl.DataFrame, expected: dict[tuple, float], keys: tuple) -> None:
    """A summary's non-zero credit per ``keys`` and metric is the oracle's (1e-9 relative);
    rows with no credit (a campaign listed for its spend or sourced stages) count as 0."""
    got: dict[tuple, float] = {}
    for row in summary.iter_rows(named=True):
        for metric in ORACLE_METRICS:
            if row[metric]:
                got[(*(row[k] for k in keys), metric)] = row[metric]
    wanted = {k for k, v in expected.items() if abs(v) > 1e-9}
    for key in wanted | set(got):
        assert math.isclose(
            got.get(key, 0.0), expected.get(key, 0.0), rel_tol=1e-9, abs_tol=1e-6
        ), (
            key,
            got.get(key),
            expected.get(key),
        )


# --- model parameters, reporting windows, engines, bootstrap, touch credits -------------------
METRIC_COLUMNS = tuple(_totals([]))  # every attribution column of channel_summary


@st.composite
def model_configs(draw) -> str:
    """A config with non-default parameters for every parametrised model (and the revenue
    window): Markov of higher order, uncollapsed, value-weighted; Shapley by DP6, capped,
    sampled; another half-life; credit at deal creation."""
    markov = (
        f"order = {draw(st.integers(1, 4))}\n"
        f"collapse_repeats = {str(draw(st.booleans())).lower()}\n"
        f"value_weighted = {str(draw(st.booleans())).lower()}\n"
    )
    shapley = f'value_function = "{draw(st.sampled_from(("dalessandro", "dp6")))}"\n'
    if draw(st.booleans()):
        shapley += f"max_set_size = {draw(st.integers(1, 3))}\n"
    if draw(st.booleans()):  # 5 channels > 2: sampled permutations
        shapley += f"max_exact_channels = 2\nn_samples = 50\nseed = {draw(st.integers(0, 9))}\n"
    half_life = draw(st.sampled_from((0.001, 3, 30)))  # 0.001: 2^-1440 in 1 day
    window = draw(st.sampled_from(("closed_at", "created_at")))
    return (
        f'{CONFIG}[options]\nrevenue_window = "{window}"\n[models.markov]\n{markov}'
        f"[models.shapley]\n{shapley}[models.time_decay]\nhalf_life_days = {half_life}\n"
    )


@settings(SETTINGS, max_examples=12)
@given(export=exports(), config=model_configs(), level=st.sampled_from(("customer", "account")))
def test_conservation_under_every_model_parameter(tmp_path_factory, export, config, level):
    """Conservation and weights summing to 1 hold for every parameter a model takes, not
    only the defaults the test above runs (value-weighted Markov on journeys worth nothing
    falls back to linear credit; sampled Shapley still gives out the whole total)."""
    folder = _write(tmp_path_factory.mktemp("params"), export)
    (folder / "channels.toml").write_text(config, encoding="utf-8")
    result = run(folder, models=MODELS, lookback_days=export[3], level=level)
    deal_rows = export[1]
    if level == "account":
        deal_rows = [d for d in deal_rows if d[1] in {t[0] for t in export[0]}]
    expected = _totals(deal_rows)
    for model in MODELS:
        rows = result.channel_summary.filter(pl.col("model") == model)
        camp = result.attribution.campaign_summary.filter(pl.col("model") == model)
        # (Markov's and Shapley's campaigns need not add up: a channel scored on journeys
        # worth nothing has no campaign to carry its total; README, campaign_summary)
        for metric, total in expected.items():
            for table in (rows, camp) if model in RULE_MODELS else (rows,):
                got = table[metric].sum()
                assert math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-9), (model, metric, got)
    j = result.journeys
    for mc in result.attribution.credits:
        w = mc.model.touch_weights(j, mc.fitted)
        assert (w >= 0).all(), mc.model.name
        sums = _journey_sums(w, j.starts, j.ends)
        np.testing.assert_allclose(
            sums[j.touch_counts() > 0], 1.0, rtol=1e-12, err_msg=mc.model.name
        )


def _in_window(deal, lo: datetime, hi: datetime) -> dict[str, float]:
    """The attribution columns a deal counts in for the reporting window [lo, hi] (days,
    inclusive): won and lost deals by closed_at, open deals and *_created by created_at."""
    _, _, created, closed, status, _ = deal
    event = _dt(created) if status == "open" else _dt(closed)
    return _totals([deal]) | {
        k: 0.0
        for k in METRIC_COLUMNS
        if not (lo <= (_dt(created) if k.endswith("_created") else event) < hi)
    }


@settings(SETTINGS, max_examples=12)
@given(export=exports(), cut=st.integers(0, 22), level=st.sampled_from(("customer", "account")))
def test_windows_that_split_the_data_add_up_for_every_model(tmp_path_factory, export, cut, level):
    """Two reporting windows that split the data: each conserves the totals of its own deals
    (recounted here by their events), and for every model, Markov and Shapley included (their
    scores learn from every journey whatever the window), their channel rows add up to the
    whole run's."""
    folder = _write(tmp_path_factory.mktemp("split"), export)
    deal_rows = export[1]
    if level == "account":
        deal_rows = [d for d in deal_rows if d[1] in {t[0] for t in export[0]}]
    first, split, last = (
        date(2024, 1, 1),
        date(2025, 1, 1) + timedelta(days=cut),
        date(2026, 12, 31),
    )
    windows = {
        "whole": (first, last),
        "before": (first, split - timedelta(days=1)),
        "after": (split, last),
    }
    summaries = {}
    for name, (lo, hi) in windows.items():
        metrics = {"period_from": lo.isoformat(), "period_to": hi.isoformat()}
        result = run(folder, models=MODELS, lookback_days=export[3], level=level, metrics=metrics)
        cs = result.channel_summary
        summaries[name] = cs
        start = datetime.combine(lo, time(0))
        end = datetime.combine(hi + timedelta(days=1), time(0))
        counted = [_in_window(d, start, end) for d in deal_rows]
        for model in MODELS:
            rows = cs.filter(pl.col("model") == model)
            for metric in METRIC_COLUMNS:
                total = sum(c[metric] for c in counted)
                got = rows[metric].sum()
                assert math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-9), (
                    name,
                    model,
                    metric,
                    got,
                    total,
                )
    keys = ["model", "channel"]
    parts = (
        pl.concat([summaries["before"], summaries["after"]])
        .group_by(keys)
        .agg(pl.col(METRIC_COLUMNS).sum())
    )
    joined = summaries["whole"].join(parts, on=keys, how="full", suffix="_parts", coalesce=True)
    for metric in METRIC_COLUMNS:
        whole, summed = joined[metric].fill_null(0.0), joined[f"{metric}_parts"].fill_null(0.0)
        for key, a, b in zip(joined.select(keys).rows(), whole, summed, strict=True):
            assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (key, metric, a, b)


@st.composite
def account_exports(draw):
    """An export whose touches name accounts of their own (a customer's touches may name
    two: its deals and stages take the smallest) and whose deals sometimes name theirs;
    deal ids are numbers (compared as text: "10" before "9") or text."""
    touch_rows, deal_rows, stage_rows, lookback = draw(exports())
    accounts = ("A0", "A1", "A2")
    touch_rows = [(*t[:1], draw(st.sampled_from(accounts)), *t[1:]) for t in touch_rows]
    numeric = draw(st.booleans())
    deal_rows = [
        (
            str((9, 10, 11, 100, 2, 19, 1, 90)[i]) if numeric else d[0],
            *d[1:],
            draw(st.sampled_from((None, *accounts))),
        )
        for i, d in enumerate(deal_rows)
    ]
    return touch_rows, deal_rows, stage_rows, lookback


def _write_accounts(folder: Path, export) -> Path:
    touch_rows, deal_rows, stage_rows, _ = export
    return write_inputs(
        folder,
        touches=touch_frame(touch_rows, ("customer_id", "account_id", "ts", "channel", "campaign")),
        deals=deal_frame(deal_rows, (*DEAL_COLUMNS, "account_id")),
        stages=stage_frame(stage_rows) if stage_rows else None,
        config=CONFIG,
    )


@settings(SETTINGS, max_examples=12)
@given(
    export=account_exports(),
    buckets=st.integers(2, 4),
    level=st.sampled_from(("customer", "account")),
)
def test_bucketed_engine_equals_in_memory(tmp_path_factory, export, buckets, level):
    """Engine parity on the cases a fixed sample may lack (ties, zero-touch deals, several
    deals of a customer, lookback cuts, accounts named per touch and per deal): the bucketed
    engine's tables are the in-memory engine's, every model, and its journeys the same rows."""
    tmp = tmp_path_factory.mktemp("buckets")
    folder = _write_accounts(tmp / "in", export)
    opts = {"models": MODELS, "lookback_days": export[3], "level": level}
    mem = run(folder, out=tmp / "mem", **opts)
    got = run_bucketed(folder, out=tmp / "bucketed", buckets=buckets, **opts)
    assert got.inputs.rejected == mem.inputs.rejected
    for name, table in mem.tables.items():
        if name == "journeys":  # numbered per bucket: matched by entity and deal below
            continue
        assert_frame_equal(got.tables[name], table, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
    key = ["entity_id", "deal_id", "first_touch_at", "path", "status", "amount"]
    theirs = mem.tables["journeys"].drop("journey_id").sort(key, nulls_last=True)
    mine = pl.read_parquet(tmp / "bucketed" / "journeys.parquet").drop("journey_id")
    assert_frame_equal(mine.sort(key, nulls_last=True), theirs)


@settings(SETTINGS, max_examples=10)
@given(
    export=exports(),
    seed=st.integers(0, 2**16),
    level=st.sampled_from(("customer", "account")),
)
def test_shuffled_rows_give_byte_identical_files_bootstrap_and_touch_credits(
    tmp_path_factory, export, seed, level
):
    """Every file, bytes: the bootstrap's intervals (drawn by journey, in an order that does
    not depend on the input's), the touch credits and the Markov and Shapley tables, which
    the test above compares only across reruns of one file, not across shuffled rows."""
    tmp = tmp_path_factory.mktemp("shuffled-files")
    opts = {
        "models": MODELS,
        "lookback_days": export[3],
        "level": level,
        "touch_credits": True,
        "bootstrap": 8,
        "seed": seed,
    }
    a = run(_write(tmp / "in", export), out=tmp / "a", **opts)
    run(_write(tmp / "shuffled", export, random.Random(seed)), out=tmp / "b", **opts)
    # (quarantine/ names each rejected row's file and row: another file, other rows)
    files = sorted(p.relative_to(tmp / "a") for p in (tmp / "a").glob("*.parquet"))
    assert files == sorted(p.relative_to(tmp / "b") for p in (tmp / "b").glob("*.parquet"))
    if a.tables["journeys"]["n_touches"].sum():
        assert {"touch_credits.parquet", "markov_removal_effects.parquet"} <= {
            p.name for p in files
        }
    for rel in files:
        assert (tmp / "a" / rel).read_bytes() == (tmp / "b" / rel).read_bytes(), rel
    cs = a.channel_summary
    if cs.height:  # intervals on every row, ordered
        for metric in ("conversions", "revenue", "pipeline"):
            assert (cs[f"{metric}_lo"] <= cs[f"{metric}_hi"]).all(), metric


@settings(SETTINGS, max_examples=12)
@given(export=exports(), level=st.sampled_from(("customer", "account")))
def test_touch_credits_add_up_to_the_summary(tmp_path_factory, export, level):
    """touch_credits.parquet (README, Outputs): each model's credit of each journey sums to
    the journey's value; for rule-based models each channel's sum is its channel_summary row
    (but (none), the zero-touch deals'); every touch of a journey is listed once per model."""
    tmp = tmp_path_factory.mktemp("touch-credits")
    folder = _write(tmp / "in", export)
    result = run(
        folder, out=tmp / "out", models=MODELS, lookback_days=export[3], level=level,
        touch_credits=True,
    )  # fmt: skip
    tc = pl.read_parquet(tmp / "out" / "touch_credits.parquet")
    journeys = result.tables["journeys"]
    with_touches = journeys.filter(pl.col("n_touches") > 0)
    values = ("conversions", "revenue", "pipeline")
    for model in MODELS:
        everything = tc.filter(pl.col("model") == model)
        # touches of the pipeline window only (before the revenue window): negative indexes,
        # no revenue-window credit
        early = everything.filter(pl.col("touch_index") < 0)
        assert all(v == 0 for v in early.select(pl.col("weight", *values).abs().sum()).row(0))
        mine = everything.filter(pl.col("touch_index") >= 0)
        assert mine.height == with_touches["n_touches"].sum(), model
        per = mine.group_by("journey_id").agg(
            pl.len().alias("rows"),
            pl.col("touch_index").n_unique().alias("distinct"),
            pl.col("weight", *values).sum(),
        )
        joined = with_touches.join(per, on="journey_id", how="left")
        assert (joined["rows"] == joined["n_touches"]).all(), model
        assert (joined["distinct"] == joined["n_touches"]).all(), model
        for r in joined.iter_rows(named=True):
            worth = {
                "conversions": float(r["status"] == "won"),
                "revenue": r["amount"] if r["status"] == "won" else 0.0,
                "pipeline": r["amount"] if r["status"] == "open" else 0.0,
            }
            assert math.isclose(r["weight"], 1.0, rel_tol=1e-12), (model, r)
            for metric, value in worth.items():
                assert math.isclose(r[metric], value, rel_tol=1e-9, abs_tol=1e-9), (model, r)
        if model in RULE_MODELS:
            rows = result.channel_summary.filter(
                (pl.col("model") == model) & (pl.col("channel") != "(none)")
            )
            for metric in (*values, "pipeline_created"):
                sums = dict(everything.group_by("channel").agg(pl.col(metric).sum()).iter_rows())
                for channel, want in rows.select("channel", metric).iter_rows():
                    got = sums.get(channel, 0.0)
                    assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (
                        model,
                        channel,
                        metric,
                    )


@settings(SETTINGS, max_examples=15)
@given(export=exports(), level=st.sampled_from(("customer", "account")))
def test_markov_and_shapley_match_the_oracles_on_the_runs_journeys(tmp_path_factory, export, level):
    """The data-driven models through the whole run, against the plain references of
    ``oracle_markov`` fed with journeys.parquet's paths: the chain and the game learn from
    every journey with a touch, won ones converting, lost and non-converting ones not, open
    ones left out; each channel's credit is the run's total × its score / Σ scores (linear's
    credit when every score is 0), Shapley's score its value clipped at 0."""
    folder = _write(tmp_path_factory.mktemp("oracles"), export)
    models = ["linear", "markov", "shapley"]
    result = run(folder, models=models, lookback_days=export[3], level=level)
    j = result.tables["journeys"].filter((pl.col("n_touches") > 0) & (pl.col("status") != "open"))
    names = sorted({c for p in j["path"] for c in p.split(" > ")})
    code = {name: i + 1 for i, name in enumerate(names)}
    paths = [[code[c] for c in p.split(" > ")] for p in j["path"]]
    won = [s == "won" for s in j["status"]]
    amount = [a if w else 0.0 for a, w in zip(j["amount"], won, strict=True)]
    ref = markov_oracle(paths, won, [1.0] * len(paths), amount) if paths else {}
    effects = {
        r["channel"]: r for r in result.tables["markov_removal_effects"].iter_rows(named=True)
    }
    groups: dict[frozenset, list[bool]] = {}
    for p, w in zip(paths, won, strict=True):
        groups.setdefault(frozenset(p), []).append(w)
    phi = shapley_oracle(list(code.values()), {s: sum(x) / len(x) for s, x in groups.items()})
    values = {r["channel"]: r for r in result.tables["shapley_values"].iter_rows(named=True)}
    scores = {"markov": {}, "shapley": {}}
    for name, c in code.items():
        assert math.isclose(effects[name]["removal_effect"], ref["re"][c], abs_tol=1e-9), name
        assert math.isclose(
            effects[name]["value_removal_effect"], ref["re_value"][c], abs_tol=1e-9
        ), name
        assert math.isclose(values[name]["shapley_value"], phi[c], abs_tol=1e-9), name
        scores["markov"][name] = ref["re"][c]
        scores["shapley"][name] = max(phi[c], 0.0)
    for name in set(effects) - set(code):  # channels of open or no journeys: no score
        assert effects[name]["removal_effect"] == 0.0, name
        assert values.get(name, {"shapley_value": 0.0})["shapley_value"] == 0.0, name
    cs = result.channel_summary
    linear = {r["channel"]: r for r in cs.filter(pl.col("model") == "linear").iter_rows(named=True)}
    for model in ("markov", "shapley"):
        rows = {r["channel"]: r for r in cs.filter(pl.col("model") == model).iter_rows(named=True)}
        total_score = sum(scores[model].values())
        for metric in ("conversions", "revenue", "pipeline", "pipeline_created"):
            touched = sum(r[metric] for c, r in linear.items() if c != "(none)")
            for channel, r in rows.items():
                if channel == "(none)":
                    want = linear[channel][metric]
                elif total_score > 0:
                    want = touched * scores[model].get(channel, 0.0) / total_score
                else:
                    want = linear[channel][metric]
                assert math.isclose(r[metric], want, rel_tol=1e-9, abs_tol=1e-9), (
                    model,
                    channel,
                    metric,
                    r[metric],
                    want,
                )
