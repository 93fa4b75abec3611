"""Engine equivalence: the Spark engine (local[2]) gives the local engine's summaries and
quarantine on the same inputs, for every model and any bucket count."""

from __future__ import annotations

import importlib.util
import shutil
import warnings
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

if importlib.util.find_spec("pyspark") is None:
    pytest.skip("pyspark is not installed (pip install 'attrib[spark]')", allow_module_level=True)
if shutil.which("java") is None:
    pytest.skip("no java on PATH: Spark needs Java 17+", allow_module_level=True)

from conftest import zoned_parquet_rejects

from attrib.engines.spark import run_spark, spark_session
from attrib.errors import ChecksFailedError, InputError, SchemaError
from attrib.run import run
from attrib.synth import generate

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"
TABLES = ("channel_summary", "campaign_summary", "kpis", "funnel")
#: a deals CSV of one won deal of customer c1, for the tests about the touches' files
ONE_WON_DEAL = (
    "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
)
#: a's deal d1 (100) and b's d2 (10), both won, created 2025-01-10 and closed on the 12th
TWO_WON_DEALS = (
    "deal_id,customer_id,created_at,closed_at,status,amount\n"
    "d1,a,2025-01-10,2025-01-12,won,100\nd2,b,2025-01-10,2025-01-12,won,10\n"
)
REL = 1e-9  # bucket sums add the same terms in another order: equal to rounding only


def _two_tables(folder: Path, touchpoints: str, deals: str = ONE_WON_DEAL) -> Path:
    """``folder`` holding touchpoints.csv and deals.csv of the given texts."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "touchpoints.csv").write_text(touchpoints, encoding="utf-8")
    (folder / "deals.csv").write_text(deals, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def spark():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        session = spark_session(master="local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    session.stop()


def _sample_without(tmp_path: Path, table: str, **read) -> tuple[Path, pl.DataFrame]:
    """A copy of data_samples (``tmp_path/data``) without ``table``'s CSV, and that table
    (``pl.read_csv`` with ``read``) for the test to write back in another shape."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    frame = pl.read_csv(data / f"{table}.csv", **read)
    (data / f"{table}.csv").unlink()
    return data, frame


def _local(data: Path, out: Path, **kw):
    result = run(data, out=out, **kw)
    return {name: result.tables[name] for name in TABLES}, result


