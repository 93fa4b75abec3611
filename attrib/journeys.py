"""Polars glue that turns validated touches and deals into encoded journeys (CSR arrays).

A deal's journey (README, "Journeys") is its entity's touches in
``(max(window_end - lookback, previous window end), window_end]`` (the lookback bound itself
is inclusive), where ``window_end`` is ``closed_at`` for closed deals (``revenue_window =
"closed_at"``, the default) and ``created_at`` for open deals. Touches after an entity's last
deal form a non-converting journey; a deal with no touch in its window is a zero-touch journey
that every model credits to ``(none)``. Touches are sorted once, by a numba radix sort on
hashed entity keys (``attrib.entity_keys``), so journeys come in key order, not id order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import cached_property, partial

import numpy as np
import polars as pl
import pyarrow as pa

from attrib._code_kernels import present_pairs, recode_pairs
from attrib._journey_kernels import (
    _anchors,
    _assign_journeys,
    _digest_rows,
    _earliest_by_key,
    _fill_paths,
    _journey_stats,
    _path_offsets,
)
from attrib._threads import side_by_side
from attrib.columns import (
    CAMPAIGN,
    CHANNEL,
    CLOSED_AT,
    CLOSED_STATUSES,
    CREATED_AT,
    DEAL_ID,
    ENTITY_ID,
    STAGE,
    STATUS,
    TS,
)
from attrib.config import RunConfig
from attrib.encoded import (
    CONVERSION_IN_PERIOD,
    CREATION_IN_PERIOD,
    NONE_CAMPAIGN,
    NONE_CHANNEL,
    STATUS_LOST,
    STATUS_NONE,
    STATUS_OPEN,
    STATUS_WON,
    US_PER_DAY,
    Dictionaries,
    Journeys,
)
from attrib.entity_keys import dense_values, hash_pair, sort_by_entity
from attrib.metrics.funnel import ENTITY_FIRST
from attrib.metrics.settings import MetricsSettings
from attrib.schema import deal_event_time

_STATUS_CODES = {"open": STATUS_OPEN, "won": STATUS_WON, "lost": STATUS_LOST}
_LEAD_STAGES = ("lead", "mql")
_MIN_TS = np.iinfo(np.int64).min
_MAX_TS = np.iinfo(np.int64).max


#: most (channel, campaign) combinations held in dense tables (a flag and a code per
#: combination: 20 MiB); beyond, present pairs are found by sorting and searching
_DENSE_PAIRS = 1 << 22


@dataclass(frozen=True)
class _LocalCodes:
    """Channel and campaign per touch as dense local codes (numbered by hash,
    ``_local_codes``, so only distinct names reach Python), and the (channel, campaign)
    pairs present."""

    channel: np.ndarray  # int32 [T] index into channel_names
    campaign: np.ndarray  # int32 [T] index into campaign_names
    channel_names: list[str]
    campaign_names: list[str]

    @classmethod
    def of(cls, touches: pl.DataFrame) -> _LocalCodes:
        (channel, channel_names), (campaign, campaign_names) = side_by_side(
            lambda: _local_codes(touches.get_column(CHANNEL), NONE_CHANNEL),
            lambda: _local_codes(touches.get_column(CAMPAIGN), NONE_CAMPAIGN),
        )
        return cls(channel, campaign, channel_names, campaign_names)

    @property
    def n_campaigns(self) -> int:
        return max(len(self.campaign_names), 1)

    @property
    def dense(self) -> bool:
        """Whether every (channel, campaign) combination fits a dense table."""
        return len(self.channel_names) * self.n_campaigns <= _DENSE_PAIRS

    @cached_property
    def flat(self) -> np.ndarray:
        """int64 [T]: each touch's pair as ``channel * n_campaigns + campaign`` (only where
        the pairs do not fit a dense table: read by ``present`` and ``_touch_codes``)."""
        return self.channel.astype(np.int64) * self.n_campaigns + self.campaign

    @cached_property
    def present(self) -> np.ndarray:
        """int64 [P]: the pairs present, as ``flat`` numbers, sorted."""
        if self.dense:
            n = len(self.channel_names)
            return np.flatnonzero(present_pairs(self.channel, self.campaign, n, self.n_campaigns))
        return np.unique(self.flat)

    @cached_property
    def pairs(self) -> np.ndarray:
        """int64 [P, 2]: the pairs present as (channel index, campaign index), sorted."""
        return np.stack([self.present // self.n_campaigns, self.present % self.n_campaigns], axis=1)


def _local_codes(series: pl.Series, fill: str) -> tuple[np.ndarray, list[str]]:
    """int32 code per row (dense, in first-seen order) and the distinct names they index
    (``entity_keys.dense_values``; nulls as ``fill``).

    Nulls get their code like any value and are named ``fill`` afterwards: filling 10M
    touches' text first cost ~0.2-0.4 s (Polars rewrites every string). Only where ``fill``
    also occurs as text are they filled first, so that the two share one code.
    """
    codes, names = dense_values(series)
    if names.null_count() and fill in names:
        codes, names = dense_values(series.fill_null(fill))
    return codes, names.fill_null(fill).to_list()


def _dictionaries(local: _LocalCodes, config: RunConfig) -> Dictionaries:
    """Channel and (channel, campaign) code tables, sorted so codes never depend on row order."""
    pairs = sorted(
        (local.channel_names[c], local.campaign_names[k])
        for c, k in local.pairs.tolist()
        if local.channel_names[c] != NONE_CHANNEL
    )
    names = sorted({c for c, _ in pairs})
    channels = (NONE_CHANNEL, *names)
    code = {name: i for i, name in enumerate(channels)}
    return Dictionaries(
        channels=channels,
        is_marketing=np.array([False] + [config.flags(c).marketing for c in names], dtype=np.bool_),
        is_direct=np.array([False] + [config.flags(c).direct for c in names], dtype=np.bool_),
        campaign_channel=np.array([0, *[code[c] for c, _ in pairs]], dtype=np.int32),
        campaign_names=(NONE_CAMPAIGN, *[k for _, k in pairs]),
    )


def build_dictionaries(touches: pl.DataFrame, config: RunConfig) -> Dictionaries:
    """Channel and (channel, campaign) code tables of these touches (``channel, campaign``)."""
    return _dictionaries(_LocalCodes.of(touches), config)


def _touch_codes(local: _LocalCodes, dicts: Dictionaries) -> tuple[np.ndarray, np.ndarray]:
    """Channel code and campaign key per touch in the run's dictionaries (int32 each)."""
    code = {name: i for i, name in enumerate(dicts.channels)}
    channel_of = np.array([code[name] for name in local.channel_names], dtype=np.int32)
    key_of = {
        (int(c), name): key
        for key, (c, name) in enumerate(
            zip(dicts.campaign_channel.tolist(), dicts.campaign_names, strict=True)
        )
        if key
    }
    key_of_pair = np.array(
        [
            key_of.get((int(channel_of[c]), local.campaign_names[k]), 0)
            for c, k in local.pairs.tolist()
        ],
        dtype=np.int32,
    )
    n_camp, present = local.n_campaigns, local.present
    if local.dense:  # each combination's key in a dense table, read in one numba pass
        key_of_flat = np.zeros(len(local.channel_names) * n_camp, dtype=np.int32)
        key_of_flat[present] = key_of_pair
        return recode_pairs(local.channel, local.campaign, n_camp, channel_of, key_of_flat)
    return channel_of[local.channel], key_of_pair[np.searchsorted(present, local.flat)]


