"""The out-of-core engine gives the in-memory engine's numbers, bucket count regardless."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import run_cli
from polars.testing import assert_frame_equal

from attrib.credit import SUMMARY_METRICS
from attrib.engines.local import bucket_of, buckets_for, parse_memory, run_bucketed
from attrib.errors import UsageError
from attrib.run import run

SAMPLE = Path(__file__).resolve().parent.parent / "data_samples"
NUMERIC = SUMMARY_METRICS


def assert_same_summary(a: pl.DataFrame, b: pl.DataFrame, keys: list[str]) -> None:
    assert a.select(keys).equals(b.select(keys))
    for col in NUMERIC:
        x, y = a[col].to_numpy(), b[col].to_numpy()
        np.testing.assert_allclose(y, x, rtol=1e-9, atol=1e-9 * max(1.0, np.abs(x).max()))


@pytest.fixture(scope="module")
def in_memory(tmp_path_factory: pytest.TempPathFactory):
    return run(SAMPLE, out=tmp_path_factory.mktemp("mem"))


@pytest.mark.parametrize("buckets", [1, 2, 5])
def test_bucketed_equals_in_memory(in_memory, tmp_path: Path, buckets: int) -> None:
    result = run_bucketed(SAMPLE, out=tmp_path, buckets=buckets)
    assert_same_summary(in_memory.channel_summary, result.channel_summary, ["model", "channel"])
    assert_same_summary(
        in_memory.attribution.campaign_summary,
        result.attribution.campaign_summary,
        ["model", "channel", "campaign"],
    )
    journeys = pl.read_parquet(tmp_path / "journeys.parquet")
    assert journeys.height == in_memory.journeys.n_journeys
    assert journeys["journey_id"].n_unique() == journeys.height
    key = ["entity_id", "deal_id", "path", "amount"]
    mine = journeys.select(key).sort(key, nulls_last=True)
    theirs = in_memory.journeys.table.select(key).sort(key, nulls_last=True)
    assert mine.equals(theirs)
    for name in ("channel_summary", "campaign_summary", "manifest"):
        assert any(tmp_path.glob(f"{name}.*"))
    assert_same_metrics(in_memory.tables, result.tables)


def assert_same_metrics(a: dict[str, pl.DataFrame], b: dict[str, pl.DataFrame]) -> None:
    """KPIs, funnel and the spend columns agree (map/reduce of the metrics over buckets)."""
    for name in ("kpis", "funnel", "channel_summary", "campaign_summary"):
        x, y = a[name], b[name]
        assert x.columns == y.columns, name
        assert x.height == y.height > 0, name
        for col, dtype in x.schema.items():
            if dtype.is_float():
                np.testing.assert_allclose(
                    y[col].to_numpy(), x[col].to_numpy(), rtol=1e-9, atol=1e-9, err_msg=name
                )
            else:
                assert x[col].equals(y[col]), (name, col)


def test_bucketed_account_level_matches(tmp_path: Path) -> None:
    models = "first_touch,linear,w_shaped"
    a = run(SAMPLE, models=models, level="account")
    b = run_bucketed(SAMPLE, models=models, level="account", buckets=3, out=tmp_path)
    assert_same_summary(a.channel_summary, b.channel_summary, ["model", "channel"])


def test_bucketed_quarantine_matches(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    touches = pl.read_csv(SAMPLE / "touchpoints.csv", infer_schema=False).head(300)
    bad = touches.with_columns(
        pl.when(pl.int_range(pl.len()) % 50 == 0)
        .then(pl.lit("not a time"))
        .otherwise(pl.col("ts"))
        .alias("ts")
    )
    bad.write_csv(data / "touchpoints.csv")
    (data / "deals.csv").write_text((SAMPLE / "deals.csv").read_text())
    a = run(data, out=tmp_path / "a", models="linear")
    b = run_bucketed(data, out=tmp_path / "b", models="linear", buckets=4)
    qa = pl.read_parquet(tmp_path / "a" / "quarantine" / "touchpoints.parquet")
    qb = pl.read_parquet(tmp_path / "b" / "quarantine" / "touchpoints.parquet")
    assert qa.height == 6
    assert qa.select("row", "column", "reason").equals(qb.select("row", "column", "reason"))
    assert_same_summary(a.channel_summary, b.channel_summary, ["model", "channel"])


def test_bucketed_stage_quarantine_and_metrics_match(tmp_path: Path) -> None:
    """Stages are streamed into buckets too: same rejections, same funnel and KPIs."""
    data = tmp_path / "data"
    data.mkdir()
    for name in ("touchpoints.csv", "deals.csv", "costs.csv", "channels.toml"):
        (data / name).write_text((SAMPLE / name).read_text())
    stages = pl.read_csv(SAMPLE / "stages.csv", infer_schema=False)
    stages.with_columns(
        pl.when(pl.int_range(pl.len()) % 97 == 0)
        .then(pl.lit("not a stage"))
        .otherwise(pl.col("stage"))
        .alias("stage")
    ).write_csv(data / "stages.csv")
    a = run(data, out=tmp_path / "a", models="first_touch,w_shaped")
    b = run_bucketed(data, out=tmp_path / "b", models="first_touch,w_shaped", buckets=3)
    qa = pl.read_parquet(tmp_path / "a" / "quarantine" / "stages.parquet")
    qb = pl.read_parquet(tmp_path / "b" / "quarantine" / "stages.parquet")
    assert qa.height > 0
    assert qa.equals(qb)
    assert a.manifest["row_counts"]["stages_read"] == b.manifest["row_counts"]["stages_read"]
    assert_same_summary(a.channel_summary, b.channel_summary, ["model", "channel"])
    assert_same_metrics(a.tables, b.tables)


def test_parse_memory() -> None:
    assert parse_memory("4GB") == 4 * 1024**3
    assert parse_memory("512 MiB") == 512 * 1024**2
    assert parse_memory("1.5g") == int(1.5 * 1024**3)
    with pytest.raises(UsageError):
        parse_memory("lots")
    with pytest.raises(UsageError):
        parse_memory("-3GB")
    with pytest.raises(UsageError, match="is zero"):
        parse_memory("0GB")
    # a number without a unit is bytes: "4" said "memory limit 0 MiB is below the base"
    assert parse_memory("4294967296") == 4 * 1024**3
    with pytest.raises(UsageError, match="'4' has no unit: it reads as 4 bytes") as err:
        parse_memory("4")
    assert err.value.hint == "give a unit, e.g. 4GB or 512MB"
    # float() reads these: int() of them was an internal error (exit 5)
    for text in ("nanGB", "infGB", "1e999"):
        with pytest.raises(UsageError, match="cannot read memory limit"):
            parse_memory(text)


def test_bucket_count_grows_with_input_and_shrinks_with_memory() -> None:
    files = [SAMPLE / "touchpoints.csv"]
    assert buckets_for(files, 8 * 1024**3) == 1
    small = buckets_for(files, 600 * 1024**2 + 1024**2)
    assert small > 1
    with pytest.raises(UsageError):
        buckets_for(files, 100 * 1024**2)
    # tables held whole leave less room per bucket
    limit = 600 * 1024**2 + 8 * 1024**2
    assert buckets_for(files, limit, held=6 * 1024**2) > buckets_for(files, limit)
    with pytest.raises(UsageError, match="holds"):
        buckets_for(files, 2 * 1024**3, held=2 * 1024**3)
    # 6.8 MB of touches in 1 KiB: thousands of buckets, each a pass and files of its own
    with pytest.raises(UsageError, match=r"would need \d,\d{3} buckets \(at most 4,096\)"):
        buckets_for(files, 600 * 1024**2 + 1024)


@pytest.mark.parametrize("suffix", [".csv", ".csv.gz", ".ndjson", ".cr.csv", ".joined.csv.gz"])
def test_the_row_count_of_a_text_file_is_estimated_from_its_rows(
    tmp_path: Path, suffix: str
) -> None:
    """--memory-limit sizes buckets by the touch count; text files guessed 60 bytes a row, so
    a gzipped export (compressed bytes) or long rows read as several times fewer touches and
    a bucket outgrew the limit. 40,000 rows of ~120 bytes, 4.8 MB: the sample's first MiB
    gives the bytes per row (and, gzipped, the compression ratio) within a few percent:
    lines ended by a carriage return alone too (``.cr.csv``: counted 1 row a MiB), and a
    .gz of two members, a header's and the rows' (``cat a.gz b.gz``: counted as its first)."""
    import gzip

    from attrib.engines.local import count_rows

    rng = np.random.default_rng(3)
    frame = pl.DataFrame(
        {
            "customer_id": [f"customer-{i:012d}" for i in rng.integers(0, 10**9, 40_000)],
            "ts": ["2025-03-04T05:06:07.123456+00:00"] * 40_000,
            "channel": rng.choice(["Paid Search", "Email", "Organic Search"], 40_000),
            "campaign": [
                f"campaign {i} of the spring launch" for i in rng.integers(0, 999, 40_000)
            ],
        }
    )
    path = tmp_path / f"touchpoints{suffix}"
    text = frame.write_csv().encode()
    if suffix == ".ndjson":
        frame.write_ndjson(path)
    elif suffix == ".cr.csv":
        path.write_bytes(text.replace(b"\n", b"\r"))
    elif suffix == ".joined.csv.gz":
        header, rows = text.split(b"\n", 1)
        path.write_bytes(gzip.compress(header + b"\n") + gzip.compress(rows))
    else:
        path.write_bytes(gzip.compress(text) if suffix == ".csv.gz" else text)
    estimate = count_rows([path])
    assert 0.95 * 40_000 <= estimate <= 1.05 * 40_001


@pytest.mark.parametrize("held_mib", [0, 20, 55, 90])
def test_the_memory_a_refused_limit_names_is_enough(held_mib: int) -> None:
    """A limit needing more than 4,096 buckets names the memory that fits: given it, the run
    goes on (rounded to the nearest 0.1 GB it could be less: 0.64 GB was "0.6 GB", refused)."""
    files = [SAMPLE / "touchpoints.csv"]
    held = held_mib * 1024**2
    with pytest.raises(UsageError, match="at most 4,096") as caught:
        buckets_for(files, 600 * 1024**2 + held + 1024, held)
    named = caught.value.hint.removeprefix("give at least ").split(" GB")[0]
    assert 1 <= buckets_for(files, parse_memory(f"{named}GB"), held) <= 4096
    # a limit below the base footprint names the same memory (it named twice the base,
    # 1.2 GB, where 601 MB ran)
    with pytest.raises(UsageError, match="below attrib's base footprint") as below:
        buckets_for(files, 500 * 1024**2, held)
    assert below.value.hint == caught.value.hint


def test_a_bucket_count_past_the_cap_is_a_usage_error(tmp_path: Path) -> None:
    """--buckets 100000 ran on for minutes (100,000 passes and part files per table)."""
    result = run_cli(["run", SAMPLE, "--out", tmp_path / "out", "--buckets", "100000"], exit_code=2)
    assert "--buckets (buckets=) must be from 1 to 4,096, got 100,000" in result.output
    assert not (tmp_path / "out").exists()


def test_timezone_mixing_is_judged_over_the_whole_table(tmp_path: Path) -> None:
    """Which rows a column mixing timezone-aware and naive ts rejects is decided over the
    whole table, as in memory: a bucket holding only naive rows must follow the table."""
    data = tmp_path / "in"
    data.mkdir()
    # 30 zoned rows and 11 naive ones: the naive rows are the fewer kind, rejected
    rows = [f"c{i},2025-01-0{1 + i % 9} 10:00:00+02:00,Email" for i in range(30)]
    rows += [f"c{i},2025-01-0{1 + i % 9} 10:00:00,Email" for i in range(30, 40)]
    rows.append("c0,2025-01-02 10:00:00,Social")
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\n" + "\n".join(rows) + "\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c0,2025-01-10,2025-01-12,won,100\n"
    )
    mem = run(data, models="linear")
    bucketed = run_bucketed(data, models="linear", buckets=4, out=tmp_path / "out")
    expected = mem.inputs.quarantine["touchpoints"]
    assert expected.height == 11
    assert bucketed.inputs.quarantine["touchpoints"].equals(expected)
    assert_same_summary(mem.channel_summary, bucketed.channel_summary, ["model", "channel"])
    # a [constants] ts replaces the column: its mixing does not count, in either engine
    (data / "channels.toml").write_text('[constants.touchpoints]\nts = "2025-01-05 00:00:00"\n')
    for result in (run(data, models="linear"), run_bucketed(data, models="linear", buckets=4)):
        assert result.inputs.rejected["touchpoints"] == 0


def _credits_by_journey(out: Path) -> pl.DataFrame:
    """touch_credits.parquet keyed by (entity, deal) instead of the engine's journey ids."""
    journeys = pl.read_parquet(out / "journeys.parquet").select(
        "journey_id", "entity_id", "deal_id"
    )
    credits = pl.read_parquet(out / "touch_credits.parquet")
    keys = ["model", "entity_id", "deal_id", "touch_index"]
    return credits.join(journeys, on="journey_id").drop("journey_id").sort(keys, nulls_last=True)


