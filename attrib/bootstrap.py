"""Bootstrap intervals for every model's channel credit (``attrib run --bootstrap N``).

Journey-level resampling with Poisson(1) weights: replicate ``r`` multiplies each journey's
weight and amount by an independent Poisson(1) draw (seeded), which keeps every quantity
additive. A pooled journey (a ``--paths`` row: weight = its count of journeys) stands for
``weight`` journeys, each resampled: its multiplier is Poisson(weight) / weight, the sum of
their draws (not one draw for the whole row, which would keep or drop every copy at once).
Nothing reruns the pipeline: a rule-based model's credit is a fixed sparse channel x journey
matrix times the replicate weights; a data-driven model refits from its
per-journey state matrix (``linear_state``: state = matrix @ weights) and only the small
finalize (Markov solve, Shapley values) runs per replicate.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence

import numpy as np
import polars as pl
import scipy.sparse as sp

from attrib.encoded import Journeys
from attrib.errors import UsageError
from attrib.models.base import AttributionModel, Fitted
from attrib.models.heuristic import LinearAttribution

#: Metrics given intervals, as columns of ``Journeys.values()``.
BOOT_METRICS = ("conversions", "revenue", "pipeline")
#: Dense replicate-weight block size (replicates x journeys), in float64 elements.
_BLOCK = 8_000_000


class _Shared:
    """Per-batch pieces every model reuses: journey of each touch, zero-touch values."""

    def __init__(self, batch: Journeys, values: np.ndarray) -> None:
        self.batch = batch
        self.values = values
        lens = np.diff(batch.offsets)  # every touch of a journey: the matrices' layout
        self.lens = lens
        self.jix = batch.touch_journeys()
        empty = np.flatnonzero(batch.touch_counts() == 0)  # nothing in the revenue window
        n_m = values.shape[1]
        # zero-touch journeys credit (none) (row m * C of the stacked credit) with their value
        self.empty = sp.csr_matrix(
            (values[empty].T.ravel(), (np.repeat(np.arange(n_m), empty.size), np.tile(empty, n_m))),
            shape=(n_m, batch.n_journeys),
        )
        self._equal: sp.csc_matrix | None = None

    def credit_matrix(self, weights: np.ndarray) -> sp.csc_matrix:
        """[M*C, J]: row m*C + c holds touch weight x journey value of metric m, by channel."""
        b, n_m = self.batch, self.values.shape[1]
        n_c = b.dicts.n_channels
        data = np.asarray(weights, dtype=np.float64)[:, None] * self.values[self.jix]  # [T, M]
        rows = np.asarray(b.channel, dtype=np.int64)[:, None] + n_c * np.arange(n_m)[None, :]
        indptr = np.asarray(b.offsets, dtype=np.int64) * n_m
        return sp.csc_matrix((data.ravel(), rows.ravel(), indptr), shape=(n_m * n_c, b.n_journeys))

    def equal(self) -> sp.csc_matrix:
        """Credit matrix of equal touch weights (linear), built once."""
        if self._equal is None:
            # linear's weights: 1/n over each revenue window, 0 before it
            self._equal = self.credit_matrix(
                LinearAttribution().touch_weights(self.batch, Fitted())
            )
        return self._equal

    def summed(self, mat: sp.csc_matrix, w: np.ndarray) -> np.ndarray:
        """[R, C, M] channel credit for replicate weights ``w`` [J, R]."""
        n_m, n_c = self.values.shape[1], self.batch.dicts.n_channels
        out = np.asarray(mat @ w).reshape(n_m, n_c, w.shape[1])
        out[:, 0, :] += np.asarray(self.empty @ w)
        return out.transpose(2, 1, 0)


class _Replicator:
    """Channel credit [C, M] of one model for any block of replicate weights."""

    def __init__(self, model: AttributionModel, shared: _Shared) -> None:
        self.model = model
        self.shared = shared
        self.batch = batch = shared.batch
        self.mode = "fixed"
        if not model.needs_fit:
            self.mat = shared.credit_matrix(model.touch_weights(batch, Fitted()))
        elif (linear := model.linear_state(batch)) is not None:
            self.mode = "linear"
            self.fixed, self.state_mats = linear
        else:
            self.mode = "refit"

    def credit(self, w: np.ndarray) -> np.ndarray:
        """[R, C, M] for replicate weights ``w`` [J, R]."""
        model, shared, n_r = self.model, self.shared, w.shape[1]
        if self.mode == "fixed":
            summed = shared.summed(self.mat, w)
            return np.stack([model.channel_totals(Fitted(), s) for s in summed])
        out = np.empty((n_r, self.batch.dicts.n_channels, shared.values.shape[1]))
        if self.mode == "linear":
            # equal weights give (none) and the totals, and the touch credit of a score model
            # whose scores are all zero (its touch weights are then equal too)
            base = shared.summed(shared.equal(), w)
            parts = {k: np.asarray(m @ w) for k, m in self.state_mats.items()}
            for r in range(n_r):
                state = {**self.fixed, **{k: v[:, r] for k, v in parts.items()}}
                fitted = _fit_scores(model, state, self.batch)
                out[r] = model.channel_totals(fitted, base[r])
            return out
        for r in range(n_r):  # generic fallback: refit on a reweighted copy of the batch
            out[r] = _refit_credit(model, shared, w[:, r])
        return out


def _fit_scores(model: AttributionModel, state: dict, batch: Journeys) -> Fitted:
    """Fitted model from a state; uses the model's cheap ``scores_from_state`` when it has one."""
    scores = model.scores_from_state(state, batch.dicts)
    if scores is not None:
        return Fitted(scores=scores)
    return model.fit_finalize(state, batch.dicts)