def _spark(spark, data: Path, out: Path | None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_spark(data, out=out, spark=spark, **kw)
    return {name: result.tables[name] for name in TABLES}, result


def _same(spark_tables: dict[str, pl.DataFrame], local_tables: dict[str, pl.DataFrame]) -> None:
    for name in TABLES:
        assert_frame_equal(
            spark_tables[name], local_tables[name], check_exact=False, rel_tol=REL, abs_tol=1e-9
        )


@pytest.fixture(scope="module")
def samples_local(tmp_path_factory):
    return _local(SAMPLES, tmp_path_factory.mktemp("local"))[0]


@pytest.mark.parametrize("buckets", [1, 3, 8])
def test_data_samples_every_model(spark, samples_local, buckets, tmp_path):
    big = buckets == 3  # the Spark-written outputs, once
    got, result = _spark(
        spark, SAMPLES, tmp_path, buckets=buckets, write_journeys=big, touch_credits=big
    )
    _same(got, samples_local)
    models = set(samples_local["channel_summary"]["model"])
    assert {"markov", "shapley", "first_touch", "w_shaped"} <= models
    assert (tmp_path / "channel_summary.parquet").is_file()
    assert (tmp_path / "manifest.json").is_file()
    if buckets == 3:  # Spark's journeys/ holds the local journeys, bucket by bucket
        spark_j = pl.read_parquet(
            tmp_path / "journeys" / "**" / "*.parquet", hive_partitioning=True
        )
        local = run(SAMPLES)
        local_table = local.tables["journeys"]
        for name in ("markov_removal_effects", "shapley_values"):  # with their credit columns
            assert {"conversions", "revenue", "pipeline"} <= set(result.tables[name].columns)
            assert_frame_equal(
                result.tables[name], local.tables[name], check_exact=False, rel_tol=REL
            )
        assert result.manifest["row_counts"]["touch_credits"] > 0
        # the report reads Spark's journeys/ folder: sourced shares and days to deal are drawn
        from attrib.report import build_report

        page = build_report(tmp_path).read_text(encoding="utf-8")
        assert "journeys.parquet is absent" not in page
        key = ["entity_id", "deal_id", "status", "path", "n_touches"]
        assert_frame_equal(
            spark_j.select(key).sort(key, nulls_last=True),
            local_table.select(key).sort(key, nulls_last=True),
        )
        assert sorted(spark_j["bucket"].unique().to_list()) == [0, 1, 2]
        # touch credits of rule-based models add up to the channel revenue and pipeline
        credits = pl.read_parquet(
            tmp_path / "touch_credits" / "**" / "*.parquet", hive_partitioning=True
        )
        sums = credits.group_by("model", "channel").agg(pl.col("revenue", "pipeline").sum())
        summary = samples_local["channel_summary"].filter(
            pl.col("model").is_in(["first_touch", "linear", "w_shaped"]),
            pl.col("channel") != "(none)",
        )
        joined = summary.join(sums, on=["model", "channel"], how="left", suffix="_t")
        assert joined.height > 0
        for m in ("revenue", "pipeline"):
            np.testing.assert_allclose(
                joined[f"{m}_t"].fill_null(0.0).to_numpy(), joined[m].to_numpy(), rtol=1e-9
            )


def test_generated_parquet_markov_params(spark, tmp_path):
    data = tmp_path / "data"
    generate(data, customers=500, seed=5, fmt="parquet")
    models = "first_touch,linear,time_decay,markov,shapley"
    local, _ = _local(data, tmp_path / "local", models=models, lookback_days=90)
    got, result = _spark(
        spark, data, None, models=models, lookback_days=90, buckets=5, write_journeys=False
    )
    _same(got, local)
    assert result.manifest["engine"]["buckets"] == 5


def test_reporting_window(spark, tmp_path):
    """Journeys built in Spark's workers carry the window (``Journeys.in_period``) to the
    credit step as the local engine's do."""
    window = {"period_from": date(2025, 3, 1), "period_to": date(2025, 8, 31)}
    local, _ = _local(SAMPLES, tmp_path / "local", models="linear,markov", metrics=window)
    got, _ = _spark(spark, SAMPLES, None, models="linear,markov", buckets=3, metrics=window)
    _same(got, local)
    whole, _ = _local(SAMPLES, tmp_path / "whole", models="linear")
    linear = local["channel_summary"].filter(pl.col("model") == "linear")
    assert linear["revenue"].sum() < whole["channel_summary"]["revenue"].sum()


def test_csv_files_with_different_separators(spark, tmp_path):
    """Each CSV file's header decides its separator, in Spark as locally."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    lines = (data / "touchpoints.csv").read_text().splitlines()
    (data / "touchpoints.csv").unlink()
    folder = data / "touchpoints"
    folder.mkdir()
    half = len(lines) // 2
    (folder / "part-1.csv").write_text("\n".join(lines[:half]) + "\n")
    semi = [line.replace(",", ";") for line in [lines[0], *lines[half:]]]
    (folder / "part-2.csv").write_text("\n".join(semi) + "\n")
    local, result = _local(data, tmp_path / "local", models="linear")
    assert result.inputs.rows_read["touchpoints"] == len(lines) - 1
    got, _ = _spark(spark, data, None, models="linear", buckets=2)
    _same(got, local)


def test_csv_files_with_columns_in_another_order(spark, tmp_path):
    """Each CSV file's header names its own columns: Spark would read a second file's
    columns by the first file's header, position by position."""
    data, touches = _sample_without(tmp_path, "touchpoints", infer_schema=False)
    folder = data / "touchpoints"
    folder.mkdir()
    half = touches.height // 2
    touches[:half].write_csv(folder / "part-1.csv")
    touches[half:].select(reversed(touches.columns)).write_csv(folder / "part-2.csv")
    local, result = _local(data, tmp_path / "local", models="linear")
    assert result.inputs.rows_read["touchpoints"] == touches.height
    assert sum(result.manifest["rejected"].values()) == 0
    got, spark_result = _spark(spark, data, None, models="linear", buckets=2)
    assert spark_result.manifest["rejected"] == result.manifest["rejected"]
    _same(got, local)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_part_file_without_a_column_its_siblings_have_is_refused(spark, tmp_path, kind):
    """A touch part file whose channel column is renamed ('Channel') stops the Spark run as
    the local one, naming that file: Spark would read its channels as null, every touch
    rejected as empty."""
    data, touches = _sample_without(tmp_path, "touchpoints", infer_schema=False)
    folder = data / "touchpoints"
    folder.mkdir()
    half = touches.height // 2
    write = pl.DataFrame.write_csv if kind == "csv" else pl.DataFrame.write_parquet
    write(touches[:half], folder / f"part-1.{kind}")
    write(touches[half:].rename({"channel": "Channel"}), folder / f"part-2.{kind}")
    for engine in (lambda: run(data), lambda: _spark(spark, data, None, models="linear")):
        with pytest.raises(SchemaError, match="missing from this file") as caught:
            engine()
        assert caught.value.file.endswith(f"part-2.{kind}")
        assert caught.value.column == "channel"


def test_an_empty_csv_is_named_as_locally(spark, tmp_path):
    """An empty touchpoints.csv (no header line): Spark said a required column is missing,
    naming no file; both engines now name it."""
    data, _ = _sample_without(tmp_path, "touchpoints")
    (data / "touchpoints.csv").write_text("")
    for engine in (lambda: run(data), lambda: _spark(spark, data, None, models="linear")):
        with pytest.raises(InputError, match="empty CSV") as caught:
            engine()
        assert caught.value.file.endswith("touchpoints.csv")


def test_zoned_parquet_cost_dates_keep_their_day(spark, tmp_path):
    """A cost date written zoned in Parquet (midnight in Tokyo, the evening before in UTC)
    counts on the day its export names, in Spark as locally."""
    data, costs = _sample_without(tmp_path, "costs", infer_schema=False)
    costs.with_columns(
        pl.col("date").str.to_datetime(time_unit="us").dt.replace_time_zone("Asia/Tokyo"),
        pl.col("spend").cast(pl.Float64),
    ).write_parquet(data / "costs.parquet")
    window = {"period_from": date(2025, 3, 1), "period_to": date(2025, 8, 31)}
    local, _ = _local(data, tmp_path / "local", models="linear", metrics=window)
    text, _ = _local(SAMPLES, tmp_path / "text", models="linear", metrics=window)
    assert_frame_equal(local["kpis"], text["kpis"])  # the day as written
    got, _ = _spark(spark, data, None, models="linear", buckets=2, metrics=window)
    _same(got, local)


def test_parquet_parts_with_two_types_of_a_column_like_local(spark, tmp_path):
    """A table's Parquet parts whose column types differ (a timestamp zoned in one, naive
    or text in another; a date beside a timestamp; a float amount beside a text one, an
    integer beside a text one in test_spark_worker): Spark cannot merge their schemas and
    stopped the run. Both engines now read such a column as the text a CSV export of it
    holds (``io.stack_parts``): the same numbers and quarantine; a zoned cost date keeps
    its own day."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    for table in ("touchpoints", "deals", "costs"):
        (data / f"{table}.csv").unlink()
        (data / table).mkdir()
    ts = pl.col("ts").str.to_datetime(time_unit="us")
    touches = pl.read_csv(SAMPLES / "touchpoints.csv", infer_schema=False)
    third = touches.height // 3
    touches[:third].with_columns(ts).write_parquet(data / "touchpoints" / "a.parquet")
    touches[third : 2 * third].with_columns(ts.dt.replace_time_zone("UTC")).with_columns(
        pl.col("ts").dt.convert_time_zone("America/New_York")
    ).write_parquet(data / "touchpoints" / "b.parquet")
    bad = pl.int_range(pl.len()) == 7
    touches[2 * third :].with_columns(
        pl.when(bad).then(pl.lit("not a time")).otherwise(pl.col("ts")).alias("ts")
    ).write_parquet(data / "touchpoints" / "c.parquet")
    deals = pl.read_csv(SAMPLES / "deals.csv", infer_schema=False)
    when = pl.col("created_at", "closed_at").str.to_datetime(time_unit="us")
    half = deals.height // 2
    deals[:half].with_columns(when, pl.col("amount").cast(pl.Float64)).write_parquet(
        data / "deals" / "a.parquet"
    )
    i = pl.int_range(pl.len())
    deals[half:].with_columns(
        when.dt.date(),
        pl.when(i == 3)
        .then(pl.lit("n/a"))
        .when(i == 5)
        .then(pl.lit("-5"))
        .otherwise("amount")
        .alias("amount"),
    ).write_parquet(data / "deals" / "b.parquet")
    costs = pl.read_csv(SAMPLES / "costs.csv", infer_schema=False)
    day = pl.col("date").str.to_date()
    costs[:100].with_columns(
        day.cast(pl.Datetime("us")).dt.replace_time_zone("Asia/Tokyo"),
        pl.col("spend").cast(pl.Float64),
    ).write_parquet(data / "costs" / "a.parquet")
    costs[100:].with_columns(day).write_parquet(data / "costs" / "b.parquet")
    window = {"period_from": date(2025, 3, 1), "period_to": date(2025, 8, 31)}
    local, local_run = _local(data, tmp_path / "local", models="linear,markov", metrics=window)
    got, result = _spark(spark, data, None, models="linear,markov", buckets=2, metrics=window)
    _same(got, local)
    text, _ = _local(SAMPLES, tmp_path / "text", models="linear,markov", metrics=window)
    spend = pl.col("kpi") == "marketing_spend"  # every cost on the day as written
    assert_frame_equal(local["kpis"].filter(spend), text["kpis"].filter(spend))
    for table in ("touchpoints", "deals"):
        expected = local_run.inputs.quarantine[table]
        assert_frame_equal(result.quarantine[table], expected)
    assert local_run.inputs.quarantine["touchpoints"]["ts"].to_list() == ["not a time"]
    assert local_run.inputs.quarantine["deals"]["amount"].to_list() == ["n/a", "-5"]
    assert result.manifest["rejected"] == local_run.manifest["rejected"]


def test_account_level(spark, tmp_path):
    local, _ = _local(SAMPLES, tmp_path / "local", level="account", models="linear,markov")
    got, _ = _spark(spark, SAMPLES, None, level="account", models="linear,markov", buckets=2)
    _same(got, local)


def _bad_inputs(folder: Path) -> Path:
    """data_samples with broken rows: empty ids, bad and mixed-zone timestamps, bad deals."""
    folder.mkdir(parents=True)
    for name in ("stages.csv", "costs.csv", "channels.toml"):
        shutil.copy(SAMPLES / name, folder / name)
    t = pl.read_csv(SAMPLES / "touchpoints.csv", infer_schema=False)
    i = pl.int_range(pl.len())
    t = t.with_columns(
        pl.when(i == 5).then(None).otherwise(pl.col("customer_id")).alias("customer_id"),
        pl.when(i == 9)
        .then(pl.lit("yesterday"))
        .when((i < 60) & (i % 7 == 3))  # zoned rows in the first split only: the column
        # mixes, and the fewer kind (zoned) is rejected, decided over every split
        .then(pl.col("ts") + "+02:00")
        .when(i == 15_000)
        .then(pl.lit("2025-13-40 10:00:00"))
        .otherwise(pl.col("ts"))
        .alias("ts"),
        pl.when(i == 20).then(pl.lit("  ")).otherwise(pl.col("channel")).alias("channel"),
    )
    t.write_csv(folder / "touchpoints.csv")
    d = pl.read_csv(SAMPLES / "deals.csv", infer_schema=False)
    j = pl.int_range(pl.len())
    d = d.with_columns(
        pl.when(j == 3).then(pl.lit("-5")).otherwise(pl.col("amount")).alias("amount"),
        pl.when(j == 7).then(pl.lit("d000001")).otherwise(pl.col("deal_id")).alias("deal_id"),
        pl.when(j == 11).then(pl.lit("sort of won")).otherwise(pl.col("status")).alias("status"),
    )
    d.write_csv(folder / "deals.csv")
    return folder


def test_bad_input_same_quarantine(spark, tmp_path):
    data = _bad_inputs(tmp_path / "bad")
    _, local = _local(data, tmp_path / "local", models="first_touch,markov")
    # small splits: the touchpoints CSV is read in several pieces, rows still numbered per file
    spark.conf.set("spark.sql.files.maxPartitionBytes", "200k")
    try:
        got, result = _spark(
            spark, data, tmp_path / "spark", models="first_touch,markov", buckets=3
        )
    finally:
        spark.conf.unset("spark.sql.files.maxPartitionBytes")
    assert local.inputs is not None
    for table in ("touchpoints", "deals"):
        expected = local.inputs.quarantine[table]
        assert expected.height > 0
        assert_frame_equal(result.quarantine[table], expected)
        on_disk = pl.read_parquet(tmp_path / "spark" / "quarantine" / f"{table}.parquet")
        assert_frame_equal(on_disk, expected)
    reasons = " ".join(local.inputs.quarantine["touchpoints"]["reason"].to_list())
    assert "has a timezone while most rows do not" in reasons
    assert "ts yesterday is not a timestamp" in reasons
    _same(got, {name: local.tables[name] for name in TABLES})
    spark_warnings = [w.replace("/spark/", "/out/") for w in result.manifest["warnings"]]
    assert spark_warnings == [w.replace("/local/", "/out/") for w in local.manifest["warnings"]]
    zero_touch = result.manifest["row_counts"]["zero_touch_deals"]
    assert zero_touch == local.manifest["row_counts"]["zero_touch_deals"] > 0


def test_deal_warnings_like_local(spark, tmp_path):
    """Deals whose ids match no touch, a window without deals, and touches whose customer id
    is NULL or N/A (in two buckets): the buckets' deal counts add up to the local engine's
    warnings and zero-touch count."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    touches = pl.read_csv(data / "touchpoints.csv", infer_schema=False)
    row = pl.int_range(pl.len())
    touches = touches.with_columns(
        pl.when(row % 5 == 0)
        .then(pl.lit("NULL"))
        .when(row % 7 == 0)
        .then(pl.lit("N/A"))
        .otherwise(pl.col("customer_id"))
        .alias("customer_id")
    )
    touches.write_csv(data / "touchpoints.csv")
    deals = pl.read_csv(data / "deals.csv", infer_schema=False)
    deals.with_columns(("X-" + pl.col("customer_id")).alias("customer_id")).write_csv(
        data / "deals.csv"
    )
    window = {"period_from": date(2031, 1, 1)}
    _, local = _local(data, tmp_path / "local", models="linear", metrics=window)
    _, result = _spark(spark, data, None, models="linear", buckets=3, metrics=window)
    assert result.manifest["row_counts"]["zero_touch_deals"] == deals.height
    assert (
        result.manifest["row_counts"]["zero_touch_deals"]
        == (local.manifest["row_counts"]["zero_touch_deals"])
    )
    assert result.manifest["warnings"] == local.manifest["warnings"]
    assert len(result.manifest["warnings"]) == 3
    assert result.manifest["row_counts"]["zero_touch_deals_in_window"] == 0
    n_placeholders = touches.filter(pl.col("customer_id").is_in(["NULL", "N/A"])).height
    assert result.manifest["warnings"][0].startswith(
        f"touchpoints: {n_placeholders:,} touch(es) in journeys have 'N/A', 'NULL' as their"
        " customer id"
    )


def test_zero_touch_deals_in_the_window_like_local(spark, tmp_path):
    """Every other deal's customer id matches no touch: the buckets count the zero-touch
    deals of the reporting window, and its warning, as the local engine does."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    deals = pl.read_csv(data / "deals.csv", infer_schema=False)
    odd = pl.int_range(pl.len()) % 2 == 1
    deals.with_columns(
        pl.when(odd)
        .then("X-" + pl.col("customer_id"))
        .otherwise(pl.col("customer_id"))
        .alias("customer_id")
    ).write_csv(data / "deals.csv")
    window = {"period_from": date(2025, 3, 1), "period_to": date(2025, 8, 31)}
    _, local = _local(data, tmp_path / "local", models="linear", metrics=window)
    _, result = _spark(spark, data, None, models="linear", buckets=3, metrics=window)
    counts = result.manifest["row_counts"]
    assert (
        counts["zero_touch_deals_in_window"]
        == (local.manifest["row_counts"]["zero_touch_deals_in_window"])
    )
    assert 0 < counts["zero_touch_deals_in_window"] < counts["zero_touch_deals"]
    assert result.manifest["warnings"] == local.manifest["warnings"]
    assert any("deals in the reporting window" in w for w in result.manifest["warnings"])


def test_touches_without_optional_columns(spark, samples_local, tmp_path):
    """An export without account_id and touch_type: the same summaries as with them."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    touches = pl.read_csv(data / "touchpoints.csv", infer_schema=False)
    touches.drop("account_id", "touch_type").write_csv(data / "touchpoints.csv")
    local, _ = _local(data, tmp_path / "local", models="linear,markov")
    got, _ = _spark(spark, data, None, models="linear,markov", buckets=2)
    _same(got, local)


def test_no_valid_touch_like_local(spark, tmp_path):
    """A touchpoints file with a header only: every deal is zero-touch, in every engine."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    header = (data / "touchpoints.csv").read_text().splitlines()[0]
    (data / "touchpoints.csv").write_text(header + "\n")
    local, local_run = _local(data, tmp_path / "local", models="linear")
    got, result = _spark(spark, data, None, models="linear", buckets=2)
    _same(got, local)
    assert result.manifest["warnings"] == local_run.manifest["warnings"]


def test_strict_fails_like_local(spark, tmp_path):
    data = _bad_inputs(tmp_path / "bad")
    with pytest.raises(ChecksFailedError, match="rejected"):
        _spark(spark, data, tmp_path / "spark", strict=True, buckets=2)
    assert (tmp_path / "spark" / "quarantine" / "touchpoints.parquet").is_file()


def test_missing_column_same_error(spark, tmp_path):
    folder = tmp_path / "nots"
    folder.mkdir()
    shutil.copy(SAMPLES / "deals.csv", folder / "deals.csv")
    pl.read_csv(SAMPLES / "touchpoints.csv").rename({"ts": "event_time"}).write_csv(
        folder / "touchpoints.csv"
    )
    with pytest.raises(SchemaError) as local_err:
        run(folder)
    with pytest.raises(SchemaError) as spark_err:
        _spark(spark, folder, None, buckets=2)
    assert spark_err.value.render() == local_err.value.render()
    assert "event_time" in (spark_err.value.hint or "")


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a misspelt 'Channel' was told before the missing customer_id ("the column is named
        # 'channel'", with no word of it); a repeated 'channel' was a missing one (channel3)
        ("customer_id,account_id,ts,channel", "Customer_ID,account_id,ts,Channel"),
        ("customer_id,account_id,ts,channel,campaign", "customer_id,account_id,ts,channel,channel"),
    ],
)
def test_a_header_is_told_as_locally(spark, tmp_path, old, new):
    folder = tmp_path / "header"
    folder.mkdir()
    shutil.copy(SAMPLES / "deals.csv", folder / "deals.csv")
    text = (SAMPLES / "touchpoints.csv").read_text()
    assert text.startswith(old)
    (folder / "touchpoints.csv").write_text(new + text.removeprefix(old))
    with pytest.raises(SchemaError) as local_err:
        run(folder)
    with pytest.raises(SchemaError) as spark_err:
        _spark(spark, folder, None, buckets=2)
    assert spark_err.value.render() == local_err.value.render()


def test_dataframe_input(spark, samples_local, tmp_path):
    """A Spark DataFrame (or catalog table) as touchpoints: same summaries; rows are located
    by a table name instead of a file."""
    frame = spark.read.option("header", True).csv(str(SAMPLES / "touchpoints.csv"))
    got, result = _spark(spark, SAMPLES, None, touchpoints=frame, buckets=4)
    _same(got, samples_local)
    assert result.manifest["inputs"]["touchpoints"] == "DataFrame"


def test_dataframes_get_the_warnings_their_files_get(spark, tmp_path):
    """Tables given as Spark DataFrames (or URIs: no local file to read again) get the
    warnings that read an export's own columns (a campaign column named otherwise, thousands
    points, two currencies, cost rows over several days), named as their quarantine rows;
    they got none."""
    data = tmp_path / "data"
    data.mkdir()
    texts = {
        "touchpoints": "customer_id,ts,channel,utm_campaign\nc1,2025-01-01 10:00,Email,spring\n",
        "deals": "deal_id,customer_id,created_at,closed_at,status,amount,currency\n"
        "d1,c1,2025-01-02,2025-01-05,won,12.500,EUR\nd2,c1,2025-01-02,,open,1.250,USD\n",
        "costs": "date,Reporting ends,channel,spend\n2025-01-01,2025-03-31,Email,300\n"
        "2025-02-01,2025-02-28,Email,100\n",
    }
    for table, text in texts.items():
        (data / f"{table}.csv").write_text(text, encoding="utf-8")
    _, local = _local(data, tmp_path / "local", models="linear")
    frames = {t: spark.read.option("header", True).csv(str(data / f"{t}.csv")) for t in texts}
    _, result = _spark(spark, None, None, models="linear", buckets=2, **frames)
    expected = local.manifest["warnings"]
    for table in texts:
        expected = [w.replace(str(data / f"{table}.csv"), f"table:{table}") for w in expected]
    assert len([w for w in expected if "table:" in w]) == 3, expected  # (currencies: no file)
    assert result.manifest["warnings"] == expected


def test_nanosecond_parquet_timestamps_get_a_hint(spark, tmp_path):
    data, touches = _sample_without(tmp_path, "touchpoints", try_parse_dates=True)
    touches.with_columns(pl.col("ts").cast(pl.Datetime("ns"))).write_parquet(
        data / "touchpoints.parquet"
    )
    with pytest.raises(InputError, match="nanosecond") as err:
        _spark(spark, data, None, models="linear", buckets=2)
    assert "microseconds" in (err.value.hint or "")
    # a local file: named, with its column (Spark's own refusal names neither)
    assert err.value.file == str(data / "touchpoints.parquet")
    assert err.value.column == "ts"


def test_inputs_without_a_row_like_local(spark, tmp_path):
    """Header-only touchpoints and deals: no bucket has a row; Spark writes the local
    engine's empty tables (it used to fail with no state to credit)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "touchpoints.csv").write_text("customer_id,ts,channel,campaign\n")
    (data / "deals.csv").write_text("deal_id,customer_id,created_at,closed_at,status,amount\n")
    local, _ = _local(data, tmp_path / "local", models="linear,markov,shapley")
    got, result = _spark(spark, data, tmp_path / "spark", models="linear,markov,shapley")
    _same(got, local)
    assert all(t.height == 0 for t in got.values())
    assert result.manifest["row_counts"]["journeys"] == 0


