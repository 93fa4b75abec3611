"""Property tests of the invariants every model and run must keep (DESIGN.md "Invariants").

Random small exports (a few customers, overlapping deals, ties, zero-touch deals, stages)
are written as CSV and run through ``attrib.run.run``:

- conservation: per model, Σ over channels of each metric equals the totals recounted here
  from the generated deals (1e-9 relative), Markov and Shapley included;
- weights: every model's touch weights sum to 1 over each journey with a touch (and over
  each non-empty pipeline-window prefix);
- determinism: two runs write byte-identical Parquet files;
- order independence: shuffled input rows give identical summaries and journeys.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
from conftest import deals as deal_frame
from conftest import stages as stage_frame
from conftest import touches as touch_frame
from conftest import write_inputs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attrib.models import model_names
from attrib.run import run

MODELS = model_names()  # every registered model (markov and shapley when importable)
CHANNELS = ("Direct", "Email", "Paid Search", "SDR Outbound", "Webinar")
CONFIG = '[channels."Direct"]\ndirect = true\n[channels."SDR Outbound"]\nmarketing = false\n'
BASE = datetime(2025, 1, 1)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _ts(hours: int) -> str:
    return (BASE + timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M:%S")


@st.composite
def exports(draw):
    """(touch rows, deal rows, stage rows, lookback days) of a small random export."""
    n = draw(st.integers(1, 4))
    customers = [f"c{i}" for i in range(n + 1)]  # the last one may have deals but no touches
    touch_rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(customers[:-1]),
                st.integers(0, 24 * 30).map(_ts),
                st.sampled_from(CHANNELS),
                st.sampled_from(("a", "b", "")),
            ),
            max_size=25,
        )
    )
    deal_specs = draw(
        st.lists(
            st.tuples(
                st.sampled_from(customers),
                st.integers(0, 24 * 30),
                st.integers(0, 24 * 10),
                st.sampled_from(("won", "lost", "open")),
                st.integers(0, 100_000),
            ),
            min_size=1,
            max_size=8,
        )
    )
    deal_rows = [
        (
            f"d{i}",
            cust,
            _ts(created),
            None if status == "open" else _ts(created + length),
            status,
            f"{cents / 100:.2f}",
        )
        for i, (cust, created, length, status, cents) in enumerate(deal_specs)
    ]
    stage_rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(customers),
                st.sampled_from(("lead", "mql", "sql")),
                st.integers(0, 24 * 30).map(_ts),
            ),
            max_size=5,
        )
    )
    lookback = draw(st.sampled_from((365, 3, 10)))
    return touch_rows, deal_rows, stage_rows, lookback


def _write(folder: Path, export, rng: random.Random | None = None) -> Path:
    touch_rows, deal_rows, stage_rows, _ = export
    if rng is not None:
        touch_rows, deal_rows, stage_rows = (
            rng.sample(rows, len(rows)) for rows in (touch_rows, deal_rows, stage_rows)
        )
    return write_inputs(
        folder,
        touches=touch_frame(touch_rows),
        deals=deal_frame(deal_rows),
        stages=stage_frame(stage_rows) if stage_rows else None,
        config=CONFIG,
    )


def _totals(deal_rows) -> dict[str, float]:
    """Journey totals recounted from the generated deals (plain Python)."""
    won = [float(d[5]) for d in deal_rows if d[4] == "won"]
    return {
        "conversions": len(won),
        "revenue": sum(won),
        "pipeline": sum(float(d[5]) for d in deal_rows if d[4] == "open"),
        "deals": len(deal_rows),
        "lost_deals": sum(1 for d in deal_rows if d[4] == "lost"),
        "deals_created": len(deal_rows),
        "pipeline_created": sum(float(d[5]) for d in deal_rows),
    }


def _journey_sums(weights: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(weights)])
    return cum[ends] - cum[starts]


@SETTINGS
@given(export=exports())
def test_conservation_and_weights(tmp_path_factory, export):
    folder = _write(tmp_path_factory.mktemp("prop"), export)
    result = run(folder, models=MODELS, lookback_days=export[3])
    assert sum(result.inputs.rejected.values()) == 0
    expected = _totals(export[1])
    cs = result.channel_summary
    for model in MODELS:
        rows = cs.filter(pl.col("model") == model)
        for metric, total in expected.items():
            got = rows[metric].sum()
            assert math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-9), (model, metric, got, total)
        camp = result.attribution.campaign_summary.filter(pl.col("model") == model)
        if model not in ("markov", "shapley"):  # channel-level models: campaigns from touches
            for metric, total in expected.items():
                got = camp[metric].sum()
                assert math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-9), (model, metric)

    j = result.journeys
    lengths = j.offsets[1:] - j.offsets[:-1]
    for mc in result.attribution.credits:
        w = mc.model.touch_weights(j, mc.fitted)
        assert (w >= 0).all()
        sums = _journey_sums(w, j.starts, j.ends)
        np.testing.assert_allclose(sums[lengths > 0], 1.0, rtol=1e-12, err_msg=mc.model.name)
        wc = mc.model.touch_weights(j, mc.fitted, created=True)
        prefix = _journey_sums(wc, j.starts, j.created_ends)
        np.testing.assert_allclose(prefix[j.n_created > 0], 1.0, rtol=1e-12, err_msg=mc.model.name)
        # nothing outside the prefix is credited for pipeline created
        assert math.isclose(wc.sum(), prefix.sum(), abs_tol=1e-9)
    # no touch in two journeys, and never more touches than were given
    assert j.n_touches <= len(export[0])


@settings(SETTINGS, max_examples=25)
@given(export=exports(), seed=st.integers(0, 2**16))
def test_determinism_and_order_independence(tmp_path_factory, export, seed):
    tmp = tmp_path_factory.mktemp("det")
    folder = _write(tmp / "in", export)
    shuffled = _write(tmp / "shuffled", export, random.Random(seed))
    models = ",".join(MODELS)
    a = run(folder, out=tmp / "a", models=models, lookback_days=export[3])
    run(folder, out=tmp / "b", models=models, lookback_days=export[3])
    files = sorted(p.relative_to(tmp / "a") for p in (tmp / "a").rglob("*.parquet"))
    assert Path("channel_summary.parquet") in files
    for rel in files:
        assert (tmp / "a" / rel).read_bytes() == (tmp / "b" / rel).read_bytes(), rel
    s = run(shuffled, models=models, lookback_days=export[3])
    for name in ("channel_summary", "campaign_summary", "journeys"):
        left = a.tables[name]
        right = s.tables[name]
        assert left.equals(right), (name, left, right)
