"""Shapley attribution: hand-computed games, the axioms, brute-force oracle, sampling error."""

from __future__ import annotations

import itertools
from functools import partial

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attrib.encoded import STATUS_NONE, STATUS_OPEN, STATUS_WON
from attrib.errors import ConfigError
from attrib.models.shapley import ShapleyAttribution

try:  # tests/ may or may not be a package (pytest's rootdir/prepend import modes)
    from tests.oracle_markov import make_batch, shapley_oracle
except ImportError:  # pragma: no cover
    from oracle_markov import make_batch, shapley_oracle

A, B, C = 1, 2, 3


def _fit(model, batch):
    return model.fit_finalize(model.fit_map(batch), batch.dicts)


def _game(sets_rates: dict[tuple[int, ...], tuple[int, int]]):
    """Batch with, per channel set, `n` journeys of which `k` converted."""
    paths, status = [], []
    for s, (n, k) in sets_rates.items():
        for i in range(n):
            paths.append(list(s))
            status.append(STATUS_WON if i < k else STATUS_NONE)
    return make_batch(paths, status, n_channels=1 + max(max(s) for s in sets_rates))


def _raw(fitted):
    return fitted.tables["shapley_values"]["shapley_value"].to_numpy()


def test_hand_computed_two_channels():
    # v(A) = 2/10, v(B) = 1/10, v(AB) = 2/4.
    # Dalessandro: phi_A = 1/2 (0.2 - 0) + 1/2 (0.5 - 0.1) = 0.3; phi_B = 0.05 + 0.15 = 0.2.
    # DP6 (subset sums): v(AB) = 0.2 + 0.1 + 0.5 = 0.8 -> phi_A = 0.1 + 0.35 = 0.45, phi_B = 0.35.
    batch = _game({(A,): (10, 2), (B,): (10, 1), (A, B): (4, 2)})
    np.testing.assert_allclose(_raw(_fit(ShapleyAttribution(), batch)), [0.3, 0.2], atol=1e-15)
    dp6 = _fit(ShapleyAttribution(value_function="dp6"), batch)
    np.testing.assert_allclose(_raw(dp6), [0.45, 0.35], atol=1e-15)
    # channel totals: 5 conversions split 0.3 : 0.2 -> 3 and 2
    model = ShapleyAttribution()
    fitted = _fit(model, batch)
    summed = np.zeros((3, 1))
    summed[1:, 0] = [2.5, 2.5]
    np.testing.assert_allclose(model.channel_totals(fitted, summed)[:, 0], [0, 3, 2])
    w = model.touch_weights(make_batch([[A, B, A]], [STATUS_WON], n_channels=3), fitted)
    # A's share 0.6 split over its two touches, B gets 0.4
    np.testing.assert_allclose(w, [0.3, 0.4, 0.3])


def test_hand_computed_three_channels_with_cap():
    # {A}: 1 of 5 converts; {A,B,C}: 2 of 4, capped to the 2 channels whose names sort last
    # ({B,C}, as DP6 MAM does). Game: v(A) = 0.2, v(BC) = 0.5, all else 0, n = 3.
    # Weights |S|!(n-|S|-1)!/n!: 1/3, 1/6, 1/3 for |S| = 0, 1, 2.
    # phi_A = 1/3 (0.2) + 1/6 (0 - 0) + 1/6 (0 - 0) + 1/3 (v(ABC) - v(BC) = -0.5) = -0.1
    # phi_B = 1/3 (0) + 1/6 (v(AB) - v(A) = -0.2) + 1/6 (v(BC) - v(C) = 0.5) + 1/3 (0) = 0.05
    # phi_C = phi_B by symmetry.  Without the cap: v(A) = 0.2, v(ABC) = 0.5 ->
    # phi_A = 0.2/3 + 0.5/3 = 7/30, phi_B = phi_C = 1/6 (v(AB) - v(A) = -0.2) + 1/3 (0.5) = 2/15
    # (sum 0.5 = v(ABC)).
    batch = _game({(A,): (5, 1), (A, B, C): (4, 2)})
    fitted = _fit(ShapleyAttribution(max_set_size=2), batch)
    np.testing.assert_allclose(_raw(fitted), [-0.1, 0.05, 0.05], atol=1e-15)
    uncapped = _fit(ShapleyAttribution(), batch)
    np.testing.assert_allclose(_raw(uncapped), [7 / 30, 2 / 15, 2 / 15], atol=1e-15)
    # negative values get no credit: all conversions go to B and C
    np.testing.assert_allclose(fitted.scores, [0.0, 0.0, 0.05, 0.05], atol=1e-15)


