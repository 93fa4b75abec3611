"""The Python API takes polars DataFrames wherever it takes an input file."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

import attrib.api as at
import attrib.run as run_module
from attrib.errors import ConfigError, InputError, SchemaError, UsageError

SAMPLE = Path(__file__).resolve().parent.parent / "data_samples"


def test_frames_give_the_files_results(tmp_path):
    tables = {t: pl.read_csv(SAMPLE / f"{t}.csv") for t in ("touchpoints", "deals", "costs")}
    from_files = at.run(SAMPLE, models="linear,w_shaped")
    from_frames = at.run(
        SAMPLE, out=tmp_path, models="linear,w_shaped", **tables
    )  # frames win over DATA_DIR's files; stages still come from the folder
    assert_frame_equal(from_frames.channel_summary, from_files.channel_summary)
    assert_frame_equal(from_frames.tables["kpis"], from_files.tables["kpis"])
    # a frame that differs from the folder's file is the one used
    half = tables["deals"].head(tables["deals"].height // 2)
    fewer = at.run(SAMPLE, models="linear", deals=half)
    assert fewer.inputs.rows_read["deals"] == half.height
    assert fewer.journeys.table["deal_id"].drop_nulls().n_unique() == half.height
    assert fewer.manifest["inputs"]["deals"] == [{"frame": "(deals frame)", "rows": half.height}]
    assert fewer.manifest["inputs"]["touchpoints"][0]["path"].endswith("touchpoints.csv")


def test_a_frames_bad_rows_are_named_by_frame_and_row():
    deals = pl.read_csv(SAMPLE / "deals.csv")
    bad = deals.with_columns(
        pl.when(pl.int_range(pl.len()) == 2).then(-1.0).otherwise(pl.col("amount")).alias("amount")
    )
    inputs = at.load_inputs(
        frames={"touchpoints": pl.read_csv(SAMPLE / "touchpoints.csv")}, deals=bad
    )
    rejected = inputs.quarantine["deals"]
    assert rejected.select("file", "row", "column").rows() == [("(deals frame)", 3, "amount")]
    assert inputs.deals.height == deals.height - 1


def test_other_objects_are_refused_with_a_hint():
    with pytest.raises(UsageError, match="takes a file, folder or glob, or a polars DataFrame"):
        at.run(touchpoints={"customer_id": ["c1"]}, deals=SAMPLE / "deals.csv")


def test_the_bucketed_engine_wants_touchpoints_in_files():
    frame = pl.read_csv(SAMPLE / "touchpoints.csv")
    with pytest.raises(UsageError, match="streams touchpoints from files") as err:
        at.run_bucketed(SAMPLE, touchpoints=frame, buckets=2)
    assert "write_parquet" in (err.value.hint or "")


def test_an_unknown_model_fails_before_the_inputs_are_read(monkeypatch):
    def no_reading(*args, **kwargs):
        raise AssertionError("inputs were read")

    monkeypatch.setattr(run_module, "load_inputs", no_reading)
    with pytest.raises(UsageError, match="unknown model 'linaer'"):
        at.run(SAMPLE, models="first_touch,linaer")


def test_the_api_reaches_every_engine_without_importing_them_first():
    """``attrib.api`` mirrors ``attrib run``'s engines: run (in memory), run_bucketed
    (--buckets/--memory-limit) and run_spark (--engine spark), the last two imported on
    first use (pyspark only when Spark is asked for)."""
    import subprocess
    import sys

    code = (
        "import sys, attrib.api as at; "
        "assert 'attrib.engines.spark' not in sys.modules; "
        "from attrib.engines.local import run_bucketed; "
        "from attrib.engines.spark import run_spark; "
        "assert at.run_bucketed is run_bucketed and at.run_spark is run_spark; "
        "assert 'pyspark' not in sys.modules; "
        "assert set(at.__all__) >= {'run', 'run_bucketed', 'run_spark'}"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def _typed_tables() -> dict[str, pl.DataFrame]:
    """A small slice of the sample as a notebook holds it: typed timestamps and amounts."""
    touches = pl.read_csv(SAMPLE / "touchpoints.csv")
    deals = pl.read_csv(SAMPLE / "deals.csv").sort("status", "deal_id").gather_every(10)
    touches = touches.filter(pl.col("customer_id").is_in(deals["customer_id"].implode()))
    return {
        "touchpoints": touches.with_columns(pl.col("ts").str.to_datetime()),
        "deals": deals.with_columns(pl.col("created_at", "closed_at").str.to_datetime()),
    }


def test_deals_without_a_closed_at_column_run(tmp_path):
    """closed_at is an optional deal column: without it the closed deals are rejected
    ("won deal has no closed_at column") and the open ones are attributed, from a frame as
    from a file (the journeys stopped with Polars' ColumnNotFoundError)."""
    tables = _typed_tables()
    deals = tables["deals"].drop("closed_at")
    from_frame = at.run(touchpoints=tables["touchpoints"], deals=deals, models="linear")
    deals.write_csv(tmp_path / "deals.csv")
    from_file = at.run(
        touchpoints=tables["touchpoints"], deals=tmp_path / "deals.csv", models="linear"
    )
    n_open = deals.filter(pl.col("status") == "open").height
    assert 0 < n_open < deals.height
    assert from_frame.inputs.deals.height == n_open
    assert from_frame.inputs.rejected["deals"] == deals.height - n_open
    reasons = from_frame.inputs.quarantine["deals"]["reason"]
    assert reasons.str.contains("has no closed_at column").all()
    assert from_frame.journeys.table["deal_id"].drop_nulls().n_unique() == n_open
    assert_frame_equal(from_frame.channel_summary, from_file.channel_summary)


def test_a_frames_misspelt_optional_column_stops_the_run_as_a_files_does(tmp_path):
    """'Campaign' for campaign: a file stops the run naming it (its values would be
    ignored, every campaign "(none)"); a frame did not, and ran with no campaigns."""
    tables = _typed_tables()
    touches = tables["touchpoints"].rename({"campaign": "Campaign"})
    touches.write_csv(tmp_path / "touchpoints.csv")
    with pytest.raises(SchemaError, match="'Campaign' is not read") as from_file:
        at.run(touchpoints=tmp_path / "touchpoints.csv", deals=tables["deals"], models="linear")
    with pytest.raises(SchemaError, match="'Campaign' is not read") as from_frame:
        at.run(touchpoints=touches, deals=tables["deals"], models="linear")
    assert from_frame.value.file == "(touchpoints frame)"
    assert from_frame.value.column == from_file.value.column == "Campaign"
    assert "rename it 'campaign'" in (from_frame.value.hint or "")


@pytest.mark.parametrize("column", ["amount", "created_at", "customer_id"])
def test_a_duration_column_is_a_schema_error(column):
    """A Duration column (a frame's, or a Parquet file's) cannot be read as text, a number
    or a timestamp: a SchemaError naming it, not Polars' InvalidOperationError."""
    tables = _typed_tables()
    deals = tables["deals"].with_columns(pl.duration(days=pl.int_range(pl.len())).alias(column))
    with pytest.raises(SchemaError, match=f"column '{column}' holds Duration") as err:
        at.run(touchpoints=tables["touchpoints"], deals=deals, models="linear")
    assert err.value.file == "(deals frame)"
    assert err.value.column == column


def test_a_binary_column_reads_as_text_unless_it_is_not_utf8():
    """Bytes that are UTF-8 text read as that text; others are a SchemaError naming the
    column (it was Polars' 'invalid utf8')."""
    tables = _typed_tables()
    as_text = at.run(**tables, models="linear")
    as_bytes = tables["deals"].with_columns(pl.col("deal_id").cast(pl.Binary))
    same = at.run(touchpoints=tables["touchpoints"], deals=as_bytes, models="linear")
    assert_frame_equal(same.channel_summary, as_text.channel_summary)
    broken = as_bytes.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit(b"\xff\xfe"))
        .otherwise(pl.col("deal_id"))
        .alias("deal_id")
    )
    with pytest.raises(SchemaError, match="column 'deal_id' holds bytes that are not UTF-8"):
        at.run(touchpoints=tables["touchpoints"], deals=broken, models="linear")


