"""Bootstrap intervals: replicates equal a full rerun on reweighted data; coverage; shrinkage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from conftest import RULE_BASED

from attrib.bootstrap import BOOT_METRICS, bootstrap_intervals, replicate_credit
from attrib.encoded import STATUS_LOST, STATUS_NONE, STATUS_OPEN, STATUS_WON
from attrib.errors import UsageError
from attrib.models.markov import MarkovAttribution
from attrib.models.shapley import ShapleyAttribution

try:  # tests/ may or may not be a package (pytest's rootdir/prepend import modes)
    from tests.oracle_markov import make_batch
except ImportError:  # pragma: no cover
    from oracle_markov import make_batch

N_CH = 6  # codes 1..5 are channels


def synth(n: int, seed: int):
    """Random journeys whose conversion odds depend on the channels they touch."""
    rng = np.random.default_rng(seed)
    lift = np.array([0, 0.6, 0.1, 0.3, 0.0, 0.2])
    paths, status, amount = [], [], []
    for _ in range(n):
        k = int(rng.integers(0, 6))  # 0 -> a zero-touch deal
        path = [int(c) for c in rng.integers(1, N_CH, size=k)]
        p = 0.05 + lift[sorted(set(path))].sum() / 2 if path else 0.5
        u = rng.random()
        if u < min(p, 0.9):
            st = STATUS_WON
        elif u < min(p, 0.9) + 0.05:
            st = STATUS_OPEN
        else:
            st = STATUS_LOST if not path else STATUS_NONE
        paths.append(path)
        status.append(st)
        amount.append(float(rng.lognormal(3, 1)) if st in (STATUS_WON, STATUS_OPEN) else 0.0)
    return make_batch(paths, status, amount=amount, n_channels=N_CH)


def _models():
    from attrib.models import get_model

    return [
        get_model("first_touch"),
        get_model("linear"),
        MarkovAttribution(),
        MarkovAttribution(order=2, value_weighted=True),
        ShapleyAttribution(),
    ]


def _point(model, batch):
    """Channel credit [C, 3] through the normal engine path (fit, touch credit, totals)."""
    from attrib.credit import credit_model, fit_model

    credit = credit_model(model, [batch], fit_model(model, [batch], batch.dicts))
    return credit.channel[:, : len(BOOT_METRICS)]


def test_replicates_equal_full_rerun_on_reweighted_batch():
    batch = synth(300, 1)
    models = _models()
    reps = replicate_credit(models, batch, 3, seed=9)
    w = np.random.default_rng(9).poisson(1.0, size=(3, batch.n_journeys)).astype(float)
    for r in range(3):
        rb = dataclasses.replace(batch, weight=batch.weight * w[r], amount=batch.amount * w[r])
        for model, rep in zip(models, reps, strict=True):
            want = _point(model, rb)
            np.testing.assert_allclose(rep[r], want, rtol=1e-9, atol=1e-9, err_msg=model.name)


def test_replicates_equal_a_rerun_for_every_rule_based_model():
    """The replicate test above for the rule-based models it leaves out (last-non-direct,
    time decay, position-based, W-shaped, full-path): each one's resampled credit is its
    credit of the reweighted journeys, and conserves their totals."""
    from attrib.models import get_model

    batch = synth(300, 8)
    # anchors the synthetic batch lacks: a pipeline prefix shorter than the journey, its
    # opportunity touch, a lead touch, and times (time decay)
    rng = np.random.default_rng(8)
    starts, lengths = batch.offsets[:-1], np.diff(batch.offsets)
    n_created = rng.integers(0, lengths + 1)
    lead = rng.integers(-1, np.maximum(lengths, 1))
    batch = dataclasses.replace(
        batch,
        n_created=n_created,
        opp_pos=np.where(n_created > 0, starts + n_created - 1, -1),
        lead_pos=np.where((lead >= 0) & (lead < lengths), starts + lead, -1),
        ts=np.sort(rng.integers(0, 30 * 86_400_000_000, size=batch.n_touches)),
        end_ts=np.full(batch.n_journeys, 31 * 86_400_000_000, dtype=np.int64),
    )
    models = [get_model(name) for name in RULE_BASED]
    reps = replicate_credit(models, batch, 3, seed=4)
    w = np.random.default_rng(4).poisson(1.0, size=(3, batch.n_journeys)).astype(float)
    for r in range(3):
        rb = dataclasses.replace(batch, weight=batch.weight * w[r], amount=batch.amount * w[r])
        totals = rb.values()[:, : len(BOOT_METRICS)].sum(axis=0)
        for model, rep in zip(models, reps, strict=True):
            want = _point(model, rb)
            np.testing.assert_allclose(rep[r], want, rtol=1e-9, atol=1e-9, err_msg=model.name)
            np.testing.assert_allclose(rep[r].sum(axis=0), totals, rtol=1e-9, err_msg=model.name)


def test_intervals_contain_point_estimate_and_conserve():
    batch = synth(3000, 2)
    models = _models()
    df = bootstrap_intervals(models, batch, 200, seed=1)
    assert df.columns == [
        "model",
        "channel",
        "conversions_lo",
        "conversions_hi",
        "revenue_lo",
        "revenue_hi",
        "pipeline_lo",
        "pipeline_hi",
    ]
    # one row per model x channel, (none) included
    assert df.height == len(models) * N_CH
    for i, model in enumerate(models):
        point = _point(model, batch)
        sub = df.slice(i * N_CH, N_CH)
        assert sub["model"].unique().to_list() == [model.name]
        assert sub["channel"].to_list() == list(batch.dicts.channels)
        for m, name in enumerate(BOOT_METRICS):
            lo, hi = sub[f"{name}_lo"].to_numpy(), sub[f"{name}_hi"].to_numpy()
            assert (lo <= point[:, m] + 1e-9).all(), (model.name, name)
            assert (point[:, m] <= hi + 1e-9).all(), (model.name, name)
            assert (lo[1:] < hi[1:]).all()  # every channel has real uncertainty
    # every replicate conserves its own resampled totals
    reps = replicate_credit(models, batch, 5, seed=3)
    w = np.random.default_rng(3).poisson(1.0, size=(5, batch.n_journeys))
    totals = w @ batch.values()[:, :3]
    for rep in reps:
        np.testing.assert_allclose(rep.sum(axis=1), totals, rtol=1e-9)


def test_intervals_are_the_2_5_and_97_5_percentiles_of_the_replicates():
    # 95% percentile interval of n = 41 replicates sorted s[0] <= ... <= s[40]: the 2.5%
    # point lies at rank 0.025 x 40 = 1 and the 97.5% point at 0.975 x 40 = 39, both whole
    # ranks, so linear interpolation lands on the order statistics: lo = s[1], hi = s[39]
    # (a 90% interval would give s[2] and s[38]).
    batch = synth(300, 8)
    models = _models()
    df = bootstrap_intervals(models, batch, 41, seed=5)
    reps = replicate_credit(models, batch, 41, seed=5)
    for i, rep in enumerate(reps):
        s = np.sort(rep, axis=0)  # [41, C, 3], each channel and metric sorted
        sub = df.slice(i * N_CH, N_CH)
        for m, name in enumerate(BOOT_METRICS):
            np.testing.assert_allclose(sub[f"{name}_lo"].to_numpy(), s[1, :, m], rtol=1e-12)
            np.testing.assert_allclose(sub[f"{name}_hi"].to_numpy(), s[39, :, m], rtol=1e-12)


def test_intervals_shrink_with_more_data():
    models = [MarkovAttribution(), ShapleyAttribution()]
    small = bootstrap_intervals(models, synth(1000, 3), 100, seed=5)
    large = bootstrap_intervals(models, synth(10000, 4), 100, seed=5)

    def rel_width(df):
        # width relative to the scale of the data (10x journeys -> 10x credit)
        return (df["conversions_hi"] - df["conversions_lo"]).to_numpy()

    ws, wl = rel_width(small), rel_width(large) / 10
    keep = small["channel"] != "(none)"
    # sampling error shrinks like 1/sqrt(10) ~ 0.32; exact-set Shapley is a rough statistic
    # of few journeys per coalition, so each channel only has to shrink clearly
    ratio = wl[keep.to_numpy()] / ws[keep.to_numpy()]
    assert ratio.mean() < 0.5
    assert (ratio < 0.8).all()


def test_deterministic_with_seed():
    batch = synth(500, 6)
    models = _models()
    a = bootstrap_intervals(models, batch, 30, seed=11)
    b = bootstrap_intervals(models, batch, 30, seed=11)
    c = bootstrap_intervals(models, batch, 30, seed=12)
    assert a.equals(b)
    assert not a.equals(c)


def test_bad_arguments():
    batch = make_batch([[1]], [STATUS_WON], n_channels=2)
    with pytest.raises(UsageError):
        bootstrap_intervals([MarkovAttribution()], batch, 0, seed=1)
    with pytest.raises(UsageError):
        bootstrap_intervals([MarkovAttribution()], batch, 1, seed=1)
    with pytest.raises(UsageError):
        bootstrap_intervals([MarkovAttribution()], batch, 10, seed=1, level=1.5)


@pytest.mark.parametrize("n", [1, -3])
def test_a_resample_count_without_intervals_is_refused_before_reading(tmp_path, n):
    """--bootstrap 1 (no interval from one replicate) fails at once, not after the models;
    the inputs are never opened (the data folder does not exist) and nothing is written."""
    from attrib.run import run

    with pytest.raises(UsageError, match="0 \\(off\\) or at least 2"):
        run(tmp_path / "no-such-folder", out=tmp_path / "out", bootstrap=n)
    assert not (tmp_path / "out").exists()


def test_a_resample_count_beyond_any_need_is_a_usage_error(tmp_path):
    """--bootstrap 99999999999999999999 was an internal error (exit 5) from numpy's draws."""
    from conftest import run_cli

    args = ["run", tmp_path / "no-such-folder", "--out", tmp_path / "out"]
    for n in ("99999999999999999999", "1000001"):
        text = run_cli([*args, "--bootstrap", n], exit_code=2).output
        assert "--bootstrap takes at most 1,000,000 resamples" in text
    assert not (tmp_path / "out").exists()


