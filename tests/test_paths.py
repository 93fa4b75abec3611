"""ChannelAttribution path-table reader: parsing, aggregation, errors, the real sample, and
properties of generated path tables (conservation, plain oracles, determinism, row order)."""

from __future__ import annotations

import csv
import json
import math
import os
import random
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attrib.encoded import STATUS_NONE, STATUS_WON
from attrib.errors import InputError
from attrib.paths import VALUE, read_paths

try:  # tests/ may or may not be a package (pytest's rootdir/prepend import modes)
    from tests.oracle_markov import markov_oracle
except ImportError:  # pragma: no cover
    from oracle_markov import markov_oracle


def _write(tmp_path: Path, text: str, name: str = "paths.csv") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_semicolon_table_aggregates_and_encodes(tmp_path):
    f = _write(
        tmp_path,
        "path;total_conversions;total_conversion_value;total_null\n"
        "b > a;1;10.5;3\n"
        "c;0;0;2\n"
        " b>a ;2;4.5;0\n"  # same path as row 1 once spaces are trimmed: its own journeys
        "a > a;1;1;0\n",
    )
    b = read_paths(f)
    assert b.dicts.channels == ("(none)", "a", "b", "c")
    assert b.dicts.is_marketing.all()
    assert not b.dicts.is_direct.any()
    assert b.dicts.campaign_names == ("(none)",) * 4
    np.testing.assert_array_equal(b.dicts.campaign_channel, [0, 1, 2, 3])
    # sorted by path, then counts: 'a > a' (won), 'b > a' 1 (won, none), 'b > a' 2 (won),
    # 'c' (none)
    assert b.table["path"].to_list() == ["a > a", "b > a", "b > a", "b > a", "c"]
    assert b.table["status"].to_list() == ["won", "won", "none", "won", "none"]
    assert b.table["journey_id"].to_list() == [0, 1, 2, 3, 4]
    np.testing.assert_array_equal(
        b.status, [STATUS_WON, STATUS_WON, STATUS_NONE, STATUS_WON, STATUS_NONE]
    )
    np.testing.assert_allclose(b.weight, [1, 1, 3, 2, 2])
    np.testing.assert_allclose(b.amount, [1, 10.5, 0, 4.5, 0])
    np.testing.assert_array_equal(b.offsets, [0, 2, 4, 6, 8, 9])
    np.testing.assert_array_equal(b.channel, [1, 1, 2, 1, 2, 1, 2, 1, 3])
    np.testing.assert_array_equal(b.campaign, b.channel)
    np.testing.assert_array_equal(b.n_created, [2, 2, 2, 2, 1])
    assert (b.lead_pos == -1).all()
    assert (b.opp_pos == -1).all()
    assert (b.ts == 0).all()


def test_comma_table_without_optional_columns(tmp_path):
    f = _write(tmp_path, "path,total_conversions\nx > y,3\ny,0\n")
    b = read_paths(f)
    # 'y' has neither conversions nor nulls: no journey
    assert b.n_journeys == 1
    np.testing.assert_allclose(b.weight, [3])
    np.testing.assert_allclose(b.amount, [0])
    assert b.dicts.channels == ("(none)", "x", "y")
    assert read_paths(f, sep=",").n_journeys == 1


@pytest.mark.parametrize(
    ("text", "match", "row", "column"),
    [
        ("path;conversions\na;1\n", "missing column", None, "total_conversions"),
        ("path;total_conversions\na;1\nb;x\n", "not a non-negative", 2, "total_conversions"),
        ("path;total_conversions;total_null\na;1;-2\n", "not a non-negative", 1, "total_null"),
        ("path;total_conversions\na;1\nb;inf\n", "not a non-negative", 2, "total_conversions"),
        # two such counts summed to infinity: an internal error (exit 5)
        ("path;total_conversions\na;1e308\nb;1e308\n", "too large", 1, "total_conversions"),
        ("path;total_conversions;total_null\na;0;0\n", "no path with", None, "total_conversions"),
        ("path;total_conversions\na > > b;1\n", "empty channel name in 'a > > b'", 1, "path"),
        ("path;total_conversions\n;1\n", "empty path", 1, "path"),
        # the row of a reserved channel is named (it was not)
        ("path;total_conversions\nb;1\na > (none);1\n", "reserved", 2, "path"),
        # an empty count is no count (read as 0, or blamed on the value beside it)
        ("path;total_conversions;total_null\na > b;;3\n", "is empty", 1, "total_conversions"),
        (
            "path;total_conversions;total_conversion_value\na;1;1\nb;;5\n",
            "total_conversions is empty",
            2,
            "total_conversions",
        ),
        # a value above 10^18, as for deals and event logs (1e200 passed)
        (
            "path;total_conversions;total_conversion_value\na;1;1e19\n",
            "too large",
            1,
            "total_conversion_value",
        ),
        (
            "path;total_conversions;total_conversion_value;total_null\na;0;5;1\n",
            "no conversions",
            1,
            "total_conversion_value",
        ),
    ],
)
def test_bad_files_name_row_and_column(tmp_path, text, match, row, column):
    f = _write(tmp_path, text)
    with pytest.raises(InputError, match=match) as e:
        read_paths(f)
    assert e.value.file == str(f)
    assert e.value.row == row
    assert e.value.column == column
    assert e.value.hint
    assert "None" not in e.value.message


