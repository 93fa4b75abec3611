"""Messages for the shapes real exports come in (HubSpot, Salesforce, GA4/BigQuery, ad
platforms' cost reports): each rejected value or unreadable file says what it looks like and
what to do, never only that it is wrong."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from conftest import hint_config

import attrib.api as at
from attrib.errors import InputError, SchemaError

TOUCHES = "customer_id,ts,channel\nc1,2025-01-01 10:00,Email\n"
DEALS = (
    "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-02,2025-01-05,won,10\n"
)


def _run_warnings(data: Path, out: Path, engine: list[str]) -> list[str]:
    """The manifest's warnings of ``attrib run data`` (linear model)."""
    from conftest import run_cli

    run_cli(["run", data, "--out", out, "-q", "--models", "linear", *engine])
    return json.loads((out / "manifest.json").read_text())["warnings"]


def _folder(tmp_path: Path, touches: str = TOUCHES, deals: str = DEALS) -> Path:
    """``tmp_path`` (made if absent) with a touchpoints and a deals CSV."""
    tmp_path.mkdir(parents=True, exist_ok=True)
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
    key, value = mapping.split(" = ")
    assert hint_config(err.value.hint)["columns"][table][key] == value.strip('"'), err.value.hint


def test_amounts_with_a_thousands_point_are_warned_about(tmp_path):
    """A European-locale spreadsheet writes 12,500 as "12.500": read as 12.5 with no word
    (a decimal comma, "1.250,50", is rejected; these were not). The run now warns."""
    from conftest import run_cli

    deals = (
        "\ufeffDeal ID;Kunde;Erstellt;Abgeschlossen;Status;Betrag\r\n"
        'D1;c1;2025-01-02 09:00;2025-01-20 10:00;Won;"12.500"\r\n'
        "D2;c1;2025-01-21 09:00;2025-01-25 10:00;Won;980\r\n"
    )
    (tmp_path / "touchpoints.csv").write_text(TOUCHES, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(deals, encoding="utf-8")
    (tmp_path / "channels.toml").write_text(
        '[columns.deals]\ndeal_id = "Deal ID"\ncustomer_id = "Kunde"\ncreated_at = "Erstellt"\n'
        'closed_at = "Abgeschlossen"\nstatus = "Status"\namount = "Betrag"\n'
    )
    out = tmp_path / "out"
    run_cli(["run", tmp_path, "--out", out, "--models", "linear", "-q"])
    manifest = (out / "manifest.json").read_text()
    assert "1 amount value(s) written like '12.500'" in manifest
    assert "read as 12.5;" in manifest
    assert "export the numbers without it (12500)" in manifest
    given = json.loads(run_cli(["validate", tmp_path, "--format", "json"]).stdout)["warnings"]
    assert [w for w in given if "written like '12.500'" in w]  # validate says so too


@pytest.mark.parametrize(
    ("amounts", "warned"),
    [
        (["12.500", "2.000", "980"], True),
        (["12.500", "98.10"], False),  # a decimal point elsewhere: 12.5 it is
        (["0.125", "1.5"], False),
        (["12500.00", "1250"], False),  # a Salesforce export
        (["1.250,50"], False),  # rejected with its own reason
        (["1.250.000"], False),  # no number (rejected): it was the example, float() failed
        (["1.250.000", "12.500"], True),
        (["99.995", "35100", "1250"], False),  # 35100 has no thousands point: none is one
        (["12.500", "980", "-75"], True),
    ],
)
def test_which_amount_columns_are_warned_about(tmp_path, amounts, warned):
    from attrib.config import RunConfig
    from attrib.export_checks import dotted_thousands

    rows = [f'd{i},c1,2025-01-02,2025-01-05,won,"{a}"' for i, a in enumerate(amounts)]
    path = tmp_path / "deals.csv"
    path.write_text("deal_id,customer_id,created_at,closed_at,status,amount\n" + "\n".join(rows))
    found = dotted_thousands({"deals": [str(path)]}, RunConfig())
    assert bool(found) == warned, found


def test_file_warnings_skip_what_is_no_local_file():
    """The Spark engine's inputs may be folders or URIs (``hdfs://.../deals``): the warnings
    that read a file's header skip them (``file_format`` raised on a name without suffix)."""
    from attrib.config import RunConfig
    from attrib.export_checks import campaign_lookalikes, dotted_thousands

    files = {t: ["hdfs://lake/exports/" + t, "(frame)"] for t in ("deals", "costs", "touchpoints")}
    assert dotted_thousands(files, RunConfig()) == []
    assert campaign_lookalikes(files, RunConfig()) == []


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_amounts_in_several_currencies_are_warned_about(tmp_path, engine):
    """A Salesforce export's ``Amount Currency`` (EUR beside USD) and an ad platform's
    ``Currency code``: the amounts were added as they are (12,500 EUR + 30,000 USD made
    42,500) without a word. One currency, or none, says nothing."""

    deals = (
        "deal_id,customer_id,created_at,closed_at,status,amount,Amount Currency\n"
        "d1,c1,2025-01-02,2025-01-05,won,12500,EUR\nd2,c1,2025-01-06,,open,30000,USD\n"
        "d3,c1,2025-01-06,,open,10, usd\n"
    )
    data = _folder(tmp_path / "in", deals=deals)
    costs = {"date": ["2025-01-01"] * 2, "channel": ["Email"] * 2, "spend": [5.0, 6.0]}
    pl.DataFrame({**costs, "Currency code": ["EUR", "EUR"]}).write_parquet(data / "costs.parquet")
    warnings = _run_warnings(data, tmp_path / "out", engine)
    assert [w for w in warnings if "currencies" in w] == [
        "deals: column 'Amount Currency' holds 2 currencies (EUR, USD): their amounts are"
        " added as they are; convert them to one currency in the export, or run each"
        " currency apart"
    ]


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_a_deal_naming_several_contacts_is_warned_about(tmp_path, engine):
    """HubSpot's ``Associated Contact IDs`` lists a deal's contacts as ``105;106``: the deal
    matched no touch and went to (none), with only a count of zero-touch deals to show."""
    from conftest import run_cli

    deals = DEALS + "d2,c1;c2,2025-01-02,2025-01-05,won,20\n"
    data = _folder(tmp_path / "in", deals=deals)
    warnings = _run_warnings(data, tmp_path / "out", engine)
    assert [w for w in warnings if "several contacts" in w] == [
        "1 deal customer id(s) list several contacts ('c1;c2'): such a deal matches the"
        " touches of no contact and is credited to (none); give each deal one customer_id"
        " in the export (e.g. its primary contact)"
    ]
    given = json.loads(run_cli(["validate", data, "--format", "json"]).stdout)["warnings"]
    assert given == [w for w in warnings if "several contacts" in w]


def test_a_numeric_column_named_for_a_currency_is_no_currency_column(tmp_path):
    """HubSpot's deal export has ``Amount in company currency`` (numbers) beside ``Deal
    currency code``: the numbers were counted as currencies ("holds 2 currencies (10, 20)").
    Only values written as a currency code or sign are currencies."""
    from attrib.export_checks import mixed_currencies

    path = tmp_path / "deals.csv"
    path.write_text(
        "deal_id,amount,Amount in company currency,Deal currency code\n"
        "d1,10,10,USD\nd2,20,20,usd\nd3,30,30,\n"
    )
    assert mixed_currencies({"deals": [str(path)]}) == []
    path.write_text("deal_id,amount,Currency\nd1,10,USD\nd2,20,€\nd3,30,$\n")
    assert mixed_currencies({"deals": [str(path)]}) == [
        "deals: column 'Currency' holds 3 currencies ($, USD, €): their amounts are added as"
        " they are; convert them to one currency in the export, or run each currency apart"
    ]


def test_several_contacts_in_a_deal_id_are_no_matter_at_account_level(tmp_path):
    """At ``--level account`` a deal's journey is its account's: a customer_id that lists
    several contacts changes nothing, yet the run warned the deal "is credited to (none)"."""
    from conftest import run_cli

    touches = "customer_id,account_id,ts,channel\nc1,a1,2025-01-01 10:00,Email\n"
    deals = (
        "deal_id,customer_id,account_id,created_at,closed_at,status,amount\n"
        "d1,c1;c2,a1,2025-01-02,2025-01-05,won,10\n"
    )
    data = _folder(tmp_path / "in", touches=touches, deals=deals)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "linear", "--level", "account"])
    assert pl.read_parquet(out / "journeys.parquet")["n_touches"].to_list() == [1]
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert not [w for w in warnings if "several contacts" in w], warnings
    given = run_cli(["validate", data, "--level", "account", "--format", "json"]).stdout
    assert json.loads(given)["warnings"] == []