def _lead_times(stages: pl.DataFrame | None) -> pl.DataFrame:
    """Earliest lead/MQL milestone per entity (the W/Z-shaped lead-creation anchor)."""
    if stages is None or stages.height == 0:
        return pl.DataFrame(schema={ENTITY_ID: pl.String, "__lead": pl.Datetime("us")})
    return (
        stages.filter(pl.col(STAGE).is_in(_LEAD_STAGES))
        .group_by(ENTITY_ID)
        .agg(pl.col(TS).min().alias("__lead"))
    )


def _deal_leads(stages: pl.DataFrame | None, deals: pl.DataFrame) -> pl.Series:
    """Each deal's lead anchor (``_lead_times`` of its entity) in epoch us, ``_MIN_TS``
    where none.

    Matched on the ids' 64-bit hashes (``entity_keys.hash_pair``) in one numba pass
    (``_earliest_by_key``), not grouped and joined on their text (~4x cheaper at 2.6M stage
    rows); two ids sharing a hash but not the check hash fall back to the text.
    """
    none = pl.Series("lead", np.full(deals.height, _MIN_TS, dtype=np.int64))
    if stages is None or stages.height == 0 or deals.height == 0:
        return none
    ids, ts = stages.get_column(ENTITY_ID), stages.get_column(TS)
    # a null id is no entity: it must match nothing (its hash would match other nulls')
    use = stages.get_column(STAGE).is_in(_LEAD_STAGES) & ids.is_not_null() & ts.is_not_null()
    d_ids = deals.get_column(ENTITY_ID)
    lead, collided = _earliest_by_key(
        *hash_pair(d_ids),
        d_ids.is_not_null().to_numpy(),
        *hash_pair(ids),
        ts.dt.epoch("us").fill_null(0).to_numpy(),
        use.fill_null(False).to_numpy(),
        _MIN_TS,
    )
    if collided:
        joined = deals.join(_lead_times(stages), on=ENTITY_ID, how="left", maintain_order="left")
        return joined.get_column("__lead").dt.epoch("us").fill_null(_MIN_TS).alias("lead")
    return pl.Series("lead", lead)