def test_bucketed_touch_credits_match(tmp_path: Path) -> None:
    """``--touch-credits`` with buckets: every touch's credit, as the in-memory run writes it
    (journeys matched by entity and deal: the engines number them differently)."""
    models = "linear,w_shaped,markov"
    run(SAMPLE, out=tmp_path / "mem", models=models, touch_credits=True)
    result = run_bucketed(SAMPLE, out=tmp_path / "b", buckets=3, models=models, touch_credits=True)
    cli_out = tmp_path / "cli"
    run_cli(["run", "--buckets", "2", "--touch-credits", "--models", models, "--out", cli_out])
    assert _credits_by_journey(cli_out).height == _credits_by_journey(tmp_path / "mem").height
    mine, theirs = _credits_by_journey(tmp_path / "b"), _credits_by_journey(tmp_path / "mem")
    assert mine.height == theirs.height > 0
    amounts = ["weight", "conversions", "revenue", "pipeline", "pipeline_created"]
    assert mine.drop(amounts).equals(theirs.drop(amounts))
    for col in amounts:
        np.testing.assert_allclose(mine[col].to_numpy(), theirs[col].to_numpy(), rtol=1e-12)
    assert result.manifest["row_counts"]["touch_credits"] == mine.height
    assert "touch_credits.parquet" in result.manifest["outputs"]


