"""The generative process: vectorised draws of accounts, contacts, touches, stages, deals
and spend (``generate_frames``), with the constants of ``spec``."""

from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from attrib.columns import TS_YEARS
from attrib.errors import UsageError
from attrib.synth.spec import (
    _AFTER_GAP_MEAN_DAYS,
    _AFTER_TOUCHES_LOST,
    _AFTER_TOUCHES_WON,
    _AMOUNT_MEDIAN,
    _AMOUNT_SIGMA,
    _CONTACTS_PER_ACCOUNT_EXTRA,
    _CYCLE_MEDIAN_DAYS,
    _CYCLE_SIGMA,
    _CYCLE_TOUCHES,
    _DAY,
    _FORM_SUBMIT,
    _GAP_MEAN_DAYS,
    _LEAD_RATE,
    _MQL_RATE,
    _OFFER_RATE_LOST,
    _OPP_DELAY_MEAN_DAYS,
    _OPP_INTERCEPT,
    _PRE_TOUCHES_EXTRA,
    _REPEAT_AMOUNT_MEDIAN,
    _REPEAT_AMOUNT_SIGMA,
    _REPEAT_CYCLE_MEDIAN_DAYS,
    _REPEAT_GAP_MEAN_DAYS,
    _REPEAT_GAP_MIN_DAYS,
    _REPEAT_RATE,
    _REPEAT_TOUCHES,
    _REPEAT_WIN_RATE,
    _SQL_RATE,
    _STICKY,
    _TIE_RATE,
    _TOUCH_TYPES,
    _UNTRACKED_SHARE,
    _UNTRACKED_WIN_LIFT,
    _WIN_INTERCEPT,
    CHANNELS,
)
from attrib.synth.tables import (
    _campaign_table,
    _costs_frame,
    _deals_frame,
    _Ids,
    _stages_frame,
    _touch_codes,
    _touchpoints_frame,
)

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
        day0: np.datetime64 = np.datetime64(start if isinstance(start, str | date) else "NaT", "D")
    except ValueError:
        day0 = np.datetime64("NaT", "D")
    if np.isnat(day0):
        raise UsageError(
            f"--start (start=) must be a date like '2025-01-01'; got {start!r}",
            hint="pass an ISO date (YYYY-MM-DD)",
        )
    # attrib reads times in the years TS_YEARS only: data outside them would all be rejected
    first, last = TS_YEARS
    month0 = day0.astype("datetime64[M]")
    year, month = divmod(int(month0.astype(np.int64)), 12)
    year += 1970
    later_day = bool(day0 != month0.astype("datetime64[D]"))  # the start is not a 1st
    if not first <= year <= last:
        raise UsageError(
            f"--start (start=) must lie in the years {first}-{last}; got {start!r}",
            hint="e.g. --start 2025-01-01 (start='2025-01-01')",
        )
    # months from the start to the end of the last year (a start after the 1st: one less)
    room = (last + 1 - year) * 12 - month - later_day
    if months > room:
        raise UsageError(
            f"--months (months=) must be at most {room} from {day0}: the data would run past "
            f"the year {last}, and attrib reads times in the years {first}-{last} only; got "
            f"{months!r}",
            hint="e.g. --months 12 (months=12), or an earlier start",
        )
    day_offset = day0 - month0.astype("datetime64[D]")
    end_day = (month0 + np.timedelta64(months, "M")).astype("datetime64[D]") + day_offset
    t0 = int(day0.astype("datetime64[s]").astype(np.int64))
    t1 = int(end_day.astype("datetime64[s]").astype(np.int64))
    return t0, t1, int(month0.astype(np.int64))


#: far beyond any machine's memory (~5.7 touches and ~1 KB of tables a customer: up to it,
#: too many is an out-of-memory error, exit 3), but below the sizes numpy's arrays refuse
MAX_CUSTOMERS = 10**12


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
                f"--{name} ({name}=) must be {kind} integer; got {value!r}",
                hint=f"e.g. --{name} {example} ({name}={example})",
            )
    if customers > MAX_CUSTOMERS:  # (past 2^63 numpy's arrays failed: an internal error)
        raise UsageError(
            f"--customers (customers=) must be at most {MAX_CUSTOMERS:,}; got {customers:,}",
            hint="e.g. --customers 2000 (50M customers make ~300M touches, as in the benchmarks)",
        )


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
    # a start after a 1st cuts the first and last months: daily rows, none prorated away
    first_of_month = np.datetime64(month0, "M").astype("datetime64[D]").astype(np.int64)
    daily = t_start // _DAY != first_of_month
    costs = _costs_frame(rng, codes, campaigns, month0, months, daily=bool(daily))
    return {"touchpoints": touchpoints, "deals": deals, "stages": stages, "costs": costs}
