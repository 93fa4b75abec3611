"""Shapley-value attribution over channel-set coalitions (exact up to ~20 channels, sampled beyond).

``fit_map`` counts journeys and conversions per distinct-channel set (a bitmask), an additive
state; ``fit_finalize`` builds the characteristic function and computes the Shapley values
with the numba kernels in ``_shapley_kernels``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
import scipy.sparse as sp

from attrib.encoded import STATUS_OPEN, STATUS_WON, Dictionaries, Journeys
from attrib.errors import ComputationError, ConfigError
from attrib.models import _shapley_kernels as kern
from attrib.models.base import Fitted, Param, State
from attrib.models.scored import ScoredModel

#: Bitmasks are int64: at most 63 channels besides (none).
MAX_CHANNELS = 63
VALUE_FUNCTIONS = ("dalessandro", "dp6")


def _whole(value: object) -> bool:
    """An int, not a bool (TOML's ``true`` is an int to Python: ``max_set_size = true`` capped
    every journey at one channel)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _too_many_channels(dicts: Dictionaries) -> str | None:
    """Why the coalition bitmasks cannot hold these channels, or None."""
    if dicts.n_channels - 1 <= MAX_CHANNELS:
        return None
    return f"shapley supports at most {MAX_CHANNELS} channels, got {dicts.n_channels - 1}"


def _bit_of_code(dicts: Dictionaries) -> np.ndarray:
    """int64 [C]: bit of each channel code = rank of its name (so bits sort like names)."""
    n_c = dicts.n_channels
    if (why := _too_many_channels(dicts)) is not None:
        raise ComputationError(
            why,
            hint="group rare channels together, or run markov instead",
        )
    bits = np.full(n_c, -1, dtype=np.int64)
    order = sorted(range(1, n_c), key=lambda c: dicts.channels[c])
    for rank, code in enumerate(order):
        bits[code] = rank
    return bits


def _group(keys: np.ndarray, *vals: np.ndarray) -> tuple[np.ndarray, ...]:
    """Sorted unique keys with each value array summed per key."""
    u, inv = np.unique(keys, return_inverse=True)
    return (u, *(np.bincount(inv, weights=v, minlength=u.size) for v in vals))


def _cap(keys: np.ndarray, size: int) -> np.ndarray:
    """Keep the ``size`` highest bits of each mask (DP6 MAM keeps the last channels by name)."""
    keys = keys.copy()
    while True:
        over = np.bitwise_count(keys) > size
        if not over.any():
            return keys
        keys[over] &= keys[over] - 1  # drop the lowest set bit