def test_a_config_that_is_no_path_is_a_usage_error():
    """config= takes a RunConfig or a TOML file's path; a dict (a parsed TOML, say) is
    refused naming the way to build one, not with Python's TypeError from Path()."""
    tables = _typed_tables()
    with pytest.raises(UsageError, match="config= takes a RunConfig or a TOML file") as err:
        at.run(**tables, models="linear", config={"options": {"lookback_days": 90}})
    assert "config_from_mapping" in (err.value.hint or "")
    with pytest.raises(UsageError, match="got int"):
        at.load_inputs(**tables, config=5)
    config = at.config_from_mapping({"options": {"lookback_days": 90}})
    assert at.run(**tables, models="linear", config=config).manifest is not None


def test_a_frame_given_as_the_data_folder_is_a_usage_error():
    """``at.run(touches)``: the first argument is the data folder; a frame there is
    refused naming the table arguments, not with Python's TypeError from Path()."""
    tables = _typed_tables()
    for call in (at.run, at.load_inputs):
        with pytest.raises(UsageError, match="data_dir takes a folder") as err:
            call(tables["touchpoints"], deals=tables["deals"])
        assert "touchpoints=" in (err.value.hint or "")


@pytest.mark.parametrize(
    ("argument", "value", "words"),
    [
        ("models", 123, "models= must be a comma list or a list of model names, got 123"),
        ("seed", "x", "seed= must be a whole number, got 'x'"),
        ("out", 5, "out= must be a folder path, got 5"),
        ("metrics", [1], "metrics= must be a dict of [metrics] settings"),
        ("bootstrap", True, "bootstrap= must be a whole number of resamples, got True"),
    ],
)
def test_a_run_argument_of_the_wrong_type_is_a_usage_error(argument, value, words):
    """They failed deep inside with Python's TypeError or AttributeError."""
    with pytest.raises(UsageError) as err:
        at.run(**_typed_tables(), **{argument: value})
    assert words in err.value.message