@pytest.mark.parametrize(("table", "text"), [("touchpoints", ""), ("stages", "\n  \n")])
def test_an_empty_ndjson_is_named_as_locally(spark, tmp_path, table, text):
    """An NDJSON file with no JSON line (0 bytes, or blank lines): the local engines cannot
    read it and name the file; Spark read no column and said a required one is missing,
    naming no file."""
    data, _ = _sample_without(tmp_path, table)
    (data / f"{table}.ndjson").write_text(text)
    for engine in (lambda: run(data), lambda: _spark(spark, data, None, models="linear")):
        with pytest.raises(InputError) as caught:
            engine()
        assert caught.value.file.endswith(f"{table}.ndjson")
        # (the local message was Polars': "Cannot infer NDJSON types on empty reader ...")
        assert caught.value.message == "cannot read ndjson file: empty NDJSON (no JSON line)"


def test_a_quoted_empty_csv_value_is_empty_text_as_locally(spark, tmp_path):
    """A quoted empty CSV value (``""``, as HubSpot and Salesforce write an empty field) is
    empty text, an unquoted empty one null, in Spark as locally: Spark read both as null, so
    a rejected row's quarantine showed null where the local engines show empty text."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,channel,campaign\n"
        'c1,2025-01-05 10:00:00,Email,""\nc1,2025-01-05 11:00:00,Email,\n'
        'c2,2025-01-06 10:00:00,Social,spring\n"",2025-01-06 10:00:00,Social,x\n'
        'c3,"",Social,\n'
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        'd1,c1,2025-02-01,2025-02-15,won,""\nd2,c2,2025-02-01,2025-02-15,won,\n'
        'd3,c2,2025-02-01,"",won,5\nd4,c1,2025-02-01,"",open,7\n'
    )
    local, local_run = _local(data, tmp_path / "local", models="linear")
    got, result = _spark(spark, data, None, models="linear", buckets=2)
    _same(got, local)
    for table in ("touchpoints", "deals"):
        assert_frame_equal(result.quarantine[table], local_run.inputs.quarantine[table])
    touches = local_run.inputs.quarantine["touchpoints"]
    assert touches.select("customer_id", "ts", "campaign").rows() == [
        ("", "2025-01-06 10:00:00", "x"),
        ("c3", "", None),
    ]
    assert local_run.inputs.quarantine["deals"]["amount"].to_list() == ["", None, "5"]


def test_a_line_of_spaces_is_skipped_like_local(spark, tmp_path):
    """A line of only spaces or tabs is a blank line in every engine (the local ones read it
    as a row of blank values and rejected it, Spark's CSV reader drops it); documented
    difference (docs/SPARK.md): the rows after it are numbered one lower in Spark's
    quarantine, whose line reader keeps no trace of it (any table's CSV)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,channel\nc1,2025-01-05 10:00:00,Email\n   \nc1,not a time,Email\n"
        "c2,2025-01-06 10:00:00,Social\n"
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-02-01,2025-02-15,won,1000\n\t\nd2,c2,2025-02-01,,won,5\n"
    )
    local, local_run = _local(data, tmp_path / "local", models="linear")
    got, result = _spark(spark, data, None, models="linear", buckets=2)
    _same(got, local)  # the row has no value: the numbers are the same
    for table in ("touchpoints", "deals"):
        here = local_run.inputs.quarantine[table]
        assert here["row"].to_list() == [3]
        assert result.quarantine[table]["row"].to_list() == [2]
        assert result.quarantine[table]["reason"].to_list() == here["reason"].to_list()


def test_csv_rows_of_separators_only_are_skipped_like_local(spark, tmp_path):
    """A CSV line of separators only (``,,,``: spreadsheets write them below a table) holds no
    value: the local engines skip it, and the rows after it keep their numbers. Spark read it
    as a row of missing values and rejected it (a --strict run failed on Spark alone)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,channel\nc1,2025-01-05 10:00:00,Email\n,,\nc1,not a time,Email\n"
        'c2,2025-01-06 10:00:00,Social\n,,\n,,\n, ,\n" ",\t,\n'
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-02-01,2025-02-15,won,1000\n,,,,,\nd2,c2,2025-02-01,,won,5\n,,,,,\n"
    )
    local, local_run = _local(data, tmp_path / "local", models="linear")
    got, result = _spark(spark, data, None, models="linear", buckets=2)
    _same(got, local)
    for table in ("touchpoints", "deals"):
        here = local_run.inputs.quarantine[table]
        assert here["row"].to_list() == [3]
        assert_frame_equal(result.quarantine[table], here)
    # such rows are not read rows (Spark counted the touches' ones as read)
    counts = local_run.manifest["row_counts"]
    assert (counts["touchpoints_read"], counts["deals_read"]) == (3, 2)
    assert result.manifest["row_counts"] == counts


def test_a_file_column_named_as_the_row_numbers_like_local(spark, tmp_path):
    """A touch file's own ``__file``/``__row`` columns are not read (as locally): Spark's
    quarantine named the file by the user's ``__file`` value."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "__row,customer_id,ts,channel,__file\n"
        "x,c1,2025-01-01 10:00,Email,p\nx,c1,not a time,Ads,q\nx,c2,2025-01-02 10:00,Ads,r\n"
    )
    (data / "deals.csv").write_text(ONE_WON_DEAL)
    local, local_result = _local(data, tmp_path / "local", models="first_touch")
    got, result = _spark(spark, data, tmp_path / "spark", models="first_touch")
    expected = local_result.inputs.quarantine["touchpoints"]
    assert expected.select("file", "row").rows() == [(str(data / "touchpoints.csv"), 2)]
    assert_frame_equal(result.quarantine["touchpoints"], expected)
    _same(got, local)