def build_journeys(
    touches: pl.DataFrame,
    deals: pl.DataFrame,
    config: RunConfig,
    *,
    stages: pl.DataFrame | None = None,
    dicts: Dictionaries | None = None,
) -> Journeys:
    """Encode one batch of journeys from validated touches and deals (any row order).

    ``touches`` needs ``entity_id, ts, channel, campaign``; ``deals`` needs ``deal_id,
    entity_id, created_at, closed_at, status, amount``. Pass ``dicts`` to share codes with
    other batches of the same run.
    """
    local = _LocalCodes.of(touches)
    dicts = dicts or _dictionaries(local, config)
    chan, camp = _touch_codes(local, dicts)
    # the dictionaries give back each touch's own channel and campaign text (as String; a
    # null campaign as "(none)") unless a touch's channel is "(none)" (literally, or null in
    # a frame that did not come through ``inputs.prepare_touches``: both are named so), its
    # pair is missing from shared dictionaries (key 0), or the columns are not plain text
    names_from_codes = (
        NONE_CHANNEL not in local.channel_names
        and not np.any(camp == 0)
        and all(touches.schema[c] == pl.String for c in (CHANNEL, CAMPAIGN))
    )
    del local
    end = deal_event_time() if config.revenue_window == "closed_at" else pl.col(CREATED_AT)
    # the touch sort (numba, GIL released) runs in a worker while Polars prepares the deals
    d, (order, t_ent, t_ts, t_chan, t_camp, d_keys) = side_by_side(
        lambda: deals.with_columns(
            end.dt.epoch("us").alias("end"),
            pl.col(CREATED_AT).dt.epoch("us").alias("created"),
            _deal_leads(stages, deals),
        ),
        partial(
            sort_by_entity,
            touches.get_column(ENTITY_ID),
            touches.get_column(TS).dt.epoch("us").to_numpy(),
            chan,
            camp,
            others=deals.get_column(ENTITY_ID),
        ),
    )
    del chan, camp
    n_entities = int(np.count_nonzero(t_ent[1:] != t_ent[:-1])) + 1 if len(t_ent) else 0
    d = d.with_columns(pl.Series("ent", d_keys)).sort("ent", "end", DEAL_ID)
    d_ent = d.get_column("ent").to_numpy()
    d_end = d.get_column("end").to_numpy()
    lookback = np.int64(config.lookback_days) * US_PER_DAY
    keep, offsets, j_deal, n_kept = _assign_journeys(
        t_ent, t_ts, d_ent, d_end, lookback, d.height + n_entities
    )
    if n_kept == len(t_ts):  # every touch in a journey (the usual case): no copies
        ts, channel, campaign, kept_rows = t_ts, t_chan, t_camp, order
    else:
        ts, channel, campaign, kept_rows = t_ts[keep], t_chan[keep], t_camp[keep], order[keep]

    is_deal = j_deal >= 0
    deal_idx = np.where(is_deal, j_deal, 0)
    status_codes = (
        d.get_column(STATUS).replace_strict(_STATUS_CODES, return_dtype=pl.Int8).to_numpy()
    )
    n_j = len(j_deal)
    lengths = np.diff(offsets)
    last_ts = np.where(lengths > 0, ts[np.maximum(offsets[1:] - 1, 0)] if len(ts) else 0, 0)
    if d.height:
        status = np.where(is_deal, status_codes[deal_idx], STATUS_NONE).astype(np.int8, copy=False)
        amount = np.where(is_deal, d.get_column("amount").to_numpy()[deal_idx], 0.0)
        end_ts = np.where(is_deal, d_end[deal_idx], last_ts).astype(np.int64, copy=False)
        created_ts = np.where(is_deal, d.get_column("created").to_numpy()[deal_idx], last_ts)
        lead_ts = np.where(is_deal, d.get_column("lead").to_numpy()[deal_idx], _MIN_TS)
    else:
        status = np.zeros(n_j, dtype=np.int8)
        amount = np.zeros(n_j)
        end_ts = last_ts.astype(np.int64)
        created_ts = end_ts.copy()
        lead_ts = np.full(n_j, _MIN_TS, dtype=np.int64)
    created_ts = created_ts.astype(np.int64, copy=False)
    in_period = _in_period(d, _reporting_window(config), is_deal, deal_idx)
    # a lead milestone after the journey's end (the deal's close, or its creation when that
    # ends the window) is outside the window: no lead anchor, as one before the first touch
    lead_ts = np.where(lead_ts <= end_ts, lead_ts, _MIN_TS).astype(np.int64, copy=False)
    n_created, lead_pos = _anchors(offsets, ts, created_ts, lead_ts)
    opp_pos = np.where(is_deal & (n_created > 0), offsets[:-1] + n_created - 1, -1)

    # each journey's entity id text: from its deal, else from its first touch's input row
    first_row = (
        kept_rows[np.minimum(offsets[:-1], max(len(kept_rows) - 1, 0))]
        if len(kept_rows)
        else np.zeros(n_j, dtype=np.int64)
    )
    entity_ids = pl.select(
        pl.when(pl.Series(is_deal))
        .then(d.get_column(ENTITY_ID).gather(deal_idx) if d.height else None)
        .otherwise(touches.get_column(ENTITY_ID).gather(first_row) if touches.height else None)
    ).to_series()

    def touch_digest() -> pl.DataFrame:
        # ties with a journey start matter for won deals only (their sourcing campaign)
        rows, entity_first = _digest_rows(t_ent, t_ts, keep, offsets, status == STATUS_WON)
        return (
            _digest(touches, order[rows], t_chan[rows], t_camp[rows], dicts)
            if names_from_codes
            else _digest(touches, order[rows])
        ).with_columns(pl.Series(ENTITY_FIRST, entity_first))

    digest, table = side_by_side(  # the digest, and the table in a worker
        touch_digest,
        lambda: _journey_table(offsets, channel, ts, j_deal, entity_ids, d, status, amount, dicts),
    )
    return Journeys(
        offsets=offsets,
        channel=channel,
        campaign=campaign,
        ts=ts,
        status=status,
        weight=np.ones(n_j, dtype=np.float64),
        amount=amount.astype(np.float64, copy=False),
        end_ts=end_ts,
        created_ts=created_ts,
        n_created=n_created,
        lead_pos=lead_pos,
        opp_pos=opp_pos.astype(np.int64, copy=False),
        table=table,
        dicts=dicts,
        digest=digest,
        in_period=in_period,
    )


