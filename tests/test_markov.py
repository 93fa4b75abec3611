"""Markov attribution: hand-solved chain, brute-force oracle, invariants, state additivity."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrib.encoded import STATUS_LOST, STATUS_NONE, STATUS_OPEN, STATUS_WON
from attrib.errors import ConfigError
from attrib.models import markov as markov_mod
from attrib.models.base import reduce_states
from attrib.models.markov import MarkovAttribution

try:  # tests/ may or may not be a package (pytest's rootdir/prepend import modes)
    from tests.oracle_markov import make_batch, markov_oracle
except ImportError:  # pragma: no cover
    from oracle_markov import make_batch, markov_oracle

A, B, C = 1, 2, 3


def _fit(model: MarkovAttribution, batch):
    return model.fit_finalize(model.fit_map(batch), batch.dicts)


def _summed(batch, weights):
    """Plain numpy accumulation of touch weights x journey values into channels (C x M)."""
    vals = batch.values()
    out = np.zeros((batch.dicts.n_channels, vals.shape[1]))
    jix = np.repeat(np.arange(batch.n_journeys), np.diff(batch.offsets))
    np.add.at(out, batch.channel, weights[:, None] * vals[jix])
    empty = np.diff(batch.offsets) == 0
    out[0] += vals[empty].sum(axis=0)
    return out


def hand_batch():
    # A>B won (10), A null, B won (30), C>B null
    return make_batch(
        [[A, B], [A], [B], [C, B]],
        [STATUS_WON, STATUS_NONE, STATUS_WON, STATUS_NONE],
        amount=[10.0, 0.0, 30.0, 0.0],
        n_channels=4,
    )


def test_hand_solved_three_channels():
    # P(start->A)=1/2, P(start->B)=P(start->C)=1/4; A: B 1/2, null 1/2; B: conv 2/3, null 1/3;
    # C: B 1.  x_B = 2/3, x_A = 1/3, x_C = 2/3, P = 1/6 + 1/6 + 1/6 = 1/2 (= 2 of 4 journeys).
    # Remove A: P = 1/3 -> RE_A = 1/3.  Remove B: x_A = x_C = 0 -> P = 0 -> RE_B = 1.
    # Remove C: P = 1/3 -> RE_C = 1/3.  Shares 1/5, 3/5, 1/5.
    # Value: B -> conv carries 40 over 3 outgoing -> r_B = 40/3; V = 10 (= 40 revenue / 4);
    # removing A or C leaves V = 20/3 -> value RE 1/3; removing B -> 1.
    fitted = _fit(MarkovAttribution(), hand_batch())
    np.testing.assert_allclose(fitted.scores, [0, 1 / 3, 1, 1 / 3], rtol=0, atol=1e-12)
    assert fitted.info["p_conversion"] == pytest.approx(0.5, abs=1e-12)
    assert fitted.info["expected_value"] == pytest.approx(10.0, abs=1e-12)
    eff = fitted.tables["markov_removal_effects"]
    assert eff["channel"].to_list() == ["c1", "c2", "c3"]
    np.testing.assert_allclose(eff["share"].to_numpy(), [0.2, 0.6, 0.2], atol=1e-12)
    np.testing.assert_allclose(eff["value_removal_effect"].to_numpy(), [1 / 3, 1, 1 / 3])
    tr = fitted.tables["markov_transitions"]
    got = {
        (f, t): p
        for f, t, p in zip(tr["from_state"], tr["to_state"], tr["probability"], strict=True)
    }
    assert got == pytest.approx(
        {
            ("(start)", "c1"): 0.5,
            ("(start)", "c2"): 0.25,
            ("(start)", "c3"): 0.25,
            ("c1", "c2"): 0.5,
            ("c1", "(null)"): 0.5,
            ("c2", "(conversion)"): 2 / 3,
            ("c2", "(null)"): 1 / 3,
            ("c3", "c2"): 1.0,
        }
    )


def test_hand_credit_and_touch_weights():
    batch = hand_batch()
    model = MarkovAttribution()
    fitted = _fit(model, batch)
    w = model.touch_weights(batch, fitted)
    # journey A>B: scores 1/3 and 1 -> 1/4, 3/4; single-channel journeys -> 1
    np.testing.assert_allclose(w, [0.25, 0.75, 1.0, 1.0, 0.25, 0.75])
    summed = _summed(batch, w)
    totals = model.channel_totals(fitted, summed)
    # 2 conversions split 1/5, 3/5, 1/5; revenue 40 likewise
    np.testing.assert_allclose(totals[:, 0], [0, 0.4, 1.2, 0.4], atol=1e-12)
    np.testing.assert_allclose(totals[:, 1], [0, 8, 24, 8], atol=1e-12)


def _random_case(rng, n_ch, n_j, max_len):
    paths = [list(rng.integers(1, n_ch + 1, size=rng.integers(1, max_len + 1))) for _ in range(n_j)]
    status = rng.choice([STATUS_WON, STATUS_NONE, STATUS_LOST], size=n_j, p=[0.4, 0.4, 0.2])
    weight = rng.integers(1, 4, size=n_j).astype(float)
    amount = np.where(status == STATUS_WON, rng.uniform(1, 100, size=n_j), 0.0)
    return paths, status, weight, amount


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("collapse", [True, False])
def test_matches_bruteforce_oracle(order, collapse):
    rng = np.random.default_rng(100 * order + collapse)
    for _ in range(6):
        paths, status, weight, amount = _random_case(rng, n_ch=4, n_j=40, max_len=5)
        batch = make_batch(paths, list(status), list(weight), list(amount), n_channels=5)
        fitted = _fit(MarkovAttribution(order=order, collapse_repeats=collapse), batch)
        ref = markov_oracle(
            paths, list(status == STATUS_WON), list(weight), list(amount), order=order,
            collapse=collapse,
        )  # fmt: skip
        assert fitted.info["p_conversion"] == pytest.approx(ref["p"], rel=1e-9)
        assert fitted.info["expected_value"] == pytest.approx(ref["value"], rel=1e-9)
        eff = fitted.tables["markov_removal_effects"]
        for c in range(1, 5):
            assert eff["removal_effect"][c - 1] == pytest.approx(ref["re"].get(c, 0.0), abs=1e-9)
            assert eff["value_removal_effect"][c - 1] == pytest.approx(
                ref["re_value"].get(c, 0.0), abs=1e-9
            )


@settings(max_examples=25, deadline=None)
@given(
    paths=st.lists(st.lists(st.integers(1, 3), min_size=1, max_size=4), min_size=1, max_size=12),
    won=st.lists(st.booleans(), min_size=12, max_size=12),
    order=st.integers(1, 3),
)
def test_oracle_property(paths, won, order):
    won = won[: len(paths)]
    batch = make_batch(paths, [STATUS_WON if x else STATUS_NONE for x in won], n_channels=4)
    fitted = _fit(MarkovAttribution(order=order), batch)
    ref = markov_oracle(paths, won, [1.0] * len(paths), [0.0] * len(paths), order=order)
    assert fitted.info["p_conversion"] == pytest.approx(ref["p"], rel=1e-9, abs=1e-15)
    for c in range(1, 4):
        assert fitted.scores[c] == pytest.approx(ref["re"].get(c, 0.0), abs=1e-9)


def test_large_chain_solvers_match_dense(monkeypatch):
    rng = np.random.default_rng(7)
    paths, status, weight, amount = _random_case(rng, n_ch=6, n_j=300, max_len=6)
    batch = make_batch(paths, list(status), list(weight), list(amount), n_channels=7)
    model = MarkovAttribution(order=3)
    dense = _fit(model, batch)
    monkeypatch.setattr(markov_mod, "DENSE_MAX_STATES", 2)
    iterative = _fit(model, batch)
    assert dense.info["n_states"] > 50
    np.testing.assert_allclose(iterative.scores, dense.scores, rtol=1e-10, atol=1e-12)
    # the sparse-LU fallback (iteration cut short) gives the same answer
    monkeypatch.setattr(markov_mod, "ITER_MAX_SWEEPS", 1)
    lu = _fit(model, batch)
    np.testing.assert_allclose(lu.scores, dense.scores, rtol=1e-10, atol=1e-12)


def test_p_conversion_is_empirical_rate_and_open_zero_touch_ignored():
    # The fitted chain reproduces the observed conversion rate exactly (flow conservation);
    # open deals and zero-touch journeys are not part of the chain.
    rng = np.random.default_rng(3)
    paths, status, weight, _ = _random_case(rng, n_ch=5, n_j=200, max_len=7)
    paths += [[1, 2], [], []]
    status = [*status, STATUS_OPEN, STATUS_WON, STATUS_NONE]
    weight = [*weight, 5.0, 3.0, 2.0]
    batch = make_batch(paths, status, weight, n_channels=6)
    fitted = _fit(MarkovAttribution(order=2), batch)
    used = np.array([s != STATUS_OPEN and len(p) > 0 for p, s in zip(paths, status, strict=True)])
    won = np.array(status) == STATUS_WON
    w = np.array(weight)
    assert fitted.info["p_conversion"] == pytest.approx(w[used & won].sum() / w[used].sum())


@pytest.mark.parametrize("order", [1, 2, 4])
def test_conservation_order_independence_and_batch_additivity(order):
    rng = np.random.default_rng(11 + order)
    paths, status, weight, amount = _random_case(rng, n_ch=6, n_j=400, max_len=8)
    paths += [[], []]  # zero-touch deals stay on (none)
    status = [*status, STATUS_WON, STATUS_OPEN]
    weight = [*weight, 2.0, 1.0]
    amount = [*amount, 50.0, 70.0]
    batch = make_batch(paths, status, weight, amount, n_channels=7)
    model = MarkovAttribution(order=order)
    fitted = _fit(model, batch)
    w = model.touch_weights(batch, fitted)
    summed = _summed(batch, w)
    totals = model.channel_totals(fitted, summed)
    np.testing.assert_allclose(totals.sum(axis=0), batch.values().sum(axis=0), rtol=1e-12)
    assert totals[0, 1] == pytest.approx(50.0)
    # per-journey touch weights sum to 1
    sums = np.add.reduceat(w, batch.offsets[:-1][np.diff(batch.offsets) > 0])
    np.testing.assert_allclose(sums, 1.0, rtol=1e-12)

    perm = rng.permutation(len(paths))
    shuffled = make_batch(
        [paths[i] for i in perm],
        [status[i] for i in perm],
        [weight[i] for i in perm],
        [amount[i] for i in perm],
        n_channels=7,
    )
    np.testing.assert_allclose(_fit(model, shuffled).scores, fitted.scores, rtol=1e-12)

    half = len(paths) // 2
    parts = [
        make_batch(paths[s], status[s], weight[s], amount[s], n_channels=7)
        for s in (slice(0, half), slice(half, None))
    ]
    merged = None
    for p in parts:
        merged = MarkovAttribution.merge_states(merged, model.fit_map(p))
    full = model.fit_map(batch)
    assert merged.keys() == full.keys()
    for k in full:
        np.testing.assert_allclose(merged[k], full[k], rtol=1e-12)
    if order == 1:  # dense order-1 state also sums with the generic reduce_states
        red = reduce_states(reduce_states(None, model.fit_map(parts[0])), model.fit_map(parts[1]))
        np.testing.assert_allclose(red["counts"], full["counts"])
    np.testing.assert_allclose(model.fit_finalize(merged, batch.dicts).scores, fitted.scores)


def test_linear_state_reproduces_fit_map():
    rng = np.random.default_rng(5)
    paths, status, weight, amount = _random_case(rng, n_ch=4, n_j=60, max_len=5)
    batch = make_batch(paths, list(status), list(weight), list(amount), n_channels=5)
    model = MarkovAttribution(order=2)
    fixed, mats = model.linear_state(batch)
    ones = np.ones(batch.n_journeys)
    state = {**fixed, **{k: m @ ones for k, m in mats.items()}}
    full = model.fit_map(batch)
    for k in full:
        np.testing.assert_allclose(state[k], full[k])


def test_collapse_and_created_prefix():
    # without collapsing, A>A>B has a self-loop on A; weights are shared within the prefix
    batch = make_batch([[A, A, B], [A]], [STATUS_WON, STATUS_NONE], n_channels=3, n_created=[2, 1])
    loops = _fit(MarkovAttribution(collapse_repeats=False), batch)
    tr = loops.tables["markov_transitions"]
    assert ("c1", "c1") in set(zip(tr["from_state"], tr["to_state"], strict=True))
    model = MarkovAttribution()
    fitted = _fit(model, batch)
    w = model.touch_weights(batch, fitted, created=True)
    np.testing.assert_allclose(w, [0.5, 0.5, 0.0, 1.0])


def test_all_zero_scores_fall_back_to_equal_weights():
    batch = make_batch([[A, B, B], [A]], [STATUS_NONE, STATUS_NONE], n_channels=3)
    model = MarkovAttribution()
    fitted = _fit(model, batch)
    assert fitted.info["p_conversion"] == 0.0
    np.testing.assert_allclose(model.touch_weights(batch, fitted), [1 / 3, 1 / 3, 1 / 3, 1.0])


def test_bad_order_is_config_error():
    with pytest.raises(ConfigError, match="order"):
        MarkovAttribution(order=5)
    with pytest.raises(ConfigError, match="unknown parameter"):
        MarkovAttribution(depth=2)


@pytest.mark.parametrize("flag", ["value_weighted", "collapse_repeats"])
@pytest.mark.parametrize("value", ["false", "true", 0, 1, None])
def test_flag_params_must_be_booleans(flag, value):
    # "false" is a non-empty string: read with bool() or `if`, it turned the flag on
    with pytest.raises(ConfigError, match=rf"\[models\.markov\] {flag} is not true/false"):
        MarkovAttribution(**{flag: value})
    for ok in (True, False):
        assert MarkovAttribution(**{flag: ok}).params[flag] is ok
        # a numpy flag from Python code (a notebook's array element) is a flag too
        assert MarkovAttribution(**{flag: np.bool_(ok)}).params[flag] is ok


def test_iterative_solver_with_slow_mixing_self_loops(monkeypatch):
    # long runs of one channel without collapsing: self-loop probabilities near 1
    rng = np.random.default_rng(8)
    paths = [[1] * int(rng.integers(20, 80)) + [2] * int(rng.integers(1, 30)) for _ in range(50)]
    paths += [[2] * int(rng.integers(30, 90)) + [1] for _ in range(50)]
    status = list(rng.choice([STATUS_WON, STATUS_NONE], size=100))
    batch = make_batch(paths, status, n_channels=3)
    model = MarkovAttribution(collapse_repeats=False)
    dense = _fit(model, batch)
    monkeypatch.setattr(markov_mod, "DENSE_MAX_STATES", 1)
    iterative = _fit(model, batch)
    np.testing.assert_allclose(iterative.scores, dense.scores, rtol=1e-10, atol=1e-12)
    assert 0 < dense.scores[1] < 1


def test_order1_sparse_state_for_many_channels(monkeypatch):
    rng = np.random.default_rng(21)
    paths, status, weight, amount = _random_case(rng, n_ch=5, n_j=120, max_len=5)
    batch = make_batch(paths, list(status), list(weight), list(amount), n_channels=6)
    model = MarkovAttribution()
    dense_state = model.fit_map(batch)
    monkeypatch.setattr(markov_mod, "DENSE_STATE_MAX_CELLS", 1)
    halves = [
        make_batch(paths[s], list(status[s]), list(weight[s]), list(amount[s]), n_channels=6)
        for s in (slice(0, 60), slice(60, None))
    ]
    merged = MarkovAttribution.merge_states(model.fit_map(halves[0]), model.fit_map(halves[1]))
    assert "from" in merged
    assert "from" not in dense_state
    np.testing.assert_allclose(
        model.fit_finalize(merged, batch.dicts).scores,
        model.fit_finalize(dense_state, batch.dicts).scores,
        rtol=1e-12,
    )


@settings(max_examples=20, deadline=None)
@given(
    paths=st.lists(st.lists(st.integers(1, 4), min_size=1, max_size=5), min_size=1, max_size=15),
    won=st.lists(st.booleans(), min_size=15, max_size=15),
    perm=st.permutations([1, 2, 3, 4]),
    order=st.integers(1, 2),
)
def test_relabelling_channels_permutes_removal_effects(paths, won, perm, order):
    status = [STATUS_WON if x else STATUS_NONE for x in won[: len(paths)]]
    relabel = {c: perm[c - 1] for c in range(1, 5)}
    model = MarkovAttribution(order=order)
    a = _fit(model, make_batch(paths, status, n_channels=5)).scores
    b = _fit(model, make_batch([[relabel[c] for c in p] for p in paths], status, n_channels=5))
    np.testing.assert_allclose(b.scores[[relabel[c] for c in range(1, 5)]], a[1:], atol=1e-12)


def test_campaigns_add_up_to_the_channel_formula(tmp_path):
    """Markov and Shapley split channel totals by score (total x RE_c / sum RE), while touch
    credit shares each journey: a channel's campaigns are scaled to its total, keeping their
    touch-level shares. The open deal's pipeline goes by the scores to A and B, which never
    touched it: their campaigns share it by their deal credit."""
    import polars as pl
    from conftest import run_job

    from attrib.credit import SUMMARY_METRICS

    touches = pl.DataFrame(
        {
            "customer_id": ["u1", "u1", "u2", "u3", "u4", "u5", "u5", "u7"],
            "ts": [f"2025-01-0{d} 10:00:00" for d in (1, 2, 1, 1, 1, 1, 2, 1)],
            "channel": ["A", "B", "B", "OpenOnly", "A", "A", "B", "A"],
            "campaign": ["a1", "b1", "b2", "o1", "a1", "a2", "b1", "a2"],
        }
    )
    deals = pl.DataFrame(
        {
            "deal_id": ["d1", "d2", "d3", "d4", "d5", "d7"],
            "customer_id": ["u1", "u2", "u3", "u6", "u5", "u7"],
            "created_at": ["2025-01-03"] * 6,
            "closed_at": [
                "2025-01-05",
                "2025-01-05",
                None,
                "2025-01-04",
                "2025-01-05",
                "2025-01-05",
            ],
            "status": ["won", "won", "open", "won", "lost", "won"],
            "amount": [100.0, 50.0, 1000.0, 7.0, 30.0, 20.0],
        }
    )
    result = run_job(tmp_path, touches=touches, deals=deals, models="markov,shapley")
    campaigns = result.attribution.campaign_summary
    for model in ("markov", "shapley"):
        channel = result.channel_summary.filter(pl.col("model") == model).sort("channel")
        summed = (
            campaigns.filter(pl.col("model") == model)
            .group_by("channel")
            .agg(pl.col(*SUMMARY_METRICS).sum())
        )
        joined = channel.join(summed, on="channel", how="left", suffix="_c").fill_null(0.0)
        for m in SUMMARY_METRICS:
            np.testing.assert_allclose(joined[f"{m}_c"], joined[m], rtol=1e-12, atol=1e-12)
    markov = campaigns.filter(pl.col("model") == "markov")
    pipeline = dict(zip(markov["campaign"], markov["pipeline"], strict=True))
    a_total = result.channel_summary.filter(
        (pl.col("model") == "markov") & (pl.col("channel") == "A")
    )["pipeline"].item()
    assert a_total > 0
    # A's deals at touch level: d1 (with B), d5 (with B) through a1/a2, d7 through a2 alone
    deals_a = dict(zip(markov["campaign"], markov["deals"], strict=True))
    assert pipeline["a2"] / a_total == pytest.approx(
        deals_a["a2"] / (deals_a["a1"] + deals_a["a2"])
    )


def test_every_score_zero_gives_linear_credit_as_documented(tmp_path):
    """value_weighted with no revenue: every value removal effect is 0, and the credit is
    linear's (the docs said "shared equally among its channels" while the touches shared
    it): the won journey a > a > b gives a 2/3 and b 1/3 of its conversion; share 0."""
    import attrib.api as at

    table = tmp_path / "paths.csv"
    table.write_text(
        "path;total_conversions;total_conversion_value;total_null\na > a > b;1;0;0\nb;0;0;1\n"
    )
    config = at.config_from_mapping({"models": {"markov": {"value_weighted": True}}})
    result = at.run_paths(table, models="markov,linear", config=config)
    summary = result.channel_summary.sort("model", "channel")
    for model in ("markov", "linear"):
        got = summary.filter(model=model).select("channel", "conversions").rows()
        assert got == [("a", pytest.approx(2 / 3)), ("b", pytest.approx(1 / 3))]
    assert result.tables["markov_removal_effects"].get_column("share").to_list() == [0.0, 0.0]
