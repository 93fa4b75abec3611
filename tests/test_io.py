"""attrib.writers' streamed Parquet writer (in place only when the block ends without error),
and attrib.io's readers of the files an export may be."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from attrib.writers import parquet_appender

SCHEMA = pa.schema([("a", pa.int64()), ("b", pa.string())])


def test_tables_are_appended_and_cast_to_the_first_schema(tmp_path):
    target = tmp_path / "t.parquet"
    with parquet_appender(target) as out:
        out.write_table(pa.table({"a": [1, 2], "b": ["x", "y"]}, schema=SCHEMA))
        out.write_table(pa.table({"a": pa.array([3], pa.int32()), "b": ["z"]}))
        assert not target.exists()  # not before the block ends
    back = pq.read_table(target)
    assert back.schema == SCHEMA
    assert back.column("a").to_pylist() == [1, 2, 3]
    assert list(tmp_path.iterdir()) == [target]


def test_an_error_in_the_block_leaves_nothing(tmp_path):
    target = tmp_path / "t.parquet"

    def fail_half_way() -> None:
        with parquet_appender(target, SCHEMA) as out:
            out.write_table(pa.table({"a": [1], "b": ["x"]}, schema=SCHEMA))
            raise RuntimeError("the caller's own error")

    with pytest.raises(RuntimeError, match="the caller's own error"):
        fail_half_way()
    assert list(tmp_path.iterdir()) == []


def test_a_given_schema_makes_a_file_without_rows(tmp_path):
    target = tmp_path / "t.parquet"
    with parquet_appender(target, SCHEMA):
        pass
    back = pq.read_table(target)
    assert back.num_rows == 0
    assert back.schema == SCHEMA


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_part_files_of_one_table_with_different_types(tmp_path, engine):
    """Files of one table were stacked before their values were parsed, with Polars' common
    type: a zoned beside a naive timestamp file crashed (exit 5), epoch numbers beside
    timestamps turned every timestamp into a number (all rows rejected), and float ids
    beside text ids became "2.0" (their deals silently lost their touches). A mixed column
    is now read as the text a CSV export holds, each value as its file alone gives it: the
    zoned file's at UTC beside the naive file's, with no mixing to reject."""
    from datetime import datetime

    import polars as pl
    from conftest import run_cli

    data = tmp_path / "in"
    parts = data / "touchpoints"
    parts.mkdir(parents=True)
    zoned = pl.DataFrame(
        {
            "customer_id": ["c1", "c1", "2"],
            "ts": [datetime(2025, 1, 1, 10), datetime(2025, 1, 2, 10), datetime(2025, 1, 3, 10)],
            "channel": ["Email", "Social", "Ads"],
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("Europe/Berlin"))
    zoned.write_parquet(parts / "a.parquet")
    naive = pl.DataFrame({"customer_id": [2.0], "ts": [datetime(2025, 1, 4, 10)], "channel": "TV"})
    naive.write_parquet(parts / "b.parquet")
    epoch = pl.DataFrame({"customer_id": ["c3"], "ts": [1735689600000], "channel": ["Ads"]})
    epoch.write_parquet(parts / "c.parquet")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-05,2025-01-06,won,100\nd2,2,2025-01-05,2025-01-06,won,50\n"
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch", *engine])
    journeys = pl.read_parquet(out / "journeys.parquet").sort("deal_id")
    assert journeys.select("deal_id", "path", "first_touch_at").rows() == [
        ("d1", "Email > Social", datetime(2025, 1, 1, 9)),  # 10:00 in Berlin is 09:00 UTC
        ("d2", "Ads > TV", datetime(2025, 1, 3, 9)),  # the float id 2.0 is customer "2"
    ]
    rejected = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert rejected["file"].to_list() == [str(parts / "c.parquet")]
    assert rejected["reason"].item().startswith("ts 1735689600000 is not a timestamp")


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_typed_timestamps_do_not_vote_in_the_timezone_mixing_rule(tmp_path, engine):
    """A zoned Parquet part beside a CSV part whose rows mostly carry an offset: stacked as
    naive text, the Parquet timestamps outvoted the zoned CSV rows, which were rejected
    (12 of 30 touches, silently: exit 0). Typed values name their instant: they neither vote
    nor are rejected; the CSV's 8 naive rows are the fewer kind of the text rows."""
    import polars as pl
    from conftest import run_cli, typed_and_text_touch_parts

    data = tmp_path / "in"
    parts = data / "touchpoints"
    text = typed_and_text_touch_parts(parts, ["c1"])
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "linear", *engine])
    rejected = pl.read_parquet(out / "quarantine" / "touchpoints.parquet").sort("row")
    assert rejected["file"].unique().to_list() == [str(parts / "d.csv")]
    assert rejected["row"].to_list() == list(range(13, 21))
    assert rejected["reason"].str.contains("has no timezone while").all()
    # typed parts alone beside naive text: no text row carries an offset, nothing to reject
    text.with_columns(pl.col("ts").str.strip_suffix("Z")).write_csv(parts / "d.csv")
    run_cli(["run", data, "--out", out, "-q", "--models", "linear", *engine])
    assert not (out / "quarantine" / "touchpoints.parquet").exists()


