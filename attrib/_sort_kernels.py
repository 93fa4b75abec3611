"""numba sort of touches by (entity key, ts, channel, campaign), whatever the input row order.

A general multi-column sort of 10M rows costs ~1.4 s here, and ~3-6 s on string ids that are
not already in order. Entity keys are 64-bit hashes (or dense ranks shifted into the high
bits), so a radix sort on the key's top 22 bits puts most entities in a run of their own: a
stable 2048-way scatter by the top 11 bits that copies every sorted column along (sequential
reads: the later steps never read the input at random), then inside each bucket (a few
thousand rows, cache-resident) a stable counting sort by the next 11 bits. Each run of equal
top 22 bits is then finished in place with an insertion sort (already in time order when the
export was) or, for long runs, a merge sort. Linear in the rows, order-blind, and split in
two halves that two threads sort side by side (~0.37 s at 10M time-ordered rows; ~0.52 s
when the buckets gathered their columns from the input at random, ~1.05 s in one thread).
"""

from __future__ import annotations

import numpy as np

from attrib._numba import njit
from attrib._threads import side_by_side

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
def _finish_run(lo, hi, key, ts, chan, camp, order, check):
    """Sort positions ``lo:hi`` of the bucketed arrays (``order`` and ``check`` with them)."""
    if hi - lo <= _SMALL_RUN:  # in place: shift the six arrays together
        for i in range(lo + 1, hi):
            k, t, c, m, o, h = key[i], ts[i], chan[i], camp[i], order[i], check[i]
            j = i - 1
            while j >= lo and _before(k, t, c, m, key[j], ts[j], chan[j], camp[j]):
                key[j + 1], ts[j + 1], chan[j + 1], camp[j + 1] = key[j], ts[j], chan[j], camp[j]
                order[j + 1], check[j + 1] = order[j], check[j]
                j -= 1
            key[j + 1], ts[j + 1], chan[j + 1], camp[j + 1] = k, t, c, m
            order[j + 1], check[j + 1] = o, h
        return
    perm = _merge_sort(np.arange(lo, hi), key, ts, chan, camp)
    key[lo:hi] = key[perm]
    ts[lo:hi] = ts[perm]
    chan[lo:hi] = chan[perm]
    camp[lo:hi] = camp[perm]
    order[lo:hi] = order[perm]
    check[lo:hi] = check[perm]


@njit
def _top_counts(key, lo, hi):
    """How many of rows ``lo:hi`` fall in each top-digit bucket."""
    counts = np.zeros(_RADIX, dtype=np.int64)
    for i in range(lo, hi):
        counts[_digit(key[i], _HIGH_SHIFT, _SIGN)] += 1
    return counts


@njit
def _top_scatter(rows, lo, hi, fill, top):
    """Scatter rows ``lo:hi`` by top digit, from ``fill`` (each bucket's next position):
    ``rows`` = (key, check, ts, chan, camp) are read in order and copied, with each row's
    index, into ``top`` = (key, order, check, ts, chan, camp). Sequential reads and 2048
    write streams: the buckets then never read the input at random."""
    key, check, ts, chan, camp = rows
    k_top, o_top, c_top, t_top, h_top, m_top = top
    for i in range(lo, hi):
        d = _digit(key[i], _HIGH_SHIFT, _SIGN)
        pos = fill[d]
        k_top[pos] = key[i]
        o_top[pos] = i
        c_top[pos] = check[i]
        t_top[pos] = ts[i]
        h_top[pos] = chan[i]
        m_top[pos] = camp[i]
        fill[d] = pos + 1