def _random_game(rng, n_players, n_sets):
    sets = set()
    while len(sets) < n_sets:
        k = rng.integers(1, n_players + 1)
        sets.add(tuple(sorted(rng.choice(np.arange(1, n_players + 1), size=k, replace=False))))
    return {s: (int(rng.integers(2, 9)), 0) for s in sets}


@pytest.mark.parametrize("value_function", ["dalessandro", "dp6"])
def test_matches_permutation_oracle(value_function):
    rng = np.random.default_rng(1)
    for _ in range(5):
        game = _random_game(rng, 4, 7)
        game = {s: (n, int(rng.integers(0, n + 1))) for s, (n, _) in game.items()}
        batch = _game(game)
        rate = {frozenset(s): k / n for s, (n, k) in game.items()}
        if value_function == "dp6":
            allsets = [
                frozenset(c) for r in range(1, 5) for c in itertools.combinations(range(1, 5), r)
            ]
            v = {s: sum(r for t, r in rate.items() if t <= s) for s in allsets}
        else:
            v = rate
        players = sorted({c for s in game for c in s})
        ref = shapley_oracle(players, v)
        fitted = _fit(ShapleyAttribution(value_function=value_function), batch)
        raw = _raw(fitted)
        for p in players:
            assert raw[p - 1] == pytest.approx(ref[p], abs=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    rows=st.lists(
        st.tuples(st.sets(st.integers(1, 5), min_size=1, max_size=5), st.booleans()),
        min_size=1,
        max_size=25,
    ),
    value_function=st.sampled_from(["dalessandro", "dp6"]),
)
def test_efficiency(rows, value_function):
    # sum(phi) = v(N) - v(empty), v(empty) = 0, N = the channels present
    paths = [sorted(s) for s, _ in rows]
    status = [STATUS_WON if won else STATUS_NONE for _, won in rows]
    batch = make_batch(paths, status, n_channels=6)
    fitted = _fit(ShapleyAttribution(value_function=value_function), batch)
    groups: dict[frozenset, list[bool]] = {}
    for s, won in rows:
        groups.setdefault(frozenset(s), []).append(won)
    rate = {s: sum(x) / len(x) for s, x in groups.items()}
    grand = frozenset().union(*rate)
    v_n = (
        sum(r for s, r in rate.items() if s <= grand)
        if value_function == "dp6"
        else rate.get(grand, 0.0)
    )
    assert _raw(fitted).sum() == pytest.approx(v_n, abs=1e-12)


def test_symmetry_and_null_player():
    # channels 1 and 2 mirror each other; channel 3 added to any set changes nothing
    base = {(1,): (10, 3), (2,): (10, 3), (1, 2): (6, 4), (4,): (5, 1), (1, 4): (8, 2)}
    mirrored = {**base, (2, 4): (8, 2)}
    game = dict(mirrored)
    for s, nk in mirrored.items():
        game[(*s, 3)] = nk
    raw = _raw(_fit(ShapleyAttribution(), _game(game)))
    assert raw[0] == pytest.approx(raw[1], abs=1e-15)
    assert raw[2] == pytest.approx(0.0, abs=1e-15)
    # DP6: a channel seen only on non-converting journeys is a null player
    dp6 = _raw(_fit(ShapleyAttribution(value_function="dp6"), _game({**base, (3, 1): (7, 0)})))
    assert dp6[2] == pytest.approx(0.0, abs=1e-15)


