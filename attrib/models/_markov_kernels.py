"""Numba kernels of the Markov model: transition enumeration and score-share touch weights.

State codes (order k, base ``B = n_channels + 1``): ``0`` is ``(start)``; a sequence of the
last ``m <= k`` channels is ``sum((code_i + 1) * B**i)`` with the most recent channel in the
least significant digit; ``B**k`` is ``(conversion)`` and ``B**k + 1`` is ``(null)``.
"""

from __future__ import annotations

import numpy as np

from attrib._numba import njit

# Journey outcome codes, duplicated from attrib.encoded (kernels import no attrib modules
# other than attrib._numba).
_STATUS_OPEN = 1
_STATUS_WON = 2


@njit
def _journey_transitions(starts, ends, channel, status, base, order, collapse):
    """Transitions of every journey (touches ``starts[j]:ends[j]``): (from_code, to_code,
    journey index), in journey order.

    Journeys with no touch or with status OPEN (outcome unknown) emit nothing.
    """
    n_j = starts.shape[0]
    top = base**order  # codes of channel sequences lie in [1, top)
    conv = top
    null = top + 1
    # upper bound: one transition per touch plus the final one
    cap = 0
    for j in range(n_j):
        n = ends[j] - starts[j]
        if n > 0 and status[j] != _STATUS_OPEN:
            cap += n + 1
    frm = np.empty(cap, dtype=np.int64)
    to = np.empty(cap, dtype=np.int64)
    jix = np.empty(cap, dtype=np.int64)
    k = 0
    for j in range(n_j):
        s = starts[j]
        e = ends[j]
        if e <= s or status[j] == _STATUS_OPEN:
            continue
        code = 0
        prev = -1
        for t in range(s, e):
            c = channel[t]
            if collapse and c == prev:
                continue
            prev = c
            new = (code * base + (c + 1)) % top
            frm[k] = code
            to[k] = new
            jix[k] = j
            k += 1
            code = new
        frm[k] = code
        to[k] = conv if status[j] == _STATUS_WON else null
        jix[k] = j
        k += 1
    return frm[:k], to[:k], jix[:k]


@njit
def _score_share_weights(starts, ends, channel, scores, n_channels):
    """Touch weights over each journey's window ``starts[j]:ends[j]`` (0 elsewhere): its
    value split over its distinct channels by score, then equally over each channel's
    touches; equal weights over the touches when all its scores are 0."""
    n_j = starts.shape[0]
    out = np.zeros(channel.shape[0], dtype=np.float64)
    cnt = np.zeros(n_channels, dtype=np.int64)
    for j in range(n_j):
        s = starts[j]
        e = ends[j]
        if e <= s:
            continue
        tot = 0.0
        for t in range(s, e):
            c = channel[t]
            if cnt[c] == 0:
                tot += scores[c]
            cnt[c] += 1
        if tot > 0.0:
            for t in range(s, e):
                c = channel[t]
                out[t] = scores[c] / tot / cnt[c]
        else:
            w = 1.0 / (e - s)
            for t in range(s, e):
                out[t] = w
        for t in range(s, e):
            cnt[channel[t]] = 0
    return out
