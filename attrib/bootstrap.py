"""Bootstrap intervals for every model's channel credit (``attrib run --bootstrap N``).

Journey-level resampling with Poisson(1) weights: replicate ``r`` multiplies each journey's
weight and amount by an independent Poisson(1) draw (seeded), which keeps every quantity
additive. Nothing reruns the pipeline: a rule-based model's credit is a fixed sparse
channel x journey matrix times the replicate weights; a data-driven model refits from its
per-journey state matrix (``linear_state``: state = matrix @ weights) and only the small
finalize (Markov solve, Shapley values) runs per replicate.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from attrib.encoded import Journeys
from attrib.errors import UsageError
from attrib.models.base import AttributionModel, Fitted, reduce_states

#: Metrics given intervals, as columns of ``Journeys.values()``.
BOOT_METRICS = ("conversions", "revenue", "pipeline")
#: Dense replicate-weight block size (replicates x journeys), in float64 elements.
_BLOCK = 8_000_000


def _journey_index(batch: Journeys) -> np.ndarray:
    """int64 [T]: the journey of each touch."""
    return np.repeat(np.arange(batch.n_journeys, dtype=np.int64), np.diff(batch.offsets))


def _contribution(batch: Journeys, weights: np.ndarray) -> sp.csr_matrix:
    """[C, J] share of each journey credited to each channel; zero-touch journeys -> (none)."""
    jix = _journey_index(batch)
    empty = np.flatnonzero(np.diff(batch.offsets) == 0)
    rows = np.concatenate([np.asarray(batch.channel, dtype=np.int64), np.zeros(empty.size, int)])
    cols = np.concatenate([jix, empty])
    data = np.concatenate([np.asarray(weights, dtype=np.float64), np.ones(empty.size)])
    shape = (batch.dicts.n_channels, batch.n_journeys)
    return sp.csr_matrix((data, (rows, cols)), shape=shape)


def _metric_mats(contrib: sp.csr_matrix, values: np.ndarray) -> list[sp.csr_matrix]:
    """One [C, J] matrix per metric: contribution x journey value."""
    return [sp.csr_matrix(contrib.multiply(values[:, m][None, :])) for m in range(values.shape[1])]


def _summed(mats: list[sp.csr_matrix], w: np.ndarray) -> np.ndarray:
    """[C, M, R] credit for replicate weights ``w`` [J, R]."""
    return np.stack([np.asarray(m @ w) for m in mats], axis=1)


class _Replicator:
    """Channel credit [C, M] of one model for any block of replicate weights."""

    def __init__(self, model: AttributionModel, batch: Journeys, values: np.ndarray) -> None:
        self.model = model
        self.batch = batch
        n_t = batch.n_touches
        lens = np.diff(batch.offsets)
        # equal touch weights (= linear): gives (none) and the totals, and the fallback credit
        # of score models whose scores are all zero (their touch weights are then equal too)
        eq = np.repeat(1.0 / np.maximum(lens, 1), lens)[:n_t]
        self.base_mats = _metric_mats(_contribution(batch, eq), values)
        self.mode = "fixed"
        if not model.needs_fit:
            w = model.touch_weights(batch, Fitted())
            self.mats = _metric_mats(_contribution(batch, w), values)
        elif hasattr(model, "linear_state"):
            self.mode = "linear"
            self.fixed, self.state_mats = model.linear_state(batch)
        else:
            self.mode = "refit"
            self.values = values

    def credit(self, w: np.ndarray) -> np.ndarray:
        """[R, C, M] for replicate weights ``w`` [J, R]."""
        model, n_r = self.model, w.shape[1]
        if self.mode == "fixed":
            summed = _summed(self.mats, w)
            return np.stack(
                [model.channel_totals(Fitted(), summed[:, :, r], None) for r in range(n_r)]
            )
        base = _summed(self.base_mats, w)
        out = np.empty((n_r, base.shape[0], base.shape[1]))
        if self.mode == "linear":
            parts = {k: np.asarray(m @ w) for k, m in self.state_mats.items()}
            for r in range(n_r):
                state = {**self.fixed, **{k: v[:, r] for k, v in parts.items()}}
                fitted = _fit_scores(model, state, self.batch)
                out[r] = model.channel_totals(fitted, base[:, :, r], base[:, :, r].sum(axis=0))
            return out
        for r in range(n_r):  # generic fallback: refit on a reweighted copy of the batch
            out[r] = _refit_credit(model, self.batch, w[:, r], self.values)
        return out


def _fit_scores(model: AttributionModel, state: dict, batch: Journeys) -> Fitted:
    """Fitted model from a state; uses the model's cheap ``scores_from_state`` when it has one."""
    fast: Callable[..., np.ndarray] | None = getattr(model, "scores_from_state", None)
    if fast is not None:
        return Fitted(scores=fast(state, batch.dicts))
    return model.fit_finalize(state, batch.dicts)