def test_a_one_column_parquet_file_is_not_told_of_a_report_title(tmp_path):
    """A report title above the header can only be a text file's: a Parquet file of one
    column was told to "delete the lines above the column names"."""
    data = _folder(tmp_path)
    pl.DataFrame({"date": ["2025-01-01"]}).write_parquet(data / "costs.parquet")
    with pytest.raises(SchemaError) as err:
        at.load_inputs(data)
    assert "report title" not in str(err.value.hint), err.value.hint
    assert hint_config(err.value.hint)["columns"]["costs"]["channel"] == "<your column>"


def test_a_campaign_name_is_offered_before_a_campaign_id(tmp_path):
    """Google Ads and Meta cost reports give ``Campaign ID`` before ``Campaign Name``: the
    warning offered the id, which no touch's utm_campaign holds."""
    from attrib.config import RunConfig
    from attrib.export_checks import campaign_lookalikes

    path = tmp_path / "costs.csv"
    path.write_text("date,channel,Campaign ID,Campaign Name,spend\n2025-01-01,Ads,7,jan,5\n")
    (found,) = campaign_lookalikes({"costs": [str(path)]}, RunConfig())
    assert "'Campaign Name' is named like it" in found, found


def test_a_reports_footer_and_total_lines_are_named(tmp_path):
    """Salesforce report exports end with "Confidential Information - Do Not Distribute" and
    a copyright line, ad platforms' with "Total: ..." lines: each was rejected as a row of
    empty values on every run (so --strict always failed), and nothing said why. A row of
    one id and nothing else is no footer."""
    from conftest import run_cli

    deals = (
        DEALS + "d2,c1,2025-01-06,,open\n\n"
        '"Confidential Information - Do Not Distribute"\n'
        '"Copyright (c) 2000-2025 salesforce.com, inc. All rights reserved."\n'
    )
    data = _folder(tmp_path, deals=deals)
    (data / "costs.csv").write_text(
        "date,channel,spend\n2025-01-01,Email,10\nTotal: Campaign,--,10\n", encoding="utf-8"
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "linear"])
    note = "a report's footer or total line? delete it from the export"
    deals_out = pl.read_parquet(out / "quarantine" / "deals.parquet")
    assert deals_out.select("row").to_series().to_list() == [2, 4, 5]
    assert [note in r for r in deals_out["reason"]] == [False, True, True]  # d2: no footer
    costs_out = pl.read_parquet(out / "quarantine" / "costs.parquet")
    assert costs_out["reason"].item().endswith(note)
    # a campaign named "Total ..." on a row rejected for its date is no total line
    (data / "costs.csv").write_text(
        "date,channel,campaign,spend\n2025-01-01,Email,a,10\nsoon,Email,Total Recall,10\n"
    )
    run_cli(["run", data, "--out", out, "-q", "--models", "linear"])
    costs_out = pl.read_parquet(out / "quarantine" / "costs.parquet")
    assert note not in costs_out["reason"].item(), costs_out["reason"].item()