def test_a_numpy_seed_is_a_whole_number():
    """A notebook's seed from numpy (np.int64) is accepted as the int it is."""
    import numpy as np

    result = at.run(**_typed_tables(), models="linear", bootstrap=np.int64(5), seed=np.int64(3))
    assert "revenue_lo" in result.channel_summary.columns


def test_a_lazy_frame_is_collected_as_its_table():
    """A notebook's query (``pl.scan_csv(...).filter(...)``) is a table as its result is:
    it was refused as not a DataFrame; one that cannot be collected is an input error."""
    tables = _typed_tables()
    eager = at.run(**tables, models="linear")
    lazy = at.run(
        touchpoints=tables["touchpoints"].lazy(),
        deals=tables["deals"].lazy().filter(pl.lit(True)),
        models="linear",
    )
    assert_frame_equal(lazy.channel_summary, eager.channel_summary)
    broken = tables["deals"].lazy().select(pl.col("no_such_column"))
    with pytest.raises(InputError, match="deals= is a LazyFrame that could not be collected"):
        at.run(touchpoints=tables["touchpoints"], deals=broken, models="linear")


def test_a_frame_without_rows_or_columns_is_named_in_its_error():
    """An empty frame has no row to take its "(<table> frame)" from: the missing-column
    error named no table at all."""
    every = "required columns 'customer_id', 'stage', 'ts' are missing"
    with pytest.raises(SchemaError, match=every) as err:
        at.run(**_typed_tables(), stages=pl.DataFrame(), models="linear")
    assert err.value.file == "(stages frame)"


def test_attribute_with_an_empty_model_list_runs_every_model_as_run_does():
    """``models=[]`` means the config's models, else all, in ``at.run``; ``at.attribute``
    stopped with Polars' "cannot concat empty list"."""
    tables = _typed_tables()
    inputs = at.load_inputs(**tables)
    journeys = at.build_journeys(inputs.touches, inputs.deals, inputs.config)
    result = at.attribute(journeys, [])
    assert set(result.channel_summary["model"]) == set(at.model_names())


def test_attribute_with_model_names_and_instances_mixed_is_a_usage_error():
    """``models`` takes names or instances; a list of both read the instances as names and
    stopped with a raw AttributeError ('LinearAttribution' object has no attribute 'lower')."""
    tables = _typed_tables()
    inputs = at.load_inputs(**tables)
    journeys = at.build_journeys(inputs.touches, inputs.deals, inputs.config)
    with pytest.raises(UsageError, match="names or model instances, not both"):
        at.attribute(journeys, [at.get_model("linear"), "first_touch"])
    result = at.attribute(journeys, [at.get_model("linear"), at.get_model("first_touch")])
    assert set(result.channel_summary["model"]) == {"linear", "first_touch"}


def test_build_journeys_from_unvalidated_frames_is_a_usage_error():
    """``at.build_journeys`` takes ``load_inputs``' validated tables; a frame as read (no
    ``entity_id``, text timestamps) is refused naming what to pass, not with Polars'
    ColumnNotFoundError."""
    tables = _typed_tables()
    with pytest.raises(UsageError, match="validated") as err:
        at.build_journeys(tables["touchpoints"], tables["deals"], at.RunConfig())
    assert err.value.column == "entity_id"
    assert "load_inputs" in (err.value.hint or "")
    inputs = at.load_inputs(**tables)
    with pytest.raises(UsageError, match="deals= "):
        at.build_journeys(inputs.touches, tables["deals"], inputs.config)