def test_empty_lines_are_not_rows(tmp_path):
    """Blank lines and rows of separators only are skipped; the rows keep their numbers."""
    ok = _write(tmp_path, "path;total_conversions;total_null\nA > B;3;10\n\n;;\nB;1;1\n\n")
    assert read_paths(ok).n_journeys == 4  # two paths, each converting and not
    bad = _write(tmp_path, "path;total_conversions\nA;1\n\n;\nB;x\n")
    with pytest.raises(InputError) as e:
        read_paths(bad)
    assert e.value.row == 4


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="not found"):
        read_paths(tmp_path / "nope.csv")


# -- the real sample ---------------------------------------------------------------------------
@pytest.fixture
def data_csv() -> Path:
    root = os.environ.get("ATTRIB_DATASETS")
    if not root:
        pytest.skip("ATTRIB_DATASETS is not set (folder of the shared real datasets)")
    p = Path(root) / "channelattribution-pathdata" / "Data.csv"
    if not p.is_file():
        pytest.skip(f"{p} not found (ATTRIB_DATASETS must contain channelattribution-pathdata)")
    return p


def _recount(path: Path) -> dict[str, dict[str, np.ndarray]]:
    """First/last/linear conversions and value per channel, recounted with the csv module."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter=";"))
    out: dict[str, dict[str, list[float]]] = {m: {} for m in ("first", "last", "linear")}
    for r in rows:
        chans = [c.strip() for c in r["path"].split(">")]
        conv = float(r["total_conversions"])
        val = float(r["total_conversion_value"])
        for m, credit in (
            ("first", {chans[0]: 1.0}),
            ("last", {chans[-1]: 1.0}),
            ("linear", None),
        ):
            if credit is None:
                credit = {}
                for c in chans:
                    credit[c] = credit.get(c, 0.0) + 1.0 / len(chans)
            for c, w in credit.items():
                acc = out[m].setdefault(c, [0.0, 0.0])
                acc[0] += w * conv
                acc[1] += w * val
    return {m: {c: np.array(v) for c, v in d.items()} for m, d in out.items()}


@pytest.mark.datasets
def test_channelattribution_sample(data_csv):
    from attrib.credit import credit_model, fit_model
    from attrib.models import get_model

    batch = read_paths(data_csv)
    expect = _recount(data_csv)
    totals = batch.values().sum(axis=0)
    assert totals[0] == pytest.approx(19785)
    assert totals[1] == pytest.approx(74802.972, rel=1e-6)
    assert batch.weight.sum() == pytest.approx(19785 + 68602)
    names = batch.dicts.channels
    for model_name, key in (("first_touch", "first"), ("last_touch", "last"), ("linear", "linear")):
        model = get_model(model_name)
        credit = credit_model(model, [batch], fit_model(model, [batch], batch.dicts))
        for code, name in enumerate(names):
            got = credit.channel[code, :2]
            want = expect[key].get(name, np.zeros(2))
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9, err_msg=f"{key} {name}")
    for model_name in ("markov", "shapley"):
        model = get_model(model_name)
        credit = credit_model(model, [batch], fit_model(model, [batch], batch.dicts))
        np.testing.assert_allclose(credit.channel[:, :3].sum(axis=0), totals[:3], rtol=1e-9)
        assert (credit.channel >= 0).all()


def test_the_order_of_a_paths_rows_does_not_change_a_bit(tmp_path):
    """Rows of one path are summed in an order of their own: float sums differ in their last
    bits by order, and the file's row order must not decide them (ChannelAttribution's
    exports repeat paths)."""
    from attrib.run import run_paths

    rng = np.random.default_rng(7)
    rows = [
        f"{p};1;{v:.6f};1"
        for p, v in zip(rng.choice(["a>b", "b", "c>a"], 3000), rng.random(3000) * 1e3, strict=True)
    ]
    outs = []
    for i in range(3):
        order = rows if i == 0 else [rows[j] for j in rng.permutation(len(rows))]
        (tmp_path / str(i)).mkdir()
        text = "path;total_conversions;total_conversion_value;total_null\n" + "\n".join(order)
        outs.append(run_paths(_write(tmp_path / str(i), text + "\n"), models="linear,markov"))
    for other in outs[1:]:
        assert other.channel_summary.equals(outs[0].channel_summary)
        assert other.tables["markov_removal_effects"].equals(
            outs[0].tables["markov_removal_effects"]
        )


def test_bootstrap_resamples_each_journey_a_path_row_stands_for(tmp_path):
    """One path row of 400 conversions is 400 journeys: the conversions of a replicate are
    Poisson(400), so linear's credit to 'a' (half of each) is 200 +- 1.96 x 20 / 2. Drawing
    one weight for the whole row gave [0, 400]-wide intervals."""
    from attrib.bootstrap import bootstrap_intervals
    from attrib.models.heuristic import LinearAttribution

    batch = read_paths(_write(tmp_path, "path;total_conversions;total_null\na>b;400;0\n"))
    row = bootstrap_intervals([LinearAttribution()], batch, 400, seed=3).filter(
        pl.col("channel") == "a"
    )
    assert 176 <= row["conversions_lo"].item() <= 185
    assert 215 <= row["conversions_hi"].item() <= 224


def test_a_path_run_counts_the_journeys_its_rows_stand_for(tmp_path):
    """Two rows: a>b converting 3 times and null 2 times, c null 4 times: 9 journeys over
    3 x 2 + 2 x 2 + 4 x 1 = 14 touches, from 3 distinct (path, outcome) journeys; the
    manifest keeps the bootstrap's settings as for touch data."""
    from attrib.run import run_paths

    f = _write(tmp_path, "path;total_conversions;total_null\na>b;3;2\nc;0;4\n")
    result = run_paths(f, models="linear", bootstrap=5, seed=2)
    counts = result.manifest["row_counts"]
    assert (counts["journeys"], counts["touches_in_journeys"], counts["distinct_paths"]) == (
        9,
        14,
        3,
    )
    assert result.manifest["bootstrap"] == {"resamples": 5, "seed": 2, "level": 0.95}