def test_a_struct_column_holding_source_and_medium_is_named(tmp_path):
    """A GA4 BigQuery export keeps source and medium in the struct ``traffic_source``: the
    error suggested mapping a ``utm_channel`` column the file does not have."""
    from datetime import datetime

    touches = pl.DataFrame(
        {
            "customer_id": ["u1"],
            "ts": [datetime(2025, 1, 1, 10)],
            "traffic_source": [{"source": "google", "medium": "cpc", "name": "brand"}],
        }
    )
    touches.write_parquet(tmp_path / "touchpoints.parquet")
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    with pytest.raises(SchemaError) as err:
        at.run(tmp_path, models="linear")
    assert (
        "the nested column 'traffic_source' holds traffic_source.source, traffic_source.medium"
    ) in err.value.hint
    assert '.unnest("traffic_source")' in err.value.hint


def test_spend_mapped_from_a_micros_column_is_warned_about(tmp_path):
    """The Google Ads API reports cost as ``metrics.cost_micros`` (millionths): mapped as
    spend, every ROAS and CAC was a million times off without a word."""
    from conftest import run_cli

    data = _folder(tmp_path)
    (data / "costs.csv").write_text(
        "date,channel,metrics.cost_micros\n2025-01-01,Email,12500000\n", encoding="utf-8"
    )
    (data / "channels.toml").write_text('[columns.costs]\nspend = "metrics.cost_micros"\n')
    given = json.loads(run_cli(["validate", data, "--format", "json"]).stdout)["warnings"]
    assert given == [
        "[columns.costs] spend = 'metrics.cost_micros': a column in micros holds millionths"
        " of the currency, so every value is read a million times too large; divide it by"
        " 1,000,000 in the export"
    ]


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_a_missing_value_written_as_text_is_warned_about(tmp_path, engine):
    """SQL dumps write NULL, spreadsheets #N/A or -, GA (not set), JavaScript trackers
    undefined: each was read as a real id or channel, so every deal whose customer is NULL
    took the touches of every visitor whose id is NULL, without a word."""
    from conftest import run_cli

    touches = TOUCHES + "NULL,2025-01-01 11:00,N/A\nundefined,2025-01-01 11:00,(not set)\n"
    deals = DEALS + "d2,NULL,2025-01-02,2025-01-05,won,20\n"
    data = _folder(tmp_path / "in", touches=touches, deals=deals)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "linear", *engine])
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert [w for w in warnings if "missing value written as text" in w] == [
        "touchpoints: 2 touch(es) in journeys have 'NULL', 'undefined' as their customer id,"
        " a missing value written as text: each such id is read as one customer, whose"
        " journey takes the touches of every visitor written so; leave the id empty in the"
        " export (such rows are rejected), or drop those rows",
        "touch channel(s) '(not set)', 'N/A' are a missing value written as text, and are"
        " credited as channels of their own: leave the channel empty in the export (the row"
        " is rejected), or name the traffic (with [[rules]], touches no rule matches are"
        " (unassigned))",
        "deals: customer_id holds 'NULL', a missing value written as text, read as a real id:"
        " the deals written so are one customer's, and take the touches of every visitor"
        " whose id is written so; leave it empty in the export",
    ]
    given = json.loads(run_cli(["validate", data, "--format", "json"]).stdout)["warnings"]
    assert given == [
        w.replace("touch(es) in journeys", "touch row(s)")
        for w in warnings
        if "missing value written as text" in w
    ]


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_channels_of_no_known_source_counted_as_marketing_are_warned_about(tmp_path, engine):
    """Olist's origins 'unknown' and 'other' counted as marketing, as every unlisted channel
    does, for a marketing-sourced share of 99% and not a word; declared, no warning."""
    from conftest import run_cli

    touches = TOUCHES + "c2,2025-01-01 11:00,unknown\nc3,2025-01-01 12:00,Other\n"
    data = _folder(tmp_path / "in", touches=touches)
    found = [w for w in _run_warnings(data, tmp_path / "out", engine) if "no known source" in w]
    assert found == [
        "touch channel(s) 'Other', 'unknown' name no known source and count as marketing, as"
        " does every channel that [channels] does not list: if that traffic is not marketing,"
        " say so,"
        ' e.g. [channels."Other"] marketing = false'
    ]
    given = json.loads(run_cli(["validate", data, "--format", "json"]).stdout)["warnings"]
    assert found[0] in given
    (data / "channels.toml").write_text(
        '[channels."other"]\nmarketing = false\n[channels."unknown"]\nmarketing = true\n'
    )
    warned = _run_warnings(data, tmp_path / "out2", engine)
    assert not [w for w in warned if "no known source" in w]