def _write_tables(folder: Path, tables: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in tables.items():
        (folder / f"{name}.csv").write_text(text)
    return folder


def test_the_account_map_comes_from_valid_touches_only(tmp_path: Path) -> None:
    """A touch the validator rejects names no account: c1's deal goes to a5 (its valid
    touches' account), not to a0 of its unparseable row; c3's only touch is rejected, so its
    deal and stage row have no account and are rejected, as in memory."""
    data = _write_tables(
        tmp_path / "in",
        {
            "touchpoints": "customer_id,account_id,ts,channel\n"
            "c1,a5,2025-01-05 10:00:00,Email\nc1,a5,2025-01-20 10:00:00,Webinar\n"
            "c1,a0,not a date,Email\nc2,a2,2025-01-10 10:00:00,Display\n"
            "c3,a3,2025-01-10 10:00:00,\n",
            "deals": "deal_id,customer_id,account_id,created_at,closed_at,status,amount\n"
            "d1,c1,,2025-02-01,2025-02-15,won,1000\nd2,c2,a2,2025-02-01,2025-02-15,won,2000\n"
            "d3,c3,,2025-02-01,2025-02-15,won,3000\n",
            "stages": "customer_id,stage,ts\nc1,lead,2025-01-06\nc3,lead,2025-01-11\n",
        },
    )
    a = run(data, models="linear", level="account")
    b = run_bucketed(data, models="linear", level="account", buckets=2, out=tmp_path / "out")
    assert b.inputs.rejected == a.inputs.rejected
    assert a.inputs.rejected == {"touchpoints": 2, "deals": 1, "stages": 1}
    assert_same_summary(a.channel_summary, b.channel_summary, ["model", "channel"])
    email = b.channel_summary.filter(pl.col("channel") == "Email")["revenue"].item()
    assert email == 500.0  # half of d1 (Email > Webinar on a5)


@pytest.mark.parametrize(
    ("case", "level"),
    [
        ("touches_own_ids", "customer"),
        ("touches_lack_ids", "customer"),
        ("stages", "customer"),
        ("touches_lack_ids", "account"),
    ],
)
def test_a_constant_journey_id_buckets_as_in_memory(tmp_path: Path, case: str, level: str) -> None:
    """``[constants.<table>] customer_id`` (or ``account_id``) gives every row one id: the
    touches (or stage rows) were bucketed by the file's own column, so one customer's four
    touches became four journeys (Email took the whole deal), or a file without the column
    was refused ("no column to bucket by"). By hand: one journey X, linear 100/4 a channel;
    its stage rows (u1-u4 made X) one lead and one mql."""
    key = "customer_id" if level == "customer" else "account_id"
    visits = [("c1", 5, "Email"), ("c2", 6, "Social"), ("c3", 7, "Web"), ("c4", 8, "Direct")]
    if case == "touches_own_ids":
        touches = "customer_id,ts,channel\n" + "".join(
            f"{c},2025-01-0{d},{ch}\n" for c, d, ch in visits
        )
    elif case == "touches_lack_ids":  # (an account needs a customer id: one for all here)
        header, who = ("customer_id,", "c,") if level == "account" else ("", "")
        touches = f"{header}ts,channel\n" + "".join(
            f"{who}2025-01-0{d},{ch}\n" for _, d, ch in visits
        )
    else:  # the touches are X's already
        touches = "customer_id,ts,channel\n" + "".join(
            f"X,2025-01-0{d},{ch}\n" for _, d, ch in visits
        )
    deals = "deal_id,customer_id,created_at,closed_at,status,amount\n"
    deals += "d1,X,2025-01-10,2025-01-20,won,100\n"
    stages = "customer_id,stage,ts\n" + "".join(
        f"u{i},{stage},2025-01-0{4 + i}\n" for i, stage in enumerate(("lead", "mql") * 2, 1)
    )
    table = "stages" if case == "stages" else "touchpoints"
    config = f'[constants.{table}]\n{key} = "X"\n'
    if level == "account":
        config += f'[constants.deals]\n{key} = "X"\n'
    data = _write_tables(
        tmp_path / "in", {"touchpoints": touches, "deals": deals, "stages": stages}
    )
    (data / "channels.toml").write_text(config)
    a = run(data, models="linear", level=level)
    b = run_bucketed(data, models="linear", level=level, buckets=4, out=tmp_path / "out")
    revenue = {c: r for c, r in b.channel_summary.select("channel", "revenue").iter_rows() if r}
    assert revenue == {"Direct": 25.0, "Email": 25.0, "Social": 25.0, "Web": 25.0}
    assert pl.read_parquet(tmp_path / "out" / "journeys.parquet").height == 1
    assert_same_summary(a.channel_summary, b.channel_summary, ["model", "channel"])
    assert_same_metrics(a.tables, b.tables)
    counts = b.tables["funnel"].filter(
        (pl.col("period") == "all") & (pl.col("channel") == "(all)") & (pl.col("view") == "period")
    )
    reached = dict(counts.select("stage", "count").iter_rows())
    if case == "stages":  # u1-u4 are X: one lead, one mql
        assert (reached["lead"], reached["mql"]) == (1, 1)


def test_a_bucket_of_stage_rows_alone_still_counts_in_the_funnel(tmp_path: Path) -> None:
    """A customer with a stage row but no touch or deal, alone in its bucket."""
    k = 16
    others = ["c1", "c2"]
    taken = set(pl.select(bucket_of(pl.Series(others), k)).to_series().to_list())
    lone = next(
        f"s{i}" for i in range(1000) if pl.select(bucket_of(pl.lit(f"s{i}"), k)).item() not in taken
    )
    data = _write_tables(
        tmp_path / "in",
        {
            "touchpoints": "customer_id,ts,channel\nc1,2025-01-05 10:00:00,Email\n"
            "c2,2025-01-06 10:00:00,Webinar\n",
            "deals": "deal_id,customer_id,created_at,closed_at,status,amount\n"
            "d1,c1,2025-02-01,2025-02-15,won,1000\n",
            "stages": f"customer_id,stage,ts\nc1,lead,2025-01-06\nc2,lead,2025-01-07\n"
            f"{lone},lead,2025-03-01\n",
        },
    )
    a = run(data, models="linear")
    b = run_bucketed(data, models="linear", buckets=k, out=tmp_path / "out")
    assert_same_metrics(a.tables, b.tables)
    leads = b.tables["funnel"].filter(
        (pl.col("stage") == "lead") & (pl.col("period") == "all") & (pl.col("channel") == "(all)")
    )
    assert set(leads["count"].to_list()) == {3}


def test_a_missing_column_names_the_file_that_lacks_it(tmp_path: Path) -> None:
    from attrib.errors import SchemaError

    data = _write_tables(
        tmp_path / "in",
        {
            "touchpoints": "customer_id,when,channel\nc1,2025-01-05 10:00:00,Email\n",
            "deals": "deal_id,customer_id,created_at,closed_at,status,amount\n"
            "d1,c1,2025-02-01,2025-02-15,won,1000\n",
        },
    )
    with pytest.raises(SchemaError) as err:
        run_bucketed(data, buckets=2, models="linear")
    assert err.value.file == str(data / "touchpoints.csv")
    assert err.value.column == "ts"
    # the deals lack one too: named with the touches' (the touches are streamed, not read
    # with the small tables, and went unnamed), as the in-memory run names both
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,value\nd1,c1,2025-02-01,,open,1\n"
    )
    for engine in (run, lambda d, **kw: run_bucketed(d, buckets=2, **kw)):
        with pytest.raises(SchemaError) as both:
            engine(data, models="linear")
        assert both.value.file == str(data / "touchpoints.csv")
        assert both.value.column == "ts"
        assert f"also {data / 'deals.csv'}: required column 'amount' is missing" in str(
            both.value.hint
        )


