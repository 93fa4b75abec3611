"""numba kernel that cuts each entity's time-ordered touches into journeys (one per deal)."""

from __future__ import annotations

import numpy as np

from attrib._numba import njit


@njit
def _assign_journeys(t_ent, t_ts, d_ent, d_end, lookback, max_j):
    """Merge-walk touches (sorted by entity, ts) and deals (sorted by entity, window end).

    A deal's journey holds the entity's touches with ``max(end - lookback, previous end) <
    ts <= end`` (the previous deal's window end is exclusive, so no touch counts twice; a
    touch exactly at ``end - lookback`` is kept). Touches after an entity's last deal form
    one non-converting journey. Returns the kept-touch mask, CSR offsets over the kept
    touches, and each journey's deal index (-1: non-converting) and entity code.
    """
    n_t = t_ent.shape[0]
    n_d = d_ent.shape[0]
    keep = np.zeros(n_t, dtype=np.bool_)
    offsets = np.zeros(max_j + 1, dtype=np.int64)
    j_deal = np.empty(max_j, dtype=np.int64)
    j_ent = np.empty(max_j, dtype=np.int64)
    ti = 0
    di = 0
    j = 0
    k = 0
    big = np.iinfo(np.int64).max
    while ti < n_t or di < n_d:
        te = t_ent[ti] if ti < n_t else big
        de = d_ent[di] if di < n_d else big
        e = te if te < de else de
        while di < n_d and d_ent[di] == e:
            end = d_end[di]
            lo = end - lookback
            start = k
            while ti < n_t and t_ent[ti] == e and t_ts[ti] <= end:
                if t_ts[ti] >= lo:
                    keep[ti] = True
                    k += 1
                ti += 1
            offsets[j] = start
            j_deal[j] = di
            j_ent[j] = e
            j += 1
            di += 1
        start = k
        while ti < n_t and t_ent[ti] == e:
            keep[ti] = True
            k += 1
            ti += 1
        if k > start:
            offsets[j] = start
            j_deal[j] = -1
            j_ent[j] = e
            j += 1
    offsets[j] = k
    return keep, offsets[: j + 1], j_deal[:j], j_ent[:j]


@njit
def _anchors(offsets, ts, created, lead):
    """Per journey: touches at or before ``created`` and the last touch at or before ``lead``."""
    n = offsets.shape[0] - 1
    n_created = np.zeros(n, dtype=np.int64)
    lead_pos = np.full(n, -1, dtype=np.int64)
    for j in range(n):
        a = offsets[j]
        b = offsets[j + 1]
        c = 0
        lp = -1
        for i in range(a, b):
            if ts[i] <= created[j]:
                c += 1
            if ts[i] <= lead[j]:
                lp = i
        n_created[j] = c
        lead_pos[j] = lp
    return n_created, lead_pos


@njit
def _journey_stats(offsets, channel, is_marketing):
    """Per journey: first and last channel code (0 when empty) and any marketing touch."""
    n = offsets.shape[0] - 1
    first = np.zeros(n, dtype=np.int32)
    last = np.zeros(n, dtype=np.int32)
    influenced = np.zeros(n, dtype=np.bool_)
    for j in range(n):
        a = offsets[j]
        b = offsets[j + 1]
        if b > a:
            first[j] = channel[a]
            last[j] = channel[b - 1]
            for i in range(a, b):
                if is_marketing[channel[i]]:
                    influenced[j] = True
                    break
    return first, last, influenced


@njit
def _join_paths(offsets, channel, name_bytes, name_offsets, sep):
    """UTF-8 bytes and string offsets of each journey's path ("A > B > C") for Arrow."""
    n = offsets.shape[0] - 1
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    total = 0
    for j in range(n):
        a = offsets[j]
        b = offsets[j + 1]
        for i in range(a, b):
            c = channel[i]
            total += name_offsets[c + 1] - name_offsets[c]
        if b - a > 1:
            total += (b - a - 1) * sep.shape[0]
        out_offsets[j + 1] = total
    buf = np.empty(total, dtype=np.uint8)
    pos = 0
    for j in range(n):
        a = offsets[j]
        b = offsets[j + 1]
        for i in range(a, b):
            if i > a:
                for s in range(sep.shape[0]):
                    buf[pos] = sep[s]
                    pos += 1
            c = channel[i]
            for s in range(name_offsets[c], name_offsets[c + 1]):
                buf[pos] = name_bytes[s]
                pos += 1
    return out_offsets, buf