def _refit_credit(
    model: AttributionModel, batch: Journeys, w: np.ndarray, values: np.ndarray
) -> np.ndarray:
    """[C, M] credit of ``model`` on ``batch`` with journey weights and amounts scaled by ``w``."""
    rb = dataclasses.replace(batch, weight=batch.weight * w, amount=batch.amount * w)
    merge = getattr(model, "merge_states", None) or reduce_states
    fitted = model.fit_finalize(merge(None, model.fit_map(rb)), batch.dicts)
    tw = model.touch_weights(rb, fitted)
    summed = _summed(_metric_mats(_contribution(rb, tw), values), w[:, None])[:, :, 0]
    return model.channel_totals(fitted, summed, summed.sum(axis=0))


def replicate_credit(
    models: Sequence[AttributionModel], batch: Journeys, n: int, seed: int
) -> list[np.ndarray]:
    """float64 [n, C, 3] per model (in order): channel credit of every bootstrap replicate."""
    if not isinstance(n, int) or n < 1:
        raise UsageError(f"--bootstrap needs a positive number of replicates, got {n!r}")
    values = batch.values()[:, : len(BOOT_METRICS)]
    reps = [_Replicator(m, batch, values) for m in models]
    n_j = max(batch.n_journeys, 1)
    block = max(1, min(n, _BLOCK // n_j))
    rng = np.random.default_rng(seed)
    out = [np.empty((n, batch.dicts.n_channels, len(BOOT_METRICS))) for _ in models]
    done = 0
    while done < n:
        r = min(block, n - done)
        # drawn replicate by replicate in order, so the block size never changes the draws
        w = rng.poisson(1.0, size=(r, batch.n_journeys)).astype(np.float64).T
        for i, rep in enumerate(reps):
            out[i][done : done + r] = rep.credit(np.ascontiguousarray(w))
        done += r
    return out


def bootstrap_intervals(
    models: list[AttributionModel],
    batch: Journeys,
    n: int,
    seed: int,
    *,
    level: float = 0.95,
) -> pl.DataFrame:
    """Percentile intervals of attributed conversions, revenue and pipeline per model/channel.

    Columns: model, channel, conversions_lo, conversions_hi, revenue_lo, revenue_hi,
    pipeline_lo, pipeline_hi; one row per model and channel (every channel, (none) included),
    models in the given order, channels in dictionary order.
    """
    if not 0.0 < level < 1.0:
        raise UsageError(f"bootstrap level must be in (0, 1), got {level!r}")
    reps = replicate_credit(models, batch, n, seed)
    q = [(1.0 - level) / 2.0, (1.0 + level) / 2.0]
    frames = []
    channels = pl.Series("channel", batch.dicts.channels, dtype=pl.String)
    for model, rep in zip(models, reps, strict=True):
        lo, hi = np.quantile(rep, q, axis=0)
        cols = {"model": pl.Series([model.name] * len(channels), dtype=pl.String)}
        cols["channel"] = channels
        for m, name in enumerate(BOOT_METRICS):
            cols[f"{name}_lo"] = pl.Series(lo[:, m], dtype=pl.Float64)
            cols[f"{name}_hi"] = pl.Series(hi[:, m], dtype=pl.Float64)
        frames.append(pl.DataFrame(cols))
    if not frames:
        schema = {"model": pl.String, "channel": pl.String}
        schema |= {f"{m}_{s}": pl.Float64 for m in BOOT_METRICS for s in ("lo", "hi")}
        return pl.DataFrame(schema=schema)
    return pl.concat(frames)