def test_inputs_without_a_row_give_the_in_memory_engines_empty_tables(tmp_path: Path) -> None:
    """Header-only touchpoints and deals: no bucket holds a row (a data-driven model's fit
    then had no state at all), yet every table is written, empty, as in memory."""
    data = _write_tables(
        tmp_path / "in",
        {
            "touchpoints": "customer_id,ts,channel,campaign\n",
            "deals": "deal_id,customer_id,created_at,closed_at,status,amount\n",
        },
    )
    models = ["linear", "markov", "shapley"]
    a = run(data, models=models, out=tmp_path / "mem")
    b = run_bucketed(data, models=models, buckets=3, out=tmp_path / "out")
    assert set(a.tables) == {*b.tables, "journeys"}  # the bucketed journeys stay on disk
    for name, table in b.tables.items():
        assert table.height == 0, name
        assert table.equals(a.tables[name]), name
    assert pl.read_parquet(tmp_path / "out" / "journeys.parquet").equals(a.tables["journeys"])


@pytest.mark.parametrize("level", ["customer", "account"])
def test_a_table_without_rows_counts_zero_rejected_as_in_memory(tmp_path: Path, level: str) -> None:
    """Header-only touchpoints (and stages): no bucket held a row, so the bucketed run kept no
    quarantine for them and the manifest's ``rejected`` left them out, where the in-memory
    run lists them with 0."""
    data = _write_tables(
        tmp_path / "in",
        {
            "touchpoints": "customer_id,account_id,ts,channel\n",
            "deals": "deal_id,customer_id,account_id,created_at,closed_at,status,amount\n"
            "d1,c1,a1,2025-01-02,2025-01-03,won,10\n",
            "stages": "customer_id,stage,ts\n",
        },
    )
    a = run(data, models="linear", level=level, out=tmp_path / "mem")
    b = run_bucketed(data, models="linear", level=level, buckets=2, out=tmp_path / "out")
    assert a.manifest["rejected"] == {"touchpoints": 0, "deals": 0, "stages": 0}
    assert b.manifest["rejected"] == a.manifest["rejected"]
    for table, rejects in a.inputs.quarantine.items():
        assert b.inputs.quarantine[table].equals(rejects), table