def _refit_credit(model: AttributionModel, shared: _Shared, w: np.ndarray) -> np.ndarray:
    """[C, M] credit of ``model`` with journey weights and amounts scaled by ``w``."""
    batch = shared.batch
    rb = dataclasses.replace(batch, weight=batch.weight * w, amount=batch.amount * w)
    fitted = model.fit_finalize(model.merge_states(None, model.fit_map(rb)), batch.dicts)
    summed = shared.summed(shared.credit_matrix(model.touch_weights(rb, fitted)), w[:, None])[0]
    return model.channel_totals(fitted, summed)


def replicate_credit(
    models: Sequence[AttributionModel], batch: Journeys, n: int, seed: int
) -> list[np.ndarray]:
    """float64 [n, C, 3] per model (in order): channel credit of every bootstrap replicate."""
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise UsageError(
            f"--bootstrap (bootstrap=) needs a positive number of replicates, got {n!r}"
        )
    values = batch.values()[:, : len(BOOT_METRICS)]
    shared = _Shared(batch, values)
    reps = [_Replicator(m, shared) for m in models]
    n_j = max(batch.n_journeys, 1)
    block = max(1, min(n, _BLOCK // n_j))
    rng = np.random.default_rng(seed)
    out = [np.empty((n, batch.dicts.n_channels, len(BOOT_METRICS))) for _ in models]
    weight = np.asarray(batch.weight, dtype=np.float64)
    pooled = bool(np.any(weight != 1.0))
    per_copy = np.where(weight > 0, weight, 1.0)
    done = 0
    while done < n:
        r = min(block, n - done)
        # drawn replicate by replicate in order, so the block size never changes the draws
        if pooled:  # each of a pooled journey's copies resampled: Poisson(weight) in all
            draws = rng.poisson(np.broadcast_to(weight, (r, batch.n_journeys)))
            w = (draws / per_copy).T
        else:
            w = rng.poisson(1.0, size=(r, batch.n_journeys)).astype(np.float64).T
        for i, rep in enumerate(reps):
            out[i][done : done + r] = rep.credit(np.ascontiguousarray(w))
        done += r
    return out


#: more resamples than any interval needs (their draws past 2^63 were an internal error)
MAX_RESAMPLES = 1_000_000


def check_resamples(n: object, *, off: bool = True) -> None:
    """Refuse a resample count intervals cannot come from: at least 2 and at most
    ``MAX_RESAMPLES``, or 0 (off) where ``off`` allows it (``attrib run --bootstrap``)."""
    if (
        not isinstance(n, numbers.Integral)
        or isinstance(n, bool)
        or (n < 2 and not (off and n == 0))
    ):
        raise UsageError(
            f"--bootstrap (bootstrap=) needs {'0 (off) or ' if off else ''}at least 2 resamples,"
            f" got {n!r}",
            hint="200 resamples give stable 95% intervals",
        )
    if int(n) > MAX_RESAMPLES:
        raise UsageError(
            f"--bootstrap takes at most {MAX_RESAMPLES:,} resamples, got {int(n):,}",
            hint="200 resamples give stable 95% intervals; 10,000 more than enough",
        )


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
    check_resamples(n, off=False)
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
        schema: dict[str, pl.DataType] = {"model": pl.String(), "channel": pl.String()}
        schema |= {f"{m}_{s}": pl.Float64() for m in BOOT_METRICS for s in ("lo", "hi")}
        return pl.DataFrame(schema=schema)
    return pl.concat(frames)
