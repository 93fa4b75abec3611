"""Messages for the shapes real exports come in (HubSpot, Salesforce, GA4/BigQuery, ad
platforms' cost reports): each rejected value or unreadable file says what it looks like and
what to do, never only that it is wrong."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

import attrib.api as at
from attrib.errors import InputError, SchemaError

TOUCHES = "customer_id,ts,channel\nc1,2025-01-01 10:00,Email\n"
DEALS = (
    "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-02,2025-01-05,won,10\n"
)


def _folder(tmp_path: Path, touches: str = TOUCHES, deals: str = DEALS) -> Path:
    (tmp_path / "touchpoints.csv").write_text(touches, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(deals, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("1/15/2025", "a day-first or US date"),  # a Salesforce report's date
        ("15.01.2025 10:00", "a day-first or US date"),
        ("20250115", "YYYYMMDD as GA4's event_date"),
        ("1736937845123456", "TIMESTAMP_MICROS"),  # GA4's event_timestamp, in µs
        ("1736937845", "an epoch number"),
        ("45672", "an Excel serial day number"),
        ("2025-01", "a month? write its first day"),
    ],
)
def test_an_unparsed_timestamp_says_what_it_looks_like(tmp_path, value, words):
    data = _folder(tmp_path, touches=TOUCHES + f"c2,{value},Email\n")
    reason = at.load_inputs(data).quarantine["touchpoints"]["reason"].item()
    assert reason.startswith(f"ts {value} is not a timestamp: "), reason
    assert words in reason, reason
    assert "write ISO 8601" in reason, reason


def test_an_unparsed_timestamp_of_no_known_kind_keeps_its_message(tmp_path):
    data = _folder(tmp_path, touches=TOUCHES + "c2,yesterday,Email\n")
    reason = at.load_inputs(data).quarantine["touchpoints"]["reason"].item()
    assert reason.startswith("ts yesterday is not a timestamp (write ISO 8601"), reason


def test_an_integer_timestamp_column_is_named_as_epoch_numbers(tmp_path):
    data = _folder(tmp_path)
    frame = pl.DataFrame({"customer_id": ["c1"], "ts": [1736937845123456], "channel": ["Email"]})
    frame.write_parquet(data / "touchpoints.parquet")
    (data / "touchpoints.csv").unlink()
    reason = at.load_inputs(data).quarantine["touchpoints"]["reason"].item()
    assert "not a timestamp (epoch seconds, ms or µs?" in reason, reason


def test_a_quoted_empty_amount_is_empty_not_an_unnamed_non_number(tmp_path):
    """HubSpot and Salesforce quote every field: an empty amount is "" (text), which read
    'amount  is not a number' with nothing between the two spaces."""
    head = "deal_id,customer_id,created_at,closed_at,status,amount\n"
    data = _folder(tmp_path, deals=head + '"d1","c1","2025-01-02","","open",""\n')
    reason = at.load_inputs(data).quarantine["deals"]["reason"].item()
    assert reason == "amount is empty (write 0 for an unknown value)", reason


def test_a_report_title_above_the_header_is_named(tmp_path):
    """Google Ads and LinkedIn cost reports begin with a title and a date range."""
    data = _folder(tmp_path)
    (data / "costs.csv").write_text(
        'Campaign performance report\n"January 1, 2025 - January 31, 2025"\n'
        "Day,Campaign,Cost\n2025-01-15,brand,12.5\n"
    )
    with pytest.raises(InputError) as err:
        at.load_inputs(data)
    assert "'Campaign performance report', was read as a header of one column" in str(
        err.value.hint
    )
    assert "delete the lines above the column names" in str(err.value.hint)


def test_a_one_column_title_header_is_named_when_no_row_is_longer(tmp_path):
    data = _folder(tmp_path)
    (data / "costs.csv").write_text("Campaign Performance Report (in UTC)\nDay\tCost\n")
    with pytest.raises(SchemaError) as err:
        at.load_inputs(data)
    assert "delete the lines above the column names" in str(err.value.hint)


def test_a_utf16_file_that_the_reader_refuses_is_named_as_utf16(tmp_path):
    """LinkedIn's CSV export is UTF-16 with a title: it read 'row 2 has 2 fields, the
    header 1', and nothing said the encoding was the matter."""
    data = _folder(tmp_path)
    text = "Campaign Performance Report\r\nReport Start: 1/1/2025, 12:00 AM\r\nDay\tCost\r\n"
    (data / "costs.csv").write_bytes(("\ufeff" + text).encode("utf-16-le"))
    with pytest.raises(InputError) as err:
        at.load_inputs(data)
    assert "UTF-16" in err.value.message
    assert "save the file as UTF-8" in str(err.value.hint)


@pytest.mark.parametrize(
    ("table", "head", "row", "mapping"),
    [
        ("costs", "Day,Cost", "2025-01-15,12.5", 'spend = "Cost"'),
        ("costs", "Day,Spend", "2025-01-15,12.5", 'date = "Day"'),
        (
            "deals",
            "Opportunity ID,Contact ID,Created Date,Close Date,Stage,Amount",
            "o1,c1,2025-01-02,2025-01-05,Closed Won,10",
            'deal_id = "Opportunity ID"',
        ),
    ],
)
def test_a_missing_column_suggests_the_name_exports_give_it(tmp_path, table, head, row, mapping):
    data = _folder(tmp_path)
    (data / f"{table}.csv").write_text(f"{head}\n{row}\n")
    if table == "costs":
        (data / "channels.toml").write_text(
            '[columns.costs]\ndate = "Day"\n[constants.costs]\nchannel = "Ads"\n'
            if "Cost" in head
            else '[columns.costs]\nspend = "Spend"\n[constants.costs]\nchannel = "Ads"\n'
        )
    with pytest.raises(SchemaError) as err:
        at.load_inputs(data)
    assert f"[columns.{table}] {mapping}" in str(err.value.hint), err.value.hint
