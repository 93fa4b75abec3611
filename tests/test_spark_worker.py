"""The Spark engine's executor functions, without Spark: Arrow in, Arrow out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal, assert_series_equal

from attrib.config import load_config
from attrib.credit import model_credit, summary_frames
from attrib.engines import _spark_worker as w
from attrib.inputs import load_inputs
from attrib.io import FILE_COL, ROW_COL
from attrib.journey_codes import build_dictionaries
from attrib.journeys import build_journeys
from attrib.parsing import MIXED_REJECT_NAIVE, mixing_code
from attrib.run import attribute, resolve_models
from attrib.schema import validate

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 50),
    seed=st.integers(0, 2**31),
)
def test_state_roundtrip(n, seed):
    rng = np.random.default_rng(seed)
    state = {
        "channel": rng.random((n, 7)),
        "keys": rng.integers(0, 2**40, n, dtype=np.int64),
        "flags": rng.random(n) < 0.5,
    }
    back = w.unpack_state(w.pack_state(state))
    assert set(back) == set(state)
    for k, v in state.items():
        assert back[k].dtype == v.dtype
        np.testing.assert_array_equal(back[k], v)


@pytest.fixture(scope="module")
def inputs():
    return load_inputs(SAMPLES)


def test_journeys_roundtrip(inputs, tmp_path):
    """Every array field travels, the optional ones too (the pipeline-window data has
    touches before their revenue windows: ``n_early``)."""
    from dataclasses import fields

    from conftest import deals, touches, write_inputs
    from test_pipeline_window import CONFIG, D, T

    from attrib.encoded import Journeys

    long_cycles = load_inputs(
        write_inputs(tmp_path, touches=touches(T), deals=deals(D), config=CONFIG)
    )
    assert set(w._OPTIONAL_ARRAYS) == {"in_period", "n_early", "created_lead_pos"}
    for read in (inputs, long_cycles):
        batch = build_journeys(read.touches, read.deals, read.config, stages=read.stages)
        back = w.unpack_journeys(*w.pack_journeys(batch), batch.dicts)
        for field in fields(Journeys):
            value = getattr(batch, field.name)
            if isinstance(value, np.ndarray):
                np.testing.assert_array_equal(getattr(back, field.name), value)
                assert getattr(back, field.name).dtype == value.dtype
            elif field.name in w._OPTIONAL_ARRAYS:
                assert getattr(back, field.name) is None
        assert_frame_equal(back.table, batch.table)
    assert batch.n_early is not None  # (the long cycles' batch: the optional array sent)


def _raw(rows: list[tuple[str, int, str, str]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            "customer_id": [r[2] for r in rows],
            "ts": [r[3] for r in rows],
            "channel": ["Email"] * len(rows),
            w.URI_COL: [r[0] for r in rows],
            w.BLOCK_COL: [r[1] for r in rows],
        }
    )


def test_rows_numbered_per_file_across_splits_and_batches():
    # file a.csv: split at 0 holds data rows 1-3, split at 100 rows 4-5; b.csv one split
    splits = {("file:/d/a.csv", 0): (0, "a.csv"), ("file:/d/a.csv", 100): (3, "a.csv")}
    splits[("file:/d/b.csv", 0)] = (0, "b.csv")
    v = w.TouchValidator(config=load_config(None), splits=splits, quarantine_columns=())
    seen: dict = {}
    first = v.number_rows(
        w.to_polars(
            _raw(
                [
                    ("file:/d/a.csv", 100, "x", "t"),
                    ("file:/d/b.csv", 0, "y", "t"),
                    ("file:/d/a.csv", 100, "z", "t"),
                ]
            )
        ),
        seen,
    )
    second = v.number_rows(w.to_polars(_raw([("file:/d/b.csv", 0, "u", "t")])), seen)
    assert first.select(FILE_COL, ROW_COL).rows() == [("a.csv", 4), ("b.csv", 1), ("a.csv", 5)]
    assert second.select(FILE_COL, ROW_COL).rows() == [("b.csv", 2)]


def test_mixed_zones_rejected_in_a_partition_without_zoned_rows():
    """The local rule is column-wide: the less common kind (here the naive rows) is rejected
    in a partition that holds only naive rows too, when the driver's counts say so. Oracle:
    local validation of the whole table."""
    whole = pl.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d", "e"],
            "ts": [
                "2025-01-01 10:00:00+01:00",
                "2025-01-02 10:00:00Z",
                "2025-01-02 11:00:00+00:00",
                "2025-01-03 10:00:00",
                "2025-01-03",
            ],
            "channel": ["Email", "Email", "Paid Search", "Email", "Email"],
            FILE_COL: ["t.csv"] * 5,
            ROW_COL: [1, 2, 3, 4, 5],
        }
    )
    cfg = load_config(None)
    expected = validate(whole, "touchpoints", cfg).rejected
    qcols = ("customer_id", "ts", "channel")
    code = mixing_code(3, 1)  # what the driver counts over every split (a date is neither)
    assert code == MIXED_REJECT_NAIVE
    v = w.TouchValidator(
        config=cfg, splits={}, quarantine_columns=qcols, ts_source="ts", mixed_ts=code
    )
    parts = [v.validate(whole.slice(0, 3)), v.validate(whole.slice(3, 2))]
    got = v.quarantine_frame(pl.concat(parts, how="diagonal_relaxed").filter(pl.col(w.BAD_COL)))
    assert_frame_equal(got, expected.select(got.columns))
    assert got["row"].to_list() == [4]  # the date (row 5) has no time for a zone to apply to
    good = pl.concat(parts, how="diagonal_relaxed").filter(~pl.col(w.BAD_COL))
    assert good["customer_id"].to_list() == ["a", "b", "c", "e"]
    # without the column-wide context a naive-only slice would keep its rows
    alone = w.TouchValidator(config=cfg, splits={}, quarantine_columns=qcols)
    assert alone.validate(whole.slice(3, 2)).filter(pl.col(w.BAD_COL)).height == 0


@pytest.mark.parametrize("n_buckets", [1, 4])
def test_buckets_reduce_to_the_single_batch_result(inputs, n_buckets):
    """build_bucket -> FitMapper/CreditMapper -> reduce_rows, bucket by bucket, gives the
    summaries attrib.run.attribute computes on one in-memory batch."""
    cfg = inputs.config
    models = resolve_models("first_touch,w_shaped,markov,shapley", cfg)
    dicts = build_dictionaries(inputs.touches, cfg)
    whole = attribute(
        build_journeys(inputs.touches, inputs.deals, cfg, stages=inputs.stages), models
    )

    def bucket(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(
            (pl.col("entity_id").hash(seed=1) % n_buckets).cast(pl.Int64).alias(w.BUCKET_COL)
        )

    touches = bucket(inputs.touches)
    side = bucket(
        pl.concat(
            [
                inputs.deals.select(
                    pl.lit("deal").alias(w.SIDE_KIND),
                    "deal_id",
                    "entity_id",
                    "created_at",
                    "closed_at",
                    "status",
                    "amount",
                    pl.lit(None, pl.String).alias("stage"),
                    pl.lit(None, pl.Datetime("us")).alias("ts"),
                ),
                inputs.stages.select(
                    pl.lit("stage").alias(w.SIDE_KIND),
                    pl.lit(None, pl.String).alias("deal_id"),
                    "entity_id",
                    pl.lit(None, pl.Datetime("us")).alias("created_at"),
                    pl.lit(None, pl.Datetime("us")).alias("closed_at"),
                    pl.lit(None, pl.String).alias("status"),
                    pl.lit(None, pl.Float64).alias("amount"),
                    "stage",
                    "ts",
                ),
            ]
        )
    )
    encoded = pa.concat_tables(
        [
            w.build_bucket(
                touches.filter(pl.col(w.BUCKET_COL) == b).to_arrow(),
                side.filter(pl.col(w.BUCKET_COL) == b).to_arrow(),
                cfg,
                dicts,
            )
            for b in range(n_buckets)
        ]
    )
    assert sum(encoded.column("n_touches").to_pylist()) == inputs.touches.height

    def rows(batches):
        out = []
        for rb in batches:
            d = rb.to_pydict()
            out += list(zip(d[w.BUCKET_COL], d["model"], d["state"], strict=True))
        return out

    need = [m for m in models if m.needs_fit]
    fit_rows = rows(w.FitMapper(need, dicts)(encoded.to_batches()))
    reduced = w.reduce_rows(fit_rows, need, fit=True)
    fitted = {m.name: m.fit_finalize(reduced[m.name], dicts) for m in need}
    from attrib.models.base import Fitted

    pairs = [(m, fitted.get(m.name, Fitted())) for m in models]
    credit_rows = rows(w.CreditMapper(pairs, dicts)(encoded.to_batches()))
    states = w.reduce_rows(credit_rows, models, fit=False)
    credits = [model_credit(m, f, states[m.name], dicts) for m, f in pairs]
    channel, campaign = summary_frames(credits, dicts)
    assert_frame_equal(channel, whole.channel_summary, check_exact=False, rel_tol=1e-9)
    assert_frame_equal(campaign, whole.campaign_summary, check_exact=False, rel_tol=1e-9)
    journeys = pl.concat(
        [pl.from_arrow(t) for t in w.JourneyRows(dicts, w.journey_schema())(encoded.to_batches())]
    )
    assert journeys.height == sum(encoded.column("n_journeys").to_pylist())


def test_engine_imports_without_pyspark():
    code = (
        "import sys, attrib.engines.spark, attrib.engines._spark_worker; "
        "sys.exit(1 if 'pyspark' in sys.modules else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_missing_pyspark_is_a_usage_error(monkeypatch):
    from attrib.engines.spark import spark_session
    from attrib.errors import UsageError

    monkeypatch.setitem(sys.modules, "pyspark", None)
    monkeypatch.setitem(sys.modules, "pyspark.sql", None)
    with pytest.raises(UsageError, match="needs pyspark") as info:
        spark_session()
    assert "attrib[spark]" in (info.value.hint or "")


def _parts(folder: Path, *columns: pl.Series) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for i, column in enumerate(columns):
        paths.append(folder / f"part-{i}.parquet")
        pl.DataFrame([column]).write_parquet(paths[-1])
    return paths


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (pl.Series("x", [1], pl.Int32), pl.Series("x", [1], pl.Int64)),  # Spark: cannot merge
        (pl.Series("x", [1, 2], pl.Int64), pl.Series("x", ["250.5", "n/a"])),
        (pl.Series("x", [1.5], pl.Float32), pl.Series("x", [3.0, 1e20, None], pl.Float64)),
        (pl.Series("x", [2**63 + 1], pl.UInt64), pl.Series("x", [-1], pl.Int64)),
        (pl.Series("x", ["a"], pl.Categorical), pl.Series("x", ["b"], pl.String)),
        (pl.Series("x", [1], pl.Datetime("ms")), pl.Series("x", [1_000_123], pl.Datetime("us"))),
        (
            pl.Series("x", [0], pl.Datetime("us", "Asia/Tokyo")),
            pl.Series("x", [86_400_000_000], pl.Datetime("us")).dt.date(),
        ),
    ],
)
@pytest.mark.parametrize("wall_clock", [False, True])
def test_parquet_parts_of_two_types_become_the_local_text(tmp_path, first, second, wall_clock):
    """Parquet parts whose column types differ (Spark merges no two number widths, nor text
    with numbers, nor zoned with naive timestamps): the column is text in each part as the
    local reader stacks them (``io.stack_parts``), made by ``ExportText`` from the Arrow
    batches Spark hands over (a zoned timestamp as an instant in another zone)."""
    from attrib.engines.spark import check_parquet_types, mixed_columns
    from attrib.io import stack_parts

    files = _parts(tmp_path, first, second)
    schemas = check_parquet_types(files, "costs")
    assert mixed_columns(schemas.values()) == ["x"]
    clock = ("x",) if wall_clock else ()
    frames = [pl.read_parquet(f) for f in files]
    expected = stack_parts(frames, wall_clock=clock)["x"]
    got = []
    for path, frame in zip(files, frames, strict=True):
        batch = frame.with_columns(
            pl.col(c).dt.convert_time_zone("Europe/Paris")  # the session's zone
            for c, t in frame.schema.items()
            if isinstance(t, pl.Datetime) and t.time_zone
        ).to_arrow()
        converter = w.ExportText({"x": schemas[path]["x"]}, clock)
        got.append(w.to_polars(converter.convert(batch.to_batches()[0]))["x"])
    assert_series_equal(pl.concat(got), expected)


def test_an_unreadable_parquet_part_is_an_input_error(tmp_path):
    """A truncated Parquet part: Polars' own error escaped the driver's type check, an
    internal error (exit 5, 'a bug') instead of an input error naming the file."""
    from attrib.engines.spark import check_parquet_types
    from attrib.errors import InputError

    files = _parts(tmp_path, pl.Series("x", [1]))
    (tmp_path / "part-9.parquet").write_bytes(b"not parquet")
    with pytest.raises(InputError, match="cannot read") as err:
        check_parquet_types([*files, tmp_path / "part-9.parquet"], "touchpoints")
    assert str(err.value.file).endswith("part-9.parquet")


def test_a_uri_s_parquet_files_of_two_types_are_an_input_error():
    """A URI's Parquet files are read by Spark as one input: their differing types are
    Spark's schema-merge error, said as an input error with what to do (it was a
    computation error, exit 3, 'Spark failed')."""
    pytest.importorskip("pyspark")
    from pyspark.errors import PySparkException

    from attrib.engines._spark_session import _spark_call
    from attrib.errors import InputError

    def fail():
        raise PySparkException(
            message='[CANNOT_MERGE_SCHEMAS] Failed merging schemas:\nInitial schema:\n"STRUCT'
            '<amount: BIGINT>"\n[CANNOT_MERGE_INCOMPATIBLE_DATA_TYPE] Failed to merge'
            ' incompatible data types "BIGINT" and "STRING".'
        )

    with pytest.raises(InputError, match="one column with two types") as err:
        _spark_call("reading deals", fail)
    assert 'data types "BIGINT" and "STRING"' in str(err.value)
    assert "local folder" in (err.value.hint or "")
