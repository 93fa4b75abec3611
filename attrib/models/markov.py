"""Markov-chain attribution (order 1-4): removal effects of an absorbing chain, solved exactly.

Glue around ``_markov_kernels``: the kernel enumerates transitions of a batch, ``fit_map``
sums them into counts (an additive state), ``fit_finalize`` solves the absorbing chain's linear
systems in float64: dense LU for small chains; for large (order 3-4) chains a monotone
fixed-point iteration run to float64 round-off, with sparse LU as the fallback.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import polars as pl
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from attrib.encoded import Dictionaries, Journeys
from attrib.errors import ComputationError, ConfigError
from attrib.models import _markov_kernels as kern
from attrib.models.base import Fitted, Param, State
from attrib.models.scored import ScoredModel

#: Transient-state count up to which each system is solved by dense LU (numpy.linalg.solve).
DENSE_MAX_STATES = 1500
#: Order-1 partial states are dense [S, S] matrices up to this many cells.
DENSE_STATE_MAX_CELLS = 1 << 20
#: Larger chains: fixed-point iteration x <- Q x + r to float64 precision (sparse LU fills in
#: almost completely on order-3/4 chains: ~25 s per factorisation at 16k states), with sparse
#: LU as the fallback if it has not converged after this many sweeps.
ITER_MAX_SWEEPS = 100_000
#: Iteration stops when the largest change is below this times the largest value.
ITER_RTOL = 1e-15

START, CONVERSION, NULL = "(start)", "(conversion)", "(null)"


# --------------------------------------------------------------------------------------------
# state handling
# --------------------------------------------------------------------------------------------
def _pair_index(frm: np.ndarray, to: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sorted unique (from, to) pairs and the index of every input pair among them."""
    if frm.size == 0:
        e = np.zeros(0, dtype=np.int64)
        return e, e.copy(), e.copy()
    ns = int(max(frm.max(), to.max())) + 1
    if ns * ns <= 1 << 22:  # small code space: counting instead of sorting
        key = frm * ns + to
        seen = np.zeros(ns * ns, dtype=np.int64)
        seen[key] = 1
        u = np.flatnonzero(seen)
        rank = np.cumsum(seen) - 1
        return u // ns, u % ns, rank[key]
    if ns < 1 << 31:
        u, inv = np.unique(frm * ns + to, return_inverse=True)
        return u // ns, u % ns, inv.ravel()
    order = np.lexsort((to, frm))
    f, t = frm[order], to[order]
    new = np.ones(f.size, dtype=bool)
    new[1:] = (f[1:] != f[:-1]) | (t[1:] != t[:-1])
    inv = np.empty(f.size, dtype=np.int64)
    inv[order] = np.cumsum(new) - 1
    return f[new], t[new], inv


def _group_sum(frm: np.ndarray, to: np.ndarray, *vals: np.ndarray) -> tuple[np.ndarray, ...]:
    """Unique (from, to) pairs, sorted, with each value array summed per pair."""
    f, t, inv = _pair_index(frm, to)
    return (f, t, *(np.bincount(inv, weights=v, minlength=f.size) for v in vals))


def _codes(base: int, order: int) -> tuple[int, int]:
    top = base**order
    return top, top + 1


def _state_digits(codes: np.ndarray, base: int, order: int) -> np.ndarray:
    """int64 [S, order]: channel code of each position (most recent first), -1 where empty."""
    out = np.full((codes.size, order), -1, dtype=np.int64)
    rest = codes.copy()
    for d in range(order):
        digit = rest % base
        out[:, d] = digit - 1
        rest //= base
    return out


def _state_names(codes: np.ndarray, base: int, order: int, channels: tuple[str, ...]) -> list[str]:
    """Readable state names: (start), 'a > b' (oldest first), (conversion), (null)."""
    conv, null = _codes(base, order)
    digits = _state_digits(np.where(codes >= conv, 0, codes), base, order)
    names = []
    for code, row in zip(codes.tolist(), digits.tolist(), strict=True):
        if code == 0:
            names.append(START)
        elif code == conv:
            names.append(CONVERSION)
        elif code == null:
            names.append(NULL)
        else:
            names.append(" > ".join(channels[c] for c in reversed(row) if c >= 0))
    return names


