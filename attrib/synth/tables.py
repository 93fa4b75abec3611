"""The synthetic tables as Polars frames: ids as text, campaign names, touch order and
the four output tables' schemas."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from attrib.synth.spec import (
    _CLICKS_PER_TRACKED_TOUCH,
    _DAY,
    _MAX_THEMES,
    _SPEND_NOISE_SIGMA,
    _TOUCH_TYPES,
    CHANNELS,
    STAGES,
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
    *,
    daily: bool = False,
) -> pl.DataFrame:
    """Spend per paid (channel, campaign) and month (dated the 1st), or per day (``daily``:
    a period that starts after a 1st, whose first and last months are part-months: a monthly
    row of a part-month is read as spread over its whole month and prorated away):
    touches x unit cost x clicks factor x noise."""
    unit = np.array([c.unit_cost for c in CHANNELS], dtype=np.float64)
    ch = codes["ch"].to_numpy()
    paid = unit[ch] > 0
    day = codes["ts"].to_numpy()[paid] // _DAY
    if daily:
        first = int(day.min()) if len(day) else 0
        rel, n_slots = day - first, int(day.max()) - first + 1 if len(day) else 1
    else:
        rel, n_slots = codes["month"].to_numpy()[paid] - month0, months + 1
    key = (rel * len(CHANNELS) + ch[paid]) * _MAX_THEMES + codes["theme"].to_numpy()[paid]
    counts = np.bincount(key, minlength=n_slots * len(CHANNELS) * _MAX_THEMES)
    rows = np.flatnonzero(counts)
    r_theme = rows % _MAX_THEMES
    r_ch = (rows // _MAX_THEMES) % len(CHANNELS)
    r_slot = rows // (_MAX_THEMES * len(CHANNELS))
    if daily:
        r_day = (r_slot + first).astype("datetime64[D]")
        r_month = r_day.astype("datetime64[M]").astype(np.int64)
    else:
        r_month = r_slot + month0
        r_day = r_month.astype("datetime64[M]").astype("datetime64[D]")
    noise = rng.lognormal(0.0, _SPEND_NOISE_SIGMA, len(rows))
    spend = np.round(counts[rows] * unit[r_ch] * _CLICKS_PER_TRACKED_TOUCH * noise, 2)
    names, nq = campaigns
    camp = _campaign_codes(pl.Series(r_ch), pl.Series(r_theme), pl.Series(r_month), month0, nq)
    channel_names = pl.Series([c.name for c in CHANNELS], dtype=pl.String)
    frame = pl.DataFrame(
        {
            "date": pl.Series(r_day).cast(pl.Date),
            "channel": channel_names.gather(pl.Series(r_ch)),
            "campaign": names.gather(camp),
            "spend": spend,
        },
        schema=COSTS_SCHEMA,
    )
    return frame.sort(["date", "channel", "campaign"], nulls_last=False)


TOUCHPOINTS_SCHEMA = pl.Schema(
    {
        "customer_id": pl.String(),
        "account_id": pl.String(),
        "ts": pl.Datetime("us"),
        "channel": pl.String(),
        "campaign": pl.String(),
        "touch_type": pl.String(),
    }
)
DEALS_SCHEMA = pl.Schema(
    {
        "deal_id": pl.String(),
        "customer_id": pl.String(),
        "account_id": pl.String(),
        "created_at": pl.Datetime("us"),
        "closed_at": pl.Datetime("us"),
        "status": pl.String(),
        "amount": pl.Float64(),
    }
)
STAGES_SCHEMA = pl.Schema(
    {"customer_id": pl.String(), "stage": pl.String(), "ts": pl.Datetime("us")}
)
COSTS_SCHEMA = pl.Schema(
    {"date": pl.Date(), "channel": pl.String(), "campaign": pl.String(), "spend": pl.Float64()}
)
