"""The per-journey table (``journeys.parquet``) and the touch digest the metrics read, built
from a batch's encoded arrays: ids, outcome, value, path text and timing.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa

from attrib._journey_kernels import _fill_paths, _journey_stats, _path_offsets
from attrib._threads import side_by_side
from attrib.columns import (
    CAMPAIGN,
    CHANNEL,
    CLOSED_AT,
    CLOSED_STATUSES,
    CREATED_AT,
    DEAL_ID,
    ENTITY_ID,
    TS,
)
from attrib.encoded import NONE_CAMPAIGN, NONE_CHANNEL, STATUS_NAMES, US_PER_DAY, Dictionaries

#: the journeys table's first columns: ids, outcome, value, length
_LEADING = ("journey_id", ENTITY_ID, DEAL_ID, "status", "amount", "n_touches")

#: status code -> name, as a Series to gather from
_STATUS_TEXT = pl.Series([STATUS_NAMES[code] for code in sorted(STATUS_NAMES)], dtype=pl.String)

#: touch columns the metrics may read besides the four keys (an explicit marketing flag)
_DIGEST_EXTRA = ("is_marketing",)


def digest_frame(
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
        if c == CHANNEL and dicts is not None and chan is not None:
            columns.append(pl.Series(c, dicts.channels, dtype=pl.String).gather(chan))
        elif c == CAMPAIGN and dicts is not None and camp is not None:
            columns.append(pl.Series(c, dicts.campaign_names, dtype=pl.String).gather(camp))
        elif c == CAMPAIGN:  # a touch with no campaign is (none), as in the dictionaries
            columns.append(touches.get_column(c).gather(rows).fill_null(NONE_CAMPAIGN))
        else:
            columns.append(touches.get_column(c).gather(rows))
    return pl.DataFrame(columns)


#: fewer journeys than this are joined by one thread
_PARALLEL_PATHS = 100_000


def path_strings(
    starts: np.ndarray, ends: np.ndarray, channel: np.ndarray, channels: tuple[str, ...]
) -> pl.Series:
    """Each journey's channel path (its touches ``starts[j]:ends[j]``) joined by " > "
    (Arrow strings), written by numba: the two halves of the text in two threads from
    ``_PARALLEL_PATHS`` journeys."""
    encoded = [c.encode("utf-8") for c in channels]
    name_offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    name_offsets[1:] = np.cumsum([len(e) for e in encoded])
    name_bytes = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    sep = np.frombuffer(b" > ", dtype=np.uint8)
    str_offsets = _path_offsets(starts, ends, channel, name_offsets, len(sep))
    buf = np.empty(int(str_offsets[-1]), dtype=np.uint8)
    n = len(starts)
    args = (starts, ends, channel, name_bytes, name_offsets, sep, str_offsets, buf)
    mid = int(np.searchsorted(str_offsets, str_offsets[-1] // 2))
    side_by_side(
        lambda: _fill_paths(*args, 0, mid),
        lambda: _fill_paths(*args, mid, n),
        parallel=n >= _PARALLEL_PATHS,
    )
    array = pa.LargeStringArray.from_buffers(n, pa.py_buffer(str_offsets), pa.py_buffer(buf))
    return pl.Series("path", array)


def journey_table(
    offsets: np.ndarray,
    n_early: np.ndarray | None,
    n_created: np.ndarray,
    channel: np.ndarray,
    ts: np.ndarray,
    j_deal: np.ndarray,
    entity_ids: pl.Series,
    deals: pl.DataFrame,
    status: np.ndarray,
    amount: np.ndarray,
    dicts: Dictionaries,
) -> pl.DataFrame:
    """One row per journey: ids, outcome, value, path and timing of its revenue window
    (touches ``offsets[j] + n_early[j] : offsets[j+1]``; ``n_early`` None: no touch before
    it), and whether its pipeline window (the first ``n_created[j]`` touches from
    ``offsets[j]``) was sourced and its touches influenced by marketing
    (``journeys.parquet``)."""
    n_j = len(j_deal)
    ends = offsets[1:]
    starts = offsets[:-1] if n_early is None else offsets[:-1] + n_early
    lengths = ends - starts
    first, last, influenced = _journey_stats(starts, ends, channel, dicts.is_marketing)
    names = pl.Series(dicts.channels, dtype=pl.String)
    paths = path_strings(starts, ends, channel, dicts.channels)
    has = lengths > 0
    safe_first = np.where(has, starts, 0)
    safe_last = np.where(has, ends - 1, 0)
    # the pipeline window is the journey's first n_created touches; where some journey
    # starts before its revenue window, that window's first touch and marketing touches
    # are its own (a long cycle's touches after the creation but before the revenue window
    # lie in neither window)
    pipeline_first, pipeline_influenced = first, influenced
    if n_early is not None:
        pipeline_first, _, in_pipeline = _journey_stats(
            offsets[:-1], offsets[:-1] + n_created, channel, dicts.is_marketing
        )
        pipeline_influenced = influenced | in_pipeline
    pipeline_sourced = dicts.is_marketing[pipeline_first] & (n_created > 0)
    ts_series = (
        pl.Series(ts).cast(pl.Datetime("us")) if len(ts) else pl.Series([], dtype=pl.Datetime("us"))
    )
    deal_rows = pl.Series(np.where(j_deal >= 0, j_deal, 0))
    dsel = deals.select(DEAL_ID, CREATED_AT, CLOSED_AT)
    frame = pl.DataFrame(
        {
            "journey_id": np.arange(n_j, dtype=np.int64),
            ENTITY_ID: entity_ids.cast(pl.String),
            "status": _STATUS_TEXT.gather(status.astype(np.int64)),
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
            "pipeline_sourced": pipeline_sourced,
            "pipeline_influenced": pipeline_influenced,
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
        *_LEADING,
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
        # a close on a date (midnight) holds the touches of its whole day: one later that
        # day is a deal closed the day it started, 0 days
        ((pl.col(CLOSED_AT) - pl.col("first_touch_at")).dt.total_microseconds() / US_PER_DAY)
        .clip(lower_bound=0.0)
        .alias("__d"),
        pl.col("marketing_influenced"),
        pl.col("pipeline_sourced"),
        pl.col("pipeline_influenced"),
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
        *_LEADING,
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
        "pipeline_sourced",
        "pipeline_influenced",
    )