def test_sampled_agrees_with_exact_within_standard_errors():
    rng = np.random.default_rng(4)
    game = _random_game(rng, 10, 60)
    game = {s: (n, int(rng.integers(0, n + 1))) for s, (n, _) in game.items()}
    batch = _game(game)
    exact = _fit(ShapleyAttribution(), batch)
    sampled = _fit(ShapleyAttribution(max_exact_channels=5, n_samples=4000, seed=3), batch)
    assert exact.info["method"] == "exact"
    assert sampled.info["method"] == "sampled"
    se = sampled.tables["shapley_values"]["std_error"].to_numpy()
    assert exact.tables["shapley_values"]["std_error"].null_count() == 10
    assert (se > 0).all()
    np.testing.assert_array_less(np.abs(_raw(sampled) - _raw(exact)), 4 * se)
    # every sampled permutation telescopes to v(N): efficiency holds exactly
    assert _raw(sampled).sum() == pytest.approx(_raw(exact).sum(), abs=1e-12)
    again = _fit(ShapleyAttribution(max_exact_channels=5, n_samples=4000, seed=3), batch)
    np.testing.assert_array_equal(_raw(again), _raw(sampled))


def test_sampled_standard_error_by_hand():
    # two players, v({0}) = 0.2, v({1}) = 0.4, v({0, 1}) = 0.9; the two permutations:
    # (0, 1): player 0 adds 0.2, player 1 adds 0.9 - 0.2 = 0.7
    # (1, 0): player 1 adds 0.4, player 0 adds 0.9 - 0.4 = 0.5
    # phi_0 = (0.2 + 0.5) / 2 = 0.35, phi_1 = (0.7 + 0.4) / 2 = 0.55. Sample variance
    # (n - 1 = 1) of each player's marginals: 0.15^2 + 0.15^2 = 0.045; standard error
    # sqrt(0.045 / 2) = 0.15 for both.
    from attrib.models._shapley_kernels import _sampled_shapley

    perms = np.array([[0, 1], [1, 0]], dtype=np.int64)
    keys = np.array([0b01, 0b10, 0b11], dtype=np.int64)
    rates = np.array([0.2, 0.4, 0.9])
    phi, se = _sampled_shapley(perms, keys, rates, False)
    np.testing.assert_allclose(phi, [0.35, 0.55], rtol=1e-12)
    np.testing.assert_allclose(se, [0.15, 0.15], rtol=1e-12)


def test_sampled_dp6_value_sums_the_coalitions_contained_in_s():
    # dp6: v(S) = sum of the rates of the observed coalitions T contained in S. Rates:
    # {0} 0.2, {1} 0.4, {0, 1} 0.3, so v({0}) = 0.2 and v({0, 1}) = 0.9. One permutation,
    # (0, 1): player 0 adds v({0}) - 0 = 0.2, player 1 adds 0.9 - 0.2 = 0.7. (Summing the
    # coalitions that merely meet S would give v({0}) = 0.5: 0.5 and 0.4.)
    from attrib.models._shapley_kernels import _sampled_shapley

    perms = np.array([[0, 1]], dtype=np.int64)
    keys = np.array([0b01, 0b10, 0b11], dtype=np.int64)
    rates = np.array([0.2, 0.4, 0.3])
    phi, _ = _sampled_shapley(perms, keys, rates, True)
    np.testing.assert_allclose(phi, [0.2, 0.7], rtol=1e-12)


def test_open_and_zero_touch_excluded_and_merge_additive():
    paths = [[1], [1, 2], [2], [1, 2], [], [2]]
    status = [STATUS_WON, STATUS_NONE, STATUS_WON, STATUS_WON, STATUS_WON, STATUS_OPEN]
    batch = make_batch(paths, status, weight=[2, 1, 1, 3, 5, 9], n_channels=3)
    model = ShapleyAttribution()
    state = model.fit_map(batch)
    # coalitions {1}: 2 of 2, {2}: 1 of 1 (open excluded), {1,2}: 3 of 4; {} not in the game
    np.testing.assert_array_equal(state["keys"], [1, 2, 3])
    np.testing.assert_allclose(state["n"], [2, 1, 4])
    np.testing.assert_allclose(state["conv"], [2, 1, 3])
    halves = [make_batch(paths[s], status[s], [2, 1, 1, 3, 5, 9][s], n_channels=3) for s in
              (slice(0, 3), slice(3, None))]  # fmt: skip
    merged = ShapleyAttribution.merge_states(model.fit_map(halves[0]), model.fit_map(halves[1]))
    for k in state:
        np.testing.assert_allclose(merged[k], state[k])
    fixed, mats = model.linear_state(batch)
    ones = np.ones(batch.n_journeys)
    np.testing.assert_array_equal(fixed["keys"], state["keys"])
    np.testing.assert_allclose(mats["conv"] @ ones, state["conv"])


