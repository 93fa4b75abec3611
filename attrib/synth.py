"""Synthetic B2B marketing data with known channel effects (touchpoints, deals, stages, costs).

The generator is fully vectorised (numpy draws, Polars sorting and string building) so that it
makes ten million touchpoints in seconds, and it is deterministic: the same arguments give
byte-identical files. The generative process is documented in ``docs/SYNTH.md``; every
probability it uses is a named constant below, and each channel's true effect on the log-odds
of conversion is in ``TRUE_CHANNEL_EFFECTS`` so that data-driven models can be checked against
a known ranking.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from attrib.columns import TABLES
from attrib.errors import OutputError, UsageError

__all__ = [
    "CHANNELS",
    "PAID_CHANNELS",
    "STAGES",
    "TRUE_CHANNEL_EFFECTS",
    "ChannelSpec",
    "channels_toml",
    "generate",
    "generate_frames",
]


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    """One synthetic channel: its true effect, how often it appears, and what it costs.

    ``effect`` is the additive lift on the log-odds of becoming an opportunity and of winning
    when a customer's journey contains the channel at least once. ``weight``, ``cycle_weight``
    and ``after_weight`` are its relative frequency among touches before the opportunity,
    during the sales cycle and after the deal closed. ``unit_cost`` is the spend per tracked
    touch (CPC or cost per attendee); 0 means the channel has no spend rows.
    """

    name: str
    effect: float
    weight: float
    cycle_weight: float
    after_weight: float
    touch_types: tuple[str, ...]
    slug: str | None = None
    themes: tuple[str, ...] = ()
    unit_cost: float = 0.0
    marketing: bool = True
    direct: bool = False


CHANNELS: tuple[ChannelSpec, ...] = (
    # name, effect, weight, cycle_weight, after_weight, touch_types, slug, themes, unit_cost
    ChannelSpec("Paid Search", 0.50, 0.14, 0.04, 0.00, ("ad_click",), "paid_search",
                ("brand", "generic", "competitor"), 4.50),
    ChannelSpec("Organic Search", 0.35, 0.16, 0.06, 0.10, ("session",)),
    ChannelSpec("Paid Social", 0.10, 0.08, 0.00, 0.00, ("ad_click",), "paid_social",
                ("prospecting", "retargeting"), 1.80),
    ChannelSpec("LinkedIn Ads", 0.40, 0.07, 0.02, 0.00, ("ad_click",), "linkedin",
                ("abm", "lead-gen"), 7.00),
    ChannelSpec("Display", 0.00, 0.08, 0.00, 0.00, ("ad_click",), "display",
                ("awareness", "retargeting"), 0.90),
    ChannelSpec("Email", 0.25, 0.10, 0.25, 0.30, ("email_click",), "email",
                ("newsletter", "nurture", "product-update"), 0.40),
    ChannelSpec("Webinar", 1.00, 0.03, 0.08, 0.10, ("webinar",), "webinar",
                ("demo", "industry"), 30.00),
    ChannelSpec("Events", 1.20, 0.02, 0.05, 0.00, ("event", "meeting"), "events",
                ("trade-show", "roadshow"), 150.00),
    ChannelSpec("Content/Blog", 0.20, 0.07, 0.10, 0.15, ("session",), None, (), 1.50),
    ChannelSpec("Direct", 0.05, 0.12, 0.20, 0.35, ("session",), direct=True),
    ChannelSpec("Referral", 0.60, 0.04, 0.00, 0.00, ("session",)),
    ChannelSpec("Partner Referral", 1.40, 0.02, 0.00, 0.00, ("meeting",), "partner",
                ("northwind", "contoso", "initech"), marketing=False),
    ChannelSpec("SDR Outbound", 0.80, 0.04, 0.20, 0.00, ("call", "meeting"), marketing=False),
    ChannelSpec("Review Sites", 0.70, 0.03, 0.00, 0.00, ("session",), "review_sites",
                ("g2", "capterra"), 3.00),
)  # fmt: skip
"""The 14 synthetic channels, in code order (the order of the probability vectors)."""

TRUE_CHANNEL_EFFECTS: dict[str, float] = {c.name: c.effect for c in CHANNELS}
"""Additive log-odds lift of having touched each channel (opportunity and win), see SYNTH.md."""

PAID_CHANNELS: frozenset[str] = frozenset(c.name for c in CHANNELS if c.unit_cost > 0)
"""Channels with monthly spend rows in ``costs``; every other channel has none."""

STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "offer", "customer")
"""Funnel stages in order; ``stages`` holds the first time each customer reached each one."""

# --- the generative process (each constant is documented in docs/SYNTH.md) -----------------
_DAY = 86_400
_CONTACTS_PER_ACCOUNT_EXTRA = 2.0  # contacts per account = 1 + Poisson(2)
_UNTRACKED_SHARE = 0.01  # contacts whose deal comes through an untracked path (zero touches)
_PRE_TOUCHES_EXTRA = 4.5  # touches before the opportunity = 1 + Poisson(4.5)
_STICKY = 0.30  # chance a touch repeats the customer's "home" channel
_GAP_MEAN_DAYS = 6.0  # exponential gap between consecutive pre-opportunity touches
_TIE_RATE = 0.05  # chance a gap is zero (two touches with the same timestamp)
_OPP_INTERCEPT = -3.4  # log-odds of an opportunity before channel effects
_WIN_INTERCEPT = -3.8  # log-odds of winning an opportunity before channel effects
_UNTRACKED_WIN_LIFT = 1.2  # log-odds lift of winning for zero-touch deals
_OPP_DELAY_MEAN_DAYS = 2.0  # last pre-opportunity touch -> opportunity created (1h + Exp)
_CYCLE_MEDIAN_DAYS = 45.0  # sales cycle: lognormal, median 45 days, sigma 0.6, at least 3 days
_CYCLE_SIGMA = 0.6
_CYCLE_TOUCHES = 2.5  # touches during the sales cycle: Poisson(2.5)
_AFTER_TOUCHES_WON = 1.5  # touches after a won deal closed: Poisson(1.5)
_AFTER_TOUCHES_LOST = 0.5  # touches after a lost deal closed: Poisson(0.5)
_AFTER_GAP_MEAN_DAYS = 20.0
_LEAD_RATE = 0.55  # contacts without an opportunity: P(lead), P(mql | lead), P(sql | mql)
_MQL_RATE = 0.50
_SQL_RATE = 0.40
_OFFER_RATE_LOST = 0.50  # lost deals that reached the offer stage (won deals always did)
_AMOUNT_MEDIAN = 15_000.0  # first deal amount: lognormal, median 15k, sigma 0.75
_AMOUNT_SIGMA = 0.75
_REPEAT_RATE = 0.20  # won customers who buy again
_REPEAT_GAP_MIN_DAYS = 60.0  # repeat deal created 60 + Exp(90) days after the first closed
_REPEAT_GAP_MEAN_DAYS = 90.0
_REPEAT_TOUCHES = 2.0  # touches between the first close and the repeat deal: Poisson(2)
_REPEAT_WIN_RATE = 0.55
_REPEAT_CYCLE_MEDIAN_DAYS = 30.0
_REPEAT_AMOUNT_MEDIAN = 9_000.0
_REPEAT_AMOUNT_SIGMA = 0.6
_CLICKS_PER_TRACKED_TOUCH = 6.0  # paid clicks bought per click from a known contact
_SPEND_NOISE_SIGMA = 0.25  # monthly spend = touches x unit cost x 6 x lognormal(0, 0.25)

_TOUCH_TYPES: tuple[str, ...] = tuple(
    sorted({t for c in CHANNELS for t in c.touch_types} | {"form_submit"})
)
_FORM_SUBMIT = _TOUCH_TYPES.index("form_submit")
_MAX_THEMES = max(max(len(c.themes) for c in CHANNELS), 1)

_CHANNELS_TOML = """\
# Channel flags for the attrib synthetic sample (written by attrib.synth.generate).
# Channels not listed here are marketing channels and not direct.
# direct = true    -> skipped by last-non-direct attribution
# marketing = false -> not counted as marketing-sourced / marketing-influenced

