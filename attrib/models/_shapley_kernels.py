"""Numba kernels of the Shapley model: coalition bitmasks, exact and sampled Shapley values."""

from __future__ import annotations

import math

import numpy as np

from attrib._numba import njit


@njit
def _journey_masks(starts, ends, channel, bit_of_code):
    """int64 [J]: bitmask of the distinct channels of each journey's touches
    ``starts[j]:ends[j]`` (0 for no touch)."""
    n_j = starts.shape[0]
    out = np.zeros(n_j, dtype=np.int64)
    for j in range(n_j):
        m = np.int64(0)
        for t in range(starts[j], ends[j]):
            b = bit_of_code[channel[t]]
            if b >= 0:
                m |= np.int64(1) << np.int64(b)
        out[j] = m
    return out


@njit
def _subset_sums(v, n):
    """In place: v[S] <- sum of v[T] over all T subset of S (zeta transform)."""
    for i in range(n):
        bit = 1 << i
        for s in range(1 << n):
            if s & bit:
                v[s] += v[s ^ bit]
    return v


@njit
def _exact_shapley(v, n):
    """Shapley values of the game v (dense over all 2**n coalitions, v[0] = v(empty))."""
    size = 1 << n
    pop = np.zeros(size, dtype=np.int64)
    for s in range(1, size):
        pop[s] = pop[s >> 1] + (s & 1)
    # w[s] = s! (n - s - 1)! / n!
    w = np.empty(n, dtype=np.float64)
    w[0] = 1.0 / n
    for s in range(1, n):
        w[s] = w[s - 1] * s / (n - s)
    phi = np.zeros(n, dtype=np.float64)
    for s in range(size):
        k = pop[s]
        if k == n:
            continue
        ws = w[k]
        vs = v[s]
        for i in range(n):
            bit = 1 << i
            if (s & bit) == 0:
                phi[i] += ws * (v[s | bit] - vs)
    return phi


@njit
def _value(s, keys, rates, subset_sum):
    """v(S): the rate of coalition S (0 if unobserved), or the sum over observed T subset S."""
    if subset_sum:
        tot = 0.0
        for k in range(keys.shape[0]):
            if (keys[k] & ~s) == 0:
                tot += rates[k]
        return tot
    i = np.searchsorted(keys, s)
    if i < keys.shape[0] and keys[i] == s:
        return rates[i]
    return 0.0


@njit
def _sampled_shapley(perms, keys, rates, subset_sum):
    """Permutation-sampling Shapley values and their standard errors (keys sorted)."""
    n_p, n = perms.shape
    s1 = np.zeros(n, dtype=np.float64)
    s2 = np.zeros(n, dtype=np.float64)
    for p in range(n_p):
        s = np.int64(0)
        vs = 0.0
        for step in range(n):
            i = perms[p, step]
            s_new = s | (np.int64(1) << np.int64(i))
            v_new = _value(s_new, keys, rates, subset_sum)
            m = v_new - vs
            s1[i] += m
            s2[i] += m * m
            s = s_new
            vs = v_new
    mean = s1 / n_p
    se = np.zeros(n, dtype=np.float64)
    if n_p > 1:
        for i in range(n):
            var = (s2[i] - n_p * mean[i] * mean[i]) / (n_p - 1)
            se[i] = math.sqrt(max(var, 0.0) / n_p)
    return mean, se