def test_a_missing_account_id_written_as_text_is_warned_about_at_account_level(tmp_path):
    """At account level the journeys are the accounts': `attrib validate --level account`
    checks (and names) the touches' account ids, as the run does, not their customer ids."""
    from conftest import run_cli

    touches = (
        "customer_id,account_id,ts,channel\nc1,a1,2025-01-01 10:00,Email\n"
        "c2,NULL,2025-01-01 11:00,Email\nc3,NULL,2025-01-01 12:00,Social\n"
        "NULL,a1,2025-01-01 13:00,Email\n"
    )
    data = _folder(tmp_path / "in", touches=touches)
    expected = (
        "touchpoints: 2 {} have 'NULL' as their account id, a missing value written as text:"
        " each such id is read as one account, whose journey takes the touches of every"
        " visitor written so; leave the id empty in the export (such rows are rejected), or"
        " drop those rows"
    )
    args = ["--level", "account"]
    given = json.loads(run_cli(["validate", data, *args, "--format", "json"]).stdout)
    assert expected.format("touch row(s)") in given["warnings"]
    assert not any("as their customer id" in w for w in given["warnings"])
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "linear", *args])
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert expected.format("touch(es) in journeys") in warnings


def test_no_placeholder_warning_for_names_that_only_contain_one():
    from attrib.export_checks import _placeholders

    values = pl.Series(["Non-profit", "N/A Region", "none of these", "NA", "-", " Null "])
    assert _placeholders(values) == [" Null ", "-"]


