"""numba kernel of the funnel's reached stages: per entity, the earliest time at each stage."""

from __future__ import annotations

import numpy as np

from attrib._numba import njit

#: "no time": a stage not reached (a null timestamp in the input is passed as this too)
NO_TIME = np.iinfo(np.int64).max


@njit
def reached_rows(keys, ts, stage, source, position, n_present):
    """Rows sorted by entity key -> one output row per (entity, present stage reached).

    ``stage``: index into the funnel's stage order; ``position[stage]``: its index among the
    present stages (-1: not present). ``source``: the row's first-touch index (-1: none).
    The time at stage p is the earliest record at p or any later present stage. Returns,
    per output row: the entity's first sorted row, the present-stage index, the time, the
    previous present stage's time (NO_TIME for the first), the entry time (at the first
    present stage) and the entity's first-touch index.
    """
    n = keys.shape[0]
    n_entities = 0
    for i in range(n):
        if i == 0 or keys[i] != keys[i - 1]:
            n_entities += 1
    cap = n_entities * n_present
    out_row = np.empty(cap, dtype=np.int64)
    out_stage = np.empty(cap, dtype=np.int64)
    out_ts = np.empty(cap, dtype=np.int64)
    out_prev = np.empty(cap, dtype=np.int64)
    out_entry = np.empty(cap, dtype=np.int64)
    out_source = np.empty(cap, dtype=np.int64)
    earliest = np.empty(n_present, dtype=np.int64)
    cumulative = np.empty(n_present, dtype=np.int64)
    k = 0
    lo = 0
    while lo < n:
        hi = lo + 1
        while hi < n and keys[hi] == keys[lo]:
            hi += 1
        earliest[:] = NO_TIME
        src = -1
        for i in range(lo, hi):
            p = position[stage[i]]
            if p >= 0 and ts[i] < earliest[p]:
                earliest[p] = ts[i]
            if source[i] >= 0:
                src = source[i]
        c = NO_TIME
        for p in range(n_present - 1, -1, -1):
            if earliest[p] < c:
                c = earliest[p]
            cumulative[p] = c
        for p in range(n_present):
            if cumulative[p] != NO_TIME:
                out_row[k] = lo
                out_stage[k] = p
                out_ts[k] = cumulative[p]
                out_prev[k] = cumulative[p - 1] if p else NO_TIME
                out_entry[k] = cumulative[0]
                out_source[k] = src
                k += 1
        lo = hi
    return (
        out_row[:k],
        out_stage[:k],
        out_ts[:k],
        out_prev[:k],
        out_entry[:k],
        out_source[:k],
    )