def test_conservation_and_negative_values_get_no_credit():
    # exact-set rates {1}: 0.5, {2}: 0.4, {3}: 0.6, {1,3}: 0 -> phi_1 = 0.5/2 + (0 - 0.6)/2 < 0
    batch = _game({(1,): (10, 5), (2,): (10, 4), (1, 3): (10, 0), (3,): (10, 6)})
    model = ShapleyAttribution()
    fitted = _fit(model, batch)
    raw = _raw(fitted)
    assert raw.min() < 0
    assert (fitted.scores >= 0).all()
    summed = np.zeros((4, 2))
    summed[0] = [1.0, 4.0]
    summed[1:] = [[5, 1], [4, 2], [6, 3]]
    out = model.channel_totals(fitted, summed)
    np.testing.assert_allclose(out.sum(axis=0), summed.sum(axis=0), rtol=1e-12)
    assert (out >= 0).all()
    np.testing.assert_allclose(out[0], summed[0])


def test_bad_params():
    with pytest.raises(ConfigError, match="value_function"):
        ShapleyAttribution(value_function="banzhaf")
    with pytest.raises(ConfigError, match="n_samples"):
        ShapleyAttribution(n_samples=1)
    for seed in (-1, 1.5, "3", True):  # numpy's sampler takes whole numbers >= 0 only
        with pytest.raises(ConfigError, match="seed must be a whole number >= 0"):
            ShapleyAttribution(seed=seed)
    assert ShapleyAttribution(seed=2**70).params["seed"] == 2**70


def test_relabelling_channels_permutes_values():
    rng = np.random.default_rng(12)
    game = _random_game(rng, 5, 12)
    game = {s: (n, int(rng.integers(0, n + 1))) for s, (n, _) in game.items()}
    perm = {1: 3, 2: 5, 3: 1, 4: 2, 5: 4}
    moved = {tuple(sorted(perm[c] for c in s)): nk for s, nk in game.items()}
    for vf in ("dalessandro", "dp6"):
        a = _raw(_fit(ShapleyAttribution(value_function=vf), _game(game)))
        b = _raw(_fit(ShapleyAttribution(value_function=vf), _game(moved)))
        np.testing.assert_allclose([b[perm[c] - 1] for c in range(1, 6)], a, atol=1e-15)


def _seventy_channels(folder):
    """A data folder whose touches have 70 channels (Shapley's bitmasks hold 63): c1 and c2
    each touched by every channel once, c1 won 70, c2 lost."""
    import polars as pl

    folder.mkdir(parents=True, exist_ok=True)
    rows = [
        (customer, f"2025-01-{1 + i // 24:02d} {i % 24:02d}:00:00", f"ch{i:02d}")
        for customer in ("c1", "c2")
        for i in range(70)
    ]
    pl.DataFrame(rows, schema=["customer_id", "ts", "channel"], orient="row").write_csv(
        folder / "touchpoints.csv"
    )
    (folder / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-05,2025-01-06,won,70\nd2,c2,2025-01-05,2025-01-06,lost,0\n"
    )
    return folder


@pytest.mark.parametrize("engine", ["in-memory", "bucketed"])
def test_a_run_naming_no_models_leaves_shapley_out_beyond_63_channels(tmp_path, engine):
    """Every model is the default: with 64 channels or more, Shapley's error (exit 3, after
    the whole read) stopped the others too. Left out with a warning; named, it still fails."""
    import attrib.api as at
    from attrib.errors import ComputationError

    data = _seventy_channels(tmp_path / "in")
    run = at.run if engine == "in-memory" else partial(at.run_bucketed, buckets=2)
    result = run(data, out=tmp_path / "out")
    models = set(result.channel_summary.get_column("model").to_list())
    assert "shapley" not in models
    assert {"linear", "markov"} <= models
    assert any(w.startswith("shapley: left out of this run") for w in result.warnings)
    # linear: 70 / 70 channels = 1 each, hand-computed
    linear = result.channel_summary.filter(model="linear", channel="ch42")
    assert linear.get_column("revenue").item() == pytest.approx(1.0)
    with pytest.raises(ComputationError, match="shapley supports at most 63 channels, got 70"):
        run(data, models="linear,shapley")