def test_float_ids_bucket_with_the_deals_of_the_same_id(tmp_path: Path) -> None:
    """A float id column (pandas' integer ids with gaps: 1.0) reads as "1", as the deals'
    "1": the touches were bucketed by the raw text "1.0", so at some bucket counts a
    customer's touches and deals fell into different buckets and its deals were zero-touch."""
    from datetime import datetime

    data = tmp_path / "in"
    data.mkdir()
    pl.DataFrame(
        {
            "customer_id": [1.0, 2.0, 2.0],
            "ts": [datetime(2025, 1, 5, 10), datetime(2025, 1, 6, 10), datetime(2025, 1, 7, 9)],
            "channel": ["Email", "Social", "Webinar"],
        }
    ).write_parquet(data / "touchpoints.parquet")
    pl.DataFrame(
        {"customer_id": [1.0, 2.0], "stage": ["lead", "lead"], "ts": ["2025-01-05", "2025-01-06"]}
    ).write_parquet(data / "stages.parquet")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,1,2025-02-01,2025-02-15,won,1000\nd2,2,2025-02-01,2025-02-15,won,500\n"
    )
    models = "first_touch,linear,w_shaped"
    a = run(data, models=models)
    assert a.manifest["row_counts"]["zero_touch_deals"] == 0
    for k in (3, 4):
        b = run_bucketed(data, models=models, buckets=k, out=tmp_path / f"out{k}")
        assert b.manifest["row_counts"] == a.manifest["row_counts"]
        assert_same_summary(a.channel_summary, b.channel_summary, ["model", "channel"])
        assert_same_metrics(a.tables, b.tables)