META_COSTS = (
    "Reporting starts,Reporting ends,Campaign name,Amount spent (USD),Ends\n"
    "{0},{1},Q1 Prospecting,3000.00,Ongoing\n"
)
META_CONFIG = """
[columns.costs]
date = "Reporting starts"
campaign = "Campaign name"
spend = "Amount spent (USD)"
[constants.costs]
channel = "Email"
"""


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_a_cost_row_covering_several_days_is_warned_about(tmp_path, engine):
    """Meta Ads Manager exports a campaign's whole reporting period as one row (Reporting
    starts 2025-01-01, Reporting ends 2025-03-31): the quarter's spend was counted in
    January, and a window from February had no spend, without a word."""
    from conftest import run_cli

    data = _folder(tmp_path / "in")
    (data / "costs.csv").write_text("\ufeff" + META_COSTS.format("2025-01-01", "2025-03-31"))
    (data / "channels.toml").write_text(META_CONFIG)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "linear", *engine])
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert [w for w in warnings if "cover more than" in w] == [
        f"{data / 'costs.csv'}: 1 cost row(s) cover more than the day (or, dated on a 1st,"
        " the month) they are counted in, as column 'Reporting ends' says (e.g. 2025-01-01"
        " to 2025-03-31): each row's spend is counted on its 'Reporting starts' alone, so a"
        " window or month after it gets none of it; export one row per day or month (ad"
        " platforms: a breakdown by day)"
    ]


@pytest.mark.parametrize(
    ("start", "end"), [("2025-01-15", "2025-01-15"), ("2025-02-01", "2025-02-28")]
)
def test_a_cost_row_of_one_day_or_month_has_no_span_warning(tmp_path, start, end):
    from attrib.config import load_config
    from attrib.export_checks import multi_day_cost_rows

    (tmp_path / "costs.csv").write_text(META_COSTS.format(start, end))
    (tmp_path / "channels.toml").write_text(META_CONFIG)
    config = load_config(tmp_path / "channels.toml")
    assert multi_day_cost_rows({"costs": [str(tmp_path / "costs.csv")]}, config) == []


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        # Pipedrive: the hint offered "deleted" = "open", counting a removed deal as pipeline
        (
            "deleted",
            "status deleted is not one of open, won, lost (map it in [statuses], e.g."
            ' "deleted" = "lost", or drop such deals from the export)',
        ),
        ("Abandoned", 'e.g. "Abandoned" = "lost")'),  # Copper
        ("Closed Lost - No Budget", 'e.g. "Closed Lost - No Budget" = "lost")'),
        ("Won - Renewal", 'e.g. "Won - Renewal" = "won")'),
        # a win denied: the hint offered "won" for each
        ("Not won", 'e.g. "Not won" = "lost")'),
        ("Did not win", 'e.g. "Did not win" = "lost")'),
        ("Won't proceed", 'e.g. "Won\'t proceed" = "lost")'),
        ("Parked", 'e.g. "Parked" = "open")'),
        # Dynamics 365's statecode: the hint offered "2" = "open" for a lost deal
        (
            "2",
            "status 2 is a code, not one of open, won, lost (map each code in [statuses]:"
            ' Dynamics 365\'s statecode is "0" = "open", "1" = "won", "2" = "lost")',
        ),
    ],
)
def test_an_unknown_status_hint_names_what_its_words_say(tmp_path, status, reason):
    head = "deal_id,customer_id,created_at,closed_at,status,amount\n"
    data = _folder(tmp_path, deals=head + f"d1,c1,2025-01-02,2025-01-05,{status},10\n")
    got = at.load_inputs(data).quarantine["deals"]["reason"].item()
    assert got.endswith(reason), got


@pytest.mark.parametrize(
    ("stage", "status"),
    [("Identify Decision Makers", "open"), ("Closed-Lost to Competition", "lost")],
)
def test_zoho_crm_default_stages_are_known(tmp_path, stage, status):
    head = "deal_id,customer_id,created_at,closed_at,status,amount\n"
    data = _folder(tmp_path, deals=head + f"d1,c1,2025-01-02,2025-01-05,{stage},10\n")
    assert at.load_inputs(data).deals["status"].to_list() == [status]


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("touchpoints.tsv", "rename it to .csv"),
        ("touchpoints.xlsx", "save each table as CSV UTF-8"),
        ("touchpoints.json", "rename it; a JSON array"),
        ("part-0.json.gz", "rename it; a JSON array"),  # Amplitude's export files
        # a zipped CSV was read as CSV and refused as "UTF-16" text
        ("touchpoints.csv.zip", "an archive: extract its files"),
    ],
)
def test_a_file_type_attrib_does_not_read_says_what_to_do(tmp_path, name, words):
    data = _folder(tmp_path)
    (data / name).write_bytes(b"PK\x03\x04 not read")
    with pytest.raises(InputError) as err:
        at.load_inputs(touchpoints=data / name, deals=data / "deals.csv")
    assert err.value.message == "unsupported file type", err.value
    assert words in err.value.hint, err.value.hint


