"""Score-proportional credit, shared by the data-driven models (Markov, Shapley).

A fitted score per channel (a removal effect, a Shapley value) shares each journey among its
distinct channels, and splits the channel totals as total x score / sum of scores.
"""

from __future__ import annotations

import numpy as np

from attrib.encoded import Journeys
from attrib.models import _markov_kernels as kern
from attrib.models.base import AttributionModel, Fitted


def score_touch_weights(
    batch: Journeys, scores: np.ndarray | None, *, created: bool = False
) -> np.ndarray:
    """float64 [T]: share each journey among its distinct channels by ``scores`` (>= 0; None,
    a model not fitted: all 0)."""
    if scores is None:
        scores = np.zeros(batch.dicts.n_channels)
    return kern._score_share_weights(
        np.ascontiguousarray(batch.window_starts(created), dtype=np.int64),
        np.ascontiguousarray(batch.window_ends(created), dtype=np.int64),
        np.ascontiguousarray(batch.channel, dtype=np.int32),
        np.ascontiguousarray(scores, dtype=np.float64),
        int(batch.dicts.n_channels),
    )


def score_channel_totals(scores: np.ndarray | None, summed: np.ndarray) -> np.ndarray:
    """float64 [C, M]: (none) keeps its row; the rest is split as total x score / sum(scores)."""
    if scores is None:
        return summed
    s = np.asarray(scores, dtype=np.float64).copy()
    s[0] = 0.0
    tot_s = s.sum()
    if not tot_s > 0.0:
        return summed
    out = np.empty_like(summed, dtype=np.float64)
    out[0] = summed[0]
    total = summed[1:].sum(axis=0)
    out[1:] = (s[1:] / tot_s)[:, None] * total[None, :]
    return out


class ScoredModel(AttributionModel):
    """A data-driven model whose credit follows its fitted channel scores (``Fitted.scores``)."""

    needs_fit = True

    def touch_weights(
        self,
        batch: Journeys,
        fitted: Fitted,
        *,
        created: bool = False,
        out: np.ndarray | None = None,
        valued_only: bool = False,
    ) -> np.ndarray:
        """Each journey shared among its distinct channels by score (the model's definition)."""
        return score_touch_weights(batch, fitted.scores, created=created)

    def channel_totals(self, fitted: Fitted, summed: np.ndarray) -> np.ndarray:
        """total x score_c / sum(scores); (none) keeps the zero-touch journeys' value."""
        return score_channel_totals(fitted.scores, summed)


__all__ = ["ScoredModel", "score_channel_totals", "score_touch_weights"]