def test_a_path_run_gives_the_warnings_its_channels_and_models_allow(tmp_path):
    """A path table holds channel names and counts, so its run names what those show: a
    channel written two ways, one named as a missing value, and a negative Shapley value.
    One-touch paths (Good converts 2 of 2, Bad 1 of 2, none has both): with exact-set rates
    phi_Bad = (1/2 - 0) / 2 + (0 - 1) / 2 = -1/4, so Bad gets no credit."""
    from conftest import run_cli

    f = _write(tmp_path, "path;total_conversions;total_null\nGood;2;0\nBad;1;1\n")
    result = run_cli(["run", "--paths", f, "--models", "shapley", "--out", tmp_path / "o"])
    clipped = "shapley: 1 channel(s) got no credit, their Shapley value being negative"
    assert f"warning: {clipped}" in result.stderr
    assert "and set to 0: 'Bad';" in result.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert [w[: len(clipped)] for w in manifest["warnings"]] == [clipped]

    f = _write(tmp_path, "path;total_conversions;total_null\nalpha > Alpha;1;0\nNULL;0;1\n")
    result = run_cli(["run", "--paths", f, "--models", "linear", "--out", tmp_path / "v"])
    assert "touch channel(s) 'NULL' are a missing value written as text" in result.stderr
    assert "1 channel(s) written more than one way (case or spaces)" in result.stderr
    assert "'Alpha' / 'alpha'" in result.stderr
    assert len(json.loads((tmp_path / "v" / "manifest.json").read_text())["warnings"]) == 2


def test_a_path_table_whose_lines_end_in_a_carriage_return_alone(tmp_path):
    """Read as the same table with "\n" line ends (it was refused: "no column 'total_null',
    but a column 'total_null\\rA > B'")."""
    text = "path;total_conversions;total_null\nA > B;3;1\nB;0;2\n"
    lf = read_paths(_write(tmp_path, text, "lf.csv"))
    cr = read_paths(_write(tmp_path, text.replace("\n", "\r"), "cr.csv"))
    np.testing.assert_array_equal(cr.offsets, lf.offsets)
    np.testing.assert_array_equal(cr.weight, lf.weight)
    assert float(cr.weight.sum()) == 6.0  # 3 + 1 journeys of A > B, 2 of B


