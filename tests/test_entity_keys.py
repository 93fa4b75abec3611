"""Hashed keys and codes: the numba touch sort gives a reference lexsort's order, the dense
codes number distinct hashes, and collisions are detected and resolved by the exact fallback."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
import pytest
from conftest import RULE_BASED, deals, run_job, touches
from hypothesis import given, settings
from hypothesis import strategies as st

import attrib.entity_keys as ek
from attrib._sort_kernels import sort_touches


def _reference(key, ts, chan, camp):
    return np.lexsort((camp, chan, ts, key))


@st.composite
def touch_arrays(draw):
    n = draw(st.integers(0, 300))
    n_keys = draw(st.integers(1, 40))
    base = np.array(
        draw(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=n_keys, max_size=n_keys)),
        dtype=np.int64,
    )
    if draw(st.booleans()):  # keys sharing their top bits: one radix bucket, several entities
        base = (base[0] & ~np.int64(0xFFFFFFFFFF)) | np.arange(n_keys, dtype=np.int64)
    pick = np.array(draw(st.lists(st.integers(0, n_keys - 1), min_size=n, max_size=n)))
    key = base[pick] if n else np.zeros(0, dtype=np.int64)
    ts = np.array(draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)), dtype=np.int64)
    chan = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int32)
    camp = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=np.int32)
    return key, ts, chan, camp


@settings(max_examples=150, deadline=None)
@given(touch_arrays())
def test_sort_touches_matches_lexsort(arrays):
    key, ts, chan, camp = arrays
    order, key_s, ts_s, chan_s, camp_s, collided = sort_touches(key, key, ts, chan, camp)
    ref = _reference(key, ts, chan, camp)
    for got, column in ((key_s, key), (ts_s, ts), (chan_s, chan), (camp_s, camp)):
        np.testing.assert_array_equal(got, column[ref])
    np.testing.assert_array_equal(key[order], key[ref])  # the order is a permutation of rows
    assert sorted(order.tolist()) == list(range(len(key)))
    assert not collided


def test_long_runs_use_the_merge_sort():
    """One entity with 5,000 shuffled touches (runs over 32 rows are merge-sorted)."""
    rng = np.random.default_rng(3)
    n = 5_000
    key = np.full(n, 42, dtype=np.int64)
    ts = rng.integers(0, 300, n).astype(np.int64)
    chan = rng.integers(0, 5, n).astype(np.int32)
    camp = rng.integers(0, 5, n).astype(np.int32)
    order, *_ = sort_touches(key, key, ts, chan, camp)
    ref = _reference(key, ts, chan, camp)
    np.testing.assert_array_equal(ts[order], ts[ref])
    np.testing.assert_array_equal(order, ref)  # stable: equal rows keep their input order


@pytest.mark.parametrize("n", [0, 1, 2, 7, 20_000])
def test_two_thread_sort_matches_lexsort(monkeypatch, n):
    """The two-thread path (forced on small inputs): halves split inside and across
    buckets, shared top bits, exact ties (stable: input order)."""
    import attrib._sort_kernels as sk

    monkeypatch.setattr(sk, "_PARALLEL_ROWS", 0)
    rng = np.random.default_rng(n)
    base = rng.integers(-(2**63), 2**63 - 1, max(n // 8, 1), dtype=np.int64)
    base[: len(base) // 2] = (base[0] & ~np.int64(0xFFFFFFFFF)) | np.arange(len(base) // 2)
    key = base[rng.integers(0, len(base), n)]
    ts = rng.integers(0, 20, n).astype(np.int64)
    chan = rng.integers(0, 3, n).astype(np.int32)
    camp = rng.integers(0, 3, n).astype(np.int32)
    check = key * 3 + 1
    order, key_s, ts_s, chan_s, camp_s, collided = sk.sort_touches(key, check, ts, chan, camp)
    ref = np.lexsort((np.arange(n), camp, chan, ts, key))
    np.testing.assert_array_equal(order, ref)
    for got, column in ((key_s, key), (ts_s, ts), (chan_s, chan), (camp_s, camp)):
        np.testing.assert_array_equal(got, column[ref])
    assert not collided
    if n > 2:  # a collision in either half is reported
        check[np.flatnonzero(key == key[-1])[0]] += 1
        assert sk.sort_touches(key, check, ts, chan, camp)[-1] == (np.sum(key == key[-1]) > 1)


def test_sort_flags_a_key_shared_by_two_check_values():
    key = np.array([7, 7, 3], dtype=np.int64)
    check = np.array([1, 2, 9], dtype=np.int64)
    zeros = np.zeros(3, dtype=np.int64)
    assert sort_touches(key, check, zeros, zeros.astype(np.int32), zeros.astype(np.int32))[-1]


def _colliding_hash(ids: pl.Series, seed: int):
    """Every id gets key 1 (a collision for all); the check hash stays the real one."""
    real = ids.hash(seed=seed).to_numpy().view(np.int64)
    return np.ones_like(real) if seed == ek._KEY_SEED else real


def test_collisions_fall_back_to_exact_keys(monkeypatch):
    t_ids = pl.Series(["b", "a", "c", "a", "b"])
    d_ids = pl.Series(["a", "z"])
    ts = np.array([5, 4, 3, 2, 1], dtype=np.int64)
    zeros = np.zeros(5, dtype=np.int32)
    monkeypatch.setattr(ek, "_hash", _colliding_hash)
    order, keys, ts_s, *_, d_keys = ek.sort_by_entity(t_ids, ts, zeros, zeros, others=d_ids)
    assert t_ids.gather(order).to_list() == ["a", "a", "b", "b", "c"]  # rank order: exact
    assert ts_s.tolist() == [2, 4, 1, 5, 3]
    assert len(set(keys.tolist())) == 3
    assert d_keys[0] == keys[0]
    assert d_keys[1] not in set(keys.tolist())


def test_deal_only_collision_is_detected(monkeypatch):
    """A deal's id colliding with a touch's id (no collision among touches)."""

    def fake(ids: pl.Series, seed: int):
        real = ids.hash(seed=seed).to_numpy().view(np.int64)
        if seed != ek._KEY_SEED:
            return real
        return np.array([1 if v in ("a", "z") else 2 for v in ids.to_list()], dtype=np.int64)

    monkeypatch.setattr(ek, "_hash", fake)
    zeros = np.zeros(2, dtype=np.int32)
    _, keys, _, _, _, d_keys = ek.sort_by_entity(
        pl.Series(["a", "b"]), np.array([1, 2]), zeros, zeros, others=pl.Series(["z"])
    )
    assert d_keys[0] not in set(keys.tolist())  # "z" got its own (rank) key


T = [
    ("c1", "2025-01-01", "Email"),
    ("c2", "2025-01-02", "Webinar"),
    ("c1", "2025-01-03", "Display"),
    ("c3", "2025-01-04", "Email"),
    ("c2", "2025-01-05", "Referral"),
]
D = [
    ("d1", "c1", "2025-01-03", "2025-01-06", "won", 100),
    ("d2", "c2", "2025-01-01", "2025-01-09", "won", 40),
    ("d3", "c4", "2025-01-01", "2025-01-02", "lost", 10),
]


@pytest.mark.parametrize("model", RULE_BASED)
def test_forced_collisions_give_the_same_credit(tmp_path, monkeypatch, model):
    kwargs = {"touches": touches(T), "deals": deals(D), "models": [model]}
    normal = run_job(tmp_path / "a", **kwargs)
    monkeypatch.setattr(ek, "_hash", _colliding_hash)
    forced = run_job(tmp_path / "b", **kwargs)
    key = ["model", "channel"]
    assert normal.channel_summary.sort(key).equals(forced.channel_summary.sort(key))
    order = ["deal_id", "entity_id", "n_touches"]
    a = normal.tables["journeys"].drop("journey_id").sort(order, nulls_last=True)
    b = forced.tables["journeys"].drop("journey_id").sort(order, nulls_last=True)
    assert a.equals(b)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=300), st.data())
def test_dense_codes_number_distinct_hashes(distinct, data):
    from attrib._code_kernels import dense_codes

    values = np.array(distinct, dtype=np.int64)
    pick = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=2000))
    h1 = values[np.array(pick, dtype=np.int64)] if pick else np.zeros(0, dtype=np.int64)
    codes, first, collided = dense_codes(h1, h1)
    assert not collided
    if not pick:
        assert len(first) == 0
        return
    np.testing.assert_array_equal(h1[first][codes], h1)  # each code stands for one hash
    assert len(first) == len(np.unique(h1))  # and each hash has one code
    assert list(first) == sorted(first)  # numbered in first-seen order


def test_dense_codes_flag_a_shared_first_hash():
    from attrib._code_kernels import dense_codes

    h1 = np.array([5, 9, 5], dtype=np.int64)
    assert dense_codes(h1, np.array([1, 2, 1], dtype=np.int64))[2] is False
    assert dense_codes(h1, np.array([1, 2, 3], dtype=np.int64))[2] is True


def test_channel_codes_fall_back_on_a_collision(monkeypatch):
    """A reported hash collision numbers the values exactly (a join on the text), nulls
    included, as the hashed path does."""
    import attrib.journey_codes as journey_codes

    def colliding(h1, h2):
        codes, first, _ = real(h1, h2)
        return codes, first, True

    real = ek.dense_codes
    series = pl.Series(["b", None, "a", "b", None])
    expected = journey_codes.local_codes(series, "(none)")
    hashed = ek.dense_values(series)
    monkeypatch.setattr(ek, "dense_codes", colliding)
    codes, names = journey_codes.local_codes(series, "(none)")
    assert [names[c] for c in codes] == ["b", "(none)", "a", "b", "(none)"]
    assert [expected[1][c] for c in expected[0]] == ["b", "(none)", "a", "b", "(none)"]
    exact = ek.dense_values(series)
    assert exact[0].tolist() == hashed[0].tolist() == [0, 1, 2, 0, 1]
    assert exact[1].to_list() == hashed[1].to_list() == ["b", None, "a"]


@pytest.mark.parametrize("forced", [False, True])
def test_deal_lead_anchor_by_hash_equals_the_text_join(monkeypatch, forced):
    """Each deal's earliest lead/MQL time (and its entity's earliest timed milestone),
    joined on hashed ids, equals the join on the id text; with every id hashed alike (a
    collision) it falls back to the text."""
    from attrib.journeys import _MAX_TS, _MIN_TS, _deal_leads

    stage_rows = pl.DataFrame(
        {
            "entity_id": ["a", "a", "b", "c", "c", "e", None, "b", "c", "c"],
            "stage": ["mql", "lead", "sql", "lead", "lead", "mql", "lead", "sql", "sql", "sql"],
            "ts": [dt.datetime(2025, 1, d) for d in (5, 7, 1, 9, 3, 2, 1)]
            + [
                dt.datetime(2025, 1, 4, 11),
                dt.datetime(2025, 1, 2, 10),
                dt.datetime(2025, 1, 3, 8),
            ],
        },
        schema_overrides={"ts": pl.Datetime("us")},
    )
    # a null id is no entity: it takes no lead, not even a null-id stage row's
    deal_rows = pl.DataFrame({"entity_id": ["c", "a", "b", "d", "a", None]})
    if forced:
        monkeypatch.setattr(ek, "_hash", _colliding_hash)
    lead, timed = (s.to_list() for s in _deal_leads(stage_rows, deal_rows))
    us = [
        (t - dt.datetime(1970, 1, 1)) // dt.timedelta(microseconds=1)
        for t in (
            dt.datetime(2025, 1, 3),
            dt.datetime(2025, 1, 5),
            dt.datetime(2025, 1, 4, 11),
            dt.datetime(2025, 1, 3, 8),
        )
    ]
    assert lead == [us[0], us[1], _MIN_TS, _MIN_TS, us[1], _MIN_TS]
    # b's 11:00 sql: the only record with a time (its Jan 1 sql is a date); c's first from its
    # Jan 3 lead on (its Jan 2 10:00 sql, dated before the lead, is out of order)
    assert timed == [us[3], _MAX_TS, us[2], _MAX_TS, _MAX_TS, _MAX_TS]


@settings(max_examples=60, deadline=None)
@given(
    stage_rows=st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c", "d", None]),
            st.sampled_from(["lead", "mql", "sql", "customer", "session"]),
            st.one_of(st.none(), st.tuples(st.integers(1, 28), st.sampled_from((0, 9)))),
        ),
        max_size=30,
    ),
    deal_ids=st.lists(st.sampled_from(["a", "b", "c", "e", None]), min_size=1, max_size=8),
)
def test_deal_lead_anchor_matches_the_text_join(stage_rows, deal_ids):
    """The hashed one-pass anchor equals a plain group-by and join on the id text (null ids
    and null times match nothing)."""
    from attrib.journeys import _MAX_TS, _MIN_TS, _deal_leads, _stage_times

    stages = pl.DataFrame(
        {
            "entity_id": [r[0] for r in stage_rows],
            "stage": [r[1] for r in stage_rows],
            "ts": [None if r[2] is None else dt.datetime(2025, 1, *r[2]) for r in stage_rows],
        },
        schema={"entity_id": pl.String, "stage": pl.String, "ts": pl.Datetime("us")},
    )
    deals = pl.DataFrame({"entity_id": deal_ids}, schema={"entity_id": pl.String})
    expected = deals.join(
        _stage_times(stages.filter(pl.col("entity_id").is_not_null())),
        on="entity_id",
        how="left",
        maintain_order="left",
    )
    lead, timed = _deal_leads(stages, deals)
    assert lead.to_list() == expected["__lead"].dt.epoch("us").fill_null(_MIN_TS).to_list()
    assert timed.to_list() == expected["__timed"].dt.epoch("us").fill_null(_MAX_TS).to_list()


@settings(max_examples=80, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(-60, 60), st.integers(0, 1)), max_size=200),
    others=st.lists(st.tuples(st.integers(-70, 70), st.integers(0, 1)), max_size=12),
)
def test_shared_keys_differ_matches_a_search(rows, others):
    """The galloping walk finds an other id whose key is a row's key with another check
    exactly when a lookup per other key does (rows' checks agree per key, as after a sort
    that saw no collision)."""
    from attrib._sort_kernels import shared_keys_differ

    check_of = dict(rows)  # one check per row key
    keys = np.array(sorted(k for k, _ in rows), dtype=np.int64)
    order = np.arange(len(keys))[::-1].copy()  # sorted row i is input row order[i]
    checks = np.empty(len(keys), dtype=np.int64)
    checks[order] = [check_of[k] for k in keys.tolist()]
    o_keys = np.array(sorted(k for k, _ in others), dtype=np.int64)
    o_checks = np.array([c for _, c in sorted(others)], dtype=np.int64)
    want = any(k in check_of and check_of[k] != c for k, c in sorted(others))
    assert shared_keys_differ(keys, order, checks, o_keys, o_checks) == want