def test_the_warnings_read_off_the_files_like_local(spark, tmp_path):
    """The warnings that read a file's header or one column (a campaign column named
    otherwise, thousands points, several currencies) were never given by Spark: its
    inputs named no files."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,channel,utm_campaign\nc1,2025-01-01 10:00,Email,jan\n"
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount,Amount Currency\n"
        "d1,c1,2025-01-05,2025-01-06,won,12.500,EUR\nd2,c1,2025-01-07,,open,2.000,USD\n"
    )
    _, local = _local(data, tmp_path / "local", models="first_touch")
    _, result = _spark(spark, data, tmp_path / "spark", models="first_touch")
    given = " ".join(local.manifest["warnings"])
    for words in ("'utm_campaign' is named like it", "written like '12.500'", "2 currencies"):
        assert words in given, given
    assert result.manifest["warnings"] == local.manifest["warnings"]


def test_an_ndjson_key_named_twice_is_named_as_locally(spark, tmp_path):
    """Spark's reader stopped at a repeated key with a computation error naming no file."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.ndjson").write_text(
        '{"customer_id": "c1", "ts": "2025-01-01", "channel": "a", "channel": "b"}\n'
    )
    (data / "deals.csv").write_text(ONE_WON_DEAL)
    with pytest.raises(SchemaError, match="names key 'channel' twice") as err:
        _spark(spark, data, None, models="first_touch")
    assert err.value.file == str(data / "touchpoints.ndjson")