def test_a_json_array_in_an_ndjson_file_is_named(tmp_path):
    """``json.dump`` and many APIs write one JSON array: the reader said "NDJSON line
    expected to contain JSON object: list[struct[3]]", with a generic hint."""
    (tmp_path / "touchpoints.ndjson").write_text(
        '[{"customer_id": "c1", "ts": "2025-01-01 10:00", "channel": "Email"}]\n'
    )
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    with pytest.raises(InputError) as err:
        at.load_inputs(tmp_path)
    assert "the file is one JSON array ([...]), not one JSON object per line" in str(err.value)
    assert "jq -c" in err.value.hint


def test_a_windows_1252_row_is_named(tmp_path):
    """Excel's plain "CSV" writes Windows-1252 ("Café €"): the reader said "invalid
    utf-8 sequence" naming no row of a file of thousands."""
    text = "customer_id,ts,channel,campaign\nc1,2025-01-01,Email,jan\nc2,2025-01-02,Email,Café €\n"
    (tmp_path / "touchpoints.csv").write_bytes(text.encode("cp1252"))
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    with pytest.raises(InputError) as err:
        at.load_inputs(tmp_path)
    assert err.value.row == 2
    assert "this row holds bytes that are not UTF-8 text" in str(err.value)
    assert "Windows-1252" in err.value.hint


def test_a_windows_1252_header_is_named_as_the_header(tmp_path):
    """Rows count from 1 after the header: a header that is not UTF-8 (the first such line
    of a file whose rows are not either) was "row 0"."""
    text = "customer_id,ts,channel,Catégorie\nc1,2025-01-01,Email,Café\n"
    (tmp_path / "touchpoints.csv").write_bytes(text.encode("cp1252"))
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    with pytest.raises(InputError) as err:
        at.load_inputs(tmp_path)
    assert err.value.row is None
    assert "the header holds bytes that are not UTF-8 text" in str(err.value)


@pytest.mark.parametrize(
    ("magic", "named"),
    [
        (None, "a ZIP archive (an Excel .xlsx"),  # a real zip, as an .xlsx is
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), "an Excel 97-2003 (.xls) workbook"),
    ],
)
def test_a_workbook_saved_under_a_csv_name_is_named_a_workbook(tmp_path, magic, named):
    """An .xlsx renamed touchpoints.csv was told it is a Windows-1252 CSV, at "row 0"."""
    import zipfile

    path = tmp_path / "touchpoints.csv"
    if magic is None:
        with zipfile.ZipFile(path, "w") as book:
            book.writestr("xl/workbook.xml", "<workbook/>")
    else:
        path.write_bytes(magic)
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    with pytest.raises(InputError) as err:
        at.load_inputs(tmp_path)
    assert f"the file is {named}" in str(err.value)
    assert err.value.row is None
    assert "save each table as CSV UTF-8" in err.value.hint


def test_a_nested_source_one_level_down_is_named(tmp_path):
    """Segment's NDJSON keeps the UTM source in ``context.campaign.source``: the error
    suggested mapping a ``utm_channel`` column."""
    line = (
        '{"userId": "c1", "timestamp": "2025-01-01T10:00:00Z", "context": {"campaign":'
        ' {"source": "google", "medium": "cpc", "name": "brand"}, "ip": "1.2.3.4"}}\n'
    )
    (tmp_path / "touchpoints.ndjson").write_text(line)
    (tmp_path / "deals.csv").write_text(DEALS, encoding="utf-8")
    (tmp_path / "channels.toml").write_text(
        '[columns.touchpoints]\ncustomer_id = "userId"\nts = "timestamp"\n'
    )
    with pytest.raises(SchemaError) as err:
        at.run(tmp_path, models="linear")
    hint = err.value.hint
    assert "'context' holds context.campaign.source, context.campaign.medium" in hint
    assert '.unnest("context")' in hint


def test_a_windows_1252_row_is_named_in_its_file_beside_parquet_parts(tmp_path):
    """The bucketed engine reads a folder's parts as one: the row was looked for in every
    file, and a Parquet part (binary, never UTF-8 text) was named, at its "row 1"."""
    from conftest import run_cli

    data = _folder(tmp_path)
    (data / "touchpoints.csv").unlink()
    parts = data / "touchpoints"
    parts.mkdir()
    pl.DataFrame(
        {"customer_id": ["c1"], "ts": ["2025-01-01"], "channel": ["Email"], "campaign": ["a"]}
    ).write_parquet(parts / "a.parquet")
    text = "customer_id,ts,channel,campaign\nc2,2025-01-02,Email,Café €\n"
    (parts / "b.csv").write_bytes(text.encode("cp1252"))
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q", "--buckets", "2"], exit_code=2)
    assert f"file {parts / 'b.csv'}, row 1: cannot read" in " ".join(result.output.split())


