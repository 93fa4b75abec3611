"""numba kernel of the funnel's reached stages: per entity, the earliest time at each stage."""

from __future__ import annotations

import numpy as np

from attrib._numba import njit
from attrib.encoded import US_PER_DAY

#: "no time": a stage not reached (a null timestamp in the input is passed as this too)
NO_TIME = np.iinfo(np.int64).max


@njit
def reached_rows(keys, ts, stage, source, position, n_present):
    """Rows sorted by entity key -> one output row per (entity, present stage reached).

    ``stage``: index into the funnel's stage order; ``position[stage]``: its index among the
    present stages (-1: not present). ``source``: the row's first-touch index (-1: none;
    only the entity's first-touch record, its session, has one). The time at stage p is the
    earliest record at p or any later present stage. Returns, per output row: the entity's
    first sorted row, the present-stage index, the time, the previous present stage's time
    (NO_TIME for the first), the entry time (at the first present stage) and the entity's
    source: its first-touch index, or -1 when that touch came after the entity's first
    milestone (its earliest record other than the session: a lead, a deal, ...), which the
    touch then did not source; a milestone at midnight exactly (a date) counts its whole day,
    up to any timed milestone of that day.
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
        touched = NO_TIME
        # the latest time a sourcing touch may have: every milestone's, where one at midnight
        # exactly is a date without a time, so its whole day (a touch later that day came
        # before it as far as anyone can tell) but not past a timed milestone that day
        deadline = NO_TIME
        for i in range(lo, hi):
            p = position[stage[i]]
            if p >= 0 and ts[i] < earliest[p]:
                earliest[p] = ts[i]
            if source[i] >= 0:
                src = source[i]
                touched = ts[i]
            elif p >= 0 and ts[i] != NO_TIME:
                m = ts[i] + (US_PER_DAY - 1) if ts[i] % US_PER_DAY == 0 else ts[i]
                if m < deadline:
                    deadline = m
        if touched > deadline:
            src = -1
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


@njit
def _month_of_day(z):
    """Month key of a day number (days since 1970-01-01): H. Hinnant's ``civil_from_days``."""
    z += 719468  # days since 0000-03-01
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month = mp + 3 if mp < 10 else mp - 9
    year = yoe + era * 400 + (1 if month <= 2 else 0)
    return year * 12 + month - 1