def _reporting_window(config: RunConfig) -> tuple[int, int] | None:
    """The reporting window (``[metrics] period_from/period_to``, inclusive days) as epoch
    microseconds [lo, hi); None when neither bound is set. A missing bound is open: the
    window's other end is the data's own, which no deal lies beyond."""
    window = MetricsSettings.from_mapping(config.metrics).window() if config.metrics else None
    if window is None:
        return None
    start, end = window

    def epoch_us(day: date) -> int:
        return (day - date(1970, 1, 1)).days * US_PER_DAY

    lo = epoch_us(start) if start > date.min else _MIN_TS
    hi = epoch_us(end) + US_PER_DAY if end < date.max else _MAX_TS
    return lo, hi


def _in_period(
    deals: pl.DataFrame,
    window: tuple[int, int] | None,
    is_deal: np.ndarray,
    deal_idx: np.ndarray,
) -> np.ndarray | None:
    """``Journeys.in_period``: per journey, whether its deal's conversion
    (``schema.deal_event_time``) and its creation lie in the reporting window, the periods the
    KPIs count a deal in; None without a window."""
    if window is None:
        return None
    if not deals.height:
        return np.zeros(len(is_deal), dtype=np.uint8)
    lo, hi = window
    conversion = deals.select(deal_event_time().dt.epoch("us")).to_series().to_numpy()
    created = deals.get_column("created").to_numpy()
    flags = np.where((conversion >= lo) & (conversion < hi), CONVERSION_IN_PERIOD, 0)
    flags |= np.where((created >= lo) & (created < hi), CREATION_IN_PERIOD, 0)
    return np.where(is_deal, flags[deal_idx], 0).astype(np.uint8)