def test_a_run_result_shows_as_one_short_line(tmp_path):
    """A notebook cell that ends in ``at.run(...)`` shows the result's repr: one line naming
    the out folder, models and tables, not every table and the whole manifest."""
    result = at.run(SAMPLE, out=tmp_path / "out", models="linear")
    text = repr(result)
    assert "\n" not in text
    assert len(text) < 600
    assert text.startswith(f"RunResult(out={str(tmp_path / 'out')!r}, models=['linear']")
    assert f"channel_summary {result.channel_summary.height}x" in text
    # a Spark run's result shows alike (built here without a Spark session)
    from attrib.engines.spark import SparkRunResult

    spark_result = SparkRunResult(
        channel_summary=result.channel_summary,
        campaign_summary=result.tables["campaign_summary"],
        tables=result.tables,
        credits=[],
        dicts=None,  # (not shown)
        quarantine={},
        manifest=result.manifest,
        out=result.out,
    )
    assert repr(spark_result) == "Spark" + text


def test_frames_get_the_warnings_their_files_get(tmp_path):
    """The warnings read off an export's own columns (a campaign column named otherwise,
    thousands points, two currencies, cost rows over several days) read a frame as they read
    a file; they skipped frames, so a notebook's run said nothing of them."""
    touches = "customer_id,ts,channel,utm_campaign\nc1,2025-01-01 10:00,Email,spring\n"
    deals = (
        "deal_id,customer_id,created_at,closed_at,status,amount,currency\n"
        "d1,c1,2025-01-02,2025-01-05,won,12.500,EUR\nd2,c1,2025-01-02,,open,1.250,USD\n"
    )
    costs = (
        "date,Reporting ends,channel,spend\n2025-01-01,2025-03-31,Email,300\n"
        "2025-02-01,2025-02-28,Email,100\n"
    )
    files = tmp_path / "files"
    files.mkdir()
    for table, text in (("touchpoints", touches), ("deals", deals), ("costs", costs)):
        (files / f"{table}.csv").write_text(text, encoding="utf-8")
    from_files = at.run(files, models="linear").manifest["warnings"]
    frames = {
        t: pl.read_csv(files / f"{t}.csv", infer_schema=False)
        for t in ("touchpoints", "deals", "costs")
    }
    from_frames = at.run(models="linear", **frames).manifest["warnings"]
    assert len(from_files) >= 4
    named = [w.replace(str(files / "touchpoints.csv"), "(touchpoints frame)") for w in from_files]
    named = [w.replace(str(files / "deals.csv"), "(deals frame)") for w in named]
    named = [w.replace(str(files / "costs.csv"), "(costs frame)") for w in named]
    assert from_frames == named
    # a typed amount column holds numbers, not text: no thousands-point warning
    typed = frames["deals"].with_columns(pl.col("amount").cast(pl.Float64))
    typed_run = at.run(models="linear", **{**frames, "deals": typed}).manifest["warnings"]
    assert not [w for w in typed_run if "written like" in w]
    # categories of text are text: the warning as for strings
    for dtype in (pl.Categorical, pl.Enum(["1.250", "12.500"])):
        categories = frames["deals"].with_columns(pl.col("amount").cast(dtype))
        run = at.run(models="linear", **{**frames, "deals": categories}).manifest["warnings"]
        assert [w for w in run if "written like '12.500'" in w], dtype


@pytest.mark.parametrize(
    ("given", "named"),
    [
        ({"lookback_days": 0}, "lookback_days"),
        ({"level": "acount"}, "level"),
        ({"metrics": {"gross_margin": 2}}, "gross_margin"),
        ({"metrics": {"unknown": 1}}, "unknown"),
        ({"metrics": {"period_to": "2025-02-01"}}, "period_to"),  # against the file's from
    ],
    ids=["lookback", "level", "metrics", "unknown-key", "with-the-file"],
)
def test_a_bad_run_argument_is_not_blamed_on_the_config_file(given, named, tmp_path):
    """``run(folder, lookback_days=0)`` was refused as if the folder's channels.toml, which
    sets no lookback, held it: the error names the arguments it was checked with."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "channels.toml").write_text('[metrics]\nperiod_from = "2025-03-01"\n')
    with pytest.raises(ConfigError) as caught:
        at.run(data, **given)
    assert f"(checked with the run's arguments: {named})" in caught.value.message
    # the file is named only where its own value is part of the fault (period_from beside
    # the argument's period_to): an unknown or bad metrics key named it too
    beside_the_file = named == "period_to"
    assert (caught.value.file == str(data / "channels.toml")) is beside_the_file