def test_weekly_cost_rows_are_warned_about(tmp_path):
    """Marketing-mix data and agencies' sheets give spend by week ("Week of 2025-01-06"):
    read as daily, each week counted on its Monday, so a window or month that cuts a week
    got all of it or none, without a word. Daily rows, and monthly ones, say nothing."""
    from attrib.spend_checks import weekly_cost_rows

    def costs(days: list[str]) -> pl.DataFrame:
        dates = pl.Series(days).str.to_date()
        return pl.DataFrame({"date": dates, "channel": "TV", "campaign": None, "spend": 1.0})

    weekly = weekly_cost_rows(costs(["2025-01-06", "2025-01-13", "2025-01-27", "2025-02-03"]))
    assert weekly is not None
    assert weekly.startswith("the cost rows' 4 dates are whole weeks apart (2025-01-06,")
    assert weekly_cost_rows(costs(["2025-01-06", "2025-01-07", "2025-01-13"])) is None
    assert weekly_cost_rows(costs(["2025-01-01", "2025-02-01", "2025-03-01"])) is None
    assert weekly_cost_rows(costs(["2025-01-06", "2025-01-13"])) is None  # two: too few
    from conftest import run_cli

    data = _folder(tmp_path)
    rows = "\n".join(f"2025-01-{d:02d},Email,100" for d in (6, 13, 20))
    (data / "costs.csv").write_text(f"date,channel,spend\n{rows}\n", encoding="utf-8")
    given = json.loads(run_cli(["validate", data, "--format", "json"]).stdout)["warnings"]
    assert [w for w in given if "whole weeks apart" in w]


@pytest.mark.parametrize(
    ("head", "row", "index"),
    [
        ("DATE,revenue,tv_S,search_S,facebook_I", "2025-01-06,900,10,20,300", '"DATE"'),  # Robyn
        ("time,Channel0_spend,Channel1_spend,conversions", "2025-01-06,10,20,5", '"time"'),
        ("Week,TV Spend,Search Spend", "2025-01-06,10,20", '"Week"'),
    ],
)
def test_a_wide_spend_table_is_told_to_melt(tmp_path, head, row, index):
    """Marketing-mix spend comes one column per channel: the hint sent the user to map a
    channel (or date) column the file does not have; it now says to melt it."""
    data = _folder(tmp_path)
    (data / "costs.csv").write_text(f"{head}\n{row}\n")
    with pytest.raises(SchemaError) as err:
        at.load_inputs(data)
    hint = str(err.value.hint)
    assert "wide spend table" in hint, hint
    assert f"unpivot(index={index}," in hint, hint
    assert "<your column>" not in hint, hint


@pytest.mark.parametrize(
    "head",
    [
        "Day,Campaign,Cost,Cost / conv.,Avg. CPC",  # Google Ads: one spend column, 'Cost'
        "date,channel,tv_cost,search_cost",  # a channel column: long, its spend misnamed
        "date,tv_spend",  # one spend column only
    ],
)
def test_a_long_cost_report_keeps_the_mapping_hint(tmp_path, head):
    """A cost report with a channel column, one spend column or a single spend-like column
    is not a wide table: the hint still offers the [columns.costs] mapping."""
    data = _folder(tmp_path)
    row = ",".join(["2025-01-06", *["1"] * head.count(",")])
    (data / "costs.csv").write_text(f"{head}\n{row}\n")
    if head.startswith("Day"):
        (data / "channels.toml").write_text('[columns.costs]\ndate = "Day"\n')
    with pytest.raises(SchemaError) as err:
        at.load_inputs(data)
    hint = str(err.value.hint)
    assert "wide spend table" not in hint, hint
    assert "[columns.costs]" in hint, hint


def test_placeholder_touch_counts_add_up_over_batches():
    """Touches per id spelt as a missing value: a journeys table's ``n_touches`` summed per
    id (journeys without touches and ids in another case than lower, upper or title left
    out), or one per row; two batches' counts add per id."""
    from attrib.data_checks import DealCounts, placeholder_touches

    ids = pl.Series(["NULL", "c1", "NULL", "n/a", "None", "nULL", "(not set)", "N/A"])
    touches = pl.Series([3, 2, 4, 0, 1, 5, 2, 1])
    first = placeholder_touches(ids, touches)
    assert first == (("(not set)", 2), ("N/A", 1), ("NULL", 7), ("None", 1))
    second = placeholder_touches(pl.Series(["NULL", "c2", "undefined"]))
    assert second == (("NULL", 1), ("undefined", 1))
    total = DealCounts(deals=2, placeholders=first) + DealCounts(deals=1, placeholders=second)
    assert total.deals == 3
    assert total.placeholders == (
        ("(not set)", 2),
        ("N/A", 1),
        ("NULL", 8),
        ("None", 1),
        ("undefined", 1),
    )
    assert placeholder_touches(pl.Series(["c1", "Null value"])) == ()
    # pandas' and R's spelling, and a sentence-case N/a: as the export checks read them
    assert placeholder_touches(pl.Series(["NaN", "N/a", "nan"])) == (
        ("N/a", 1),
        ("NaN", 1),
        ("nan", 1),
    )