class _PlainMarkov(MarkovAttribution):
    """Markov without the resampling hooks: bootstrap must refit it on reweighted batches."""

    def linear_state(self, batch):
        return None

    def scores_from_state(self, state, dicts):
        return None


def test_generic_refit_path_matches_linear_state_path():
    batch = synth(200, 7)
    fast = replicate_credit([MarkovAttribution(order=2)], batch, 4, seed=2)[0]
    slow = replicate_credit([_PlainMarkov(order=2)], batch, 4, seed=2)[0]
    np.testing.assert_allclose(fast, slow, rtol=1e-9, atol=1e-9)


def test_the_manifest_keeps_the_resamples_and_seed():
    from pathlib import Path

    from attrib.run import run

    sample = Path(__file__).resolve().parent.parent / "data_samples"
    assert run(sample, models="linear").manifest.get("bootstrap") is None
    result = run(sample, models="linear", bootstrap=2, seed=4)
    assert result.manifest["bootstrap"] == {"resamples": 2, "seed": 4, "level": 0.95}


def test_a_seed_without_bootstrap_is_refused_by_the_api_as_by_the_cli(tmp_path):
    """``at.run(seed=3)`` ran silently, the seed doing nothing; the CLI refuses --seed
    without --bootstrap."""
    import attrib.api as at

    f = tmp_path / "paths.csv"
    f.write_text("path;total_conversions\na > b;3\nb;1\n")
    for call in (lambda: at.run(seed=3), lambda: at.run_paths(f, seed=3)):
        with pytest.raises(UsageError, match="seed= without bootstrap= does nothing"):
            call()
    assert at.run_paths(f, seed=0, bootstrap=5).manifest["bootstrap"]["seed"] == 0