class ShapleyAttribution(ScoredModel):
    """Shapley values of channels in the coalition game of journey channel sets."""

    name: ClassVar[str] = "shapley"
    title: ClassVar[str] = "Shapley value (channel coalitions)"
    summary: ClassVar[str] = (
        "Channels are players and the distinct-channel sets of journeys are coalitions; "
        "credit is proportional to each channel's Shapley value."
    )
    definition: ClassVar[str] = (
        "Players are the channels present in the fitted journeys; each journey with at least "
        "one touch belongs to the coalition of its distinct channels. Default value function "
        "(Dalessandro et al. 2012): v(S) = weighted conversion rate (won / all) of journeys "
        "whose channel set is exactly S; coalitions never observed have v = 0, and v(empty) = "
        "0 (zero-touch journeys stay on (none)); open deals are left out (outcome unknown). "
        "value_function='dp6' (the superset value function described by the DP6 MAM "
        "project): v(S) = sum of the conversion rates of all observed coalitions T contained "
        "in S, with one Shapley value over all players (DP6 MAM's package itself computes "
        "Shapley values within each converting coalition and rescales them, which gives "
        "other credits). max_set_size caps every journey's channel set "
        "to its max_set_size channels whose names sort last, as DP6 MAM does. phi_i = sum over "
        "S not containing i of |S|! (n-|S|-1)! / n! (v(S + i) - v(S)), computed exactly over "
        "all 2^n subsets for up to max_exact_channels players, else estimated from n_samples "
        "random permutations (seeded) with a standard error per channel; at most 63 "
        "channels (coalitions are 64-bit masks: a run that names no models leaves shapley "
        "out beyond that, with a warning). Attributed totals "
        "of c are total x phi+_c / sum(phi+), where phi+ = max(phi, 0) (negative Shapley "
        "values, possible with exact-set rates, receive no credit; when every phi+ is 0 the "
        "totals are linear's); touch-level credit shares "
        "each journey among its distinct channels in proportion to phi+, equally over a "
        "channel's touches (equally over the journey's touches, as linear, if all its "
        "channels have phi+ = 0)."
    )
    params_doc: ClassVar[tuple[Param, ...]] = (
        Param("value_function", "dalessandro", "'dalessandro' (exact-set rate) or 'dp6'."),
        Param(
            "max_set_size", None, "Cap each journey's channel set (DP6 MAM's size); not set: none."
        ),
        Param("max_exact_channels", 20, "Exact over all subsets up to this many channels."),
        Param("n_samples", 2000, "Random permutations when sampling (beyond the exact limit)."),
        Param("seed", 0, "Seed of the permutation sampler."),
    )
    paths_ok: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        p = self.params
        if p["value_function"] not in VALUE_FUNCTIONS:
            raise ConfigError(
                f"value_function must be one of {VALUE_FUNCTIONS}, got {p['value_function']!r}",
                hint='e.g. [models.shapley] value_function = "dalessandro" (the default)',
            )
        for key, lo, hi, usual in (
            ("max_exact_channels", 1, 26, 20),
            ("n_samples", 2, 10**8, 2000),
        ):
            if not _whole(p[key]) or not lo <= p[key] <= hi:
                raise ConfigError(
                    f"{key} must be a whole number in [{lo}, {hi}], got {p[key]!r}",
                    hint=f"e.g. [models.shapley] {key} = {usual}",
                )
        if not _whole(p["seed"]) or p["seed"] < 0:
            raise ConfigError(
                f"seed must be a whole number >= 0, got {p['seed']!r}",
                hint="e.g. [models.shapley] seed = 0 (the default)",
            )
        if p["max_set_size"] is not None and (
            not _whole(p["max_set_size"]) or p["max_set_size"] < 1
        ):
            raise ConfigError(
                f"max_set_size must be a whole number >= 1, got {p['max_set_size']!r}",
                hint="leave it out for no cap, or e.g. [models.shapley] max_set_size = 4",
            )

    def unfit_reason(self, dicts: Dictionaries) -> str | None:
        """More channels than the coalition bitmasks hold (``MAX_CHANNELS``)."""
        return _too_many_channels(dicts)

    # -- fit ---------------------------------------------------------------------------------
    def _masks(self, batch: Journeys) -> tuple[np.ndarray, np.ndarray]:
        """Coalition mask per journey and which journeys enter the game."""
        masks = kern._journey_masks(
            np.ascontiguousarray(batch.starts, dtype=np.int64),
            np.ascontiguousarray(batch.ends, dtype=np.int64),
            np.ascontiguousarray(batch.channel, dtype=np.int32),
            _bit_of_code(batch.dicts),
        )
        used = (masks != 0) & (np.asarray(batch.status) != STATUS_OPEN)
        return masks, used

    def fit_map(self, batch: Journeys) -> State:
        """Weighted journey and conversion counts per coalition: ``keys``, ``n``, ``conv``.

        The key set differs between batches: sum states with :meth:`merge_states`.
        """
        masks, used = self._masks(batch)
        w = np.asarray(batch.weight, dtype=np.float64)[used]
        won = (np.asarray(batch.status) == STATUS_WON)[used]
        k, n, c = _group(masks[used], w, np.where(won, w, 0.0))
        return {"keys": k, "n": n, "conv": c}

    @staticmethod
    def merge_states(a: State | None, b: State) -> State:
        """Sum two Shapley partial states (union of coalition keys)."""
        if a is None:
            return {k: v.copy() for k, v in b.items()}
        k, n, c = _group(
            np.concatenate([a["keys"], b["keys"]]),
            np.concatenate([a["n"], b["n"]]),
            np.concatenate([a["conv"], b["conv"]]),
        )
        return {"keys": k, "n": n, "conv": c}

    def linear_state(self, batch: Journeys) -> tuple[State, dict[str, sp.csr_matrix]]:
        """Per-journey form of the state, for resampling: ``state[k] = mats[k] @ w``."""
        masks, used = self._masks(batch)
        keys, inv = np.unique(masks[used], return_inverse=True)
        jix = np.flatnonzero(used)
        w = np.asarray(batch.weight, dtype=np.float64)[used]
        won = (np.asarray(batch.status) == STATUS_WON)[used]
        shape = (keys.size, batch.n_journeys)
        return {"keys": keys}, {
            "n": sp.csr_matrix((w, (inv, jix)), shape=shape),
            "conv": sp.csr_matrix((np.where(won, w, 0.0), (inv, jix)), shape=shape),
        }

    def shapley_values(self, state: State) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(player bits, phi, std_error or None) of the game defined by ``state``."""
        p = self.params
        keep = state["n"] > 0
        keys, n, conv = state["keys"][keep], state["n"][keep], state["conv"][keep]
        if p["max_set_size"] is not None:
            keys, n, conv = _group(_cap(keys, p["max_set_size"]), n, conv)
        union = int(np.bitwise_or.reduce(keys)) if keys.size else 0
        bits = np.array([b for b in range(64) if union >> b & 1], dtype=np.int64)
        n_p = bits.size
        if n_p == 0:
            return bits, np.zeros(0), None
        # compress masks onto players 0..n_p-1
        ck = np.zeros(keys.size, dtype=np.int64)
        for i, b in enumerate(bits.tolist()):
            ck |= ((keys >> b) & 1) << i
        rates = conv / n
        dp6 = p["value_function"] == "dp6"
        if n_p <= p["max_exact_channels"]:
            v = np.zeros(1 << n_p, dtype=np.float64)
            v[ck] = rates
            if dp6:
                kern._subset_sums(v, n_p)
            return bits, kern._exact_shapley(v, n_p), None
        order = np.argsort(ck)
        rng = np.random.default_rng(p["seed"])
        perms = np.argsort(rng.random((p["n_samples"], n_p)), axis=1).astype(np.int64)
        phi, se = kern._sampled_shapley(perms, ck[order], rates[order], dp6)
        return bits, phi, se

    def _per_channel(
        self, state: State, dicts: Dictionaries
    ) -> tuple[np.ndarray, np.ndarray, bool, int]:
        """Raw Shapley values and standard errors by channel code, sampled?, n players."""
        bits, phi, se = self.shapley_values(state)
        code_of_bit = {int(b): c for c, b in enumerate(_bit_of_code(dicts).tolist()) if b >= 0}
        codes = np.array([code_of_bit[b] for b in bits.tolist()], dtype=np.int64)
        raw = np.zeros(dicts.n_channels)
        err = np.zeros(dicts.n_channels)
        raw[codes] = phi
        if se is not None:
            err[codes] = se
        return raw, err, se is not None, int(bits.size)

    def scores_from_state(self, state: State, dicts: Dictionaries) -> np.ndarray:
        """Only the credit scores max(phi, 0), without output tables (bootstrap replicates)."""
        raw = self._per_channel(state, dicts)[0]
        scores = np.maximum(raw, 0.0)
        scores[0] = 0.0
        return scores

    def fit_finalize(self, state: State, dicts: Dictionaries) -> Fitted:
        """Shapley values per channel; scores are max(phi, 0) (used for credit)."""
        raw, err, sampled, n_players = self._per_channel(state, dicts)
        n_c = dicts.n_channels
        scores = np.maximum(raw, 0.0)
        scores[0] = 0.0
        tot = scores.sum()
        share = scores / tot if tot > 0 else np.zeros(n_c)
        table = pl.DataFrame(
            {
                "channel": list(dicts.channels[1:]),
                "shapley_value": raw[1:],
                "share": share[1:],
                "std_error": err[1:] if sampled else [None] * (n_c - 1),
            },
            schema={
                "channel": pl.String,
                "shapley_value": pl.Float64,
                "share": pl.Float64,
                "std_error": pl.Float64,
            },
        )
        info = {
            "method": "sampled" if sampled else "exact",
            "n_players": n_players,
            "n_coalitions": int((state["n"] > 0).sum()),
            "value_function": self.params["value_function"],
            "sum_shapley": float(raw.sum()),
        }
        return Fitted(scores=scores, tables={"shapley_values": table}, info=info)