def test_an_amount_written_for_display_is_shown_as_it_should_be_written(tmp_path):
    """The hint showed a fixed example ("$5" -> "write the number alone: 500", "1,200" ->
    "write it without: 1234"), which read as the fix of that value; it now shows the value
    itself written plainly."""
    head = "deal_id,customer_id,created_at,closed_at,status,amount\n"
    amounts = ['"1,200"', "$300", "300 €", '"1.234,56"', '"12,5"', "abc"]
    rows = "".join(f"d{i},c1,2025-01-02,,open,{a}\n" for i, a in enumerate(amounts))
    data = _folder(tmp_path, deals=head + rows)
    reasons = at.load_inputs(data).quarantine["deals"].sort("row")["reason"].to_list()
    assert reasons == [
        "amount 1,200 is not a number (a thousands separator? write it without: 1200)",
        "amount $300 is not a number (a currency sign? write the number alone: 300)",
        "amount 300 € is not a number (a currency sign? write the number alone: 300)",
        "amount 1.234,56 is not a number (a decimal comma? write it with a point: 1234.56)",
        "amount 12,5 is not a number (a decimal comma? write it with a point: 12.5)",
        "amount abc is not a number",
    ]


def test_a_byte_order_mark_written_twice_is_named(tmp_path):
    """A second byte-order mark stays in the first column's name: the hint mapped
    deal_id = "\\ufeffdeal_id" (an invisible character to paste) instead of naming it."""
    data = _folder(tmp_path)
    deals = (data / "deals.csv").read_bytes()
    (data / "deals.csv").write_bytes(
        b"\xef\xbb\xbf\xef\xbb\xbf" + deals.removeprefix(b"\xef\xbb\xbf")
    )
    with pytest.raises(SchemaError) as err:
        at.load_inputs(data)
    assert "the header starts with a second byte-order mark (U+FEFF)" in err.value.message
    assert "save the file as UTF-8 once more" in str(err.value.hint)


@pytest.mark.parametrize(
    ("name", "content", "words", "row"),
    [
        # a file cut short while written: the reader took its zero-filled tail for a blank
        # row and the lost rows went unsaid
        (
            "touchpoints.csv",
            TOUCHES.encode() + bytes(3000),
            "ends in 3,000 NUL bytes after row 1",
            None,
        ),
        (
            "touchpoints.csv",
            b"customer_id,ts,channel\n" + bytes(40),
            "ends in 40 NUL bytes after its header",
            None,
        ),
        ("touchpoints.csv", bytes(5000), "holds nothing but 5,000 NUL bytes", None),
        (
            "touchpoints.ndjson",
            b'{"customer_id": "c1", "ts": "2025-01-01", "channel": "Email"}\n' + bytes(30),
            "ends in 30 NUL bytes after row 1",
            None,
        ),
        # a NUL inside a row was read into the value: a channel "Email\0" beside "Email"
        (
            "touchpoints.csv",
            TOUCHES.encode() + b"c2,2025-01-02 10:00,Email\0\0\n",
            "this row holds a NUL byte",
            2,
        ),
    ],
)
@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]])
def test_a_file_holding_nul_bytes_is_refused_naming_where(
    tmp_path, name, content, words, row, engine
):
    """A zero-filled file (nothing but NULs) was said to look like UTF-16."""
    from conftest import run_cli

    data = _folder(tmp_path / "data")
    (data / "touchpoints.csv").unlink()
    (data / name).write_bytes(content)
    with pytest.raises(InputError) as err:
        at.load_inputs(data)
    assert words in err.value.message
    assert err.value.row == row
    assert err.value.file == str(data / name)
    assert "UTF-16" not in str(err.value)
    result = run_cli(["run", data, "--out", tmp_path / "out", *engine], exit_code=2)
    assert words in result.output
    assert not (tmp_path / "out").exists()


def test_utf16_text_without_a_byte_order_mark_is_named_as_utf16(tmp_path):
    """Its NULs are every other byte: not a damaged file but another encoding."""
    data = _folder(tmp_path)
    (data / "touchpoints.csv").write_bytes(TOUCHES.encode("utf-16-le"))
    with pytest.raises(InputError) as err:
        at.load_inputs(data)
    assert "the file is UTF-16 text, not UTF-8" in err.value.message