def test_large_revenues_are_accepted(tmp_path):
    """A path's revenue in a currency of small units (IDR, VND) can pass 1e15; only counts
    are bounded (whole numbers exact below 2^53)."""
    f = _write(tmp_path, "path;total_conversions;total_conversion_value\na;2;2e15\n")
    np.testing.assert_allclose(read_paths(f).amount, [2e15])


@pytest.mark.parametrize(
    ("header", "found", "meant"),
    [
        ("path;total_conversions;total_conversion_value;total_nulls", "total_nulls", "total_null"),
        ("path;total_conversions;total_value;total_null", "total_value", "total_conversion_value"),
        ("path;total_conversions;TOTAL_NULL;total_conversion_value", "TOTAL_NULL", "total_null"),
        ("path;total_conversions;total_nul;total_conversion_value", "total_nul", "total_null"),
        ("path;total_conversions;conversion_value;total_null", "conversion_value", VALUE),
        (
            "path;total_conversions;total_convresion_value;total_null",
            "total_convresion_value",
            VALUE,
        ),
    ],
)
def test_a_misspelt_optional_column_is_refused_not_read_as_absent(tmp_path, header, found, meant):
    """A misspelt total_null was read as no nulls (every path converts: the Markov chain and
    Shapley values fitted on converting paths only), a misspelt value as revenue 0, silently."""
    f = _write(tmp_path, header + "\na > b;1;2;3\n")
    with pytest.raises(InputError, match=f"did you mean '{meant}'") as e:
        read_paths(f)
    assert e.value.file == str(f)
    assert e.value.column == found
    assert "rename" in e.value.hint


@pytest.mark.parametrize(
    ("header", "missing", "found"),
    [
        ("path;conversions", "total_conversions", "conversions"),
        ("Path;total_conversions", "path", "Path"),
    ],
)
def test_a_misspelt_required_column_is_named_with_the_rename(tmp_path, header, missing, found):
    """A header 'Path' got "did you mean 'Path'?", as if 'Path' were the name to write; no
    mapping reads a path table, so the hint says which header to rename to what."""
    f = _write(tmp_path, f"{header}\na;1\n")
    with pytest.raises(InputError, match=f"missing column '{missing}'") as e:
        read_paths(f)
    assert f"rename '{found}' to '{missing}' in the header" in e.value.hint


@pytest.mark.parametrize(
    "extra", ["channel_count", "total_clicks", "total_users", "total_cost", "total_revenue"]
)
def test_unrelated_extra_columns_are_ignored(tmp_path, extra):
    """Another total (clicks, users, cost) is not a misspelt total_null: a file without the
    optional columns was refused ("did you mean 'total_null'?") for carrying one."""
    f = _write(tmp_path, f"path;total_conversions;{extra}\na > b;1;2\n")
    assert read_paths(f).n_journeys == 1


def test_run_paths_is_the_api_of_attrib_run_paths(tmp_path):
    """``attrib run --paths`` had no Python API but an undocumented ``attrib.run.run_paths``;
    ``attrib.api.run_paths`` is it, and checks its models and ``out=`` before reading."""
    import attrib.api as at
    from attrib.errors import OutputError, UsageError

    f = _write(
        tmp_path,
        "path;total_conversions;total_conversion_value;total_null\na > b;1;30;1\nb;1;10;0\n",
    )
    result = at.run_paths(f, models="first_touch", out=tmp_path / "out")
    # a > b converts once (30: first touch a), b once (10): a 30, b 10, hand-computed
    assert result.channel_summary.select("channel", "revenue").sort("channel").rows() == [
        ("a", 30.0),
        ("b", 10.0),
    ]
    assert (tmp_path / "out" / "channel_summary.parquet").is_file()
    missing = tmp_path / "no-such-file.csv"  # refused before it is read: no input error
    with pytest.raises(UsageError, match="'w_shaped' needs timestamps and stages"):
        at.run_paths(missing, models="w_shaped")
    (tmp_path / "a-file").write_text("")
    with pytest.raises(OutputError):
        at.run_paths(missing, out=tmp_path / "a-file")
    with pytest.raises(UsageError, match="models= must be"):
        at.run_paths(f, models=3)  # type: ignore[arg-type]


