"""The Python API refuses what it would ignore or misread, as the CLI does, with an attrib
error that says what was wrong and how to fix it (never a raw Polars, numba or Python error
from deep inside); and it takes what a notebook naturally hands it (numpy integers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import deals, touches

import attrib.api as at
from attrib.errors import ChecksFailedError, ConfigError, UsageError

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"
TOUCHES = touches(
    [
        ("c1", "2025-01-01 10:00:00", "Email", "jan"),
        ("c1", "2025-01-03 10:00:00", "Paid Search", "brand"),
        ("c2", "2025-01-02 10:00:00", "Display", "x"),
    ]
)
DEALS = deals(
    [
        ("d1", "c1", "2025-01-04 00:00:00", "2025-01-10 00:00:00", "won", 100.0),
        ("d2", "c2", "2025-01-05 00:00:00", "", "open", 50.0),
    ]
)


def test_an_event_log_beside_a_touches_frame_is_refused(tmp_path):
    """The frame's touches replaced the log's while the deals came from the log: wrong
    numbers and no word (the CLI refuses the pair)."""
    log = tmp_path / "events.csv"
    log.write_text("cookie,time,channel,conversion\nu1,2025-01-01,Email,1\n")
    with pytest.raises(UsageError, match="event_log= and touchpoints= together") as err:
        at.run(event_log=log, touchpoints=TOUCHES, models="linear")
    assert err.value.hint == "drop touchpoints="
    with pytest.raises(UsageError, match="event_log= and deals= together"):
        at.run(event_log=log, deals=DEALS, models="linear")


def test_the_bucketed_engine_refuses_buckets_beside_a_memory_limit(tmp_path):
    (tmp_path / "t.csv").write_text(TOUCHES.write_csv())
    with pytest.raises(UsageError, match="buckets= and memory_limit= together: buckets= sets"):
        at.run_bucketed(touchpoints=tmp_path / "t.csv", deals=DEALS, buckets=2, memory_limit="4GB")


@pytest.mark.parametrize("engine", ["run", "run_bucketed"])
def test_touch_credits_without_an_out_folder_are_refused(tmp_path, engine):
    """Touch credits are streamed to OUT/touch_credits.parquet: without out= they were not
    made, and nothing said so."""
    (tmp_path / "t.csv").write_text(TOUCHES.write_csv())
    with pytest.raises(UsageError, match=r"touch_credits=True needs out="):
        getattr(at, engine)(touchpoints=tmp_path / "t.csv", deals=DEALS, touch_credits=True)


def test_strict_without_out_hands_over_the_rejected_rows():
    """The hint pointed at quarantine files a run without out= never writes."""
    bad = TOUCHES.with_columns(
        pl.when(pl.col("channel") == "Display").then(pl.lit("soon")).otherwise("ts").alias("ts")
    )
    with pytest.raises(ChecksFailedError) as err:
        at.run(touchpoints=bad, deals=DEALS, strict=True, models="linear")
    assert "quarantine files" not in str(err.value.hint)
    assert ".quarantine" in str(err.value.hint)
    rejected = err.value.quarantine["touchpoints"]
    assert rejected.select("row", "column").rows() == [(3, "ts")]
    assert "soon" in rejected.get_column("reason").item()
    assert err.value.to_dict()["rejected"] == {"touchpoints": 1, "deals": 0}


def test_a_numpy_integer_is_a_number_of_days():
    """np.int64(90) (a value out of a pandas Series) was "not a whole number of days",
    blamed on channels.toml."""
    result = at.run(touchpoints=TOUCHES, deals=DEALS, models="linear", lookback_days=np.int64(2))
    assert result.inputs.config.lookback_days == 2
    assert type(result.inputs.config.lookback_days) is int
    with pytest.raises(ConfigError, match="lookback_days must be") as err:
        at.run(touchpoints=TOUCHES, deals=DEALS, models="linear", lookback_days=np.int64(0))
    assert err.value.file is None  # the argument's value, not the (absent) file's


def test_build_journeys_and_attribute_name_their_wrong_arguments(tmp_path):
    inputs = at.load_inputs(touchpoints=TOUCHES, deals=DEALS)
    with pytest.raises(UsageError, match="config= must be a RunConfig, got str"):
        at.build_journeys(inputs.touches, inputs.deals, "channels.toml")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="touches= must be a polars DataFrame, got LazyFrame"):
        at.build_journeys(inputs.touches.lazy(), inputs.deals, inputs.config)  # type: ignore[arg-type]
    # a frame as read (no entity_id): the hint names the attribute that holds the table
    with pytest.raises(UsageError) as err:
        at.build_journeys(TOUCHES, inputs.deals, inputs.config)
    assert "load_inputs(...).touches:" in str(err.value.hint)
    assert isinstance(inputs.touches, pl.DataFrame)  # (which exists)
    with pytest.raises(UsageError, match=r"journeys= must be Journeys .* got DataFrame"):
        at.attribute(inputs.touches, "linear")  # type: ignore[arg-type]
    journeys = at.build_journeys(inputs.touches, inputs.deals, inputs.config)
    with pytest.raises(UsageError, match="config= must be a RunConfig"):
        at.attribute(journeys, "linear", config="channels.toml")  # type: ignore[arg-type]


def test_a_misspelt_frames_table_gets_a_did_you_mean():
    with pytest.raises(UsageError, match="frames= names no input table 'touchpoint'") as err:
        at.load_inputs(frames={"touchpoint": TOUCHES, "deals": DEALS})
    assert "did you mean 'touchpoints'?" in str(err.value.hint)


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ({"mql": "0.5"}, "gives 'mql' the rate '0.5', not a number"),
        ("mql=0.5", "must be a dict of stage -> rate"),
    ],
)
def test_a_rate_override_that_is_no_number_is_named(rates, message):
    with pytest.raises(UsageError, match=message):
        at.plan_from_inputs(1e6, touchpoints=TOUCHES, deals=DEALS, rates_override=rates)


def test_the_spark_engine_refuses_a_polars_frame_before_starting_spark(tmp_path):
    """A polars frame was read as a path deep inside (OSError: File name too long)."""
    pytest.importorskip("pyspark")
    with pytest.raises(UsageError, match="touchpoints= is a polars frame") as err:
        at.run_spark(touchpoints=TOUCHES, deals=DEALS, out=tmp_path / "out")
    assert "write_parquet" in str(err.value.hint)


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: at.run(SAMPLES, models=["linear", 3]), "model names must be text, got 3"),
        (lambda: at.run(SAMPLES, models=("linear", None)), "model names must be text, got None"),
        (lambda: at.get_model(None), "a model name must be text, got None"),
        (lambda: at.run(SAMPLES, models="linear", seed=-1, bootstrap=5), "seed= must be 0 or more"),
        (lambda: at.run_paths("Data.csv", seed=-1, bootstrap=5), "seed= must be 0 or more"),
        (lambda: at.plan_from_run("2.5M", SAMPLES), "target revenue must be a number, got '2.5M'"),
        (lambda: at.plan_from_run(1e6, 123), "run= must be a run's out folder or its RunResult"),
        (lambda: at.run(SAMPLES, touch_credits="no"), "touch_credits= must be True or False"),
        (
            lambda: at.run(SAMPLES, event_log=pl.DataFrame({"a": [1, 2]})),
            "event_log= must be a file path, got a polars DataFrame of shape (2, 1)",
        ),
    ],
)
def test_a_wrong_argument_is_a_usage_error_not_a_python_one(call, said):
    """Each gave a bare Python or numpy error from deep inside (AttributeError: 'int' object
    has no attribute 'lower'; numpy's "expected non-negative integer"; TypeError: must be
    real number, not str), or printed a whole frame in its message."""
    with pytest.raises(UsageError) as err:
        call()
    assert said in str(err.value)


def test_a_plan_from_a_run_result_in_memory_equals_the_plan_from_its_folder(tmp_path):
    """plan_from_run(target, at.run(...)): the natural notebook call after a run without
    out= gave "TypeError: expected str, bytes or os.PathLike object, not RunResult"."""
    result = at.run(SAMPLES, models="linear", out=tmp_path / "out")
    in_memory = at.plan_from_run(1e6, result).table
    assert in_memory.equals(at.plan_from_run(1e6, tmp_path / "out").table)


def test_a_nan_id_in_a_frame_is_a_missing_id(tmp_path):
    """A float id column keeping NaN (pandas' missing value, pl.from_pandas(nan_to_null=
    False)) made a customer called "NaN", where the same data as CSV rejects the row."""
    ids = [1.0, float("nan"), 2.0]
    frame = pl.DataFrame(
        {"customer_id": ids, "ts": ["2025-01-01", "2025-01-02", "2025-01-03"], "channel": "Email"}
    )
    won = deals([("d1", "1", "2025-01-05", "2025-01-06", "won", 5.0)])
    result = at.run(touchpoints=frame, deals=won, models="linear")
    rejected = result.inputs.quarantine["touchpoints"]
    assert rejected.select("row", "column", "reason").rows() == [
        (2, "customer_id", "customer_id is empty")
    ]
    assert not any("NaN" in w for w in result.warnings)


def test_the_api_exports_what_its_functions_return_and_raise():
    """Plan, Journeys and the error classes were returned or raised by API functions but
    reachable only from their own modules."""
    import attrib.errors
    from attrib.metrics.plan import Plan

    assert [name for name in at.__all__ if not hasattr(at, name)] == []
    assert at.Plan is Plan
    assert at.InputError is attrib.errors.InputError
    assert issubclass(at.SchemaError, at.InputError)
    assert issubclass(at.UsageError, at.AttribError)


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: at.run(SAMPLES, models=""), "--models (models=) names no model"),
        (lambda: at.run(SAMPLES, models="linear", bootstrap=1), "--bootstrap (bootstrap=) needs"),
        (lambda: at.run_bucketed(SAMPLES, buckets=0), "--buckets (buckets=) must be from 1"),
        (lambda: at.run(SAMPLES, level="acount"), "(level= in Python)"),
    ],
)
def test_a_shared_message_names_the_python_argument_too(call, said):
    """Messages shared by the CLI and the API named only the command-line flag (--models,
    --bootstrap, --buckets, --level) to a caller who had passed models=, bootstrap=, ..."""
    with pytest.raises(at.AttribError) as err:
        call()
    assert said in str(err.value)