@pytest.mark.parametrize("kind", ["csv", "parquet", "ndjson"])
def test_an_unreadable_empty_file_is_an_input_error_naming_it(tmp_path: Path, kind: str) -> None:
    """A 0-byte touchpoints file (an empty NDJSON export): the in-memory run stops with an
    input error naming the file; the bucketed one stopped with an internal error (exit 5)
    while reading the file's columns."""
    from attrib.errors import InputError

    data = _write_tables(
        tmp_path / "in",
        {
            "deals": "deal_id,customer_id,created_at,closed_at,status,amount\n"
            "d1,c1,2025-02-01,2025-02-15,won,1000\n",
        },
    )
    (data / f"touchpoints.{kind}").write_bytes(b"")
    with pytest.raises(InputError) as mem:
        run(data, models="linear")
    with pytest.raises(InputError) as bucketed:
        run_bucketed(data, models="linear", buckets=2)
    assert bucketed.value.file == mem.value.file == str(data / f"touchpoints.{kind}")
    assert str(bucketed.value) == str(mem.value)
    if kind != "parquet":  # (as Spark says it; NDJSON's was Polars' words on type inference)
        assert f"empty {kind.upper()} (no " in mem.value.message


def test_stray_bucket_writes_are_awaited_before_the_clean_up(tmp_path: Path) -> None:
    """When a partitioned sink fails, Polars' writers of other buckets may still create
    their files after the error: the scratch folder removed at once came back (a bucket file
    left in the temp folder, 1 run in 20 of a ragged CSV). The wait lasts until the folder
    has stopped changing."""
    import threading
    import time

    from attrib.engines.local import _await_stray_writes

    folder = tmp_path / "raw"
    folder.mkdir()
    late = folder / "__bucket=1" / "0.parquet"

    def write_late() -> None:
        time.sleep(0.05)
        late.parent.mkdir()
        late.write_bytes(b"x" * 10)

    writer = threading.Thread(target=write_late)
    writer.start()
    _await_stray_writes(folder, quiet=0.1)
    assert late.exists()  # waited for it: a removal now leaves nothing behind
    writer.join()
    start = time.monotonic()
    _await_stray_writes(folder, quiet=0.1)
    assert time.monotonic() - start < 0.5  # a settled folder: one quiet interval


def test_a_failed_bucketing_leaves_no_scratch_files(tmp_path: Path) -> None:
    """A ragged CSV row stops the bucketing mid-sink: nothing stays in the work folder (the
    stray writes the test above waits for are too rare to show here every time)."""
    from attrib.errors import InputError

    data = tmp_path / "in"
    data.mkdir()
    rows = [f"c{i},2025-01-01 10:00,Email" for i in range(3000)]
    rows[2000] += ',"x'
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\n" + "\n".join(rows) + "\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    for _ in range(3):
        with pytest.raises(InputError):
            run_bucketed(data, buckets=4, models="first_touch", workdir=work)
        assert list(work.iterdir()) == []