def test_a_session_in_another_time_zone_gives_the_same_numbers(spark, tmp_path: Path) -> None:
    """A given (or active) session in America/Los_Angeles read the deals' naive UTC times
    shipped from the driver as Los Angeles times: d1's close at 02:00 became 10:00, after
    a's 03:00 Email touch, which took its 100. By hand: d1 has no touch before its close, so
    (none) gets 100; d2 closes at 23:00 after b's Display touch at 12:00: Display gets 10.
    The session's zone is set back after the run."""
    data = _two_tables(
        tmp_path / "data",
        "customer_id,ts,channel\na,2025-01-10 03:00:00,Email\nb,2025-01-09 12:00:00,Display\n",
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,a,2025-01-10,2025-01-10 02:00:00,won,100\n"
        "d2,b,2025-01-09 20:00:00,2025-01-09 23:00:00,won,10\n",
    )
    key = "spark.sql.session.timeZone"
    spark.conf.set(key, "America/Los_Angeles")
    try:
        tables, _ = _spark(spark, data, tmp_path / "spark", models="linear")
        assert spark.conf.get(key) == "America/Los_Angeles"
        # with master= the active session is used too, and set back (the builder's
        # getOrCreate had returned it with UTC set for good)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            again = run_spark(data, out=None, master="local[1]", models="linear")
        assert dict(again.channel_summary.select("channel", "revenue").iter_rows())["(none)"] == 100
        assert spark.conf.get(key) == "America/Los_Angeles"
    finally:
        spark.conf.set(key, "UTC")
    revenue = dict(tables["channel_summary"].select("channel", "revenue").iter_rows())
    assert (revenue["(none)"], revenue["Display"], revenue.get("Email", 0.0)) == (100.0, 10.0, 0.0)
    _same(tables, _local(data, tmp_path / "local", models="linear")[0])
    journeys = pl.read_parquet(str(tmp_path / "spark" / "journeys") + "/**/*.parquet")
    closed = dict(journeys.select("deal_id", "closed_at").drop_nulls("deal_id").iter_rows())
    assert str(closed["d1"]) == "2025-01-10 02:00:00"


