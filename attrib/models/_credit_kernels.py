"""numba kernel that rolls touch weights x journey values up into keyed credit (additive)."""

from __future__ import annotations

import numpy as np

from attrib._numba import njit


@njit
def accumulate(starts, ends, weights, keys, values, none_key, n_keys):
    """float64 [n_keys, M]: Σ over touches of weight x its journey's values, by key.

    Journeys with no touch in range credit ``none_key`` with their whole value, so the
    column sums always equal the journeys' totals.
    """
    n_metrics = values.shape[1]
    out = np.zeros((n_keys, n_metrics), dtype=np.float64)
    for j in range(starts.shape[0]):
        a = starts[j]
        b = ends[j]
        if b <= a:
            for m in range(n_metrics):
                out[none_key, m] += values[j, m]
            continue
        for i in range(a, b):
            w = weights[i]
            if w == 0.0:
                continue
            k = keys[i]
            for m in range(n_metrics):
                out[k, m] += w * values[j, m]
    return out