@pytest.mark.parametrize("table", ["touchpoints", "stages"])
def test_bucketed_nested_id_column_is_an_input_error(tmp_path: Path, table: str) -> None:
    # the partition step hashed the id column's text before any validation: a list-typed
    # customer_id was "Internal error: InvalidOperationError: cannot cast List type" (exit 5)
    # with --buckets; the in-memory engine refuses it as a schema error (exit 2), and so does
    # the bucketed one, naming the file and the column
    data = tmp_path / "in"
    data.mkdir()
    ids = {"customer_id": ["c1", "c2"]}
    nested = {"customer_id": [["c1"], ["c2"]]}
    touches = {"ts": ["2025-01-01", "2025-01-02"], "channel": ["E", "S"]}
    stages = {"stage": ["lead", "lead"], "ts": ["2025-01-01", "2025-01-02"]}
    frames = {
        "touchpoints": {**(nested if table == "touchpoints" else ids), **touches},
        "stages": {**(nested if table == "stages" else ids), **stages},
    }
    for name, columns in frames.items():
        pl.DataFrame(columns).write_parquet(data / f"{name}.parquet")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-03,2025-01-05,won,100\n"
    )
    out = tmp_path / "out"
    result = run_cli(["run", data, "--out", out, "-q", "--buckets", "2"], exit_code=2)
    assert "Internal error" not in result.output
    assert "'customer_id'" in result.output
    assert str(data / f"{table}.parquet") in result.output
    assert not out.exists() or not any(out.iterdir())


def test_bucketed_non_utf8_header_without_the_id_is_an_input_error(tmp_path: Path) -> None:
    # a Windows-1252 header whose id column is spelt otherwise ("customér_id"): the check
    # for the missing column read the file's first row and its UTF-8 error escaped, an
    # "Internal error: ComputeError: invalid utf-8 sequence" (exit 5); in memory, and now
    # here, it is the file's read error (exit 2), naming the file
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_bytes(
        "customér_id,ts,channel\nc1,2025-01-01,Wébinar\n".encode("cp1252")
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-03,2025-01-05,won,100\n"
    )
    for engine in ([], ["--buckets", "2"]):
        result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
        assert str(data / "touchpoints.csv") in result.output
        assert "not UTF-8" in result.output


def test_bucketed_decimal_wider_than_38_digits_is_a_read_error(tmp_path: Path) -> None:
    # a Parquet decimal256 column (precision 40): in memory the reader refuses the file
    # (exit 2); the bucketed engine's lazy scan let it through to the bucket writer, which
    # panicked ("precision >= 1 && precision <= 38"): exit 5. Now the same read error.
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "in"
    data.mkdir()
    wide = pa.array([decimal.Decimal("1.5")] * 2, pa.decimal256(40, 2))
    pq.write_table(
        pa.table(
            {"customer_id": ["c1", "c2"], "ts": ["2025-01-01", "2025-01-02"], "campaign": wide}
        ).append_column("channel", pa.array(["Email", "Web"])),
        data / "touchpoints.parquet",
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-03,2025-01-05,won,100\n"
    )
    for engine in ([], ["--buckets", "2"]):
        result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
        text = " ".join(result.output.split())
        assert f"file {data / 'touchpoints.parquet'}, column 'campaign'" in text
        assert "holds decimals of 40 digits (at most 38 are read)" in text


@pytest.mark.parametrize(
    ("argument", "value", "message"),
    [
        ("models", 5, "models= must be a comma list or a list of model names, got 5"),
        ("out", 5, "out= must be a folder path, got 5"),
        ("metrics", "x", "metrics= must be a dict of [metrics] settings"),
        ("buckets", 2.5, "buckets= must be a whole number, got 2.5"),
        ("memory_limit", float("nan"), "memory_limit=nan is no memory a run fits in"),
        # a number is bytes: 4 read as "memory limit 0 MiB", 0 as no limit at all (4 GB)
        ("memory_limit", 4, "memory_limit=4 is no memory a run fits in: a number is bytes"),
        ("memory_limit", 0, "memory_limit=0 is no memory a run fits in"),
        ("memory_limit", -1, "memory_limit=-1 is no memory a run fits in"),
    ],
)
def test_an_argument_of_the_wrong_type_is_a_usage_error(
    tmp_path: Path, argument: str, value: object, message: str
) -> None:
    """As ``run``'s: a raw TypeError or AttributeError from deep inside, before."""
    given = {"out": tmp_path / "out", "buckets": None if argument == "memory_limit" else 2}
    given[argument] = value
    with pytest.raises(UsageError) as caught:
        run_bucketed(SAMPLE, **given)
    assert message in str(caught.value)


