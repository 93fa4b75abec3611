"""Roll touch weights up into channel and campaign credit, and shape the summary tables.

This is the generic half of every model: ``model.touch_weights`` says how a journey's value
is shared among its touches; ``accumulate_windows`` (numba) sums weight x value by channel
and by campaign key, both windows in one pass. Both are additive over batches, so the same
code serves one in-memory batch, many streamed buckets and Spark partitions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from attrib.encoded import CREATED_METRICS, METRICS, Dictionaries, Journeys
from attrib.models._credit_kernels import accumulate_windows
from attrib.models.base import AttributionModel, Fitted, State, reduce_states

SUMMARY_METRICS = (*METRICS, *CREATED_METRICS)


@dataclass
class ModelCredit:
    """Reduced credit of one model: [C, M] channel and [K, M] campaign arrays, plus fit."""

    model: AttributionModel
    fitted: Fitted
    channel: np.ndarray
    campaign: np.ndarray
    journey_totals: np.ndarray
    extra: dict[str, pl.DataFrame] = field(default_factory=dict)


def credit_state(model: AttributionModel, batch: Journeys, fitted: Fitted) -> State:
    """Additive credit state of one batch: channel and campaign sums over both windows."""
    d = batch.dicts
    ch, camp = accumulate_windows(
        batch.starts,
        batch.ends,
        batch.created_ends,
        batch.valued(),
        batch.valued(created=True),
        model.touch_weights(batch, fitted, out=batch.scratch("weights"), valued_only=True),
        model.touch_weights(
            batch, fitted, created=True, out=batch.scratch("created_weights"), valued_only=True
        ),
        batch.channel,
        batch.campaign,
        batch.values(),
        batch.created_values(),
        d.n_channels,
        d.n_campaigns,
    )
    totals = batch.value_totals()
    return {"channel": ch, "campaign": camp, "totals": totals}


def fit_model(model: AttributionModel, batches: Iterable[Journeys], dicts: Dictionaries) -> Fitted:
    """Phase 1 (data-driven models): map every batch, reduce the states, finalize."""
    if not model.needs_fit:
        return Fitted()
    merge = getattr(model, "merge_states", None) or reduce_states
    state: State | None = None
    for batch in batches:
        part = model.fit_map(batch)
        state = part if state is None else merge(state, part)
    return model.fit_finalize(state or {}, dicts)


def credit_model(
    model: AttributionModel, batches: Iterable[Journeys], fitted: Fitted
) -> ModelCredit:
    """Phase 2: accumulate touch credit over every batch and apply the channel formula."""
    state: State | None = None
    for batch in batches:
        state = reduce_states(state, credit_state(model, batch, fitted))
    if state is None:
        raise ValueError("credit_model needs at least one batch")
    channel = model.channel_totals(fitted, state["channel"], state["totals"])
    return ModelCredit(model, fitted, channel, state["campaign"], state["totals"])


def summary_frames(
    credits: Sequence[ModelCredit], dicts: Dictionaries
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``channel_summary`` and ``campaign_summary``: one row per model x channel (campaign).

    Rows with no credit and no deal under a model are left out, except ``(none)``... which
    is kept only when it holds credit. Order: models as requested, then channel, campaign.
    """
    names = pl.Series("channel", dicts.channels, dtype=pl.String)
    marketing = pl.Series("is_marketing", dicts.is_marketing)
    chan_frames = []
    camp_frames = []
    for order, mc in enumerate(credits):
        cf = pl.DataFrame(
            {"__order": order, "model": mc.model.name, "channel": names, "is_marketing": marketing}
        ).with_columns(*[pl.Series(m, mc.channel[:, i]) for i, m in enumerate(SUMMARY_METRICS)])
        chan_frames.append(cf)
        kf = pl.DataFrame(
            {
                "__order": order,
                "model": mc.model.name,
                "channel": names.gather(dicts.campaign_channel),
                "campaign": pl.Series(dicts.campaign_names, dtype=pl.String),
                "is_marketing": marketing.gather(dicts.campaign_channel),
            }
        ).with_columns(*[pl.Series(m, mc.campaign[:, i]) for i, m in enumerate(SUMMARY_METRICS)])
        camp_frames.append(kf)
    nonzero = pl.any_horizontal([pl.col(m) != 0 for m in SUMMARY_METRICS])
    channel = (
        pl.concat(chan_frames)
        .filter(nonzero | (pl.col("channel") != dicts.channels[0]))
        .with_columns(pl.col("__order").cast(pl.Int32))
        .sort("__order", "channel")
        .drop("__order")
    )
    campaign = (
        pl.concat(camp_frames)
        .filter(nonzero)
        .with_columns(pl.col("__order").cast(pl.Int32))
        .sort("__order", "channel", "campaign")
        .drop("__order")
    )
    return channel, campaign