def test_a_run_under_spark_submit_uses_the_submitted_master(tmp_path: Path) -> None:
    """docs/SPARK.md's spark-submit recipe calls run_spark without spark= or master=: the
    new session's builder set local[*] over spark-submit's --master, so a YARN job ran on
    its driver alone. Submitted with local[1], the session is local[1]."""
    import os
    import subprocess
    import sys

    import pyspark

    script = tmp_path / "job.py"
    script.write_text(
        "from attrib.engines._spark_session import _master, spark_session\n"
        "print('MASTER', _master(spark_session()))\n"
    )
    submit = Path(pyspark.__file__).parent / "bin" / "spark-submit"
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    done = subprocess.run(
        [str(submit), "--master", "local[1]", str(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert "MASTER local[1]" in done.stdout, done.stdout + done.stderr


def test_column_names_with_a_dot_read_as_locally(spark, tmp_path: Path) -> None:
    """A dot in a touch column's name (an unused page.url, Mixpanel's properties.time mapped
    to ts) was read by Spark as a path into a struct: the run failed with exit 5. By hand:
    a's one Email touch takes d1's 100, b's Display touch d2's 10; b's row with no time is
    rejected and its quarantine row names the file's own column names."""
    data = _two_tables(
        tmp_path / "data",
        "customer_id,properties.time,channel,page.url\n"
        "a,2025-01-05 10:00:00,Email,/x\nb,2025-01-06 11:00:00,Display,/y\nb,,Display,/z\n",
        TWO_WON_DEALS,
    )
    (data / "channels.toml").write_text('[columns.touchpoints]\nts = "properties.time"\n')
    tables, result = _spark(spark, data, tmp_path / "spark", models="linear")
    revenue = dict(tables["channel_summary"].select("channel", "revenue").iter_rows())
    assert (revenue["Email"], revenue["Display"]) == (100.0, 10.0)
    local_tables, local = _local(data, tmp_path / "local", models="linear")
    _same(tables, local_tables)
    assert result.quarantine["touchpoints"].equals(local.inputs.quarantine["touchpoints"])
    assert result.quarantine["touchpoints"]["row"].to_list() == [3]


#: two touches with an offset
AWARE_TWO = "a,2025-01-05T10:00:00+02:00\nb,2025-01-05T11:00:00+02:00\n"


@pytest.mark.parametrize(
    ("lines", "rejected"),
    [
        # two dates followed by a tab: neither naive nor aware once stripped, as locally
        (f"{AWARE_TWO}c,2025-01-05 09:30:00\nd,2025-01-06\t\ne,2025-01-07\t\n", [3]),
        # a no-break space before the offset: still aware (Unicode \s, as Rust's regex)
        (
            "a,2025-01-05 10:00\u00a0+02:00\nb,2025-01-05 11:00\u00a0+02:00\nc,2025-01-05 09:30\n",
            [3],
        ),
    ],
)
def test_the_timezone_mixing_rule_counts_values_as_locally(
    spark, tmp_path: Path, lines: str, rejected: list[int]
) -> None:
    """Two aware values and one naive: the naive row (3) is rejected. Spark counted with
    Java's trim (spaces only) and ASCII \\s: the tab-ended dates counted naive, so it
    rejected the aware rows 1-2; with the no-break space it counted none aware."""
    rows = "".join(f"{line},Email\n" for line in lines.splitlines())
    data = _two_tables(
        tmp_path / "data", "customer_id,ts,channel\n" + rows, ONE_WON_DEAL.replace("c1", "a")
    )
    tables, result = _spark(spark, data, tmp_path / "spark", models="linear")
    local_tables, local = _local(data, tmp_path / "local", models="linear")
    assert local.inputs.quarantine["touchpoints"]["row"].to_list() == rejected
    assert result.quarantine["touchpoints"]["row"].to_list() == rejected
    _same(tables, local_tables)


def _write_cut_short_touches(data: Path) -> None:
    """``data/touchpoints.csv.gz`` cut at half its bytes (a truncated download)."""
    import gzip

    rows = "".join(f"c{i},2025-01-0{1 + i % 5} 10:00:00,Email\n" for i in range(5000))
    packed = gzip.compress(("customer_id,ts,channel\n" + rows).encode())
    (data / "touchpoints.csv.gz").write_bytes(packed[: len(packed) // 2])


def test_a_missing_or_cut_short_file_is_an_input_error(spark, tmp_path: Path) -> None:
    """A --touchpoints path that does not exist, and a .csv.gz cut short, were Spark's
    failures (exit 3, "executors need attrib installed"); they are the input's (exit 2), as
    locally, naming the file."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text(ONE_WON_DEAL)
    missing = data / "no such" / "nope.csv"  # (a space: the path is read up to its end)
    with pytest.raises(InputError, match="file not found") as caught:
        _spark(spark, None, None, touchpoints=str(missing), deals=str(data / "deals.csv"))
    assert caught.value.file == str(missing)
    _write_cut_short_touches(data)
    with pytest.raises(InputError, match="the file ends before its data does") as caught:
        _spark(spark, data, None)
    assert caught.value.file == str(data / "touchpoints.csv.gz")


def test_a_failed_spark_run_prints_no_java_stack_trace(tmp_path: Path) -> None:
    """A session attrib starts logs errors only at FATAL and without Spark's start-up notes:
    a failed task's 40-50 lines of Java stack trace came before attrib's own message."""
    import os
    import subprocess
    import sys

    data = tmp_path / "data"
    data.mkdir()
    (data / "deals.csv").write_text(ONE_WON_DEAL)
    _write_cut_short_touches(data)
    command = [sys.executable, "-m", "cli.main", "run", str(data), "--out", str(tmp_path / "o")]
    command += ["--engine", "spark", "--spark-master", "local[1]", "--models", "linear"]
    env = {k: v for k, v in os.environ.items() if k != "ATTRIB_DEBUG"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Input error: file " in done.stderr
    assert "\tat " not in done.stderr
    assert "Setting default log level" not in done.stderr
    assert "FutureWarning" not in done.stderr


@pytest.mark.parametrize(
    ("table", "line", "why"),
    [
        ("touchpoints", '{"customer_id": "b", "ts": ', "Unexpected end-of-input"),
        ("deals", '{"deal_id": "d2", "customer_id": "a", "amount": NaN}', "Non-standard token"),
        ("touchpoints", '"abc"', ""),  # (a line of a string: Spark's INVALID_JSON_RECORD_TYPE)
    ],
)
def test_an_ndjson_line_that_is_no_json_object_refuses_the_file(
    spark, tmp_path: Path, table: str, line: str, why: str
) -> None:
    """As locally (exit 2): Spark's lenient JSON reader made a broken line a row of nulls (a
    quarantine row "customer_id is empty; ...") and read NaN as a number."""
    data = tmp_path / "data"
    data.mkdir()
    touches = '{"customer_id": "a", "ts": "2025-01-05", "channel": "Email"}\n'
    deals = (
        '{"deal_id": "d1", "customer_id": "a", "created_at": "2025-01-10", '
        '"closed_at": "2025-01-12", "status": "won", "amount": 100}\n'
    )
    given = {"touchpoints": touches, "deals": deals}
    given[table] += line + "\n"
    for name, text in given.items():
        (data / f"{name}.ndjson").write_text(text)
    with pytest.raises(InputError, match="a line is not a JSON object") as caught:
        _spark(spark, data, None)
    assert why in str(caught.value)
    assert "enable" not in str(caught.value)
    with pytest.raises(InputError):
        run(data)


def test_a_utf16_csv_file_is_an_input_error(spark, tmp_path: Path) -> None:
    """Spark read the UTF-16 text as UTF-8: garbled header names, an internal error (exit
    5). Refused before Spark reads it, naming the file, as locally (exit 2)."""
    data = tmp_path / "data"
    data.mkdir()
    text = "customer_id,ts,channel\nc1,2025-01-02 10:00:00,Email\n"
    (data / "touchpoints.csv").write_bytes(text.encode("utf-16"))
    (data / "deals.csv").write_text(ONE_WON_DEAL)
    with pytest.raises(InputError, match="the file is UTF-16 text, not UTF-8") as caught:
        _spark(spark, data, None)
    assert caught.value.file == str(data / "touchpoints.csv")


def test_schema_errors_name_every_table_and_the_file_as_locally(spark, tmp_path: Path) -> None:
    """The touches' missing ts and the deals' missing customer_id in one error, as locally
    (Spark named the touches' alone); a header-only touch file is named (Spark's sample had
    no row to name it)."""
    data = _two_tables(
        tmp_path / "data",
        "customer_id,time,channel\nc1,2025-01-02,Email\n",
        ONE_WON_DEAL.replace("customer_id,", "customer,", 1),
    )
    with pytest.raises(SchemaError) as spark_error:
        _spark(spark, data, None)
    with pytest.raises(SchemaError) as local_error:
        run(data)
    assert str(spark_error.value) == str(local_error.value)
    assert "also " in str(spark_error.value)
    assert "deals.csv: required column 'customer_id' is missing" in str(spark_error.value)
    _two_tables(data, "customer_id,channel\n")
    with pytest.raises(SchemaError) as spark_error:
        _spark(spark, data, None)
    assert spark_error.value.file == str(data / "touchpoints.csv")


def test_a_dotted_column_reads_in_files_of_differing_types(spark, tmp_path: Path) -> None:
    """A touch table of a Parquet part (ts typed) beside a CSV part (ts text) goes through a
    second mapInArrow (the parts' ts made text before stacking), which still took page.url
    for a struct path: an internal error. By hand: Email 100 (d1), Display 10 (d2)."""
    data = tmp_path / "data"
    parts = data / "touchpoints"
    parts.mkdir(parents=True)
    pl.DataFrame(
        {
            "customer_id": ["a"],
            "ts": [datetime(2025, 1, 5, 10)],
            "channel": ["Email"],
            "page.url": ["/x"],
        }
    ).write_parquet(parts / "p1.parquet")
    (parts / "p2.csv").write_text(
        "customer_id,ts,channel,page.url\nb,2025-01-06 11:00:00,Display,/y\n"
    )
    (data / "deals.csv").write_text(TWO_WON_DEALS)
    tables, _ = _spark(spark, data, tmp_path / "spark", models="linear")
    revenue = dict(tables["channel_summary"].select("channel", "revenue").iter_rows())
    assert (revenue["Email"], revenue["Display"]) == (100.0, 10.0)
    _same(tables, _local(data, tmp_path / "local", models="linear")[0])


@pytest.mark.parametrize("table", ["touchpoints", "deals"])
def test_a_file_that_is_not_utf8_is_refused_as_locally(spark, tmp_path: Path, table: str) -> None:
    """Spark read a Latin-1 file with U+FFFD for its bytes: channel 'R\ufffdseaux', a run
    with made-up names. Refused as locally: the file and the row of its first such byte."""
    data = _two_tables(
        tmp_path / "data",
        "customer_id,ts,channel\nc1,2025-01-02 10:00:00,Email\nc1,2025-01-03 10:00:00,Réseaux\n",
        ONE_WON_DEAL + "dé2,c1,2025-01-05,2025-01-06,lost,0\n",
    )
    other = "deals" if table == "touchpoints" else "touchpoints"
    (data / f"{other}.csv").write_text(
        (data / f"{other}.csv").read_text().replace("é", "e"), encoding="utf-8"
    )
    (data / f"{table}.csv").write_bytes((data / f"{table}.csv").read_text().encode("latin-1"))
    with pytest.raises(InputError) as local:
        run(data)
    with pytest.raises(InputError, match="bytes that are not UTF-8 text") as caught:
        _spark(spark, data, tmp_path / "out")
    assert (caught.value.file, caught.value.row) == (str(data / f"{table}.csv"), 2)
    assert (caught.value.file, caught.value.row) == (local.value.file, local.value.row)
    assert not (tmp_path / "out").exists()  # nothing written, as locally


def test_a_replacement_character_in_utf8_text_is_kept_as_locally(spark, tmp_path: Path) -> None:
    """U+FFFD written as UTF-8 is text like any other: the run goes on, in both engines."""
    data = _two_tables(
        tmp_path / "data", "customer_id,ts,channel\nc1,2025-01-02 10:00:00,R\ufffdseaux\n"
    )
    spark_tables, _ = _spark(spark, data, None)
    local_tables, _ = _local(data, tmp_path / "local")
    _same(spark_tables, local_tables)
    assert "R\ufffdseaux" in spark_tables["channel_summary"].get_column("channel").to_list()


def test_a_run_naming_no_models_leaves_shapley_out_as_locally(spark, tmp_path: Path) -> None:
    """Beyond 63 channels Shapley cannot run: left out of a run that named no models, as in
    the local engines (it stopped the whole run)."""
    from test_shapley import _seventy_channels

    data = _seventy_channels(tmp_path / "in")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = run_spark(data, out=None, spark=spark, models=None)
    assert "shapley" not in set(result.channel_summary.get_column("model").to_list())
    assert any(w.startswith("shapley: left out of this run") for w in result.warnings)


def test_typed_timestamps_do_not_vote_like_local(spark, tmp_path):
    """A zoned Parquet part beside a CSV part of mostly zoned text: the Spark engine's
    timezone-mixing vote leaves the typed part out as the local engines do, rejecting the
    CSV's naive rows (not its zoned ones)."""
    data = tmp_path / "data"
    shutil.copytree(SAMPLES, data)
    (data / "touchpoints.csv").unlink()
    parts = data / "touchpoints"
    from conftest import typed_and_text_touch_parts

    sample = pl.read_csv(SAMPLES / "touchpoints.csv", infer_schema=False).head(30)
    typed_and_text_touch_parts(parts, sample["customer_id"].to_list())
    _, local = _local(data, tmp_path / "local", models="linear")
    _, result = _spark(spark, data, tmp_path / "spark", models="linear", buckets=2)
    quarantine = [
        pl.read_parquet(out / "quarantine" / "touchpoints.parquet").sort("row")
        for out in (tmp_path / "local", tmp_path / "spark")
    ]
    assert quarantine[0]["row"].to_list() == list(range(13, 21))
    assert quarantine[1].select("row", "reason").equals(quarantine[0].select("row", "reason"))
    assert result.manifest["rejected"] == local.manifest["rejected"]


def test_a_file_cut_short_into_nul_bytes_is_an_input_error(spark, tmp_path: Path) -> None:
    """Its zero-filled tail is refused before Spark reads it, as locally (exit 2)."""
    data = tmp_path / "data"
    data.mkdir()
    text = "customer_id,ts,channel\nc1,2025-01-02 10:00:00,Email\n"
    (data / "touchpoints.csv").write_bytes(text.encode() + bytes(100))
    (data / "deals.csv").write_text(ONE_WON_DEAL)
    with pytest.raises(InputError, match="ends in 100 NUL bytes after row 1") as caught:
        _spark(spark, data, None)
    assert caught.value.file == str(data / "touchpoints.csv")


def test_zoned_typed_timestamps_quarantine_as_locally(spark, tmp_path: Path) -> None:
    """A Parquet timestamp with a zone showed "...00.000000+00:00" in the local quarantine
    and "...00" in Spark's: both show its UTC time now."""
    data = zoned_parquet_rejects(tmp_path / "data", "Europe/Berlin")
    local = run(data, models="linear", level="account")
    _, result = _spark(spark, data, None, models="linear", level="account")
    for table in ("touchpoints", "deals"):
        expected = local.inputs.quarantine[table]
        assert expected.height > 0
        assert_frame_equal(result.quarantine[table], expected)


def test_pipeline_windows_reaching_before_the_revenue_window_like_local(spark, tmp_path):
    """Deals whose pipeline window (lookback from the creation) holds touches older than the
    revenue window's lookback (tests/test_pipeline_window.py): the windows travel from the
    workers with the journeys, so pipeline_created and the pipeline KPIs match."""
    from conftest import deals, touches, write_inputs
    from test_pipeline_window import CONFIG, D, T

    data = write_inputs(tmp_path / "in", touches=touches(T), deals=deals(D), config=CONFIG)
    models = "first_touch,linear,w_shaped,markov"
    local, result = _local(data, tmp_path / "local", lookback_days=365, models=models)
    webinar = result.channel_summary.filter(
        (pl.col("model") == "first_touch") & (pl.col("channel") == "Webinar")
    )
    assert webinar["pipeline_created"].item() == 1000.0  # the case the test is about
    got, _ = _spark(spark, data, None, lookback_days=365, models=models, buckets=2)
    _same(got, local)