#: touch columns the metrics may read besides the four keys (an explicit marketing flag)
_DIGEST_EXTRA = ("is_marketing",)


def _digest(
    touches: pl.DataFrame,
    rows: np.ndarray,
    chan: np.ndarray | None = None,
    camp: np.ndarray | None = None,
    dicts: Dictionaries | None = None,
) -> pl.DataFrame:
    """The digest's touch columns at input ``rows``. With the rows' channel codes and
    campaign keys, channel and campaign text come from the dictionaries (a gather from a few
    names instead of from 10M scattered strings: ~4x cheaper). Built from the columns
    themselves: a ``select`` on the frame would first align every column's chunks (the
    inputs keep only the journeys' four columns contiguous)."""
    columns = []
    for c in (ENTITY_ID, TS, CHANNEL, CAMPAIGN, *_DIGEST_EXTRA):
        if c not in touches.columns:
            continue
        if c == CHANNEL and dicts is not None:
            columns.append(pl.Series(c, dicts.channels, dtype=pl.String).gather(chan))
        elif c == CAMPAIGN and dicts is not None:
            columns.append(pl.Series(c, dicts.campaign_names, dtype=pl.String).gather(camp))
        elif c == CAMPAIGN:  # a touch with no campaign is (none), as in the dictionaries
            columns.append(touches.get_column(c).gather(rows).fill_null(NONE_CAMPAIGN))
        else:
            columns.append(touches.get_column(c).gather(rows))
    return pl.DataFrame(columns)


_STATUS_NAMES = ["none", "open", "won", "lost"]


#: fewer journeys than this are joined by one thread
_PARALLEL_PATHS = 100_000


