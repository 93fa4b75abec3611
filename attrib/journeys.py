"""Polars glue that turns validated touches and deals into encoded journeys (CSR arrays).

A deal's journey (README, "Journeys") is its entity's touches in
``(max(window_end - lookback, previous window end), window_end]`` (the lookback bound itself
is inclusive), where ``window_end`` is ``closed_at`` for closed deals (``revenue_window =
"closed_at"``, the default) and ``created_at`` for open deals; a window end or lead milestone
at midnight UTC exactly is a date and holds the touches of its whole day
(``schema.through_its_day``). Touches after an entity's last deal form a non-converting
journey; a deal with no touch in its window is a zero-touch journey that every model credits
to ``(none)``. Touches are sorted once, by a numba radix sort on hashed entity keys
(``attrib.entity_keys``), so journeys come in key order, not id order.
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from attrib._journey_kernels import (
    _anchors,
    _assign_journeys,
    _digest_rows,
    _earliest_by_key,
)
from attrib._threads import side_by_side
from attrib.columns import (
    AMOUNT,
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
    TS_YEARS,
)
from attrib.config import RunConfig
from attrib.encoded import (
    CONVERSION_IN_PERIOD,
    CREATION_IN_PERIOD,
    NONE_CHANNEL,
    STATUS_NAMES,
    STATUS_NONE,
    STATUS_WON,
    US_PER_DAY,
    Dictionaries,
    Journeys,
    touched_in_a_window,
)
from attrib.entity_keys import hash_pair, sort_by_entity
from attrib.errors import UsageError
from attrib.journey_codes import LocalCodes, dictionaries_of, touch_codes
from attrib.journey_table import digest_frame, journey_table
from attrib.metrics.funnel import ENTITY_FIRST
from attrib.metrics.settings import MetricsSettings
from attrib.schema import ExprOrSeries, deal_event_time, is_date, through_its_day

if TYPE_CHECKING:
    from polars._typing import SchemaDict

_STATUS_CODES = {name: code for code, name in STATUS_NAMES.items() if code != STATUS_NONE}
_LEAD_STAGES = ("lead", "mql")
#: the stages whose records are milestones (all but the session)
_MILESTONE_STAGES = (*_LEAD_STAGES, "sql", "opportunity", "offer", "customer")
_MIN_TS = np.iinfo(np.int64).min
_MAX_TS = np.iinfo(np.int64).max


def _stage_times(stages: pl.DataFrame | None) -> pl.DataFrame:
    """Per entity: its earliest lead/MQL milestone (the W/Z-shaped lead-creation anchor) and
    its earliest milestone record with a time of day (``_timed``) at or after that lead (a
    record dated before the lead, out of order, does not hide one on the lead's day), by the
    ids' text."""
    schema: SchemaDict = {
        ENTITY_ID: pl.String,
        "__lead": pl.Datetime("us"),
        "__timed": pl.Datetime("us"),
    }
    if stages is None or stages.height == 0:
        return pl.DataFrame(schema=schema)
    stage = pl.col(STAGE)
    lead = pl.col(TS).filter(stage.is_in(_LEAD_STAGES)).min()
    timed = _timed(stage, pl.col(TS).dt.epoch("us")) & (lead.is_null() | (pl.col(TS) >= lead))
    return stages.group_by(ENTITY_ID).agg(
        lead.alias("__lead"), pl.col(TS).filter(timed).min().alias("__timed")
    )


def _timed(stage: ExprOrSeries, epoch: ExprOrSeries) -> ExprOrSeries:
    """A milestone record (any stage but the session) with a time of day, not a date: it
    bounds a date-only lead of its day (the lead came no later)."""
    return stage.is_in(_MILESTONE_STAGES) & ~is_date(epoch)


def _lead_anchor_time() -> tuple[pl.Expr, pl.Expr]:
    """Each deal's lead anchor time (``lead``, read against its ``end``, ``created`` and its
    entity's first milestone record with a time at or after the lead, ``timed``): the last
    touch at or before it
    is W-shaped's lead touch. A milestone after the window's end (the close, or the creation
    when that ends the window) is outside it: none (``_MIN_TS``, as one before the first
    touch). A lead on a date holds its whole day, but not past a milestone with a time after
    it that day (the deal's creation, another lead … customer record): the lead came no
    later, as the funnel's source rule reads it. Also ``lead_by_creation``: whether the
    milestone lies in the pipeline window, which ends at the creation (both read the
    milestone itself: one ``with_columns``)."""
    lead, created, timed = pl.col("lead"), pl.col("created"), pl.col("timed")
    whole_day = through_its_day(lead)  # (``_MIN_TS`` is no midnight: kept)
    capped = (
        pl.when(whole_day != lead)
        .then(
            pl.min_horizontal(
                whole_day,
                pl.when(lead <= created).then(created),
                pl.when(lead <= timed).then(timed),  # (none: ``_MAX_TS``)
            )
        )
        .otherwise(whole_day)
    )
    return (
        pl.when(lead <= pl.col("end")).then(capped).otherwise(_MIN_TS).alias("lead"),
        (lead <= created).alias("lead_by_creation"),
    )


def _deal_leads(stages: pl.DataFrame | None, deals: pl.DataFrame) -> list[pl.Series]:
    """Each deal's lead anchor (``lead``: its entity's earliest lead/MQL milestone, epoch us,
    ``_MIN_TS`` where none) and its entity's earliest milestone record with a time
    (``timed``, at or after that lead; ``_MAX_TS`` where none), as ``_stage_times`` gives
    them.

    Matched on the ids' 64-bit hashes (``entity_keys.hash_pair``) in one numba pass
    (``_earliest_by_key``), not grouped and joined on their text (~4x cheaper at 2.6M stage
    rows); two ids sharing a hash but not the check hash fall back to the text.
    """
    n = deals.height
    none = [
        pl.Series("lead", np.full(n, _MIN_TS, dtype=np.int64)),
        pl.Series("timed", np.full(n, _MAX_TS, dtype=np.int64)),
    ]
    if stages is None or stages.height == 0 or n == 0:
        return none
    ids, ts = stages.get_column(ENTITY_ID), stages.get_column(TS)
    # a null id is no entity: it must match nothing (its hash would match other nulls')
    present = (ids.is_not_null() & ts.is_not_null()).to_numpy()
    stage = stages.get_column(STAGE)
    d_ids = deals.get_column(ENTITY_ID)
    epoch = ts.dt.epoch("us").fill_null(0).to_numpy()
    # one hashed pass for both: bit 0 a lead/MQL row, bit 1 a milestone record with a time
    lead = stage.is_in(_LEAD_STAGES).fill_null(False).to_numpy()
    timed = _timed(stage, pl.Series(epoch)).fill_null(False).to_numpy()
    use = ((lead & present) | ((timed & present).astype(np.uint8) << 1)).astype(np.uint8)
    found, collided = _earliest_by_key(
        *hash_pair(d_ids),
        d_ids.is_not_null().to_numpy(),
        *hash_pair(ids),
        epoch,
        use,
        np.array([_MIN_TS, _MAX_TS], dtype=np.int64),
    )
    if collided:
        joined = deals.join(_stage_times(stages), on=ENTITY_ID, how="left", maintain_order="left")
        return [
            joined.get_column("__lead").dt.epoch("us").fill_null(_MIN_TS).alias("lead"),
            joined.get_column("__timed").dt.epoch("us").fill_null(_MAX_TS).alias("timed"),
        ]
    return [pl.Series("lead", found[0]), pl.Series("timed", found[1])]


#: the argument each table comes in (``build_journeys``' own names)
_ARGUMENTS = {"touchpoints": "touches", "deals": "deals", "stages": "stages"}


def _check_validated(
    table: str, frame: pl.DataFrame, columns: tuple[str, ...], times: tuple[str, ...]
) -> None:
    """UsageError unless ``frame`` has the validated columns (``times`` as Datetime) that
    ``load_inputs`` gives a table: a frame as read has no ``entity_id`` and may hold text
    timestamps, which stopped the journeys with a Polars error."""
    argument = _ARGUMENTS[table]
    if not isinstance(frame, pl.DataFrame):  # a LazyFrame, a path: not a validated table
        raise UsageError(
            f"{argument}= must be a polars DataFrame, got {type(frame).__name__}",
            hint=f"pass load_inputs(...).{argument}: the table read, checked and keyed by entity",
        )
    schema = frame.collect_schema()
    for column in (*columns, *times):
        if column not in schema:
            problem = "has no column"
        elif column in times and not isinstance(schema[column], pl.Datetime):
            problem = f"holds {schema[column]} in column"
        else:
            continue
        raise UsageError(
            f"{argument}= {problem} {column!r}: build_journeys takes validated tables",
            column=column,
            hint=f"pass load_inputs(...).{argument}: the table read, checked and keyed by entity",
        )


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
    if not isinstance(config, RunConfig):  # a path, as run() takes: load it first
        raise UsageError(
            f"config= must be a RunConfig, got {type(config).__name__}",
            hint="pass load_inputs(...).config, or attrib.config.load_config(PATH)",
        )
    _check_validated("touchpoints", touches, (ENTITY_ID, CHANNEL, CAMPAIGN), (TS,))
    _check_validated("deals", deals, (DEAL_ID, ENTITY_ID, STATUS, AMOUNT), (CREATED_AT, CLOSED_AT))
    if stages is not None:
        _check_validated("stages", stages, (ENTITY_ID, STAGE), (TS,))
    local = LocalCodes.of(touches)
    dicts = dicts or dictionaries_of(local, config)
    chan, camp = touch_codes(local, dicts)
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
    end = end.dt.epoch("us")
    # every time lies in TS_YEARS: a longer lookback ("no limit", 10**12 days) reaches each
    # earlier touch as that span does, and its microseconds would overflow int64
    first, last = TS_YEARS
    span_days = (date(last + 1, 1, 1) - date(first, 1, 1)).days
    lookback = min(config.lookback_days, span_days) * US_PER_DAY
    # the touch sort (numba, GIL released) runs in a worker while Polars prepares the deals;
    # the lookback counts from the day a date names, the window ends after it
    d, (order, t_ent, t_ts, t_chan, t_camp, d_keys) = side_by_side(
        lambda: deals.with_columns(
            through_its_day(end).alias("end"),
            # the journey holds both windows: the revenue window's lookback counts from its
            # end, the pipeline window's from the creation (DESIGN.md), usually earlier
            (end - lookback).alias("revenue_lo"),
            (pl.min_horizontal(end, pl.col(CREATED_AT).dt.epoch("us")) - lookback).alias("lo"),
            through_its_day(pl.col(CREATED_AT).dt.epoch("us")).alias("created"),
            # full_path's close anchor; the revenue window may end on a date past it
            pl.when(pl.col(STATUS).is_in(CLOSED_STATUSES))
            .then(through_its_day(deal_event_time().dt.epoch("us")))
            .otherwise(_MIN_TS)
            .alias("close"),
            *_deal_leads(stages, deals),
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
    d = (
        d.with_columns(pl.Series("ent", d_keys))
        .sort("ent", "end", DEAL_ID)
        .with_columns(*_lead_anchor_time())
    )
    d_ent = d.get_column("ent").to_numpy()
    d_end = d.get_column("end").to_numpy()
    keep, offsets, j_deal, n_kept = _assign_journeys(
        t_ent, t_ts, d_ent, d_end, d.get_column("lo").to_numpy(), d.height + n_entities
    )
    lengths = np.diff(offsets)
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
    last_ts = np.where(lengths > 0, ts[np.maximum(offsets[1:] - 1, 0)] if len(ts) else 0, 0)
    if d.height:
        status = np.where(is_deal, status_codes[deal_idx], STATUS_NONE).astype(np.int8, copy=False)
        amount = np.where(is_deal, d.get_column("amount").to_numpy()[deal_idx], 0.0)
        end_ts = np.where(is_deal, d_end[deal_idx], last_ts).astype(np.int64, copy=False)
        created_ts = np.where(is_deal, d.get_column("created").to_numpy()[deal_idx], last_ts)
        lead_ts = np.where(is_deal, d.get_column("lead").to_numpy()[deal_idx], _MIN_TS)
        close_ts = np.where(is_deal, d.get_column("close").to_numpy()[deal_idx], _MIN_TS)
        revenue_lo = np.where(is_deal, d.get_column("revenue_lo").to_numpy()[deal_idx], _MIN_TS)
    else:
        status = np.zeros(n_j, dtype=np.int8)
        amount = np.zeros(n_j)
        end_ts = last_ts.astype(np.int64)
        created_ts = end_ts.copy()
        lead_ts = np.full(n_j, _MIN_TS, dtype=np.int64)
        close_ts = revenue_lo = lead_ts
    created_ts = created_ts.astype(np.int64, copy=False)
    n_created, n_early, lead_pos, close_pos = _anchors(
        offsets,
        ts,
        created_ts,
        lead_ts.astype(np.int64, copy=False),
        close_ts.astype(np.int64, copy=False),
        revenue_lo.astype(np.int64, copy=False),
    )
    early = n_early if np.any(n_early) else None  # (None: every journey's windows start together)
    starts = offsets[:-1] + n_early  # each revenue window's first touch
    # zero-touch deals (no touch in either window) whose entity has touches (in other deals'
    # windows, or older than the lookback): not an id mismatch, which the zero-touch
    # warning must tell apart
    zero_journeys = np.flatnonzero(is_deal & ~touched_in_a_window(starts, offsets[1:], n_created))
    zero = j_deal[zero_journeys]
    at = np.searchsorted(t_ent, d_ent[zero])
    touched_elsewhere = (
        t_ent[np.minimum(at, len(t_ent) - 1)] == d_ent[zero]
        if len(t_ent)
        else np.zeros(len(zero), dtype=bool)
    )
    in_period = _in_period(d, _reporting_window(config), is_deal, deal_idx)
    if in_period is not None:  # the zero-touch deals the window credits to (none)
        hit = (in_period[zero_journeys] & (CONVERSION_IN_PERIOD | CREATION_IN_PERIOD)) != 0
        touched_elsewhere &= hit
    zero_touch_touched = int(np.count_nonzero(touched_elsewhere))
    opp_pos = np.where(is_deal & (n_created > 0), offsets[:-1] + n_created - 1, -1)
    by_creation = d.get_column("lead_by_creation").to_numpy()[deal_idx] if d.height else False
    created_lead_pos = np.where(is_deal & by_creation, lead_pos, -1)

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
        rows, entity_first = _digest_rows(
            t_ent, t_ts, keep, starts, offsets[1:], status == STATUS_WON
        )
        return (
            digest_frame(touches, order[rows], t_chan[rows], t_camp[rows], dicts)
            if names_from_codes
            else digest_frame(touches, order[rows])
        ).with_columns(pl.Series(ENTITY_FIRST, entity_first))

    digest, table = side_by_side(  # the digest, and the table in a worker
        touch_digest,
        lambda: journey_table(
            offsets, early, n_created, channel, ts, j_deal, entity_ids, d, status, amount, dicts
        ),
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
        created_lead_pos=created_lead_pos.astype(np.int64, copy=False),
        close_pos=close_pos,
        table=table,
        dicts=dicts,
        digest=digest,
        in_period=in_period,
        zero_touch_touched=zero_touch_touched,
        n_early=early,
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
