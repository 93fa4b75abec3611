"""numba sort of touches by (entity key, ts, channel, campaign), whatever the input row order.

A general multi-column sort of 10M rows costs ~1.4 s here, and ~3-6 s on string ids that are
not already in order. Entity keys are 64-bit hashes (or dense ranks shifted into the high
bits), so a stable LSD radix sort on the key's top 22 bits (two 11-bit passes, each a
sequential read and a 2048-way scatter) puts most entities in a run of their own; each run
is then finished on gathered, contiguous arrays with an insertion sort (already in time order
when the export was) or, for long runs, a merge sort. Linear in the rows, order-blind.
"""

from __future__ import annotations

import numpy as np

from attrib._numba import njit

_SMALL_RUN = 32
#: two 11-bit digits: the key's top 22 bits (4M buckets; ~1M entities mostly get their own)
_BITS = 11
_RADIX = 1 << _BITS
_HIGH_SHIFT = 64 - _BITS
_LOW_SHIFT = 64 - 2 * _BITS
_SIGN = 1 << (_BITS - 1)  # flipped in the top digit so negative keys come first


@njit
def _digit(key, shift, flip):
    return ((key >> shift) & (_RADIX - 1)) ^ flip


@njit
def _before(k1, t1, c1, m1, k2, t2, c2, m2):
    """(key, ts, chan, camp) tuple order: the one comparison every sort step uses."""
    if k1 != k2:
        return k1 < k2
    if t1 != t2:
        return t1 < t2
    if c1 != c2:
        return c1 < c2
    return m1 < m2


@njit
def _less(a, b, key, ts, chan, camp):
    return _before(key[a], ts[a], chan[a], camp[a], key[b], ts[b], chan[b], camp[b])


@njit
def _insertion_sort(perm, lo, hi, key, ts, chan, camp):
    for i in range(lo + 1, hi):
        item = perm[i]
        j = i - 1
        while j >= lo and _less(item, perm[j], key, ts, chan, camp):
            perm[j + 1] = perm[j]
            j -= 1
        perm[j + 1] = item


@njit
def _merge_sort(perm, key, ts, chan, camp):
    """Stable bottom-up merge sort of the positions in ``perm`` (small blocks by insertion)."""
    n = perm.shape[0]
    for start in range(0, n, _SMALL_RUN):
        _insertion_sort(perm, start, min(start + _SMALL_RUN, n), key, ts, chan, camp)
    src = perm
    dst = np.empty_like(perm)
    width = _SMALL_RUN
    while width < n:
        for left in range(0, n, 2 * width):
            mid = min(left + width, n)
            right = min(left + 2 * width, n)
            i = left
            j = mid
            for k in range(left, right):
                if i < mid and (j >= right or not _less(src[j], src[i], key, ts, chan, camp)):
                    dst[k] = src[i]
                    i += 1
                else:
                    dst[k] = src[j]
                    j += 1
        src, dst = dst, src
        width *= 2
    return src


@njit
def _finish_run(lo, hi, key, ts, chan, camp, order):
    """Sort positions ``lo:hi`` of the gathered arrays (and ``order`` with them)."""
    if hi - lo <= _SMALL_RUN:  # in place: shift the five arrays together
        for i in range(lo + 1, hi):
            k, t, c, m, o = key[i], ts[i], chan[i], camp[i], order[i]
            j = i - 1
            while j >= lo and _before(k, t, c, m, key[j], ts[j], chan[j], camp[j]):
                key[j + 1], ts[j + 1], chan[j + 1], camp[j + 1] = key[j], ts[j], chan[j], camp[j]
                order[j + 1] = order[j]
                j -= 1
            key[j + 1], ts[j + 1], chan[j + 1], camp[j + 1], order[j + 1] = k, t, c, m, o
        return
    perm = _merge_sort(np.arange(lo, hi), key, ts, chan, camp)
    key[lo:hi] = key[perm]
    ts[lo:hi] = ts[perm]
    chan[lo:hi] = chan[perm]
    camp[lo:hi] = camp[perm]
    order[lo:hi] = order[perm]


@njit
def sort_touches(key, check, ts, chan, camp):
    """Sort touches by (key, ts, chan, camp), all ascending (``key`` int64, signed order).

    ``check`` is a second hash of each row's id: rows sharing a key but not the check are
    two ids in one key (a collision). Returns the row order (int64), the five arrays in that
    order (new arrays; the inputs are not modified) and whether a collision was seen.
    """
    n = key.shape[0]
    k_src = key.copy()
    o_src = np.arange(n)
    k_dst = np.empty_like(k_src)
    o_dst = np.empty_like(o_src)
    # one read for both histograms, then two scatter passes (low digit first: LSD, stable)
    counts = np.zeros((2, _RADIX + 1), dtype=np.int64)
    for i in range(n):
        counts[0, _digit(k_src[i], _LOW_SHIFT, 0) + 1] += 1
        counts[1, _digit(k_src[i], _HIGH_SHIFT, _SIGN) + 1] += 1
    for p, (shift, flip) in enumerate(((_LOW_SHIFT, 0), (_HIGH_SHIFT, _SIGN))):
        if counts[p].max() == n:  # every key has the same digit here: nothing moves
            continue
        for d in range(_RADIX):
            counts[p, d + 1] += counts[p, d]
        for i in range(n):
            d = _digit(k_src[i], shift, flip)
            pos = counts[p, d]
            k_dst[pos] = k_src[i]
            o_dst[pos] = o_src[i]
            counts[p, d] = pos + 1
        k_src, k_dst = k_dst, k_src
        o_src, o_dst = o_dst, o_src
    ts_s = np.empty(n, dtype=ts.dtype)
    chan_s = np.empty(n, dtype=chan.dtype)
    camp_s = np.empty(n, dtype=camp.dtype)
    for i in range(n):
        row = o_src[i]
        ts_s[i] = ts[row]
        chan_s[i] = chan[row]
        camp_s[i] = camp[row]
    lo = 0
    while lo < n:
        top = k_src[lo] >> _LOW_SHIFT
        hi = lo + 1
        while hi < n and (k_src[hi] >> _LOW_SHIFT) == top:
            hi += 1
        if hi - lo > 1:
            _finish_run(lo, hi, k_src, ts_s, chan_s, camp_s, o_src)
        lo = hi
    check_s = k_dst  # the scratch buffer is free again
    collided = False
    for i in range(n):
        check_s[i] = check[o_src[i]]
        if i and k_src[i] == k_src[i - 1] and check_s[i] != check_s[i - 1]:
            collided = True
    return o_src, k_src, check_s, ts_s, chan_s, camp_s, collided
