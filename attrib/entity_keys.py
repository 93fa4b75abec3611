"""Sort keys for entity ids: equal ids get equal int64 keys, whatever the input row order.

Ranking 10M string ids costs ~1 s on an export already grouped by customer and ~4 s on one in
time order; hashing them costs ~0.05 s. Keys are a 64-bit hash of the id, checked against a
second, independently seeded hash: two ids sharing the first hash but not the second are a
detected collision, and the keys fall back to an exact dense rank of the id text. Journeys are
therefore ordered by key (deterministic for a given Polars version), not by id text.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from attrib._code_kernels import dense_codes
from attrib._sort_kernels import shared_keys_differ, sort_touches

_KEY_SEED = 0x5EED
_CHECK_SEED = 0xC0FFEE


def _hash(ids: pl.Series, seed: int) -> np.ndarray:
    # as text: touch and deal ids of different dtypes (an adapter's categorical) still match
    return ids.cast(pl.String).hash(seed=seed).to_numpy().view(np.int64)


def hash_pair(values: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Two independently seeded int64 hashes per value: the key and its collision check."""
    return _hash(values, _KEY_SEED), _hash(values, _CHECK_SEED)


def dense_values(values: pl.Series) -> tuple[np.ndarray, pl.Series]:
    """int32 code per row (dense, in first-seen order) and the distinct values they index.

    Numbered by 64-bit hash in a numba table (``_code_kernels``): only the distinct values
    are touched as text. A detected hash collision falls back to an exact join on the text.
    A null is a value of its own.
    """
    codes, first, collided = dense_codes(*hash_pair(values))
    if not collided:
        return codes, values.gather(first)
    distinct = values.unique(maintain_order=True)
    index = pl.DataFrame({"v": distinct, "i": np.arange(len(distinct), dtype=np.int32)})
    joined = pl.DataFrame({"v": values}).join(
        index, on="v", how="left", nulls_equal=True, maintain_order="left"
    )
    return joined.get_column("i").to_numpy(), distinct


def rank_keys(touch_ids: pl.Series, deal_ids: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """Exact keys: dense rank of the id text over touches and deals, spread over [0, 2^62] so
    that the sort's top-bit buckets still separate most entities (a bucket holds several
    past ~1M entities: still correct, a little slower)."""
    ids = pl.concat([touch_ids.cast(pl.String), deal_ids.cast(pl.String)], rechunk=True)
    ranks = ids.rank("dense").cast(pl.Int64).to_numpy()
    step = np.int64(2**62) // np.int64(max(int(ranks.max()) if len(ranks) else 1, 1))
    keys = ranks * step
    return keys[: len(touch_ids)], keys[len(touch_ids) :]


def _collides(keys: np.ndarray, checks: np.ndarray) -> bool:
    """True when two rows share a key but not the check hash (``keys`` sorted)."""
    same = keys[1:] == keys[:-1]
    return bool(np.any(same & (checks[1:] != checks[:-1])))


def _others_collide(
    keys: np.ndarray,
    order: np.ndarray,
    checks: np.ndarray,
    o_keys: np.ndarray,
    o_checks: np.ndarray,
) -> bool:
    """Whether two different ids share a key among the other ids, or between another id and
    a sorted row's (``keys``: the sorted rows' keys, ``order`` their input rows, ``checks``
    the input rows' check hashes)."""
    if not len(o_keys):
        return False
    o_order = np.argsort(o_keys, kind="stable")
    o_keys, o_checks = o_keys[o_order], o_checks[o_order]
    if _collides(o_keys, o_checks):
        return True
    return bool(shared_keys_differ(keys, order, checks, o_keys, o_checks))


def sort_by_entity(
    ids: pl.Series,
    ts: np.ndarray,
    first: np.ndarray,
    second: np.ndarray,
    *,
    others: pl.Series | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows sorted by (entity key, ts, first, second), and the keys of ``others`` (ids that
    must share the rows' keys, e.g. the deals' entities beside the touches').

    Returns (row order, sorted keys, the three arrays in that order, the others' keys). Keys
    are hashes; a collision among all the ids (rows' and others') switches every key to the
    exact dense rank of the id text.
    """
    others = ids.clear() if others is None else others
    o_keys, o_checks = hash_pair(others)
    keys, checks = hash_pair(ids)
    order, sorted_keys, ts_s, first_s, second_s, collided = sort_touches(
        keys, checks, ts, first, second
    )
    if collided or _others_collide(sorted_keys, order, checks, o_keys, o_checks):
        keys, o_keys = rank_keys(ids, others)
        order, sorted_keys, ts_s, first_s, second_s, _ = sort_touches(keys, keys, ts, first, second)
    return order, sorted_keys, ts_s, first_s, second_s, o_keys