def path_strings(offsets: np.ndarray, channel: np.ndarray, channels: tuple[str, ...]) -> pl.Series:
    """Each journey's channel path joined by " > " (Arrow strings), written by numba: the
    two halves of the text in two threads from ``_PARALLEL_PATHS`` journeys."""
    encoded = [c.encode("utf-8") for c in channels]
    name_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    name_offsets[1:] = np.cumsum([len(e) for e in encoded])
    name_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    sep = np.frombuffer(b" > ", dtype=np.uint8)
    str_offsets = _path_offsets(offsets, channel, name_offsets, len(sep))
    buf = np.empty(int(str_offsets[-1]), dtype=np.uint8)
    n = len(offsets) - 1
    args = (offsets, channel, name_bytes, name_offsets, sep, str_offsets, buf)
    mid = int(np.searchsorted(str_offsets, str_offsets[-1] // 2))
    side_by_side(
        lambda: _fill_paths(*args, 0, mid),
        lambda: _fill_paths(*args, mid, n),
        parallel=n >= _PARALLEL_PATHS,
    )
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(str_offsets), pa.py_buffer(buf))
    return pl.Series("path", array)


def _journey_table(
    offsets: np.ndarray,
    channel: np.ndarray,
    ts: np.ndarray,
    j_deal: np.ndarray,
    entity_ids: pl.Series,
    deals: pl.DataFrame,
    status: np.ndarray,
    amount: np.ndarray,
    dicts: Dictionaries,
) -> pl.DataFrame:
    """One row per journey: ids, outcome, value, path and timing (``journeys.parquet``)."""
    n_j = len(j_deal)
    lengths = np.diff(offsets)
    first, last, influenced = _journey_stats(offsets, channel, dicts.is_marketing)
    names = pl.Series(dicts.channels, dtype=pl.String)
    paths = path_strings(offsets, channel, dicts.channels)
    has = lengths > 0
    safe_first = np.where(has, offsets[:-1], 0)
    safe_last = np.where(has, offsets[1:] - 1, 0)
    ts_series = (
        pl.Series(ts).cast(pl.Datetime("us")) if len(ts) else pl.Series([], dtype=pl.Datetime("us"))
    )
    deal_rows = pl.Series(np.where(j_deal >= 0, j_deal, 0))
    dsel = deals.select(DEAL_ID, CREATED_AT, CLOSED_AT)
    frame = pl.DataFrame(
        {
            "journey_id": np.arange(n_j, dtype=np.int64),
            ENTITY_ID: entity_ids.cast(pl.String),
            "status": pl.Series(_STATUS_NAMES).gather(status.astype(np.int64)),
            "amount": amount,
            "n_touches": lengths,
            "first_channel": names.gather(first),
            "last_channel": names.gather(last),
            "first_touch_at": ts_series.gather(safe_first)
            if len(ts)
            else pl.Series([None] * n_j, dtype=pl.Datetime("us")),
            "last_touch_at": ts_series.gather(safe_last)
            if len(ts)
            else pl.Series([None] * n_j, dtype=pl.Datetime("us")),
            "marketing_influenced": influenced,
            "__has": has,
            "__is_deal": j_deal >= 0,
        }
    )
    if deals.height:
        picked = dsel[deal_rows.to_numpy()]
    else:
        picked = pl.DataFrame(
            {DEAL_ID: [None] * n_j, CREATED_AT: [None] * n_j, CLOSED_AT: [None] * n_j},
            schema={
                DEAL_ID: pl.String,
                CREATED_AT: pl.Datetime("us"),
                CLOSED_AT: pl.Datetime("us"),
            },
        )
    frame = frame.with_columns(
        *[
            pl.when(pl.col("__is_deal")).then(picked.get_column(c)).alias(c)
            for c in (DEAL_ID, CREATED_AT, CLOSED_AT)
        ]
    ).with_columns(paths.alias("path"))
    return frame.select(
        "journey_id",
        ENTITY_ID,
        DEAL_ID,
        "status",
        "amount",
        "n_touches",
        pl.col("path").fill_null(""),
        pl.when(pl.col("__has"))
        .then(pl.col("first_channel"))
        .otherwise(pl.lit(NONE_CHANNEL))
        .alias("first_channel"),
        pl.when(pl.col("__has"))
        .then(pl.col("last_channel"))
        .otherwise(pl.lit(NONE_CHANNEL))
        .alias("last_channel"),
        pl.when(pl.col("__has")).then(pl.col("first_touch_at")).alias("first_touch_at"),
        pl.when(pl.col("__has")).then(pl.col("last_touch_at")).alias("last_touch_at"),
        CREATED_AT,
        CLOSED_AT,
        ((pl.col(CLOSED_AT) - pl.col("first_touch_at")).dt.total_microseconds() / US_PER_DAY).alias(
            "__d"
        ),
        pl.col("marketing_influenced"),
    ).pipe(_finish_table, first, dicts)


def _finish_table(frame: pl.DataFrame, first: np.ndarray, dicts: Dictionaries) -> pl.DataFrame:
    sourced = dicts.is_marketing[first] & (frame.get_column("n_touches").to_numpy() > 0)
    return frame.with_columns(
        pl.when(
            pl.col("first_touch_at").is_not_null()
            & pl.col(CLOSED_AT).is_not_null()
            & pl.col("status").is_in(CLOSED_STATUSES)  # an open deal's closed_at is a forecast
        )
        .then(pl.col("__d"))
        .alias("days_to_close"),
        pl.Series("marketing_sourced", sourced),
    ).select(
        "journey_id",
        ENTITY_ID,
        DEAL_ID,
        "status",
        "amount",
        "n_touches",
        "path",
        "first_channel",
        "last_channel",
        "first_touch_at",
        "last_touch_at",
        CREATED_AT,
        CLOSED_AT,
        "days_to_close",
        "marketing_sourced",
        "marketing_influenced",
    )
