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
from attrib.errors import ComputationError
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


@dataclass
class Attribution:
    """Every model's credit over one set of journeys, as summary frames."""

    channel_summary: pl.DataFrame
    campaign_summary: pl.DataFrame
    credits: list[ModelCredit]
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)


def credit_state(model: AttributionModel, batch: Journeys, fitted: Fitted) -> State:
    """Additive credit state of one batch: channel and campaign sums over both windows."""
    d = batch.dicts
    ch, camp = accumulate_windows(
        batch.starts,
        batch.ends,
        batch.created_starts,
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
    return {"channel": ch, "campaign": camp}


def fit_models(
    models: Sequence[AttributionModel], batches: Iterable[Journeys], dicts: Dictionaries
) -> dict[str, Fitted]:
    """Phase 1: every data-driven model mapped over each batch (one pass over the batches),
    the states reduced and finalized; rule-based models get an empty ``Fitted``."""
    fitted = {m.name: Fitted() for m in models}
    data_driven = [m for m in models if m.needs_fit]
    if not data_driven:
        return fitted
    states: dict[str, State | None] = {m.name: None for m in data_driven}
    for batch in batches:
        for m in data_driven:
            states[m.name] = m.merge_states(states[m.name], m.fit_map(batch))
    for m in data_driven:
        fitted[m.name] = m.fit_finalize(states[m.name] or {}, dicts)
    return fitted


def fit_model(model: AttributionModel, batches: Iterable[Journeys], dicts: Dictionaries) -> Fitted:
    """Phase 1 for one model (``fit_models``)."""
    return fit_models([model], batches, dicts)[model.name]


#: metrics whose touch-level credit shares a channel's total among its campaigns when the
#: metric's own is 0 there: deals, deals created, conversions (``SUMMARY_METRICS`` order)
_FALLBACK_SHARES = tuple(
    SUMMARY_METRICS.index(m) for m in ("deals", "deals_created", "conversions")
)


def campaigns_like_channels(
    campaign: np.ndarray, summed: np.ndarray, channel: np.ndarray, campaign_channel: np.ndarray
) -> np.ndarray:
    """float64 [K, M]: each campaign's touch-level credit scaled so that a channel's
    campaigns add up to the channel's total after a channel formula (Markov, Shapley).

    A campaign keeps its share of its channel's touch-level credit (``summed``, [C, M]) in
    each metric; where the channel has none in a metric yet a total (an open deal's pipeline
    goes by global scores to channels that did not touch it), the shares come from its
    deals, else deals created, else conversions. A channel with no touch-level credit at
    all (its touches lie only on journeys worth nothing) has no campaign to carry its total.
    """
    raw = summed[campaign_channel]
    total = channel[campaign_channel]
    resolved = raw != 0
    share = np.divide(campaign, raw, out=np.zeros_like(campaign), where=resolved)
    for m in _FALLBACK_SHARES:
        column = raw[:, m]
        usable = column != 0
        fill = ~resolved & usable[:, None]
        by_m = np.divide(campaign[:, m], column, out=np.zeros_like(column), where=usable)
        share = np.where(fill, by_m[:, None], share)
        resolved |= fill
    return share * total


def model_credit(
    model: AttributionModel, fitted: Fitted, state: State | None, dicts: Dictionaries | None
) -> ModelCredit:
    """A model's reduced credit state (every batch's ``credit_state`` summed) with its
    channel formula applied, and its campaigns made to add up to it. ``state`` (and
    ``dicts``) None: no batch was credited, an error."""
    if state is None or dicts is None:
        raise ComputationError(
            f"no journeys to credit for model {model.name!r}",
            hint="check that the inputs hold touchpoints or deals",
        )
    summed = state["channel"]
    channel = model.channel_totals(fitted, summed)
    campaign = state["campaign"]
    if channel is not summed:  # a channel formula: campaigns follow their channel's total
        campaign = campaigns_like_channels(campaign, summed, channel, dicts.campaign_channel)
    return ModelCredit(model, fitted, channel, campaign)


def credit_model(
    model: AttributionModel, batches: Iterable[Journeys], fitted: Fitted
) -> ModelCredit:
    """Phase 2: accumulate touch credit over every batch and apply the channel formula."""
    state: State | None = None
    dicts: Dictionaries | None = None
    for batch in batches:
        dicts = batch.dicts
        state = reduce_states(state, credit_state(model, batch, fitted))
    return model_credit(model, fitted, state, dicts)


#: model-level tables that get the model's attributed totals per channel joined on
_CREDITED_TABLES = {"markov_removal_effects": "markov", "shapley_values": "shapley"}


def with_credit_columns(
    tables: dict[str, pl.DataFrame], channel_summary: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """Add the model's attributed conversions, revenue and pipeline to its score tables."""
    out = dict(tables)
    for name, model in _CREDITED_TABLES.items():
        if name in out and "channel" in out[name].columns:
            credited = channel_summary.filter(pl.col("model") == model).select(
                "channel", "conversions", "revenue", "pipeline"
            )
            out[name] = out[name].join(credited, on="channel", how="left", maintain_order="left")
    return out


def summarise(credits: Sequence[ModelCredit], dicts: Dictionaries) -> Attribution:
    """The summary frames of every model's credit, and the fitted models' own tables
    (with their attributed totals joined on); the same step in every engine."""
    channel, campaign = summary_frames(credits, dicts)
    tables: dict[str, pl.DataFrame] = {}
    for mc in credits:
        tables.update(mc.fitted.tables)
    return Attribution(channel, campaign, list(credits), with_credit_columns(tables, channel))


def summary_frames(
    credits: Sequence[ModelCredit], dicts: Dictionaries
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """``channel_summary`` and ``campaign_summary``: one row per model x channel (campaign).

    Every channel of the run gets a row under every model, even at zero credit, except
    ``(none)``, which is kept only when it holds credit (zero-touch deals); campaign rows
    with no credit are left out. Order: models as requested, then channel, campaign.
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
