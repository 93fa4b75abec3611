"""numba kernel that rolls touch weights x journey values up into keyed credit (additive)."""

from __future__ import annotations

import numpy as np

from attrib._numba import njit


@njit
def accumulate_windows(
    starts,
    ends,
    created_starts,
    created_ends,
    valued,
    created_valued,
    weights,
    created_weights,
    channel,
    campaign,
    values,
    created,
    n_chan,
    n_camp,
):
    """Σ over touches of weight x its journey's values, by channel and by campaign key, for
    both windows in one pass over the touches.

    Returns (float64 [C, M + MC] by channel, float64 [K, M + MC] by campaign key): columns
    ``:M`` credit ``values`` over ``starts:ends`` with ``weights``; columns ``M:`` credit
    ``created`` over ``created_starts:created_ends`` with ``created_weights``. Key 0 ((none)) takes
    the value of a journey with no touch in a window. ``valued``/``created_valued``: whether
    a journey is worth anything in each window (``Journeys.valued``); the touches of one
    that is not add only zeros and are skipped (the sums are bit-identical; ~half the time
    at 10M touches, as most journeys convert nothing), their weights never read.
    """
    n_m = values.shape[1]
    n_c = created.shape[1]
    ch = np.zeros((n_chan, n_m + n_c), dtype=np.float64)
    camp = np.zeros((n_camp, n_m + n_c), dtype=np.float64)
    for j in range(starts.shape[0]):
        a = starts[j]
        b = ends[j]
        p = created_starts[j]
        c = created_ends[j]
        if b <= a:
            for m in range(n_m):
                ch[0, m] += values[j, m]
                camp[0, m] += values[j, m]
        if c <= p:
            for m in range(n_c):
                ch[0, n_m + m] += created[j, m]
                camp[0, n_m + m] += created[j, m]
        if not valued[j]:
            b = a
        if not created_valued[j]:
            c = p
        # the two windows' loops are written out, not shared through a helper: an inlined
        # helper measured 1.7x slower over eight models at 10M touches
        for i in range(a, b):
            w = weights[i]
            if w != 0.0:
                kc = channel[i]
                kk = campaign[i]
                for m in range(n_m):
                    v = w * values[j, m]
                    ch[kc, m] += v
                    camp[kk, m] += v
        for i in range(p, c):
            w = created_weights[i]
            if w != 0.0:
                kc = channel[i]
                kk = campaign[i]
                for m in range(n_c):
                    v = w * created[j, m]
                    ch[kc, n_m + m] += v
                    camp[kk, n_m + m] += v
    return ch, camp