# -- properties of generated path tables -------------------------------------------------------
PATH_MODELS = ("first_touch", "last_touch", "linear", "position_based", "markov", "shapley")
PATH_CHANNELS = ("Email", "Paid Search", "SEO", "Webinar")
PATH_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def path_tables(draw):
    """(rows, delimiter, with value column, with null column) of a small path table: rows of
    (channels, conversions, value, nulls) drawn from a few distinct paths, so that paths
    repeat (rows of one path, spelt with other spaces, are summed) and channels repeat
    within a path; value only where the row converts."""
    pool = draw(
        st.lists(
            st.lists(st.sampled_from(PATH_CHANNELS), min_size=1, max_size=4),
            min_size=1,
            max_size=4,
        )
    )
    rows = draw(
        st.lists(
            st.tuples(
                st.sampled_from(pool),
                st.integers(0, 4),
                st.integers(1, 10**7),  # cents: 0.01 … 100,000.00
                st.integers(0, 4),
            ).map(lambda r: (r[0], r[1], r[2] if r[1] else 0, r[3])),
            min_size=1,
            max_size=12,
        )
    )
    with_value, with_nulls = draw(st.booleans()), draw(st.booleans())
    if not any(conv or (nulls and with_nulls) for _, conv, _, nulls in rows):
        rows[0] = (rows[0][0], 1, rows[0][2] or 1, rows[0][3])  # a table with a journey
    joins = draw(st.lists(st.sampled_from((">", " > ", " >", "> ")), min_size=1, max_size=3))
    rows = [
        (
            joins[i % len(joins)].join(chans),
            conv,
            cents if with_value else 0,
            n if with_nulls else 0,
        )
        for i, (chans, conv, cents, n) in enumerate(rows)
    ]
    return rows, draw(st.sampled_from((";", ","))), with_value, with_nulls


def _write_table(folder: Path, table, order: random.Random | None = None) -> Path:
    rows, sep, with_value, with_nulls = table
    if order is not None:
        rows = order.sample(rows, len(rows))
    header = ["path", "total_conversions"]
    header += ["total_conversion_value"] * with_value + ["total_null"] * with_nulls
    lines = [sep.join(header)]
    for path, conv, cents, nulls in rows:
        cells = [path, str(conv)]
        cells += [f"{cents / 100:.2f}"] * with_value + [str(nulls)] * with_nulls
        lines.append(sep.join(cells))
    folder.mkdir(parents=True, exist_ok=True)
    return _write(folder, "\n".join(lines) + "\n")


def _path_oracle(table) -> dict[tuple[str, str, str], float]:
    """(model, channel, metric) -> conversions and revenue credit of the rule-based models a
    path table runs, by plain loops over its rows: each row's conversions and value go to its
    channels (split on '>', trimmed) by the README's weights, touch by touch."""
    out: dict[tuple[str, str, str], float] = {}
    for path, conv, cents, _ in table[0]:
        chans = [c.strip() for c in path.split(">")]
        n = len(chans)
        weights = {
            "first_touch": [1.0] + [0.0] * (n - 1),
            "last_touch": [0.0] * (n - 1) + [1.0],
            "linear": [1.0 / n] * n,
            "position_based": (
                [1.0]
                if n == 1
                else [0.5, 0.5]
                if n == 2
                else [0.4] + [0.2 / (n - 2)] * (n - 2) + [0.4]
            ),
        }
        for model, w in weights.items():
            for c, share in zip(chans, w, strict=True):
                for metric, v in (("conversions", conv), ("revenue", cents / 100)):
                    out[(model, c, metric)] = out.get((model, c, metric), 0.0) + share * v
    return out


