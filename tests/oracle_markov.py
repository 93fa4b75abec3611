"""Plain-Python/numpy references for the Markov and Shapley tests (no tests in here).

``markov_oracle`` builds the transition matrix from explicit path lists with Python loops
and solves the absorbing chain with ``numpy.linalg.solve``, redirecting transitions into
removed states to (null) literally. ``make_batch`` turns path lists into a Journeys batch.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict

import numpy as np
import polars as pl

from attrib.encoded import Dictionaries, Journeys, last_touches_of_closed

START, CONV, NULL = ("(start)",), ("(conversion)",), ("(null)",)


def make_batch(
    paths: list[list[int]],
    status: list[int],
    weight: list[float] | None = None,
    amount: list[float] | None = None,
    n_channels: int | None = None,
    n_created: list[int] | None = None,
) -> Journeys:
    """A Journeys batch from explicit channel-code lists (codes >= 1; (none) is 0)."""
    n_j = len(paths)
    n_c = n_channels or (max((max(p) for p in paths if p), default=0) + 1)
    channels = ("(none)", *(f"c{i}" for i in range(1, n_c)))
    offsets = np.zeros(n_j + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(p) for p in paths])
    channel = np.array([c for p in paths for c in p], dtype=np.int32)
    dicts = Dictionaries(
        channels=channels,
        is_marketing=np.ones(n_c, dtype=bool),
        is_direct=np.zeros(n_c, dtype=bool),
        campaign_channel=np.arange(n_c, dtype=np.int32),
        campaign_names=tuple("(none)" for _ in channels),
    )
    z = np.zeros(n_j, dtype=np.int64)
    return Journeys(
        offsets=offsets,
        channel=channel,
        campaign=channel.copy(),
        ts=np.zeros(channel.size, dtype=np.int64),
        status=(codes := np.asarray(status, dtype=np.int8)),
        weight=np.asarray(weight if weight is not None else [1.0] * n_j, dtype=np.float64),
        amount=np.asarray(amount if amount is not None else [0.0] * n_j, dtype=np.float64),
        end_ts=z.copy(),
        created_ts=z.copy(),
        n_created=np.asarray(
            n_created if n_created is not None else [len(p) for p in paths], dtype=np.int64
        ),
        lead_pos=np.full(n_j, -1, dtype=np.int64),
        opp_pos=np.full(n_j, -1, dtype=np.int64),
        close_pos=last_touches_of_closed(offsets, codes),
        table=pl.DataFrame({"journey_id": np.arange(n_j)}),
        dicts=dicts,
    )


def _state_sequence(path: list[int], order: int, collapse: bool) -> list[tuple[int, ...]]:
    seq: list[int] = []
    for c in path:
        if collapse and seq and seq[-1] == c:
            continue
        seq.append(c)
    return [tuple(seq[max(0, i + 1 - order) : i + 1]) for i in range(len(seq))]


def markov_oracle(
    paths: list[list[int]],
    converted: list[bool],
    weight: list[float],
    amount: list[float],
    *,
    order: int = 1,
    collapse: bool = True,
) -> dict[str, object]:
    """P(conversion), expected value and removal effects {channel: RE} by brute force."""
    counts: dict[tuple, dict[tuple, float]] = defaultdict(lambda: defaultdict(float))
    value: dict[tuple, float] = defaultdict(float)
    for path, conv, w, a in zip(paths, converted, weight, amount, strict=True):
        if not path:
            continue
        states = [START, *_state_sequence(path, order, collapse)]
        end = CONV if conv else NULL
        for s, t in itertools.pairwise([*states, end]):
            counts[s][t] += w
        if conv:
            value[states[-1]] += a

    channels = sorted({c for p in paths for c in p})

    def solve(removed: int | None) -> tuple[float, float]:
        trans = {s: dict(row) for s, row in counts.items()}
        if removed is not None:  # every transition into a state containing c goes to (null)
            for row in trans.values():
                for t in [t for t in row if t not in (CONV, NULL) and removed in t]:
                    row[NULL] = row.get(NULL, 0.0) + row.pop(t)
        states = list(trans)
        idx = {s: i for i, s in enumerate(states)}
        n = len(states)
        A = np.eye(n)
        b = np.zeros((n, 2))
        for s, row in trans.items():
            tot = sum(counts[s].values())
            for t, cnt in row.items():
                if t == CONV:
                    b[idx[s], 0] += cnt / tot
                elif t != NULL:
                    A[idx[s], idx[t]] -= cnt / tot
            b[idx[s], 1] = value[s] / tot
        x = np.linalg.solve(A, b)
        return float(x[idx[START], 0]), float(x[idx[START], 1])

    p, v = solve(None)
    re, re_v = {}, {}
    for c in channels:
        pc, vc = solve(c)
        re[c] = 1.0 - pc / p if p > 0 else 0.0
        re_v[c] = 1.0 - vc / v if v > 0 else 0.0
    return {"p": p, "value": v, "re": re, "re_value": re_v}


def shapley_oracle(players: list[int], v: dict[frozenset, float]) -> dict[int, float]:
    """Shapley values by averaging marginal contributions over ALL orderings (tiny n only)."""
    phi = dict.fromkeys(players, 0.0)
    perms = list(itertools.permutations(players))
    for perm in perms:
        s: frozenset = frozenset()
        for i in perm:
            phi[i] += v.get(s | {i}, 0.0) - v.get(s, 0.0)
            s = s | {i}
    return {i: phi[i] / math.factorial(len(players)) for i in players}