def test_part_files_keep_what_each_value_says(tmp_path):
    """Stacked with a typed file, a cost date keeps the day it names (a Berlin midnight is
    that day, not the evening before in UTC) and a Date close on the creation day still
    reads as the creation time."""
    from datetime import date, datetime

    import polars as pl
    from conftest import run_cli

    data = tmp_path / "in"
    for table in ("costs", "deals"):
        (data / table).mkdir(parents=True)
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-03-01 09:00,Email\n")
    pl.DataFrame(
        {"date": [datetime(2025, 3, 1)], "channel": ["Email"], "spend": [310.0]}
    ).with_columns(pl.col("date").dt.replace_time_zone("Europe/Berlin")).write_parquet(
        data / "costs" / "a.parquet"
    )
    (data / "costs" / "b.csv").write_text("date,channel,spend\n2025-04-01,Email,300\n")
    deal = {"deal_id": ["d1"], "customer_id": ["c1"], "status": ["won"], "amount": [10.0]}
    pl.DataFrame(
        {**deal, "created_at": [datetime(2025, 3, 2, 14)], "closed_at": [date(2025, 3, 2)]}
    ).write_parquet(data / "deals" / "a.parquet")
    pl.DataFrame(
        {
            **deal,
            "deal_id": ["d2"],
            "created_at": [datetime(2025, 3, 3)],
            "closed_at": [datetime(2025, 3, 9)],
        }
    ).write_parquet(data / "deals" / "b.parquet")
    out = tmp_path / "out"
    window = ["--from", "2025-03-01", "--to", "2025-03-31"]
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch", *window])
    assert not (out / "quarantine").exists()
    summary = pl.read_parquet(out / "channel_summary.parquet")
    assert dict(summary.select("channel", "spend").iter_rows())["Email"] == 310.0  # monthly
    closed = pl.read_parquet(out / "journeys.parquet").filter(pl.col("deal_id") == "d1")
    assert closed["closed_at"].item() == datetime(2025, 3, 2, 14)


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("customer_id,timestamp,channel", "ts"),
        # optional (source/medium may stand for it), but with it no [[rules]] apply: each
        # touch of the file without it was quarantined as "channel is empty"
        ("customer_id,ts,Channel", "channel"),
    ],
)
def test_a_part_file_without_a_column_its_siblings_have_is_named(tmp_path, engine, header, column):
    """A column renamed in one export (ts -> timestamp) made each of that file's rows
    "ts is empty" in the quarantine; the run now names the file and the column."""
    from conftest import run_cli

    data = tmp_path / "in"
    (data / "touchpoints").mkdir(parents=True)
    (data / "touchpoints" / "a.csv").write_text("customer_id,ts,channel\nc1,2025-01-01,Email\n")
    (data / "touchpoints" / "b.csv").write_text(f"{header}\nc2,2025-01-02,Ads\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {data / 'touchpoints' / 'b.csv'}, column '{column}'" in text
    assert "missing from this file, while other files of the table have it" in text


@pytest.mark.parametrize("via_link", [False, True])
def test_an_output_that_is_no_regular_file_is_refused_and_kept(tmp_path, via_link):
    # `attrib report out -o /dev/full` (as root) renamed the page onto the device node,
    # replacing it with a regular file; a FIFO (or a link to one) stands in for it here
    import os
    import stat

    import polars as pl

    from attrib.errors import OutputError
    from attrib.writers import write_parquet, write_text

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    target = fifo
    if via_link:
        target = tmp_path / "link"
        target.symlink_to(fifo)
    with pytest.raises(OutputError, match="not a regular file"):
        write_text("<html></html>", target)
    with pytest.raises(OutputError, match="not a regular file"):
        write_parquet(pl.DataFrame({"a": [1]}), target)
    assert stat.S_ISFIFO(fifo.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({"pipe", target.name})


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_a_file_column_named_as_the_row_numbers_is_not_read(tmp_path, engine, fmt):
    """An export with its own ``__row`` (or ``__file``) column, a name the readers give
    each row's number (file), stopped the run: "cannot add row_index with name '__row':
    column already exists in file", hinting at a damaged file. Such a column is no
    attrib column: it is dropped, and quarantine rows name the file's own row numbers."""
    import polars as pl
    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    touches = pl.DataFrame(
        {
            "__row": ["x", "y", "z"],
            "customer_id": ["c1", "c1", "c2"],
            "ts": ["2025-01-01 10:00", "not a time", "2025-01-02 10:00"],
            "channel": ["Email", "Ads", "Ads"],
            "__file": ["p", "q", "r"],
        }
    )
    path = data / f"touchpoints.{fmt}"
    getattr(touches, f"write_{fmt}")(path)
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch", *engine])
    rejected = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert rejected.select("file", "row").rows() == [(str(path), 2)]
    assert pl.read_parquet(out / "journeys.parquet")["path"].sort().to_list() == ["Ads", "Email"]


def test_a_config_mapping_a_column_to_a_row_number_name_is_refused(tmp_path):
    """The file's own ``__row`` column is not read, so a mapping to it is a config error
    (it would have been a missing column, in a file that has it)."""
    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text("__row,ts,channel\nc1,2025-01-01,Email\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    (data / "channels.toml").write_text('[columns.touchpoints]\ncustomer_id = "__row"\n')
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    text = " ".join(result.output.split())
    assert "[columns.touchpoints] customer_id = '__row'" in text
    assert "rename that column in the export" in text


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_an_ndjson_key_named_twice_is_refused(tmp_path, engine):
    """``{"channel": "a", "channel": "b"}``: the reader kept the first value without a
    word (Python's json keeps the last). A repeated key the run reads stops it, naming the
    file and the key; one it does not read (touch_type) is no matter."""
    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    line = '{"customer_id": "c1", "ts": "2025-01-01", "channel": "a", %s}\n'
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    (data / "touchpoints.ndjson").write_text(
        line % '"touch_type": "x", "touch_type": "y"' + line % '"touch_type": "z"'
    )
    run_cli(["run", data, "--out", tmp_path / "ok", "-q", "--models", "first_touch", *engine])
    (data / "touchpoints.ndjson").write_text(line % '"channel": "b"')
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert (
        f"file {data / 'touchpoints.ndjson'}, row 1, column 'channel': the first line's JSON"
        " names key 'channel' twice"
    ) in text


def test_a_table_file_of_a_type_attrib_does_not_read_is_named(tmp_path):
    """Amplitude writes ``.json.gz`` parts: beside ``.ndjson.gz`` ones in a touchpoints
    folder they were skipped, their touches lost without a word; a lone
    ``touchpoints.tsv`` was "no touchpoints input found". Notes and Spark's markers are
    still skipped."""
    import gzip

    from conftest import run_cli

    data = tmp_path / "in"
    parts = data / "touchpoints"
    parts.mkdir(parents=True)
    line = '{"customer_id": "c1", "ts": "2025-01-01", "channel": "Email"}\n'
    (parts / "part-000.ndjson.gz").write_bytes(gzip.compress(line.encode()))
    (parts / "_SUCCESS").write_text("")
    (parts / "notes.txt").write_text("exported 2025-01-31\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    run_cli(["validate", data])
    (parts / "part-001.json.gz").write_bytes(gzip.compress(line.encode()))
    result = run_cli(["validate", data], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {parts / 'part-001.json.gz'}: attrib does not read files of this type" in text
    assert "rename it" in text
    tsv = tmp_path / "tsv"
    tsv.mkdir()
    (tsv / "deals.csv").write_text((data / "deals.csv").read_text())
    (tsv / "touchpoints.tsv").write_text("customer_id\tts\tchannel\nc1\t2025-01-01\tEmail\n")
    result = run_cli(["validate", tsv], exit_code=2)
    assert "rename it to .csv" in result.output


def test_a_spark_or_delta_folder_reads_its_parts_not_its_hidden_files(tmp_path):
    """Spark and Delta write a table as parts beside ``_SUCCESS``, ``_committed_*`` and a
    ``_delta_log`` folder of ``.json`` commits and checkpoint Parquet files: hidden files
    (a name, or a subfolder's, starting with "_" or "."), which Spark's reader skips. The
    refusal of unread file types refused the whole folder for its ``_delta_log/*.json``."""
    import polars as pl

    from attrib.io import resolve_files

    folder = tmp_path / "touchpoints"
    (folder / "_delta_log").mkdir(parents=True)
    (folder / "_delta_log" / "00000000000000000000.json").write_text('{"commitInfo": {}}\n')
    (folder / "_delta_log" / "00000000000000000010.checkpoint.parquet").write_bytes(b"")
    (folder / "_temporary" / "0").mkdir(parents=True)
    (folder / "_temporary" / "0" / "part-9.csv").write_text("a\n")
    for name in ("_SUCCESS", "_committed_123", ".DS_Store", ".part-0.parquet.crc"):
        (folder / name).write_text("")
    pl.DataFrame({"a": [1]}).write_parquet(folder / "part-0.parquet")
    assert resolve_files(folder) == [folder / "part-0.parquet"]


def test_a_file_of_another_kind_beside_readable_parts_is_skipped(tmp_path):
    """A ``schema.json`` or a workbook beside Parquet parts is no part of the table: it is
    skipped (the refusal of unread types refused the folder); a ``.json`` beside NDJSON
    parts or a ``.tsv`` beside CSV ones looks like more of them, and is refused."""
    import polars as pl

    from attrib.errors import InputError
    from attrib.io import resolve_files

    folder = tmp_path / "touchpoints"
    folder.mkdir()
    pl.DataFrame({"a": [1]}).write_parquet(folder / "part-0.parquet")
    (folder / "schema.json").write_text('{"fields": []}\n')
    (folder / "mapping.xlsx").write_bytes(b"PK")
    assert resolve_files(folder) == [folder / "part-0.parquet"]
    (folder / "part-1.csv").write_text("a\n1\n")
    (folder / "part-2.tsv").write_text("a\n2\n")
    with pytest.raises(InputError, match="does not read files of this type") as err:
        resolve_files(folder)
    assert err.value.file == str(folder / "part-2.tsv")


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]])
@pytest.mark.parametrize("column", ["customer_id", "channel"])
def test_a_nested_column_in_one_part_of_a_folder_is_an_input_error(tmp_path, engine, column):
    """Parts that type a column differently are stacked as the text a CSV export holds; a
    part whose column holds lists (or a Parquet map) was cast to text too: "Internal error:
    InvalidOperationError: cannot cast List type" (exit 5). It is refused as one file with
    such a column is (exit 2), naming that part and the column."""
    import polars as pl
    from conftest import run_cli

    data = tmp_path / "in"
    parts = data / "touchpoints"
    parts.mkdir(parents=True)
    plain = {"customer_id": ["c1"], "ts": ["2025-01-01"], "channel": ["Email"]}
    pl.DataFrame(plain).write_parquet(parts / "part-0.parquet")
    pl.DataFrame({**plain, column: [["x"]]}).write_parquet(parts / "part-1.parquet")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {parts / 'part-1.parquet'}" in text
    assert f"column {column!r} holds" in text
    # lengths of time (a Duration column) have no text either: "Internal error: casting
    # from Duration('ms') to String not supported"
    timed = pl.DataFrame({**plain, column: [1]}).with_columns(
        pl.duration(seconds=pl.col(column)).alias(column)
    )
    timed.write_parquet(parts / "part-1.parquet")
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {parts / 'part-1.parquet'}" in text
    assert f"column {column!r} holds Duration(time_unit='us') values (lengths of time)" in text


def test_backups_and_copies_of_data_files_are_not_read(tmp_path):
    """A file's type is its last suffix: ``a.csv.bak``, ``a.csv.orig`` beside ``a.csv`` in a
    table's folder were read as CSV (any suffix counted), doubling the touches without a
    word; ``a.csv.gz`` is still CSV. Given by name, such a file is refused saying how to
    read it."""
    from conftest import run_cli

    from attrib.errors import InputError
    from attrib.io import file_format, resolve_files

    folder = tmp_path / "touchpoints"
    folder.mkdir()
    row = "customer_id,ts,channel\nc1,2025-01-01,Email\n"
    for name in ("a.csv", "a.csv.bak", "a.csv.orig", "a.parquet.old", "b.csv.gz"):
        (folder / name).write_text(row)
    assert resolve_files(folder) == [folder / "a.csv", folder / "b.csv.gz"]
    assert file_format(folder / "b.csv.gz") == "csv"
    with pytest.raises(InputError, match="unsupported file type") as err:
        file_format(folder / "a.csv.bak")
    assert "its last suffix (.bak: a backup or a copy?)" in err.value.hint
    assert "name it to end in .csv" in err.value.hint
    # beside touchpoints.csv in the data folder: skipped, not "several files"
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text(row)
    (data / "touchpoints.csv.bak").write_text(row + "c2,2025-01-02,Webinar\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    result = run_cli(["validate", data])
    assert "touchpoints 1 rows 0 rejected" in " ".join(result.output.split())


def test_an_unread_copy_beside_a_table_file_is_refused_as_a_second_file(tmp_path):
    """``touchpoints.tsv`` (or ``.json``) beside ``touchpoints.csv`` (``.ndjson``) looks like
    more of the table: it was skipped without a word (alone it is refused, and in a
    ``touchpoints/`` folder too). A workbook beside the CSV is no part of it."""
    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-01-01,Email\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    (data / "touchpoints.xlsx").write_bytes(b"PK")
    run_cli(["validate", data])
    (data / "touchpoints.tsv").write_text("customer_id\tts\tchannel\nc2\t2025-01-02\tEmail\n")
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert "several files for table 'touchpoints': touchpoints.csv, touchpoints.tsv" in text
    assert "touchpoints.tsv: a separated text file: rename it to .csv" in text


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_timestamps_zoned_at_a_fixed_offset_are_read_at_utc(tmp_path, engine):
    """pandas writes a column parsed with its offsets ("2025-07-01T10:00+05:30") zoned
    "+05:30": Polars knows named zones only and panicked reading the file's schema (an
    internal error, a Rust backtrace). Such a file reads as the same instants at UTC."""
    import datetime as dt

    import polars as pl
    import pyarrow as pa
    import pyarrow.parquet as pq
    from conftest import run_cli

    instants = [dt.datetime(2025, 1, 1, 4, 30), dt.datetime(2025, 1, 2, 23, 0)]
    deals = (
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    outputs = {}
    for zone in ("+05:30", "UTC"):
        data = tmp_path / zone.replace(":", "")
        data.mkdir()
        (data / "deals.csv").write_text(deals)
        table = pa.table(
            {
                "customer_id": ["c1", "c1"],
                "ts": pa.array(instants, pa.timestamp("us", tz=zone)),
                "channel": ["Email", "Webinar"],
            }
        )
        pq.write_table(table, data / "touchpoints.parquet")
        run_cli(["validate", data])
        out = tmp_path / f"out-{zone.replace(':', '')}"
        run_cli(["run", data, "--out", out, "-q", "--models", "first_touch", *engine])
        outputs[zone] = pl.read_parquet(out / "journeys.parquet")
    assert outputs["+05:30"].equals(outputs["UTC"])
    assert outputs["UTC"]["first_touch_at"].to_list() == [instants[0]]


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_an_ndjson_file_that_is_no_json_names_its_line(tmp_path, engine):
    """The NDJSON reader's error named no line ("InternalError(TapeError) at character 49"):
    the first line that is no JSON object is named, with its row (objects, as the reader
    numbers them) and why; a byte-order mark, as Windows tools write, is read past (it was
    refused as such an error)."""
    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-01-01,Email\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    good = '{"date": "2025-01-01", "channel": "Email", "spend": 5}\n'
    cases = {
        good + "\n" + good.replace("5}", "NaN}"): "row 2: cannot read ndjson file: line 3 is not"
        " JSON (NaN is no JSON value)",
        good + "42\n": "row 2: cannot read ndjson file: line 2 is a JSON int, not an object",
        good + good[:20]: "row 2: cannot read ndjson file: line 2 is not JSON (Unterminated"
        " string starting at, character 10)",
    }
    for text, said in cases.items():
        (data / "costs.ndjson").write_text(text)
        result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
        assert f"file {data / 'costs.ndjson'}, {said}" in " ".join(result.output.split())
    (data / "costs.ndjson").write_bytes(b"\xef\xbb\xbf" + (good * 2).encode())
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--models", "linear", *engine])
    assert "costs 2 rows 0 rejected" in " ".join(run_cli(["validate", data]).output.split())


def test_gzip_data_named_csv_is_told_as_such(tmp_path):
    """A gzipped CSV named .csv was read as text: its header, compressed bytes, was "missing
    the required columns", with a mapping to map nothing onto."""
    import gzip

    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-01-01,Email\n")
    deals = "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,,open,1\n"
    (data / "deals.csv").write_bytes(gzip.compress(deals.encode()))
    for command in (["validate", data], ["run", data, "--out", tmp_path / "out", "-q"]):
        text = " ".join(run_cli(command, exit_code=2).output.split())
        assert (
            f"file {data / 'deals.csv'}: cannot read csv file: the file is gzip-compressed" in text
        )
        assert "name it deals.csv.gz" in text
    (data / "deals.csv").rename(data / "deals.csv.gz")
    run_cli(["validate", data])


def test_a_carriage_return_inside_a_unix_file_names_its_row(tmp_path):
    """A row ending in a carriage return alone inside a file of \\n line ends: the reader
    saw two rows as one and said "found more fields than defined in 'Schema'", no row."""
    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-01-01,Email\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,,open,1\n"
    )
    (data / "costs.csv").write_bytes(
        b"date,channel,spend\n2025-01-01,Email,1\n2025-01-02,Email,2\r2025-01-03,Email,3\n"
    )
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert f"file {data / 'costs.csv'}, row 2: cannot read csv file: a carriage return" in text
    assert "one kind of line end" in text


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_a_decimal_column_wider_than_read_is_named(tmp_path, engine):
    """A Parquet decimal of 60 digits: "cannot read parquet file: precision must be between
    1 and 38, got 60", with no column and a hint to check the file is complete."""
    import decimal

    import pyarrow as pa
    import pyarrow.parquet as pq
    from conftest import run_cli

    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-01-01,Email\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,,open,1\n"
    )
    spend = pa.array([decimal.Decimal("5")], pa.decimal256(60, 2))
    pq.write_table(
        pa.table({"date": ["2025-01-01"], "channel": ["Email"], "spend": spend}),
        data / "costs.parquet",
    )
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {data / 'costs.parquet'}, column 'spend': column 'spend' holds decimals" in text
    assert "of 60 digits (at most 38 are read)" in text
    # a touch column the run does not read is no error (the reader never converts it)
    (data / "costs.parquet").unlink()
    (data / "touchpoints.csv").unlink()
    pq.write_table(
        pa.table({"customer_id": ["c1"], "ts": ["2025-01-01"], "channel": ["Email"], "n": spend}),
        data / "touchpoints.parquet",
    )
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--models", "linear", *engine])