def _solve_sparse(Q: sp.csr_matrix, rhs: np.ndarray) -> np.ndarray:
    """Solve (I - Q) x = rhs for a substochastic absorbing-chain Q (x >= 0).

    x_{k+1} = Q x_k + rhs from x_0 = rhs increases monotonically to the solution; stop when
    the change is at float64 round-off, then check the residual; sparse LU if it fails.
    """
    x = rhs.copy()
    for _ in range(ITER_MAX_SWEEPS):
        nxt = Q @ x + rhs
        delta = np.abs(nxt - x).max(initial=0.0)
        x = nxt
        if delta <= ITER_RTOL * np.abs(x).max(initial=0.0):
            resid = np.abs(x - Q @ x - rhs).max(initial=0.0)
            if resid <= 1e-13 * max(np.abs(x).max(initial=0.0), 1e-300):
                return x
            break
    A = (sp.identity(Q.shape[0], format="csc") - Q).tocsc()
    return spla.splu(A).solve(rhs)


def solve_chain(
    frm: np.ndarray,
    to: np.ndarray,
    counts: np.ndarray,
    amounts: np.ndarray,
    *,
    base: int,
    order: int,
    n_channels: int,
) -> dict[str, Any]:
    """Exact absorbing-chain solve: P(conversion), expected value and removal effects.

    Removing channel c makes every state that contains c absorbing with value 0 (all
    transitions into it go to (null)); each P is the solution of (I - Q) x = r.
    """
    conv, null = _codes(base, order)
    keep = counts > 0
    frm, to, counts, amounts = frm[keep], to[keep], counts[keep], amounts[keep]
    transient = np.unique(frm)  # every transient state has outgoing transitions
    n = transient.size
    re = np.zeros(n_channels)
    re_v = np.zeros(n_channels)
    out: dict[str, Any] = {"frm": frm, "to": to, "counts": counts, "n_states": n + 2}
    if n == 0:
        out.update(p_conversion=0.0, value=0.0, re=re, re_value=re_v, prob=counts)
        return out
    fi = np.searchsorted(transient, frm)
    out_count = np.bincount(fi, weights=counts, minlength=n)
    prob = counts / out_count[fi]
    out["prob"] = prob
    is_t = (to != conv) & (to != null)
    ti = np.searchsorted(transient, to[is_t])
    to_conv = to == conv
    rhs = np.zeros((n, 2))
    rhs[:, 0] = np.bincount(fi[to_conv], weights=prob[to_conv], minlength=n)
    rhs[:, 1] = np.bincount(fi[to_conv], weights=amounts[to_conv], minlength=n) / out_count
    Q = sp.csr_matrix((prob[is_t], (fi[is_t], ti)), shape=(n, n))
    start = int(np.searchsorted(transient, 0))  # (start) is code 0, always present
    digits = _state_digits(transient, base, order)
    dense = np.eye(n) - Q.toarray() if n <= DENSE_MAX_STATES else None

    def p_start(mask: np.ndarray | None) -> np.ndarray:
        sel = np.arange(n) if mask is None else np.flatnonzero(mask)
        pos = int(np.searchsorted(sel, start))
        if dense is not None:
            x = np.linalg.solve(dense[np.ix_(sel, sel)], rhs[sel])
        else:
            x = _solve_sparse(Q[sel][:, sel].tocsr(), np.ascontiguousarray(rhs[sel]))
        return x[pos]

    base_p = p_start(None)
    out["p_conversion"] = float(base_p[0])
    out["value"] = float(base_p[1])
    present = np.unique(digits[digits >= 0])
    for c in present.tolist():
        mask = ~(digits == c).any(axis=1)
        p = p_start(mask)
        if base_p[0] > 0:
            re[c] = 1.0 - p[0] / base_p[0]
        if base_p[1] > 0:
            re_v[c] = 1.0 - p[1] / base_p[1]
    # removal can only lower absorption probabilities; clip float round-off below zero
    out["re"] = np.maximum(re, 0.0)
    out["re_value"] = np.maximum(re_v, 0.0)
    return out