[channels."Direct"]
direct = true

[channels."SDR Outbound"]
marketing = false

[channels."Partner Referral"]
marketing = false
"""


def channels_toml() -> str:
    """The ``channels.toml`` text that goes with the synthetic data (flags per channel)."""
    return _CHANNELS_TOML


# --- vectorised helpers -----------------------------------------------------------------------


def _weights(attr: str) -> np.ndarray:
    """Cumulative probability vector over channels for one journey phase."""
    w = np.array([getattr(c, attr) for c in CHANNELS], dtype=np.float64)
    return np.cumsum(w / w.sum())


def _draw_channels(rng: np.random.Generator, cum: np.ndarray, size: int) -> np.ndarray:
    """Draw ``size`` channel codes from a cumulative probability vector."""
    codes = np.searchsorted(cum, rng.random(size), side="right")
    return np.minimum(codes, len(cum) - 1).astype(np.int64)


def _draw_touch_types(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Draw a touch type for each touch, uniformly among its channel's touch types."""
    n_types = np.array([len(c.touch_types) for c in CHANNELS], dtype=np.int64)
    table = np.full((len(CHANNELS), int(n_types.max())), -1, dtype=np.int64)
    for i, c in enumerate(CHANNELS):
        table[i, : len(c.touch_types)] = [_TOUCH_TYPES.index(t) for t in c.touch_types]
    pick = (rng.random(len(channel)) * n_types[channel]).astype(np.int64)
    return table[channel, pick]