@PATH_SETTINGS
@given(table=path_tables())
def test_path_tables_conserve_and_match_the_plain_oracle(tmp_path_factory, table):
    """Every model a path table runs gives out the table's conversions and value exactly
    (1e-9 relative; channel_summary, and campaign_summary of the rule-based models, a path's
    campaigns being its channels' (none)); no pipeline or lost deal (a path converts or not).
    First/last touch, linear and position-based equal a plain loop over the rows; Markov's
    removal effects equal the brute-force chain of ``oracle_markov`` weighted by the rows'
    conversions and nulls."""
    from attrib.run import run_paths

    result = run_paths(_write_table(tmp_path_factory.mktemp("paths"), table), models=PATH_MODELS)
    rows = table[0]
    totals = {"conversions": sum(r[1] for r in rows), "revenue": sum(r[2] for r in rows) / 100}
    cs, camp = result.channel_summary, result.attribution.campaign_summary
    assert cs["model"].unique(maintain_order=True).to_list() == list(PATH_MODELS)
    assert (camp["campaign"] == "(none)").all()
    for model in PATH_MODELS:
        summaries = (cs, camp) if model not in ("markov", "shapley") else (cs,)
        for summary in summaries:
            mine = summary.filter(pl.col("model") == model)
            for metric, total in totals.items():
                got = mine[metric].sum()
                assert math.isclose(got, total, rel_tol=1e-9, abs_tol=1e-9), (model, metric, got)
            assert (mine["pipeline"] == 0).all(), model
            assert (mine["lost_deals"] == 0).all(), model
    expected = _path_oracle(table)
    got = {
        (r["model"], r["channel"], metric): r[metric]
        for r in cs.filter(pl.col("model").is_in(list(PATH_MODELS[:4]))).iter_rows(named=True)
        for metric in ("conversions", "revenue")
    }
    for key in {k for k, v in expected.items() if v} | {k for k, v in got.items() if v}:
        want = expected.get(key, 0.0)
        assert math.isclose(got.get(key, 0.0), want, rel_tol=1e-9, abs_tol=1e-9), (key, want)
    _markov_matches_the_oracle(table, result.tables["markov_removal_effects"])


def _markov_matches_the_oracle(table, effects: pl.DataFrame) -> None:
    """Removal effects of the chain fitted on a path table: each row a converting path of
    weight total_conversions and a non-converting one of weight total_null."""
    rows = table[0]
    names = sorted({c.strip() for path, *_ in rows for c in path.split(">")})
    code = {name: i + 1 for i, name in enumerate(names)}
    paths, won, weight = [], [], []
    for path, conv, _, nulls in rows:
        for converted, w in ((True, conv), (False, nulls)):
            if w:
                paths.append([code[c.strip()] for c in path.split(">")])
                won.append(converted)
                weight.append(float(w))
    ref = markov_oracle(paths, won, weight, [0.0] * len(paths))
    got = dict(effects.select("channel", "removal_effect").iter_rows())
    for name, c in code.items():
        want = ref["re"].get(c, 0.0)
        assert math.isclose(got.get(name, 0.0), want, abs_tol=1e-9), (name, got, want)


@settings(PATH_SETTINGS, max_examples=30)
@given(table=path_tables(), seed=st.integers(0, 2**16))
def test_path_runs_are_deterministic_and_free_of_row_order(tmp_path_factory, table, seed):
    """A rerun of one path table writes byte-identical Parquet files, every model; so does
    the same table with its rows shuffled (rows of one path are summed in an order of their
    own, and journeys ordered by path, not by the file)."""
    from attrib.run import run_paths

    tmp = tmp_path_factory.mktemp("paths-det")
    given_file = _write_table(tmp / "in", table)
    shuffled = _write_table(tmp / "shuffled", table, random.Random(seed))
    for name, source in (("a", given_file), ("b", given_file), ("c", shuffled)):
        run_paths(source, out=tmp / name, models=PATH_MODELS)
    files = sorted(p.name for p in (tmp / "a").glob("*.parquet"))
    assert {"channel_summary.parquet", "markov_transitions.parquet"} <= set(files)
    for other in ("b", "c"):
        assert files == sorted(p.name for p in (tmp / other).glob("*.parquet")), other
        for name in files:
            assert (tmp / "a" / name).read_bytes() == (tmp / other / name).read_bytes(), (
                other,
                name,
            )


def test_rows_of_one_path_are_resampled_at_their_own_values(tmp_path):
    """Two rows of path a, worth 100 and 0 for one conversion each: each row's journey is
    resampled, 100 x Poisson(1), whose 97.5th percentile is 300. Merged into one row of two
    conversions worth 50 each, 50 x Poisson(2), it was 250: too narrow an interval."""
    from attrib.run import run_paths

    f = _write(
        tmp_path,
        "path;total_conversions;total_conversion_value;total_null\na;1;100;0\na;1;0;0\nb;1;1;0\n",
    )
    result = run_paths(f, models="first_touch", bootstrap=4000, seed=3)
    a = result.tables["channel_summary"].filter(pl.col("channel") == "a").row(0, named=True)
    assert a["revenue"] == 100
    assert a["revenue_hi"] == 300
    assert result.manifest["row_counts"]["distinct_paths"] == 2  # (a won, b won)
