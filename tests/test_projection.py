"""A run reads only the touch columns it uses (``inputs.used_columns``, ``io.Projection``).

Skipping ``touch_type`` (and ``account_id`` at customer level) must change no number and no
rejection; the error for a missing column must still list every column of the file.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from conftest import run_cli

from attrib.config import config_from_mapping, load_config
from attrib.inputs import load_inputs, used_columns
from attrib.io import FILE_COL, ROW_COL, Projection, read_files

TOUCHES = pl.DataFrame(
    {
        "customer_id": ["c1", "c1", "c2", "c3", "c2"],
        "account_id": ["a1", "a1", "a1", "a2", "a1"],
        "ts": [
            "2025-01-01 09:00:00",
            "2025-01-02 09:00:00",
            "2025-01-02 10:00:00",
            "not a time",
            "2025-01-03 10:00:00",
        ],
        "channel": ["Email", "Paid Search", "Social", "Email", "Email"],
        "campaign": ["spring", "brand", None, "spring", "spring"],
        "touch_type": ["email_click", "ad_click", "session", "email_click", "webinar"],
        "crm_note": ["x", "y", "z", "w", "v"],
    }
)
DEALS = pl.DataFrame(
    {
        "deal_id": ["d1", "d2"],
        "customer_id": ["c1", "c2"],
        "account_id": ["a1", "a1"],
        "created_at": ["2025-01-04", "2025-01-05"],
        "closed_at": ["2025-01-10", None],
        "status": ["won", "open"],
        "amount": ["100", "40"],
    }
)


def _export(folder: Path, touches: pl.DataFrame, fmt: str = "csv") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if fmt == "csv":
        touches.write_csv(folder / "touchpoints.csv")
    elif fmt == "parquet":
        touches.write_parquet(folder / "touchpoints.parquet")
    else:
        touches.write_ndjson(folder / "touchpoints.ndjson")
    DEALS.write_csv(folder / "deals.csv")
    return folder


@pytest.mark.parametrize("fmt", ["csv", "parquet", "ndjson"])
def test_read_files_projection_keeps_file_order_and_row_numbers(tmp_path, fmt):
    folder = _export(tmp_path, TOUCHES, fmt)
    path = next(folder.glob("touchpoints.*"))
    wanted = Projection(
        wanted=frozenset({"ts", "customer_id", "absent"}),
        required=frozenset({"customer_id"}),
        unused=frozenset({"touch_type"}),
    )
    frame = read_files([path], wanted)
    assert frame.columns == [ROW_COL, "customer_id", "ts", FILE_COL]
    assert frame.get_column(ROW_COL).to_list() == [1, 2, 3, 4, 5]
    assert frame.get_column("customer_id").to_list() == TOUCHES["customer_id"].to_list()
    # files lacking a required column are read whole (for the error to list their columns)
    whole = read_files([path], Projection(frozenset({"ts"}), frozenset({"cust"}), wanted.unused))
    assert set(whole.columns) == {*TOUCHES.columns, ROW_COL, FILE_COL}


def test_used_columns_follow_level_mapping_and_constants():
    customer = used_columns("touchpoints", load_config(None))
    assert customer is not None
    assert customer.wanted == {"customer_id", "ts", "channel", "source", "medium", "campaign"}
    assert customer.required == {"customer_id", "ts"}
    assert customer.unused == {"touch_type", "account_id"}
    account = used_columns("touchpoints", load_config(None).with_overrides(level="account"))
    assert account is not None
    assert "account_id" in account.wanted
    assert account.required == {"customer_id", "ts", "account_id"}
    assert account.unused == {"touch_type"}
    assert used_columns("deals", load_config(None)) is None  # small tables are read whole


def test_used_columns_map_to_source_names(tmp_path):
    config = tmp_path / "channels.toml"
    config.write_text(
        '[columns.touchpoints]\ncustomer_id = "contact"\nts = "when"\n'
        '[constants.touchpoints]\ncampaign = "all"\n'
    )
    projection = used_columns("touchpoints", load_config(config))
    assert projection is not None
    assert {"contact", "when", "channel"} <= projection.wanted
    assert "campaign" not in projection.wanted
    assert "customer_id" not in projection.wanted
    assert projection.required == {"contact", "when"}
    # a source that also feeds a used column is read
    shared = tmp_path / "shared.toml"
    shared.write_text('[columns.touchpoints]\nchannel = "touch_type"\n')
    projection = used_columns("touchpoints", load_config(shared))
    assert projection is not None
    assert "touch_type" in projection.wanted
    assert "touch_type" not in projection.unused


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_run_skips_unused_columns_with_the_same_results(tmp_path, fmt):
    full = _export(tmp_path / "full", TOUCHES, fmt)
    lean = _export(tmp_path / "lean", TOUCHES.drop("touch_type", "account_id", "crm_note"), fmt)
    for data in (full, lean):
        run_cli(["run", data, "--out", tmp_path / data.name / "out", "-q"])
    out_full, out_lean = tmp_path / "full" / "out", tmp_path / "lean" / "out"
    for name in ("channel_summary", "campaign_summary", "journeys"):
        assert (out_full / f"{name}.parquet").read_bytes() == (
            out_lean / f"{name}.parquet"
        ).read_bytes(), name
    # the bad timestamp is rejected either way; its row keeps the columns the run read
    q = pl.read_parquet(out_full / "quarantine" / "touchpoints.parquet")
    assert q.select("row", "column").rows() == [(4, "ts")]
    assert "touch_type" not in q.columns
    assert "account_id" not in q.columns
    assert q.row(0, named=True)["customer_id"] == "c3"


def test_account_level_reads_the_account_column(tmp_path):
    data = _export(tmp_path / "in", TOUCHES)
    run_cli(["run", data, "--out", tmp_path / "out", "--level", "account", "-q"])
    journeys = pl.read_parquet(tmp_path / "out" / "journeys.parquet")
    assert sorted(journeys["entity_id"].unique().to_list()) == ["a1"]
    q = pl.read_parquet(tmp_path / "out" / "quarantine" / "touchpoints.parquet")
    assert q.row(0, named=True)["account_id"] == "a2"


def test_missing_account_column_still_lists_the_file_columns(tmp_path):
    data = _export(tmp_path / "in", TOUCHES.drop("account_id"))
    result = run_cli(["run", data, "--out", tmp_path / "out", "--level", "account"], exit_code=2)
    assert "'account_id'" in result.output
    assert "crm_note" in result.output


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_touches_with_no_channel_column_are_read_whole_for_the_error(tmp_path, engine):
    """A run reads only the columns it uses: with none naming the channel, the error listed
    the two it read ("columns found: customer_id, ts") and could not offer the file's own
    channel column, where `attrib validate` could."""
    run = ["run", tmp_path / "in", "--out", tmp_path / "out", *engine]
    _export(tmp_path / "in", TOUCHES.drop("channel"))
    text = " ".join(run_cli(run, exit_code=2).output.split())
    assert "(columns found: customer_id, account_id, ts, campaign, touch_type, crm_note)" in text
    _export(tmp_path / "in", TOUCHES.drop("channel").rename({"crm_note": "Lead Source"}))
    text = " ".join(run_cli(run, exit_code=2).output.split())
    assert 'map it: [columns.touchpoints] channel = "Lead Source"' in text


def test_a_channel_constant_keeps_the_projection():
    """``[constants.touchpoints] channel`` names every touch's channel: no column need be."""
    constant = config_from_mapping({"constants": {"touchpoints": {"channel": "Email"}}})
    projection = used_columns("touchpoints", constant)
    assert projection is not None
    assert projection.one_of == frozenset()
    assert projection.of({"customer_id": pl.String, "ts": pl.String, "x": pl.String}) == [
        "customer_id",
        "ts",
    ]


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_unused_column_of_nested_type_is_still_refused(tmp_path, engine):
    data = tmp_path / "in"
    data.mkdir()
    TOUCHES.with_columns(pl.col("touch_type").map_elements(lambda t: [t])).write_parquet(
        data / "touchpoints.parquet"
    )
    DEALS.write_csv(data / "deals.csv")
    result = run_cli(["run", data, "--out", tmp_path / "out", *engine], exit_code=2)
    assert "'touch_type'" in result.output
    assert "single values" in result.output


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_ragged_csv_row_is_still_an_input_error(tmp_path, engine):
    data = _export(tmp_path / "in", TOUCHES)
    path = data / "touchpoints.csv"
    lines = path.read_text().splitlines()
    lines[2] += ",extra"  # data row 2 has one field too many
    path.write_text("\n".join(lines) + "\n")
    result = run_cli(["run", data, "--out", tmp_path / "out", *engine], exit_code=2)
    width = lines[0].count(",") + 1
    assert f"row 2: row 2 has {width + 1} fields, the header {width}" in result.output
    assert not (tmp_path / "out" / "channel_summary.parquet").exists()


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
@pytest.mark.parametrize("value", ['ab"cd', '"abcd'], ids=["stray-quote", "unclosed-quote"])
def test_an_unbalanced_quote_names_its_row(tmp_path, engine, value):
    """A quote that opens a value and never closes on its row: the reader's own message
    named no row ("expected 0 rows, actual ... in chunk starting at row_offset ...")."""
    data = _export(tmp_path / "in", TOUCHES)
    path = data / "touchpoints.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0] + "," + value  # data row 3's last value
    path.write_text("\n".join(lines) + "\n")
    result = run_cli(["run", data, "--out", tmp_path / "out", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert "touchpoints.csv, row 3: cannot read" in text
    assert 'a quote (") opens a value that does not close on this row' in text
    assert "double a quote inside it" in text
    assert not (tmp_path / "out" / "channel_summary.parquet").exists()


@pytest.mark.parametrize(
    "note", ["two\nlines", 'said ""hi\nthere""', "a,\n"], ids=["lines", "quoted", "separator"]
)
def test_an_unbalanced_quote_after_a_value_of_several_lines_names_its_row(tmp_path, note):
    """A quoted value over two lines in row 1 (a CRM note) is no error: the stray quote of
    row 3 is (row 1 was named: its first line ends inside the quotes)."""
    data = _export(tmp_path / "in", TOUCHES.with_columns(pl.lit(None).alias("crm_note")))
    path = data / "touchpoints.csv"
    lines = path.read_text().splitlines()
    lines[1] += f'"{note}"'
    lines[3] += 'ab"cd'
    path.write_text("\n".join(lines) + "\n")
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    text = " ".join(result.output.split())
    assert "touchpoints.csv, row 3: cannot read" in text
    assert 'a quote (") opens a value that does not close on this row' in text


def test_a_file_lacking_a_required_column_its_siblings_have_is_named(tmp_path):
    """A file without a required column is read whole (for the error text); its rows used
    to be quarantined one by one as missing the column (the union's column is null for
    them). The run now stops and names that file and the column (exit 2)."""
    data = tmp_path / "in"
    folder = data / "touchpoints"
    folder.mkdir(parents=True)
    TOUCHES.write_csv(folder / "a.csv")
    TOUCHES.rename({"customer_id": "cust"}).write_csv(folder / "b.csv")
    DEALS.write_csv(data / "deals.csv")
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {folder / 'b.csv'}, column 'customer_id'" in text
    assert not (tmp_path / "out" / "channel_summary.parquet").exists()


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_a_column_spelt_another_way_in_one_file_is_named(tmp_path, engine, fmt):
    """One part file of the touches spells campaign 'Campaign ' (another export): its
    campaigns were silently read as absent, every one (none). The run stops naming it."""
    data = tmp_path / "in"
    folder = data / "touchpoints"
    folder.mkdir(parents=True)
    write = pl.DataFrame.write_csv if fmt == "csv" else pl.DataFrame.write_parquet
    write(TOUCHES, folder / f"a.{fmt}")
    write(TOUCHES.rename({"campaign": "Campaign "}), folder / f"b.{fmt}")
    DEALS.write_csv(data / "deals.csv")
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {folder / f'b.{fmt}'}, column 'Campaign ': column 'Campaign ' is not read" in text
    assert "the column is named 'campaign'" in text
    assert not (tmp_path / "out" / "channel_summary.parquet").exists()
    # spelt so in every file: the same (the config may map it instead)
    (folder / f"a.{fmt}").unlink()
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    assert '[columns.touchpoints] campaign = "Campaign "' in result.output  # the line to write
    (data / "channels.toml").write_text('[columns.touchpoints]\ncampaign = "Campaign "\n')
    run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine])


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_an_unread_account_column_spelt_another_way_is_no_error(tmp_path, engine):
    """A CRM's deals and stages carry 'Account ID': at customer level no table's account_id
    is read, so its spelling loses nothing (the run was refused: "column 'Account ID' is not
    read"); at account level the deals' accounts are read, and the spelling is refused."""
    data = tmp_path / "in"
    data.mkdir()
    TOUCHES.drop("account_id").write_csv(data / "touchpoints.csv")
    DEALS.rename({"account_id": "Account ID"}).write_csv(data / "deals.csv")
    stages = {"customer_id": ["c1"], "stage": ["lead"], "ts": ["2025-01-02"], "AccountId": ["a1"]}
    pl.DataFrame(stages).write_csv(data / "stages.csv")
    run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine])
    TOUCHES.write_csv(data / "touchpoints.csv")
    result = run_cli(
        ["run", data, "--out", tmp_path / "out", "-q", "--level", "account", *engine], exit_code=2
    )
    assert "column 'Account ID' is not read: the column is named 'account_id'" in " ".join(
        result.output.split()
    )


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_source_and_medium_spelt_another_way_are_refused_only_for_rules(tmp_path, engine):
    """A touch export with its channel and a GA-style 'Source' and 'Medium': only [[rules]]
    read source and medium, so without rules their spelling loses nothing (the run was
    refused: "column 'Source' is not read"); a rule on the source refuses it."""
    data = _export(
        tmp_path / "in", TOUCHES.with_columns(Source=pl.lit("google"), Medium=pl.lit("cpc"))
    )
    run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine])
    TOUCHES.drop("channel").with_columns(Source=pl.lit("google")).write_csv(
        data / "touchpoints.csv"
    )
    (data / "channels.toml").write_text('[[rules]]\nchannel = "Search"\nsource = "google"\n')
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert "column 'Source' is not read: the column is named 'source'" in text


def test_load_inputs_keeps_every_column_unless_asked(tmp_path):
    data = _export(tmp_path / "in", TOUCHES)
    assert "touch_type" in load_inputs(data).touches.columns
    lean = load_inputs(data, used_only=True)
    assert "touch_type" not in lean.touches.columns
    assert "account_id" not in lean.touches.columns
    assert lean.rejected == load_inputs(data).rejected