def _draw_themes(rng: np.random.Generator, channel: np.ndarray) -> np.ndarray:
    """Draw a campaign theme index for each touch (0 for channels without campaigns)."""
    n_themes = np.array([max(len(c.themes), 1) for c in CHANNELS], dtype=np.int64)
    return (rng.random(len(channel)) * n_themes[channel]).astype(np.int64)


def _segments(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Owner index, position within owner and CSR offsets for per-owner touch counts."""
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    owner = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    pos = np.arange(offsets[-1], dtype=np.int64) - offsets[owner]
    return owner, pos, offsets


def _segment_cumsum(gaps: np.ndarray, owner: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Inclusive cumulative sum of ``gaps`` restarted at each owner's first touch."""
    inclusive = np.cumsum(gaps)
    exclusive = inclusive - gaps
    return inclusive - exclusive[offsets[owner]]


def _exp_seconds(rng: np.random.Generator, mean_days: float, size: int) -> np.ndarray:
    """Exponential durations in whole seconds."""
    return (rng.exponential(mean_days * _DAY, size)).astype(np.int64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _presence(owner: np.ndarray, channel: np.ndarray, n: int) -> np.ndarray:
    """Owner x channel matrix: True where the owner touched the channel at least once."""
    present = np.zeros((n, len(CHANNELS)), dtype=np.bool_)
    present[owner, channel] = True
    return present


def _present_score(present: np.ndarray) -> np.ndarray:
    """Sum of the true effects of the channels marked present (one row per customer)."""
    score = np.zeros(present.shape[0], dtype=np.float64)
    for j, c in enumerate(CHANNELS):
        score += c.effect * present[:, j]
    return score


def _period(start: str | date, months: int) -> tuple[int, int, int]:
    """Epoch seconds of the period start and end, and the start's month index since 1970."""
    try:
        day0 = np.datetime64(start, "D") if isinstance(start, str | date) else np.datetime64("NaT")
    except ValueError:
        day0 = np.datetime64("NaT")
    if np.isnat(day0):
        raise UsageError(
            f"start must be a date like '2025-01-01'; got {start!r}",
            column="start",
            hint="pass an ISO date (YYYY-MM-DD)",
        )
    month0 = day0.astype("datetime64[M]")
    day_offset = day0 - month0.astype("datetime64[D]")
    end_day = (month0 + np.timedelta64(months, "M")).astype("datetime64[D]") + day_offset
    t0 = int(day0.astype("datetime64[s]").astype(np.int64))
    t1 = int(end_day.astype("datetime64[s]").astype(np.int64))
    return t0, t1, int(month0.astype(np.int64))


def _check_args(customers: int, months: int, seed: int) -> None:
    """Reject arguments the generator cannot use, naming the argument and a valid example."""
    for name, value, low, example in (
        ("customers", customers, 1, 2000),
        ("months", months, 1, 12),
        ("seed", seed, 0, 7),
    ):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
            kind = "a positive" if low == 1 else "a non-negative"
            raise UsageError(
                f"{name} must be {kind} integer; got {value!r}",
                column=name,
                hint=f"e.g. {name}={example}",
            )


def _id_strings(prefix: str, codes: np.ndarray, width: int) -> pl.Series:
    """Zero-padded string ids such as ``c000123`` built with Polars (no Python loop)."""
    digits = pl.Series(codes, dtype=pl.Int64).cast(pl.String).str.zfill(width)
    return pl.select(pl.format(prefix + "{}", pl.lit(digits))).to_series()


def _width(n: int) -> int:
    return max(6, len(str(max(n - 1, 0))))


@dataclass(frozen=True, slots=True)
class _Ids:
    """Per-customer id strings, gathered by customer code when a table is built."""

    customer: pl.Series
    account: pl.Series

    @classmethod
    def build(cls, account: np.ndarray) -> _Ids:
        width = _width(len(account))
        return cls(
            _id_strings("c", np.arange(len(account), dtype=np.int64), width),
            _id_strings("a", account, width),
        )


# --- the generator ----------------------------------------------------------------------------


def generate_frames(
    *,
    customers: int = 2000,
    seed: int = 7,
    start: str = "2025-01-01",
    months: int = 12,
) -> dict[str, pl.DataFrame]:
    """Generate the synthetic tables in memory: touchpoints, deals, stages and costs.

    The process is documented in ``docs/SYNTH.md``; rows are sorted deterministically
    (touchpoints by customer, ts; deals by deal_id; stages by customer, stage order; costs by
    date, channel, campaign).
    """
    _check_args(customers, months, seed)
    t_start, t_end, month0 = _period(start, months)
    rng = np.random.default_rng(seed)
    n = int(customers)

    # Accounts: 1 + Poisson(2) contacts each, contacts shuffled over accounts.
    sizes = 1 + rng.poisson(_CONTACTS_PER_ACCOUNT_EXTRA, n)
    account = rng.permutation(np.repeat(np.arange(n, dtype=np.int64), sizes)[:n])
    untracked = rng.random(n) < _UNTRACKED_SHARE
    arrive = t_start + (rng.random(n) * (t_end - t_start)).astype(np.int64)

    # Phase 1: touches before the opportunity (every tracked contact).
    n_pre = np.where(untracked, 0, 1 + rng.poisson(_PRE_TOUCHES_EXTRA, n))
    home = _draw_channels(rng, _weights("weight"), n)
    p_owner, p_pos, p_off = _segments(n_pre)
    m = len(p_owner)
    p_ch = _draw_channels(rng, _weights("weight"), m)
    sticky = rng.random(m) < _STICKY
    p_ch[sticky] = home[p_owner[sticky]]
    gaps = _exp_seconds(rng, _GAP_MEAN_DAYS, m)
    gaps[(p_pos == 0) | (rng.random(m) < _TIE_RATE)] = 0
    p_ts = arrive[p_owner] + _segment_cumsum(gaps, p_owner, p_off)
    p_tt = _draw_touch_types(rng, p_ch)
    present = _presence(p_owner, p_ch, n)
    pre_score = _present_score(present)

    # Opportunity: logistic in the channels touched before it.
    tracked = ~untracked
    has_pre = n_pre > 0
    is_opp = untracked | (rng.random(n) < _sigmoid(_OPP_INTERCEPT + pre_score))
    last_pre = np.full(n, t_start, dtype=np.int64)
    last_pre[has_pre] = p_ts[p_off[1:][has_pre] - 1]
    created = last_pre + 3600 + _exp_seconds(rng, _OPP_DELAY_MEAN_DAYS, n)
    created[untracked] = t_start + (rng.random(int(untracked.sum())) * (t_end - t_start)).astype(
        np.int64
    )
    cycle = np.maximum(
        rng.lognormal(np.log(_CYCLE_MEDIAN_DAYS * _DAY), _CYCLE_SIGMA, n), 3 * _DAY
    ).astype(np.int64)
    close_true = created + cycle

    # Phase 2: touches during the sales cycle (tracked opportunities).
    n_cyc = np.where(is_opp & tracked, rng.poisson(_CYCLE_TOUCHES, n), 0)
    c_owner, _, _ = _segments(n_cyc)
    c_ch = _draw_channels(rng, _weights("cycle_weight"), len(c_owner))
    c_ts = created[c_owner] + (rng.random(len(c_owner)) * cycle[c_owner]).astype(np.int64)
    c_tt = _draw_touch_types(rng, c_ch)
    present[c_owner, c_ch] = True
    win_logit = _WIN_INTERCEPT + _present_score(present)
    win_logit[untracked] = _WIN_INTERCEPT + _UNTRACKED_WIN_LIFT
    won_true = is_opp & (rng.random(n) < _sigmoid(win_logit))
    amount = rng.lognormal(np.log(_AMOUNT_MEDIAN), _AMOUNT_SIGMA, n)

    # Phase 3: touches after the deal closed (won customers come back more often).
    lam_after = np.where(won_true, _AFTER_TOUCHES_WON, _AFTER_TOUCHES_LOST)
    n_after = np.where(is_opp & tracked, rng.poisson(lam_after), 0)
    a_owner, _, a_off = _segments(n_after)
    a_ch = _draw_channels(rng, _weights("after_weight"), len(a_owner))
    a_gaps = _exp_seconds(rng, _AFTER_GAP_MEAN_DAYS, len(a_owner)) + 60
    a_ts = close_true[a_owner] + _segment_cumsum(a_gaps, a_owner, a_off)
    a_tt = _draw_touch_types(rng, a_ch)

    # Repeat purchase: a second deal some months after a won first deal.
    repeat = won_true & tracked & (rng.random(n) < _REPEAT_RATE)
    created2 = (
        close_true + int(_REPEAT_GAP_MIN_DAYS * _DAY) + _exp_seconds(rng, _REPEAT_GAP_MEAN_DAYS, n)
    )
    cycle2 = np.maximum(
        rng.lognormal(np.log(_REPEAT_CYCLE_MEDIAN_DAYS * _DAY), _CYCLE_SIGMA, n), 3 * _DAY
    ).astype(np.int64)
    close2 = created2 + cycle2
    won2 = rng.random(n) < _REPEAT_WIN_RATE
    amount2 = rng.lognormal(np.log(_REPEAT_AMOUNT_MEDIAN), _REPEAT_AMOUNT_SIGMA, n)
    n_rep = np.where(repeat, rng.poisson(_REPEAT_TOUCHES, n), 0)
    r_owner, _, _ = _segments(n_rep)
    r_ch = _draw_channels(rng, _weights("after_weight"), len(r_owner))
    span = created2[r_owner] - close_true[r_owner]
    r_ts = close_true[r_owner] + (rng.random(len(r_owner)) * span).astype(np.int64)
    r_tt = _draw_touch_types(rng, r_ch)

    # Funnel stages: lead on a pre-opportunity touch (turned into a form_submit), then mql, sql.
    is_lead = has_pre & (is_opp | (rng.random(n) < _LEAD_RATE))
    lead_pick = p_off[:-1] + (rng.random(n) * n_pre).astype(np.int64)
    lead_idx = lead_pick[is_lead]
    p_tt[lead_idx] = _FORM_SUBMIT
    lead_ts = np.zeros(n, dtype=np.int64)
    lead_ts[is_lead] = p_ts[lead_idx]
    lead_ts[untracked] = np.maximum(
        created[untracked] - _exp_seconds(rng, 5.0, int(untracked.sum())), t_start
    )
    is_lead |= untracked
    is_mql = is_opp | (is_lead & (rng.random(n) < _MQL_RATE))
    is_sql = is_opp | (is_mql & (rng.random(n) < _SQL_RATE))
    u1 = rng.uniform(0.2, 0.8, n)
    u2 = rng.uniform(0.2, 0.8, n)
    mql_ts = np.where(
        is_opp,
        lead_ts + (u1 * (created - lead_ts)).astype(np.int64),
        lead_ts + _exp_seconds(rng, 4.0, n),
    )
    sql_ts = np.where(
        is_opp,
        mql_ts + (u2 * (created - mql_ts)).astype(np.int64),
        mql_ts + _exp_seconds(rng, 10.0, n),
    )
    is_offer = won_true | (is_opp & (rng.random(n) < _OFFER_RATE_LOST))
    offer_ts = created + (rng.uniform(0.3, 0.9, n) * cycle).astype(np.int64)

    stage_parts = [
        (is_lead, lead_ts),
        (is_mql, mql_ts),
        (is_sql, sql_ts),
        (is_opp, created),
        (is_offer, offer_ts),
        (won_true, close_true),
    ]
    s_cust = np.concatenate([np.flatnonzero(mask) for mask, _ in stage_parts])
    s_rank = np.concatenate(
        [np.full(int(mask.sum()), k, dtype=np.int64) for k, (mask, _) in enumerate(stage_parts)]
    )
    s_ts = np.concatenate([ts[mask] for mask, ts in stage_parts])
    keep = s_ts < t_end
    ids = _Ids.build(account)
    stages = _stages_frame(s_cust[keep], s_rank[keep], s_ts[keep], ids)

    # Deals: first deals of opportunities and repeat deals, censored at the period end.
    d_cust = np.concatenate([np.flatnonzero(is_opp), np.flatnonzero(repeat)])
    d_created = np.concatenate([created[is_opp], created2[repeat]])
    d_close = np.concatenate([close_true[is_opp], close2[repeat]])
    d_won = np.concatenate([won_true[is_opp], won2[repeat]])
    d_amount = np.concatenate([amount[is_opp], amount2[repeat]])
    keep = d_created < t_end
    deals = _deals_frame(
        d_cust[keep], d_created[keep], d_close[keep], d_won[keep], d_amount[keep],
        t_end, ids,
    )  # fmt: skip

    # Touchpoints: all phases, censored at the period end.
    t_cust = np.concatenate([p_owner, c_owner, a_owner, r_owner])
    t_ts = np.concatenate([p_ts, c_ts, a_ts, r_ts])
    t_ch = np.concatenate([p_ch, c_ch, a_ch, r_ch])
    t_tt = np.concatenate([p_tt, c_tt, a_tt, r_tt])
    keep = t_ts < t_end
    t_cust, t_ts, t_ch, t_tt = t_cust[keep], t_ts[keep], t_ch[keep], t_tt[keep]
    codes = _touch_codes(t_cust, t_ts, t_ch, t_tt, _draw_themes(rng, t_ch))
    campaigns = _campaign_table(month0, months)
    touchpoints = _touchpoints_frame(codes, campaigns, month0, ids)
    costs = _costs_frame(rng, codes, campaigns, month0, months)
    return {"touchpoints": touchpoints, "deals": deals, "stages": stages, "costs": costs}


def _campaign_table(month0: int, months: int) -> tuple[pl.Series, int]:
    """Campaign names for every (channel, theme, quarter) code; quarter counted from month0."""
    q0 = month0 // 3
    n_quarters = (month0 + months) // 3 - q0 + 1
    names: list[str | None] = []
    for c in CHANNELS:
        for k in range(_MAX_THEMES):
            for q in range(n_quarters):
                if c.slug is None or k >= len(c.themes):
                    names.append(None)
                    continue
                year, quarter = divmod(q0 + q, 4)
                names.append(f"{c.slug}/{c.themes[k]}-{1970 + year}q{quarter + 1}")
    return pl.Series(names, dtype=pl.String), n_quarters


def _campaign_codes(
    ch: pl.Series, theme: pl.Series, month: pl.Series, month0: int, nq: int
) -> pl.Series:
    """Index into the campaign table of each (channel, theme, month)."""
    return (ch * _MAX_THEMES + theme) * nq + (month // 3 - month0 // 3)


def _touch_order(cust: np.ndarray, minor: np.ndarray, minor_bits: int) -> np.ndarray:
    """Stable order of touches by (customer, minor key), both non-negative int64.

    Packs both into one int64 key when they fit in 62 bits (one stable sort, fast on the
    nearly-sorted phases), else falls back to ``np.lexsort``; both give the same order.
    """
    cust_bits = int(cust.max()).bit_length() if len(cust) else 0
    if cust_bits + minor_bits <= 62:
        return np.argsort((cust << minor_bits) | minor, kind="stable")
    return np.lexsort((minor, cust))


def _touch_codes(
    cust: np.ndarray, ts: np.ndarray, ch: np.ndarray, tt: np.ndarray, theme: np.ndarray
) -> pl.DataFrame:
    """Integer-coded touches sorted by customer, ts, channel, theme, touch type; no duplicates.

    Two touches of one customer in the same second with the same channel, campaign and touch
    type would be indistinguishable rows; real exports dedupe them, so the generator does too.
    """
    ch_bits = (len(CHANNELS) - 1).bit_length()
    theme_bits = (_MAX_THEMES - 1).bit_length()
    tt_bits = (len(_TOUCH_TYPES) - 1).bit_length()
    ts_off = ts - (int(ts.min()) if len(ts) else 0)
    ts_bits = int(ts_off.max()).bit_length() if len(ts) else 0
    low_bits = ch_bits + theme_bits + tt_bits
    minor = (ts_off << low_bits) | (ch << (theme_bits + tt_bits)) | (theme << tt_bits) | tt
    order = _touch_order(cust, minor, ts_bits + low_bits)
    cust, minor = cust[order], minor[order]
    keep = np.ones(len(order), dtype=np.bool_)
    keep[1:] = (cust[1:] != cust[:-1]) | (minor[1:] != minor[:-1])
    order = order[keep]
    ts = ts[order]
    month = (ts // _DAY).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return pl.DataFrame(
        {
            "cust": cust[keep],
            "ts": ts,
            "ch": ch[order],
            "theme": theme[order],
            "tt": tt[order],
            "month": month,
        },
        schema=dict.fromkeys(["cust", "ts", "ch", "theme", "tt", "month"], pl.Int64),
    )


def _touchpoints_frame(
    codes: pl.DataFrame, campaigns: tuple[pl.Series, int], month0: int, ids: _Ids
) -> pl.DataFrame:
    names, nq = campaigns
    camp = _campaign_codes(codes["ch"], codes["theme"], codes["month"], month0, nq)
    channel_names = pl.Series([c.name for c in CHANNELS], dtype=pl.String)
    return pl.DataFrame(
        {
            "customer_id": ids.customer.gather(codes["cust"]),
            "account_id": ids.account.gather(codes["cust"]),
            "ts": pl.from_epoch(codes["ts"], time_unit="s"),
            "channel": channel_names.gather(codes["ch"]),
            "campaign": names.gather(camp),
            "touch_type": pl.Series(_TOUCH_TYPES, dtype=pl.String).gather(codes["tt"]),
        },
        schema=TOUCHPOINTS_SCHEMA,
    )


def _deals_frame(
    cust: np.ndarray,
    created: np.ndarray,
    close: np.ndarray,
    won: np.ndarray,
    amount: np.ndarray,
    t_end: int,
    ids: _Ids,
) -> pl.DataFrame:
    is_closed = close < t_end
    status = np.where(is_closed, np.where(won, 2, 1), 0)  # open, lost, won
    codes = pl.DataFrame(
        {
            "cust": cust,
            "created": created,
            "close": np.where(is_closed, close, -1),
            "status": status,
            "amount": np.round(amount, 2),
        },
        schema={
            "cust": pl.Int64,
            "created": pl.Int64,
            "close": pl.Int64,
            "status": pl.Int64,
            "amount": pl.Float64,
        },
    ).sort(["created", "cust"])
    n_deals = codes.height
    closed = pl.from_epoch(codes["close"], time_unit="s")
    return pl.DataFrame(
        {
            "deal_id": _id_strings("d", np.arange(1, n_deals + 1), _width(n_deals + 1)),
            "customer_id": ids.customer.gather(codes["cust"]),
            "account_id": ids.account.gather(codes["cust"]),
            "created_at": pl.from_epoch(codes["created"], time_unit="s"),
            "closed_at": pl.select(
                pl.when(pl.lit(codes["close"]) >= 0).then(pl.lit(closed))
            ).to_series(),
            "status": pl.Series(["open", "lost", "won"], dtype=pl.String).gather(codes["status"]),
            "amount": codes["amount"],
        },
        schema=DEALS_SCHEMA,
    )


def _stages_frame(cust: np.ndarray, rank: np.ndarray, ts: np.ndarray, ids: _Ids) -> pl.DataFrame:
    codes = pl.DataFrame(
        {"cust": cust, "rank": rank, "ts": ts},
        schema={"cust": pl.Int64, "rank": pl.Int64, "ts": pl.Int64},
    ).sort(["cust", "rank"])
    return pl.DataFrame(
        {
            "customer_id": ids.customer.gather(codes["cust"]),
            "stage": pl.Series(STAGES, dtype=pl.String).gather(codes["rank"]),
            "ts": pl.from_epoch(codes["ts"], time_unit="s"),
        },
        schema=STAGES_SCHEMA,
    )


def _costs_frame(
    rng: np.random.Generator,
    codes: pl.DataFrame,
    campaigns: tuple[pl.Series, int],
    month0: int,
    months: int,
) -> pl.DataFrame:
    """Monthly spend per paid (channel, campaign): touches x unit cost x clicks factor x noise."""
    unit = np.array([c.unit_cost for c in CHANNELS], dtype=np.float64)
    ch = codes["ch"].to_numpy()
    paid = unit[ch] > 0
    rel_month = codes["month"].to_numpy()[paid] - month0
    key = (rel_month * len(CHANNELS) + ch[paid]) * _MAX_THEMES + codes["theme"].to_numpy()[paid]
    counts = np.bincount(key, minlength=(months + 1) * len(CHANNELS) * _MAX_THEMES)
    rows = np.flatnonzero(counts)
    r_theme = rows % _MAX_THEMES
    r_ch = (rows // _MAX_THEMES) % len(CHANNELS)
    r_month = rows // (_MAX_THEMES * len(CHANNELS)) + month0
    noise = rng.lognormal(0.0, _SPEND_NOISE_SIGMA, len(rows))
    spend = np.round(counts[rows] * unit[r_ch] * _CLICKS_PER_TRACKED_TOUCH * noise, 2)
    names, nq = campaigns
    camp = _campaign_codes(pl.Series(r_ch), pl.Series(r_theme), pl.Series(r_month), month0, nq)
    channel_names = pl.Series([c.name for c in CHANNELS], dtype=pl.String)
    frame = pl.DataFrame(
        {
            "date": pl.Series(r_month.astype("datetime64[M]").astype("datetime64[D]")).cast(
                pl.Date
            ),
            "channel": channel_names.gather(pl.Series(r_ch)),
            "campaign": names.gather(camp),
            "spend": spend,
        },
        schema=COSTS_SCHEMA,
    )
    return frame.sort(["date", "channel", "campaign"], nulls_last=False)


TOUCHPOINTS_SCHEMA = pl.Schema(
    {
        "customer_id": pl.String,
        "account_id": pl.String,
        "ts": pl.Datetime("us"),
        "channel": pl.String,
        "campaign": pl.String,
        "touch_type": pl.String,
    }
)
DEALS_SCHEMA = pl.Schema(
    {
        "deal_id": pl.String,
        "customer_id": pl.String,
        "account_id": pl.String,
        "created_at": pl.Datetime("us"),
        "closed_at": pl.Datetime("us"),
        "status": pl.String,
        "amount": pl.Float64,
    }
)
STAGES_SCHEMA = pl.Schema({"customer_id": pl.String, "stage": pl.String, "ts": pl.Datetime("us")})
COSTS_SCHEMA = pl.Schema(
    {"date": pl.Date, "channel": pl.String, "campaign": pl.String, "spend": pl.Float64}
)


def generate(
    out_dir: str | Path,
    *,
    customers: int = 2000,
    seed: int = 7,
    fmt: str = "csv",
    start: str = "2025-01-01",
    months: int = 12,
) -> dict[str, int]:
    """Write the synthetic tables and ``channels.toml`` to ``out_dir``; return rows per table.

    ``fmt`` is ``"csv"`` (timestamps as ``YYYY-MM-DD HH:MM:SS``, amounts with 2 decimals) or
    ``"parquet"``. The same arguments always give byte-identical files.
    """
    if fmt not in ("csv", "parquet"):
        raise UsageError(
            f"fmt must be 'csv' or 'parquet'; got {fmt!r}", column="format", hint="use csv"
        )
    out = Path(out_dir)
    # another format's tables beside these would make the folder ambiguous to `attrib run`
    others = sorted(
        p.name
        for name in TABLES
        for p in (out.glob(f"{name}.*") if out.is_dir() else [])
        if p.is_file() and p.name != f"{name}.{fmt}"
    )
    if others:
        raise UsageError(
            f"{out} already holds {', '.join(others)}: beside new {fmt} tables, `attrib run` "
            "could not tell which to read",
            file=str(out),
            hint="generate into an empty folder, or remove those files",
        )
    frames = generate_frames(customers=customers, seed=seed, start=start, months=months)
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, frame in frames.items():
            path = out / f"{name}.{fmt}"
            if fmt == "csv":
                frame.write_csv(
                    path,
                    datetime_format="%Y-%m-%d %H:%M:%S",
                    date_format="%Y-%m-%d",
                    float_precision=2,
                )
            else:
                frame.write_parquet(path, compression="zstd", statistics=True)
        (out / "channels.toml").write_text(_CHANNELS_TOML, encoding="utf-8")
    except OSError as e:
        raise OutputError(
            f"cannot write synthetic data: {e}", file=str(out), hint="check the folder"
        ) from e
    return {name: frame.height for name, frame in frames.items()}