def test_an_out_that_is_a_file_fails_before_any_input_is_read(tmp_path: Path) -> None:
    """Exit 4 (output error) as in memory, not the input's exit 2: the bucketed engine read
    the small tables before it looked at --out."""
    (tmp_path / "out").write_text("a file")
    for engine in ([], ["--buckets", "2"]):
        result = run_cli(
            ["run", tmp_path / "no-such-data", "--out", tmp_path / "out", *engine], exit_code=4
        )
        assert "the output folder is a file" in result.output


def test_a_memory_limit_in_bytes_may_be_a_float(tmp_path: Path) -> None:
    """4e9 (a float, as a Python caller writes bytes) ran before the argument checks; it
    still does, as 4,000,000,000 bytes: one bucket for the sample."""
    result = run_bucketed(SAMPLE, out=tmp_path / "out", memory_limit=4e9, models="linear")
    assert result.manifest["engine"]["buckets"] == 1


def test_headers_and_cut_files_are_told_as_in_memory(tmp_path: Path) -> None:
    """The bucketed engine named the stages' missing column without the touches', told a
    misspelt 'Channel' before a missing customer_id, and a .gz cut short was an internal
    error (exit 5): each is now the in-memory run's input error (exit 2)."""
    import gzip

    sample = Path(__file__).resolve().parent.parent / "data_samples"
    data = tmp_path / "in"
    data.mkdir()
    for table in ("deals", "costs"):
        (data / f"{table}.csv").write_bytes((sample / f"{table}.csv").read_bytes())
    touches = (sample / "touchpoints.csv").read_text()
    head, _, rest = touches.partition("\n")
    (data / "touchpoints.csv").write_text(head.replace("customer_id", "Customer_ID") + "\n" + rest)
    (data / "stages.csv").write_text("customer_id,phase,ts\nc1,lead,2025-01-01\n")
    for args in ([], ["--buckets", "3"]):
        text = " ".join(
            run_cli(["run", data, "--out", tmp_path / "o", *args], exit_code=2).output.split()
        )
        assert "touchpoints.csv, column 'customer_id': required column 'customer_id' is" in text
        assert 'customer_id = "Customer_ID"' in text
        assert "stages.csv: required column 'stage' is missing" in text
    (data / "touchpoints.csv").unlink()
    (data / "stages.csv").unlink()
    (data / "touchpoints.csv.gz").write_bytes(gzip.compress(touches.encode())[:20_000])
    for args in ([], ["--buckets", "3"]):
        text = " ".join(
            run_cli(["run", data, "--out", tmp_path / "o", *args], exit_code=2).output.split()
        )
        assert "touchpoints.csv.gz" in text
        assert "unexpected end of file" in text


@pytest.mark.parametrize("source", ["sample", "generated"])
def test_a_plan_from_a_bucketed_run_equals_the_plan_from_an_in_memory_run(
    tmp_path: Path, source: str
) -> None:
    """``attrib plan --run OUT`` reads a run's funnel, KPIs, channel summary and manifest;
    the bucketed engine maps them bucket by bucket, and its outputs must plan as the
    in-memory run's do: the same table (floating-point summation order aside), warnings and
    period, for the whole history and for a quarter and a month of it, 2 and 3 buckets.
    The generated export adds a reporting window from February and a quarter with no won
    deal (a plan of nulls, with its note)."""
    import attrib.api as at
    from attrib.synth import generate

    opts: dict = {"models": "linear"}
    data = SAMPLE
    if source == "generated":
        data = tmp_path / "in"
        generate(data, customers=300, seed=3)
        opts["metrics"] = {"period_from": "2025-02-01"}
    at.run(data, out=tmp_path / "mem", **opts)
    for buckets in (2, 3):
        at.run_bucketed(data, out=tmp_path / f"b{buckets}", buckets=buckets, **opts)
    for period in (None, "2025-Q3", "2025-06"):
        want = at.plan_from_run(2_500_000, tmp_path / "mem", period=period)
        if period is None:  # a plan with numbers (a period without won deals has none)
            assert want.table.filter(pl.col("kind") == "stage")["value"].is_not_null().all()
        for buckets in (2, 3):
            got = at.plan_from_run(2_500_000, tmp_path / f"b{buckets}", period=period)
            assert_frame_equal(got.table, want.table, check_exact=False, rel_tol=1e-9, abs_tol=1e-9)
            assert (got.warnings, got.period) == (want.warnings, want.period), (buckets, period)


@pytest.mark.parametrize(
    ("option", "words"),
    [
        (["--memory-limit", "lots"], "cannot read memory limit 'lots'"),
        (["--buckets", "5000"], "must be from 1 to 4,096, got 5,000"),
    ],
)
def test_a_bad_limit_or_bucket_count_is_refused_before_any_input_is_read(
    tmp_path: Path, option: list[str], words: str
) -> None:
    """Both were refused only after the small tables had been read (their progress line
    came first)."""
    from conftest import run_cli

    result = run_cli(["run", "--out", tmp_path / "out", *option], exit_code=2)
    assert words in result.output
    assert "read and validate" not in result.output