class MarkovAttribution(ScoredModel):
    """Markov-chain removal-effect attribution, exact (linear solve), orders 1-4."""

    name: ClassVar[str] = "markov"
    title: ClassVar[str] = "Markov chain (removal effect)"
    summary: ClassVar[str] = (
        "Learns channel transitions from converting and non-converting paths; credit is "
        "proportional to each channel's removal effect, solved exactly."
    )
    definition: ClassVar[str] = (
        "States are (start), one state per channel (order k: per sequence of the last k "
        "channels, fewer at a path's start), (conversion) and (null). Every journey with at "
        "least one touch adds its "
        "transitions (start) -> s1 -> ... -> sn -> end, counted with the journey's weight; won "
        "journeys end in (conversion), non-converting and lost journeys in (null); open deals "
        "are left out of the fit because their outcome is unknown, and zero-touch journeys do "
        "not enter the chain. With collapse_repeats (default, as ChannelAttribution's "
        "markov_model) consecutive touches of one channel count once; otherwise they are "
        "self-loops. Transition probabilities are counts divided by the state's outgoing "
        "count. P(conversion) is the absorption probability of (conversion) from (start), "
        "solved exactly from (I - Q) x = r in float64. The removal effect of channel c is "
        "RE_c = 1 - P(conversion | c removed) / P(conversion), where removing c sends every "
        "transition into a state containing c to (null). Attributed totals of c are total x "
        "RE_c / sum(RE) (zero-touch journeys stay on (none); when every RE is 0, e.g. "
        "value_weighted with no revenue, the totals are linear's: each journey shared "
        "equally among its touches, and every share is 0); touch-level credit shares each "
        "journey among its distinct channels in proportion to RE, split equally over a "
        "channel's touches (equally over the journey's touches, as linear, if all its "
        "channels have RE 0). With "
        "value_weighted, the chain's payoff is revenue instead of a conversion: each "
        "transition s -> (conversion) pays the mean won amount of the journeys that took it, "
        "so V = expected revenue per journey and RE_c = 1 - V(c removed) / V."
    )
    params_doc: ClassVar[tuple[Param, ...]] = (
        Param(
            "order",
            1,
            "Markov order k (1-4): a state is the sequence of the last k channels (fewer at a"
            " path's start: its first channel, then its first two, ...).",
        ),
        Param(
            "collapse_repeats",
            True,
            "Count consecutive touches of the same channel once (ChannelAttribution default).",
        ),
        Param(
            "value_weighted",
            False,
            "Score channels by the removal effect on expected revenue instead of conversions.",
        ),
    )
    paths_ok: ClassVar[bool] = True

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        order = self.params["order"]
        if not isinstance(order, int) or isinstance(order, bool) or not 1 <= order <= 4:
            raise ConfigError(
                f"order must be a whole number from 1 to 4, got {order!r}",
                hint="use order=1 (ChannelAttribution's default) up to order=4",
            )

    # -- helpers ---------------------------------------------------------------------------
    def _base(self, n_channels: int) -> int:
        base = n_channels + 1
        order = self.params["order"]
        if float(base) ** (order + 1) >= 2.0**62:
            raise ComputationError(
                f"markov order {order} with {n_channels} channels overflows the state encoding",
                hint="lower the order or group channels",
            )
        return base

    def _transitions(self, batch: Journeys) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
        base = self._base(batch.dicts.n_channels)
        frm, to, jix = kern._journey_transitions(
            np.ascontiguousarray(batch.starts, dtype=np.int64),
            np.ascontiguousarray(batch.ends, dtype=np.int64),
            np.ascontiguousarray(batch.channel, dtype=np.int32),
            np.ascontiguousarray(batch.status, dtype=np.int8),
            base,
            int(self.params["order"]),
            self.params["collapse_repeats"],  # a bool: flags are checked in __init__
        )
        return frm, to, jix, base

    # -- fit ---------------------------------------------------------------------------------
    def fit_map(self, batch: Journeys) -> State:
        """Weighted transition counts (and revenue into (conversion)) of one batch.

        Order 1 with up to ~1000 channels: dense ``counts``/``amounts`` [S, S]
        (S = n_channels + 3), summable by ``reduce_states``. Otherwise: sorted unique pairs
        ``from``/``to`` with ``counts`` and ``amounts``; sum such states with
        :meth:`merge_states` (which handles both forms).
        """
        frm, to, jix, base = self._transitions(batch)
        conv, _ = _codes(base, self.params["order"])
        w = np.asarray(batch.weight, dtype=np.float64)[jix]
        amt = np.where(to == conv, np.asarray(batch.amount, dtype=np.float64)[jix], 0.0)
        S = base + 2
        if self.params["order"] == 1 and S * S <= DENSE_STATE_MAX_CELLS:
            counts = np.bincount(frm * S + to, weights=w, minlength=S * S).reshape(S, S)
            amounts = np.bincount(frm * S + to, weights=amt, minlength=S * S).reshape(S, S)
            return {"counts": counts, "amounts": amounts}
        f, t, c, a = _group_sum(frm, to, w, amt)
        return {"from": f, "to": t, "counts": c, "amounts": a}

    @staticmethod
    def merge_states(a: State | None, b: State) -> State:
        """Sum two Markov partial states (dense order-1 or sparse higher-order form)."""
        if a is None:
            return {k: v.copy() for k, v in b.items()}
        if "from" not in a:
            return {k: a[k] + b[k] for k in a}
        f, t, c, m = _group_sum(
            np.concatenate([a["from"], b["from"]]),
            np.concatenate([a["to"], b["to"]]),
            np.concatenate([a["counts"], b["counts"]]),
            np.concatenate([a["amounts"], b["amounts"]]),
        )
        return {"from": f, "to": t, "counts": c, "amounts": m}

    def linear_state(self, batch: Journeys) -> tuple[State, dict[str, sp.spmatrix]]:
        """Per-journey form of the state, for resampling: ``state[k] = mats[k] @ w``.

        ``w`` multiplies each journey's weight and amount (``w = 1`` gives ``fit_map``'s
        state in sparse form). Keys not in ``mats`` are fixed.
        """
        frm, to, jix, base = self._transitions(batch)
        conv, _ = _codes(base, self.params["order"])
        f, t, kix = _pair_index(frm, to)
        n_j = batch.n_journeys
        w = np.asarray(batch.weight, dtype=np.float64)[jix]
        a = np.where(to == conv, np.asarray(batch.amount, dtype=np.float64)[jix], 0.0)
        shape = (f.size, n_j)
        # transitions come out in journey order: build the CSC arrays directly
        indptr = np.zeros(n_j + 1, dtype=np.int64)
        np.cumsum(np.bincount(jix, minlength=n_j), out=indptr[1:])
        mats = {
            "counts": sp.csc_matrix((w, kix, indptr), shape=shape),
            "amounts": sp.csc_matrix((a, kix, indptr), shape=shape),
        }
        return {"from": f, "to": t}, mats

    def _solve(self, state: State, dicts: Dictionaries) -> dict[str, Any]:
        """Solve the chain of a (dense or sparse) state."""
        order = int(self.params["order"])
        base = self._base(dicts.n_channels)
        if "from" in state:
            frm, to = state["from"], state["to"]
            counts, amounts = state["counts"], state["amounts"]
        else:
            S = state["counts"].shape[0]
            nz = np.flatnonzero(state["counts"].ravel())
            frm, to = nz // S, nz % S
            counts = state["counts"].ravel()[nz]
            amounts = state["amounts"].ravel()[nz]
        return solve_chain(
            np.asarray(frm, dtype=np.int64),
            np.asarray(to, dtype=np.int64),
            np.asarray(counts, dtype=np.float64),
            np.asarray(amounts, dtype=np.float64),
            base=base,
            order=order,
            n_channels=dicts.n_channels,
        )

    def scores_from_state(self, state: State, dicts: Dictionaries) -> np.ndarray:
        """Only the scores (removal effects), without output tables (bootstrap replicates)."""
        sol = self._solve(state, dicts)
        return sol["re_value"] if self.params["value_weighted"] else sol["re"]

    def fit_finalize(self, state: State, dicts: Dictionaries) -> Fitted:
        """Solve the chain; scores are removal effects (value-based with value_weighted)."""
        order = int(self.params["order"])
        base = self._base(dicts.n_channels)
        sol = self._solve(state, dicts)
        re, re_v = sol["re"], sol["re_value"]
        scores = re_v if self.params["value_weighted"] else re
        tot = scores[1:].sum()
        share = scores / tot if tot > 0 else np.zeros_like(scores)
        names = list(dicts.channels[1:])
        effects = pl.DataFrame(
            {
                "channel": names,
                "removal_effect": re[1:],
                "value_removal_effect": re_v[1:],
                "share": share[1:],
            },
            schema={
                "channel": pl.String,
                "removal_effect": pl.Float64,
                "value_removal_effect": pl.Float64,
                "share": pl.Float64,
            },
        )
        codes = np.unique(np.concatenate([sol["frm"], sol["to"]]))
        name_of = dict(
            zip(codes.tolist(), _state_names(codes, base, order, dicts.channels), strict=True)
        )
        transitions = pl.DataFrame(
            {
                "from_state": [name_of[c] for c in sol["frm"].tolist()],
                "to_state": [name_of[c] for c in sol["to"].tolist()],
                "count": sol["counts"],
                "probability": sol["prob"],
            },
            schema={
                "from_state": pl.String,
                "to_state": pl.String,
                "count": pl.Float64,
                "probability": pl.Float64,
            },
        )
        info = {
            "p_conversion": sol["p_conversion"],
            "expected_value": sol["value"],
            "n_states": int(sol["n_states"]),
            "order": order,
            "method": "exact",
        }
        return Fitted(
            scores=scores,
            tables={"markov_removal_effects": effects, "markov_transitions": transitions},
            info=info,
        )


__all__ = [
    "CONVERSION",
    "NULL",
    "START",
    "MarkovAttribution",
    "solve_chain",
]