@njit
def month_keys(us):
    """Month key (``year * 12 + month - 1``, as ``periods.month_key``) of each microsecond
    timestamp. The civil date is worked out once per day of the range (a table), not per
    row: one division and a lookup a row."""
    n = us.shape[0]
    out = np.empty(n, dtype=np.int32)
    if n == 0:
        return out
    first = last = us[0]
    for i in range(n):
        first = min(first, us[i])
        last = max(last, us[i])
    lo = first // US_PER_DAY
    hi = last // US_PER_DAY
    if hi - lo > n:  # a sparse range: the table would cost more than it saves
        for i in range(n):
            out[i] = _month_of_day(us[i] // US_PER_DAY)
        return out
    table = np.empty(hi - lo + 1, dtype=np.int32)
    for d in range(lo, hi + 1):
        table[d - lo] = _month_of_day(d)
    for i in range(n):
        out[i] = table[us[i] // US_PER_DAY - lo]
    return out


@njit
def _select(a, lo, hi, k):
    """Reorder ``a[lo:hi]`` in place so that ``a[k]`` holds the value a full sort would put
    there, smaller-or-equal values before it (quickselect, median-of-three pivot)."""
    hi -= 1
    while hi > lo:
        mid = (lo + hi) // 2
        if a[mid] < a[lo]:
            a[mid], a[lo] = a[lo], a[mid]
        if a[hi] < a[lo]:
            a[hi], a[lo] = a[lo], a[hi]
        if a[hi] < a[mid]:
            a[hi], a[mid] = a[mid], a[hi]
        pivot = a[mid]
        i, j = lo, hi
        while i <= j:
            while a[i] < pivot:
                i += 1
            while pivot < a[j]:
                j -= 1
            if i <= j:
                a[i], a[j] = a[j], a[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


@njit
def _median_of(a, lo, hi):
    """Median of the non-empty ``a[lo:hi]`` (reordered in place), as Polars computes it:
    the middle value, or ``lo + (hi - lo) * 0.5`` of the two middle values."""
    k = lo + (hi - lo) // 2
    _select(a, lo, hi, k)
    upper = a[k]
    if (hi - lo) % 2:
        return upper
    lower = a[lo]
    for i in range(lo + 1, k):
        if a[i] > lower:
            lower = a[i]
    return lower + (upper - lower) * 0.5


@njit
def _grouped(group, n_groups, values, buf):
    """Stable counting sort of ``values`` by ``group`` into ``buf``; the group starts."""
    starts = np.zeros(n_groups + 1, dtype=np.int64)
    for i in range(group.shape[0]):
        starts[group[i] + 1] += 1
    for g in range(n_groups):
        starts[g + 1] += starts[g]
    fill = starts[:-1].copy()
    for i in range(group.shape[0]):
        buf[fill[group[i]]] = values[i]
        fill[group[i]] += 1
    return starts


@njit
def period_medians(month, channel, n_channels, days):
    """Medians of ``days`` per (period, channel) and per period over all channels, for the
    month, quarter and whole-window periods of one funnel slice.

    ``month``: each row's month index counted from the first month of a quarter (so that
    ``month // 3`` is the quarter index), ``channel``: dense codes in ``[0, n_channels)``.
    Returns six float arrays (NaN: no rows), group ``period * n_channels + channel``: by
    (month, channel), by month, by (quarter, channel), by quarter, by channel and overall.
    Each period kind is one counting sort (a period's channels adjacent, so the period's
    rows are contiguous too) and a selection per group: linear, no full sort.
    """
    n = days.shape[0]
    n_months = 0
    for i in range(n):
        if month[i] + 1 > n_months:
            n_months = month[i] + 1
    n_quarters = (n_months + 2) // 3 + 1
    buf = np.empty(n, dtype=np.float64)
    out = []
    for period, n_periods in ((0, n_months), (1, n_quarters), (2, 1)):
        group = np.empty(n, dtype=np.int64)
        for i in range(n):
            p = month[i] if period == 0 else (month[i] // 3 if period == 1 else 0)
            group[i] = p * n_channels + channel[i]
        starts = _grouped(group, n_periods * n_channels, days, buf)
        by_channel = np.full(n_periods * n_channels, np.nan)
        overall = np.full(n_periods, np.nan)
        for g in range(n_periods * n_channels):
            if starts[g + 1] > starts[g]:
                by_channel[g] = _median_of(buf, starts[g], starts[g + 1])
        for p in range(n_periods):
            lo = starts[p * n_channels]
            hi = starts[(p + 1) * n_channels]
            if hi > lo:
                overall[p] = _median_of(buf, lo, hi)
        out.append(by_channel)
        out.append(overall)
    return out[0], out[1], out[2], out[3], out[4], out[5]


@njit
def stage_counts(month, channel, stage, keep, n_channels, n_stages):
    """Rows kept per (month, channel, stage): (first month, int64 [M, C, S] counts).

    ``month``: month keys; ``channel``: dense codes in ``[0, n_channels)``; ``stage``: stage
    order in ``[0, n_stages)``; ``keep``: the rows to count (inside the window). A dense
    array replaces a three-key group-by: a few months x channels x stages.
    """
    lo = np.iinfo(np.int32).max
    hi = np.iinfo(np.int32).min
    for i in range(month.shape[0]):
        if keep[i]:
            lo = min(lo, month[i])
            hi = max(hi, month[i])
    if lo > hi:
        return 0, np.zeros((0, n_channels, n_stages), dtype=np.int64)
    counts = np.zeros((hi - lo + 1, n_channels, n_stages), dtype=np.int64)
    for i in range(month.shape[0]):
        if keep[i]:
            counts[month[i] - lo, channel[i], stage[i]] += 1
    return lo, counts