@njit
def _sort_buckets(b_lo, b_hi, starts, top):
    """Finish top buckets ``b_lo:b_hi`` (their rows: ``starts[b_lo]:starts[b_hi]``) of the
    scattered arrays ``top`` = (key, order, check, ts, chan, camp), in place: a stable
    counting sort on the second digit inside each bucket (a few thousand rows: it stays in
    cache), then each run of equal top 22 bits by the full comparison. Returns whether a
    collision was seen (two adjacent rows sharing a key but not their check).

    Buckets are independent, so two threads may each finish a disjoint range of them.
    """
    k, o, c, t, h, m = top
    counts = np.zeros(_RADIX + 1, dtype=np.int64)
    cap = 1  # scratch for the largest bucket of the range, allocated once
    for b in range(b_lo, b_hi):
        cap = max(cap, starts[b + 1] - starts[b])
    k_tmp, o_tmp, c_tmp = np.empty(cap, k.dtype), np.empty(cap, o.dtype), np.empty(cap, c.dtype)
    t_tmp, h_tmp, m_tmp = np.empty(cap, t.dtype), np.empty(cap, h.dtype), np.empty(cap, m.dtype)
    collided = False
    for b in range(b_lo, b_hi):
        lo = starts[b]
        hi = starts[b + 1]
        if hi - lo == 0:
            continue
        if hi - lo > 1:  # a stable counting sort on the second digit, back in place
            counts[:] = 0
            for i in range(lo, hi):
                j = i - lo
                k_tmp[j], o_tmp[j], c_tmp[j] = k[i], o[i], c[i]
                t_tmp[j], h_tmp[j], m_tmp[j] = t[i], h[i], m[i]
                counts[_digit(k[i], _LOW_SHIFT, 0) + 1] += 1
            for d in range(_RADIX):
                counts[d + 1] += counts[d]
            for j in range(hi - lo):
                d = _digit(k_tmp[j], _LOW_SHIFT, 0)
                pos = lo + counts[d]
                k[pos], o[pos], c[pos] = k_tmp[j], o_tmp[j], c_tmp[j]
                t[pos], h[pos], m[pos] = t_tmp[j], h_tmp[j], m_tmp[j]
                counts[d] += 1
        run = lo
        while run < hi:
            high = k[run] >> _LOW_SHIFT
            end = run + 1
            while end < hi and (k[end] >> _LOW_SHIFT) == high:
                end += 1
            if end - run > 1:
                _finish_run(run, end, k, t, h, m, o, c)
            run = end
        for i in range(lo + 1, hi):
            if k[i] == k[i - 1] and c[i] != c[i - 1]:
                collided = True
    return collided


@njit
def shared_keys_differ(keys, order, checks, o_keys, o_checks):
    """Whether a key of the sorted ``o_keys`` is a sorted row's key (``keys``, signed order)
    with another check than that row's (``checks[order[i]]``). One pass over both, each
    next key found by galloping from the last one (~40 rows apart for 261k deals among 10M
    touches: a linear walk or a binary search per key read several times more)."""
    i = 0
    n = keys.shape[0]
    for j in range(o_keys.shape[0]):
        k = o_keys[j]
        if i < n and keys[i] < k:  # gallop: keys[lo] < k, then bisect (lo, hi]
            lo = i
            step = 1
            while lo + step < n and keys[lo + step] < k:
                lo += step
                step *= 2
            hi = min(lo + step, n)
            lo += 1
            while lo < hi:
                mid = (lo + hi) // 2
                if keys[mid] < k:
                    lo = mid + 1
                else:
                    hi = mid
            i = lo
        if i == n:
            return False
        if keys[i] == k and checks[order[i]] != o_checks[j]:
            return True
    return False


#: below this many rows one thread sorts everything (a second one costs more than it saves)
_PARALLEL_ROWS = 200_000


def sort_touches(key, check, ts, chan, camp):
    """Sort touches by (key, ts, chan, camp), all ascending (``key`` int64, signed order).

    ``check`` is a second hash of each row's id: rows sharing a key but not the check are
    two ids in one key (a collision). Returns the row order (int64), the key, ts, chan and
    camp arrays in that order (new arrays; the inputs are not modified) and whether a
    collision was seen.

    A stable scatter by the key's top 11 bits (counted and scattered by halves of the rows:
    the first half's rows go first in each bucket), then the buckets are finished
    independently, split at the bucket nearest half the rows. Each step's two halves run in
    two threads (the kernels release the GIL), so the sort uses both cores.
    """
    n = key.shape[0]
    h = n // 2
    rows = (key, check, ts, chan, camp)
    top = (
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=np.int64),
        np.empty(n, dtype=check.dtype),
        np.empty(n, dtype=ts.dtype),
        np.empty(n, dtype=chan.dtype),
        np.empty(n, dtype=camp.dtype),
    )
    two = n >= _PARALLEL_ROWS
    lower, upper = side_by_side(
        lambda: _top_counts(key, 0, h), lambda: _top_counts(key, h, n), parallel=two
    )
    starts = np.zeros(_RADIX + 1, dtype=np.int64)
    np.cumsum(lower + upper, out=starts[1:])
    fill_lower, fill_upper = starts[:-1].copy(), starts[:-1] + lower
    side_by_side(
        lambda: _top_scatter(rows, 0, h, fill_lower, top),
        lambda: _top_scatter(rows, h, n, fill_upper, top),
        parallel=two,
    )
    mid = int(np.searchsorted(starts, h))
    collided = side_by_side(
        lambda: _sort_buckets(0, mid, starts, top),
        lambda: _sort_buckets(mid, _RADIX, starts, top),
        parallel=two,
    )
    k_top, o_top, _, ts_out, chan_out, camp_out = top
    return o_top, k_top, ts_out, chan_out, camp_out, any(collided)
