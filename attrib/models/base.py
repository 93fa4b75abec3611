"""The one contract every attribution model follows (map -> reduce -> finalize).

A model has two phases, both expressed over encoded journey batches (``attrib.encoded``):

1. **fit** (data-driven models only): ``fit_map`` turns a batch into an additive partial
   state (a dict of numpy arrays: transition counts, coalition counts, ...); states of
   several batches are summed by ``reduce_states``; ``fit_finalize`` turns the total into the
   fitted model (the Markov solve, the Shapley values). Rule-based models skip this phase.
   A model whose state is not a fixed set of arrays (Shapley's coalition keys) overrides
   ``merge_states``; ``linear_state`` and ``scores_from_state`` are optional fast paths for
   the bootstrap (``attrib.bootstrap``).
2. **credit**: ``touch_weights`` gives every touch of a batch its share of its journey
   (weights sum to 1 over each journey with at least one touch). The engine accumulates
   weights x journey values into channel and campaign credit (again additive).

``channel_totals`` may replace the summed touch credit by a channel-level formula (Markov and
Shapley: total x score / sum of scores); it must conserve the totals.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import polars as pl

from attrib.encoded import Dictionaries, Journeys

if TYPE_CHECKING:
    import scipy.sparse as sp

State = dict[str, np.ndarray]


def reduce_states(a: State | None, b: State) -> State:
    """Sum two additive partial states key by key (``None`` is the empty state)."""
    if a is None:
        return {k: v.copy() for k, v in b.items()}
    return {k: a[k] + b[k] for k in a}


@dataclass
class Fitted:
    """What ``fit_finalize`` returns: per-channel scores plus any extra output tables."""

    scores: np.ndarray | None = None  # float64 [C]: channel-level score (removal effect, ...)
    tables: dict[str, pl.DataFrame] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Param:
    """A documented model parameter. One whose default is ``True`` or ``False`` is a flag:
    its value must be a boolean too (``AttributionModel.__init__`` refuses ``"false"``)."""

    name: str
    default: Any
    doc: str


class AttributionModel(ABC):
    """Base class: constructor stores parameters verbatim; kernels live in ``_*_kernels``."""

    name: ClassVar[str]
    title: ClassVar[str]
    summary: ClassVar[str]
    definition: ClassVar[str]
    params_doc: ClassVar[tuple[Param, ...]] = ()
    #: Data-driven models learn from all journeys (converting and not) before crediting.
    needs_fit: ClassVar[bool] = False
    #: Usable on aggregated ChannelAttribution-style paths (no timestamps, no stages).
    paths_ok: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        known = {p.name: p.default for p in self.params_doc}
        unknown = set(params) - set(known)
        if unknown:
            from attrib.errors import ConfigError

            raise ConfigError(
                f"unknown parameter(s) {sorted(unknown)} for model {self.name!r}",
                hint=f"{self.name} accepts: {sorted(known) or 'no parameters'}",
            )
        from attrib.config import expect_bool

        params = dict(params)
        for p in self.params_doc:  # flags: true/false only ("false" would read as true)
            if isinstance(p.default, bool) and p.name in params:
                given = params[p.name]
                if isinstance(given, np.bool_):  # a numpy flag from Python code is a flag
                    given = bool(given)
                params[p.name] = expect_bool(given, p.name, f"models.{self.name}")
        self.params = {**known, **params}

    def unfit_reason(self, dicts: Dictionaries) -> str | None:
        """Why the model cannot run on data of these channels (fitting would fail), or None
        (``run.runnable_models`` leaves such a model out of a run that named no model)."""
        return None

    # -- phase 1: fit (data-driven models) -------------------------------------------------
    def fit_map(self, batch: Journeys) -> State:
        """Additive partial state of one batch (rule-based models: empty)."""
        return {}

    def fit_finalize(self, state: State, dicts: Dictionaries) -> Fitted:
        """Turn the reduced state into the fitted model."""
        return Fitted()

    @staticmethod
    def merge_states(a: State | None, b: State) -> State:
        """Add two partial states (default: key by key, ``reduce_states``)."""
        return reduce_states(a, b)

    def linear_state(self, batch: Journeys) -> tuple[State, dict[str, sp.spmatrix]] | None:
        """Optional bootstrap fast path: the state as fixed parts plus [K, J] matrices that
        give the journey-weighted parts (state = matrix @ weights); None: refit instead."""
        return None

    def scores_from_state(self, state: State, dicts: Dictionaries) -> np.ndarray | None:
        """Optional bootstrap fast path: channel scores straight from a state, skipping
        ``fit_finalize``'s tables; None: use ``fit_finalize``."""
        return None

    # -- phase 2: credit ---------------------------------------------------------------------
    @abstractmethod
    def touch_weights(
        self,
        batch: Journeys,
        fitted: Fitted,
        *,
        created: bool = False,
        out: np.ndarray | None = None,
        valued_only: bool = False,
    ) -> np.ndarray:
        """float64 [T]: each touch's share of its journey.

        Each journey's revenue window (``starts[j] : ends[j]``) is credited, or with
        ``created=True`` its pipeline window (``created_starts[j] : created_ends[j]``);
        other touches get 0.
        ``out``: a float64 [T] buffer the model may overwrite and return instead of
        allocating (the credit step reuses two per batch across models). ``valued_only``: the
        caller reads only the journeys worth something in the window (``Journeys.valued``);
        a model may leave the others' touches unwritten (most journeys convert nothing): in
        a reused ``out`` they keep whatever an earlier model left there.
        """

    def channel_totals(self, fitted: Fitted, summed: np.ndarray) -> np.ndarray:
        """float64 [C, M]: channel credit from the summed touch credit ``summed`` [C, M]
        (default: that sum itself)."""
        return summed

    def describe(self) -> dict[str, Any]:
        """Name, parameters and definition, for ``attrib models`` and the manifest."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "params": self.params,
            "definition": self.definition,
        }
