"""numba kernels of the rule-based models: per-touch weights over CSR journeys.

Every kernel has one signature: journey ranges ``starts[j]:ends[j]`` over touch arrays, the
journey's window end, its anchor touches, and a float parameter; it fills ``out`` (float64
[T]) so that each non-empty journey's weights sum to 1 and touches outside ranges stay 0.
"""

from __future__ import annotations

import math

from attrib._numba import njit


@njit
def zero_ranges(starts, ends, out):
    """0 over every range ``starts[j]:ends[j]`` of ``out`` (and nowhere else)."""
    for j in range(starts.shape[0]):
        for i in range(starts[j], ends[j]):
            out[i] = 0.0


@njit
def _first_touch(
    starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out
):
    for j in range(starts.shape[0]):
        if ends[j] > starts[j]:
            out[starts[j]] = 1.0


@njit
def _last_touch(
    starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out
):
    for j in range(starts.shape[0]):
        if ends[j] > starts[j]:
            out[ends[j] - 1] = 1.0


@njit
def _last_non_direct(
    starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out
):
    for j in range(starts.shape[0]):
        a = starts[j]
        b = ends[j]
        if b <= a:
            continue
        pick = b - 1  # all direct: the last touch keeps the credit
        for i in range(b - 1, a - 1, -1):
            if not is_direct[channel[i]]:
                pick = i
                break
        out[pick] = 1.0


@njit
def _linear(starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out):
    for j in range(starts.shape[0]):
        a = starts[j]
        b = ends[j]
        if b > a:
            w = 1.0 / (b - a)
            for i in range(a, b):
                out[i] = w


@njit
def _time_decay(
    starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out
):
    # weight ∝ 2^(-Δt / half_life), Δt = window end − touch time; shifted by the smallest Δt
    # (the latest touch) before exponentiating, which cancels on normalising and never underflows
    half_life = param
    for j in range(starts.shape[0]):
        a = starts[j]
        b = ends[j]
        if b <= a:
            continue
        latest = ts[b - 1]
        total = 0.0
        for i in range(a, b):
            w = math.exp2(-(latest - ts[i]) / half_life)
            out[i] = w
            total += w
        for i in range(a, b):
            out[i] /= total


@njit
def _position_based(
    starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out
):
    # U-shaped 40/20/40: one touch 100, two touches 50/50, else 40 first, 40 last, 20 spread
    for j in range(starts.shape[0]):
        a = starts[j]
        b = ends[j]
        n = b - a
        if n == 1:
            out[a] = 1.0
        elif n == 2:
            out[a] = 0.5
            out[a + 1] = 0.5
        elif n > 2:
            mid = 0.2 / (n - 2)
            for i in range(a + 1, b - 1):
                out[i] = mid
            out[a] = 0.4
            out[b - 1] = 0.4


@njit
def _anchored(starts, ends, lead_pos, opp_pos, close_pos, role_weight, n_roles, rest, out):
    """Shared W/Z-shaped logic: roles first, lead, opportunity (and close for Z).

    Found roles share ``1 - rest`` equally (a touch filling two roles gets both shares);
    missing roles are dropped and the found ones scaled up; the other touches share
    ``rest`` equally; when every touch is an anchor the anchors get everything.
    """
    for j in range(starts.shape[0]):
        a = starts[j]
        b = ends[j]
        n = b - a
        if n <= 0:
            continue
        if n == 1:
            out[a] = 1.0
            continue
        found = 1
        lp = lead_pos[j]
        if lp >= a and lp < b:
            found += 1
        else:
            lp = -1
        op = opp_pos[j]
        if op >= a and op < b:
            found += 1
        else:
            op = -1
        cp = -1
        if n_roles == 4 and close_pos[j] >= a and close_pos[j] < b:
            cp = close_pos[j]
            found += 1
        share = role_weight
        for i in range(a, b):
            out[i] = 0.0
        out[a] += share
        if lp >= 0:
            out[lp] += share
        if op >= 0:
            out[op] += share
        if cp >= 0:
            out[cp] += share
        anchors = 0
        for i in range(a, b):
            if out[i] > 0.0:
                anchors += 1
        others = n - anchors
        anchor_total = share * found
        if others > 0:
            scale = (1.0 - rest) / anchor_total
            each = rest / others
            for i in range(a, b):
                if out[i] > 0.0:
                    out[i] *= scale
                else:
                    out[i] = each
        else:
            for i in range(a, b):
                out[i] /= anchor_total


@njit
def _w_shaped(
    starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out
):
    _anchored(starts, ends, lead_pos, opp_pos, close_pos, 0.3, 3, 0.1, out)


@njit
def _full_path(
    starts, ends, ts, channel, end_ts, lead_pos, opp_pos, close_pos, is_direct, param, out
):
    _anchored(starts, ends, lead_pos, opp_pos, close_pos, 0.225, 4, 0.1, out)
