"""Every bad-input class through the CLI: exit code, quarantine rows, nothing written half-way.

Each case writes a small export whose second data row (row 2: header excluded, 1-based) is
bad, runs ``attrib run`` and checks ``<out>/quarantine/<table>.parquet``.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from conftest import deals, hint_config, run_cli, touches, write_inputs, zoned_parquet_rejects
from hypothesis import given, settings
from hypothesis import strategies as st

TOUCH_HEAD = "customer_id,ts,channel"
TOUCH_OK = ["c1,2025-01-01 00:00:00,Email", "c2,2025-01-02 00:00:00,Social"]
DEAL_HEAD = "deal_id,customer_id,created_at,closed_at,status,amount"
DEAL_OK = ["d1,c1,2025-01-03,2025-01-05,won,100", "d2,c2,2025-01-03,,open,50"]


def _write(folder: Path, name: str, head: str, rows: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.csv"
    path.write_text("\n".join([head, *rows]) + "\n", encoding="utf-8")
    return path


def _export(folder: Path, table: str, bad_row: str) -> Path:
    """Good rows with ``bad_row`` inserted as data row 2 of ``table``."""
    t, d = list(TOUCH_OK), list(DEAL_OK)
    (t if table == "touchpoints" else d).insert(1, bad_row)
    _write(folder, "touchpoints", TOUCH_HEAD, t)
    _write(folder, "deals", DEAL_HEAD, d)
    return folder


# (case id, table, bad row, column, words the reason must contain)
CASES = [
    ("unparseable-ts", "touchpoints", "c3,yesterday,Email", "ts", "not a timestamp (write ISO"),
    ("day-first-ts", "touchpoints", "c3,13/01/2025 09:18,Email", "ts", "13/01/2025 09:18 is not"),
    ("bad-date", "touchpoints", "c3,2025-02-30 00:00:00,Email", "ts", "not a timestamp"),
    ("empty-ts", "touchpoints", "c3,,Email", "ts", "empty"),
    ("blank-ts", "touchpoints", "c3,   ,Email", "ts", "ts is empty"),
    ("null-customer", "touchpoints", ",2025-01-01 00:00:00,Email", "customer_id", "empty"),
    ("blank-customer", "touchpoints", "   ,2025-01-01 00:00:00,Email", "customer_id", "empty"),
    # the channel of deals without touches: a touch of that name merged into it
    ("none-channel", "touchpoints", "c3,2025-01-01 00:00:00,(none)", "channel", "reserved"),
    ("null-deal-id", "deals", ",c1,2025-01-03,2025-01-05,won,10", "deal_id", "empty"),
    ("null-deal-customer", "deals", "d3,,2025-01-03,2025-01-05,won,10", "customer_id", "empty"),
    ("negative-amount", "deals", "d3,c1,2025-01-03,2025-01-05,won,-5", "amount", "negative"),
    # three such won deals summed to inf: inf/NaN revenue, ROAS and JSON, with exit 0
    ("huge-amount", "deals", "d3,c1,2025-01-03,2025-01-05,won,1.5e308", "amount", "above 1e18"),
    ("text-amount", "deals", "d3,c1,2025-01-03,2025-01-05,won,lots", "amount", "not a number"),
    ("comma-amount", "deals", 'd3,c1,2025-01-03,2025-01-05,won,"1234,56"', "amount", "decimal"),
    ("thousands", "deals", 'd3,c1,2025-01-03,2025-01-05,won,"1,234"', "amount", "thousands"),
    ("currency", "deals", "d3,c1,2025-01-03,2025-01-05,won,€500", "amount", "currency sign"),
    ("no-amount", "deals", "d3,c1,2025-01-03,,open,", "amount", "write 0 for an unknown"),
    ("unknown-status", "deals", "d3,c1,2025-01-03,2025-01-05,maybe,10", "status", "maybe"),
    ("won-no-close", "deals", "d3,c1,2025-01-03,,won,10", "closed_at", "no closed_at"),
    ("lost-no-close", "deals", "d3,c1,2025-01-03,,lost,10", "closed_at", "no closed_at"),
    ("close-before-create", "deals", "d3,c1,2025-01-03,2025-01-02,won,10", "closed_at", "before"),
    ("bad-created", "deals", "d3,c1,soon,2025-01-05,won,10", "created_at", "not a timestamp"),
    ("bad-closed", "deals", "d3,c1,2025-01-03,someday,won,10", "closed_at", "not a timestamp"),
    ("blank-closed", "deals", "d3,c1,2025-01-03,  ,lost,10", "closed_at", "no closed_at"),
    # placeholder dates: year 0 was an internal error (exit 5), 9999-12-31 ran for minutes
    # over a monthly grid up to year 9999 (millions of KPI and funnel rows)
    ("year-0-ts", "touchpoints", "c3,0000-06-01 00:00:00,Email", "ts", "outside the years"),
    ("never-close", "deals", "d3,c1,2025-01-03,9999-12-31,won,10", "closed_at", "placeholder"),
]


@pytest.mark.parametrize(
    ("table", "bad", "column", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_row_is_quarantined(tmp_path, table, bad, column, words):
    data = _export(tmp_path / "in", table, bad)
    out = tmp_path / "out"
    result = run_cli(["run", data, "--out", out, "--models", "first_touch", "-q"])
    q = pl.read_parquet(out / "quarantine" / f"{table}.parquet")
    assert q.height == 1, q
    row = q.row(0, named=True)
    assert row["file"] == str(data / f"{table}.csv")
    assert row["row"] == 2
    assert row["column"] == column
    assert words in row["reason"], row["reason"]
    assert row["reason"].count(";") == 0, row["reason"]  # one broken rule, one message
    # the bad row's values are kept for the analyst (as text)
    assert {"file", "row", "column", "reason"} < set(q.columns)
    # the other table has nothing rejected, and the good rows are still attributed
    other = "deals" if table == "touchpoints" else "touchpoints"
    assert not (out / "quarantine" / f"{other}.parquet").exists()
    cs = pl.read_parquet(out / "channel_summary.parquet")
    assert cs.filter(pl.col("channel") == "Email")["revenue"].to_list() == [100.0]
    assert cs["pipeline"].sum() == 50.0
    assert result.exit_code == 0


@pytest.mark.parametrize(("table", "bad"), [(c[1], c[2]) for c in CASES[::3]])
def test_strict_exits_1_and_writes_no_summary(tmp_path, table, bad):
    data = _export(tmp_path / "in", table, bad)
    out = tmp_path / "out"
    result = run_cli(["run", data, "--out", out, "--strict", "-q"], exit_code=1)
    assert "rejected" in result.output
    assert (out / "quarantine" / f"{table}.parquet").exists()
    assert not (out / "channel_summary.parquet").exists()
    assert not (out / "journeys.parquet").exists()
    assert not list(out.rglob("*.tmp"))


def test_a_blank_closed_at_of_an_open_deal_is_missing_not_bad(tmp_path):
    """Spaces where an open deal's closed_at would be: no close (as an empty cell), no
    rejection, and no naive value to count against zoned ones."""
    deals = [
        "d1,c1,2025-01-03T00:00:00Z,2025-01-05T00:00:00Z,won,100",
        "d2,c2,2025-01-03T00:00:00Z,  ,open,50",
    ]
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, deals)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch", "--strict", "-q"])
    assert pl.read_parquet(out / "channel_summary.parquet")["pipeline"].sum() == 50.0


def test_a_crms_own_statuses_map_through_the_config(tmp_path):
    """[statuses] names a CRM's own statuses, matched like the built-in synonyms (case,
    spaces and punctuation ignored); an unmapped one is rejected with the fix in its reason."""
    rows = [
        *DEAL_OK,
        "d3,c1,2025-01-03,,Engaging,7",
        "d4,c2,2025-01-04,,Parked,9",
        "d5,c1,2025-01-06,2025-01-09,1,30",  # numeric stage ids: digits are kept
        "d6,c2,2025-01-06,2025-01-09,2,40",
        "d7,c2,2025-01-06,2025-01-09,受注,5",  # any script's letters
        "d8,c1,2025-01-06,2025-01-09,7 - Closed Won,1",  # built-in names: letters only
    ]
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, rows)
    (data / "channels.toml").write_text(
        '[statuses]\n"engaging " = "Open"\n"Engaging!" = "open"\n"1" = "won"\n"2" = "lost"\n'
        '"受注" = "won"\n'
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch", "-q"])
    summary = pl.read_parquet(out / "channel_summary.parquet")
    assert summary["pipeline"].sum() == 57.0
    assert summary["revenue"].sum() == 136.0  # d1, d5, d7 and d8 won; d6 lost
    reason = pl.read_parquet(out / "quarantine" / "deals.parquet")["reason"].to_list()
    assert reason == [
        'status Parked is not one of open, won, lost (map it in [statuses], e.g. "Parked" = "open")'
    ]


def test_blank_lines_are_not_rows(tmp_path):
    """A blank line (or separators only, or only spaces or tabs, as Spark's reader skips it)
    is skipped, in memory and bucketed; the rows after it keep their row numbers in the file.
    A row of a quoted empty value is empty text: a row, rejected."""
    from attrib.engines.local import run_bucketed

    data = tmp_path / "in"
    _write(
        data,
        "touchpoints",
        TOUCH_HEAD,
        [TOUCH_OK[0], "", ",,", "   ", "c9,never,Email", "\t ", TOUCH_OK[1], '""', "", ""],
    )
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    for engine in ("memory", "bucketed"):
        out = tmp_path / engine
        if engine == "memory":
            run_cli(["run", data, "--out", out, "--models", "first_touch", "-q"])
        else:
            run_bucketed(data, out=out, buckets=2, models="first_touch")
        q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
        assert q.get_column("row").to_list() == [5, 8], engine
        assert q.row(0, named=True)["column"] == "ts", engine
        manifest = json.loads((out / "manifest.json").read_text())
        assert manifest["row_counts"]["touchpoints_read"] == 4, engine


def test_blank_tab_separated_lines_are_not_rows(tmp_path):
    """In a tab-separated file a line of only spaces and tabs splits into values of spaces:
    still a blank line (Spark's reader skips it), not a row rejected for a missing ts. A
    row with a value is no blank line, nor is a value of a space and a comma."""
    data = tmp_path / "in"
    rows = [" \t ", "\t ", " \t\t ", "c9\t \tEmail", " , "]
    lines = [TOUCH_HEAD.replace(",", "\t"), TOUCH_OK[0].replace(",", "\t"), *rows]
    (data).mkdir(parents=True)
    (data / "touchpoints.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch", "-q"])
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert q.get_column("row").to_list() == [5, 6]  # c9 and " , ": no ts (rows from 1)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["row_counts"]["touchpoints_read"] == 3


def test_strict_from_config_option(tmp_path):
    """`[options] strict = true` is the default of --strict for `run` and, as the README
    says, for `validate` (which used to read the flag only and exit 0)."""
    data = _export(tmp_path / "in", "deals", "d3,c1,2025-01-03,2025-01-05,won,-1")
    (data / "channels.toml").write_text("[options]\nstrict = true\n")
    run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=1)
    failed = run_cli(["validate", data], exit_code=1)
    assert "1 row(s) rejected and strict is on" in " ".join(failed.output.split())
    # the config's strict turned off for one run (there was no way but editing the config)
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--no-strict"])
    run_cli(["validate", data, "--no-strict"])
    assert "--no-strict" in failed.output  # (the hint names the way)


def test_duplicate_deal_ids_reject_every_copy(tmp_path):
    rows = [*DEAL_OK, "d7,c1,2025-01-03,2025-01-05,won,10", "d7,c2,2025-01-03,2025-01-06,won,20"]
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, rows)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "linear"])
    q = pl.read_parquet(out / "quarantine" / "deals.parquet")
    assert q["row"].to_list() == [3, 4]
    assert set(q["column"]) == {"deal_id"}
    assert q["reason"].to_list() == ["duplicate deal_id d7 (every copy is rejected)"] * 2
    cs = pl.read_parquet(out / "channel_summary.parquet")
    assert cs["revenue"].sum() == 100.0  # only d1


def test_identical_copies_of_a_deal_row_are_called_so(tmp_path):
    """An export that wrote one line twice got the same reason as two records that disagree;
    the reason says the copies agree (a third, differing copy breaks that, and so do two open
    deals whose expected closes differ, a column the run clears before reading)."""
    line = "d7,c1,2025-01-03,2025-01-05,won,10"
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, [*DEAL_OK, line, line])
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--models", "linear"])
    q = pl.read_parquet(tmp_path / "out" / "quarantine" / "deals.parquet")
    assert (
        q["reason"].to_list()
        == [
            "duplicate deal_id d7 (every copy is rejected; the copies agree on every column attrib"
            " reads: keep one)"
        ]
        * 2
    )
    _write(data, "deals", DEAL_HEAD, [*DEAL_OK, line, line, line.replace(",10", ",11")])
    run_cli(["run", data, "--out", tmp_path / "three", "-q", "--models", "linear"])
    q = pl.read_parquet(tmp_path / "three" / "quarantine" / "deals.parquet")
    assert q["reason"].to_list() == ["duplicate deal_id d7 (every copy is rejected)"] * 3
    closes = [line.replace("won", "open"), line.replace("won", "open").replace("01-05", "02-07")]
    _write(data, "deals", DEAL_HEAD, [*DEAL_OK, *closes])
    run_cli(["run", data, "--out", tmp_path / "open", "-q", "--models", "linear"])
    q = pl.read_parquet(tmp_path / "open" / "quarantine" / "deals.parquet")
    assert q["reason"].to_list() == ["duplicate deal_id d7 (every copy is rejected)"] * 2


def test_mixed_naive_and_aware_timestamps(tmp_path):
    # three aware rows and one naive (row 3): the naive row is quarantined; aware ones are UTC
    data = tmp_path / "in"
    _write(
        data,
        "touchpoints",
        TOUCH_HEAD,
        [
            "c1,2025-01-01T10:00:00+02:00,Email",
            "c1,2025-01-02 10:00:00 UTC,Social",
            "c2,2025-01-02 00:00:00,Webinar",
            "c2,2025-01-02T05:30:00-05:30,Referral",
        ],
    )
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert q["row"].to_list() == [3]
    assert q["column"].to_list() == ["ts"]
    assert "has no timezone while as many rows or more do" in q["reason"][0]
    j = pl.read_parquet(out / "journeys.parquet")
    d1 = j.filter(pl.col("deal_id") == "d1").row(0, named=True)
    assert str(d1["first_touch_at"]) == "2025-01-01 08:00:00"  # 10:00+02:00 in UTC
    assert str(d1["last_touch_at"]) == "2025-01-02 10:00:00"
    d2 = j.filter(pl.col("deal_id") == "d2").row(0, named=True)
    assert str(d2["first_touch_at"]) == "2025-01-02 11:00:00"  # 05:30-05:30 in UTC
    assert d2["path"] == "Referral"


def test_row_numbers_across_several_files(tmp_path):
    # a folder of two files: the row number is within the file that holds the bad row
    data = tmp_path / "in"
    folder = data / "touchpoints"
    _write(folder, "part-1", TOUCH_HEAD, TOUCH_OK)
    _write(folder, "part-2", TOUCH_HEAD, [*TOUCH_OK, "c9,never,Email"])
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert q.select("file", "row").rows() == [(str(folder / "part-2.csv"), 3)]


# --- table-level errors: exit 2, file and column named, a [columns] hint --------------------
def test_missing_column_names_file_column_and_mapping(tmp_path):
    data = tmp_path / "in"
    path = _write(data, "touchpoints", "customer,ts,channel", TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    text = result.output
    assert str(path) in text
    assert "'customer_id'" in text
    assert "did you mean 'customer'" in text
    assert "[columns.touchpoints]" in text
    assert not (tmp_path / "out" / "channel_summary.parquet").exists()


def test_a_mapped_column_missing_gets_the_canonical_key_in_its_hint(tmp_path):
    data = tmp_path / "in"
    _write(data, "touchpoints", "userid,ts,channel", [r.replace("c", "u", 1) for r in TOUCH_OK])
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    (data / "channels.toml").write_text('[columns.touchpoints]\ncustomer_id = "user_id"\n')
    text = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2).output
    assert "'user_id' (mapped to customer_id) is missing" in text
    assert '[columns.touchpoints] customer_id = "userid"' in text


@pytest.mark.parametrize(
    ("command", "engine"),
    [("run", []), ("run", ["--buckets", "2"]), ("validate", [])],
    ids=["in-memory", "bucketed", "validate"],
)
def test_an_optional_column_mapped_to_one_the_file_lacks_is_refused(tmp_path, engine, command):
    """``campaign = "landing_page"`` where the file has ``landing_page_id`` made every
    campaign (none), and a deals ``account_id`` mapped to a missing column fell back to the
    touches' accounts, both without a word: a mapping names a column that must be there."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD + ",landing_page_id", [f"{r},lp1" for r in TOUCH_OK])
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    (data / "channels.toml").write_text('[columns.touchpoints]\ncampaign = "landing_page"\n')
    args = [command, data, *engine, "--out", tmp_path / "out"]
    text = " ".join(run_cli(args, exit_code=2).output.split())
    assert "column 'landing_page' (mapped to campaign) is missing" in text
    assert "required" not in text.split("hint:")[0]  # (campaign is optional)
    assert "did you mean 'landing_page_id'?" in text
    assert str(data / "touchpoints.csv") in text
    assert not (tmp_path / "out" / "channel_summary.parquet").exists()


def test_a_mapped_column_a_run_does_not_read_may_be_missing(tmp_path):
    """Mapped columns the run never reads are not asked for: the touches' ``touch_type``,
    ``account_id`` at customer level, and ``source`` beside a channel column (rules read it
    only without one); at account level the deals' ``account_id`` must be there."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    (data / "channels.toml").write_text(
        '[columns.touchpoints]\ntouch_type = "kind"\naccount_id = "company"\n'
        '[columns.deals]\naccount_id = "acount"\n'
    )
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--models", "first_touch"])
    # [[rules]] read source only without a channel column: beside one, a mapped source is
    # not read either
    (data / "channels.toml").write_text(
        '[columns.touchpoints]\nsource = "utm_source"\n'
        '[[rules]]\nchannel = "Paid Search"\nsource = "google"\n'
    )
    run_cli(["run", data, "--out", tmp_path / "rules", "-q", "--models", "first_touch"])
    (data / "channels.toml").write_text(
        '[columns.touchpoints]\naccount_id = "company"\n[columns.deals]\naccount_id = "acount"\n'
    )
    _write(data, "touchpoints", TOUCH_HEAD + ",company", [f"{r},a1" for r in TOUCH_OK])
    args = ["run", data, "--level", "account", "--out", tmp_path / "acc"]
    text = " ".join(run_cli(args, exit_code=2).output.split())
    assert "column 'acount' (mapped to account_id) is missing" in text


def test_a_required_column_spelt_in_another_case_is_suggested(tmp_path):
    """A header ' Deal ID ' (case, spaces) is named as the likely deal_id, with the mapping
    that reads it; difflib alone suggested nothing."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD.replace("deal_id", " Deal ID "), DEAL_OK)
    text = " ".join(run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2).output.split())
    assert "did you mean ' Deal ID '?" in text
    assert '[columns.deals] deal_id = " Deal ID "' in text


@pytest.mark.parametrize(
    ("toml", "key", "suggestion"),
    [
        ('[columns.touchpoints]\ncampain = "utm_campaign"\n', "campain", "campaign"),
        ('[constants.deals]\nstatuss = "won"\n', "statuss", "status"),
        ('[columns.touchpoints]\nuser_id = "customer_id"\n', "user_id", None),
    ],
)
def test_a_misspelt_column_key_in_the_config_is_refused(tmp_path, toml, key, suggestion):
    """A key of [columns.<table>] or [constants.<table>] that is not a canonical column would
    otherwise be ignored: every campaign would silently become (none)."""
    data = _export(tmp_path / "in", "touchpoints", "c3,2025-01-01 00:00:00,Email")
    (data / "channels.toml").write_text(toml)
    text = " ".join(run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2).output.split())
    assert f"{key!r} is not a column of" in text
    assert "canonical names" in text
    if suggestion:
        assert f"did you mean {suggestion!r}" in text
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_a_semicolon_separated_export_is_read_like_a_comma_separated_one(tmp_path, engine):
    comma = _export(tmp_path / "comma", "touchpoints", "c3,2025-01-01 00:00:00,Email")
    semi = tmp_path / "semi"
    semi.mkdir()
    for name in ("touchpoints.csv", "deals.csv"):
        (semi / name).write_text((comma / name).read_text().replace(",", ";"))
    for folder in (comma, semi):
        run_cli(["run", folder, "--out", folder / "out", "--models", "linear", *engine, "-q"])
    a, b = (pl.read_parquet(f / "out" / "channel_summary.parquet") for f in (comma, semi))
    assert a.equals(b)
    assert a["revenue"].sum() == 100  # DEAL_OK's one won deal


def test_gzipped_exports_are_sniffed_decompressed(tmp_path):
    """A .csv.gz header is sniffed after decompression (the compressed bytes hold random
    ';' and '|'), at every compression level."""
    import gzip
    import shutil

    sample = Path(__file__).resolve().parent.parent / "data_samples"
    data = tmp_path / "in"
    data.mkdir()
    shutil.copy(sample / "deals.csv", data / "deals.csv")
    raw = (sample / "touchpoints.csv").read_bytes()
    # the reference: the same rows read from the plain file
    (data / "touchpoints.csv").write_bytes(raw)
    run_cli(["run", data, "--out", tmp_path / "plain", "--models", "linear", "-q"])
    expected = pl.read_parquet(tmp_path / "plain" / "channel_summary.parquet")
    (data / "touchpoints.csv").unlink()
    for level in (1, 5, 9):
        (data / "touchpoints.csv.gz").write_bytes(gzip.compress(raw, compresslevel=level))
        run_cli(["run", data, "--out", tmp_path / f"o{level}", "--models", "linear", "-q"])
        got = pl.read_parquet(tmp_path / f"o{level}" / "channel_summary.parquet")
        assert got.equals(expected), level


def test_a_file_that_is_not_utf8_gets_a_hint_to_save_it_so(tmp_path):
    data = _export(tmp_path / "in", "touchpoints", "c3,2025-01-01 00:00:00,Caf\xe9")
    path = data / "touchpoints.csv"
    path.write_bytes(path.read_text().encode("latin-1"))
    text = " ".join(run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2).output.split())
    assert str(path) in text
    assert "UTF-8" in text


def test_missing_deal_column(tmp_path):
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    path = _write(data, "deals", "deal_id,customer_id,created,closed_at,status,amount", DEAL_OK)
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    assert str(path) in result.output
    assert "'created_at'" in result.output
    assert "[columns.deals]" in result.output


def test_no_channel_column(tmp_path):
    data = tmp_path / "in"
    _write(data, "touchpoints", "customer_id,ts", ["c1,2025-01-01"])
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    assert "channel" in result.output


def test_missing_input_table(tmp_path):
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    assert "deals" in result.output


# --- configuration and usage errors: exit 2, pre-existing outputs untouched ------------------
def _good(folder: Path) -> Path:
    _write(folder, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(folder, "deals", DEAL_HEAD, DEAL_OK)
    return folder


@pytest.mark.parametrize(
    ("args", "config", "words"),
    [
        (["--models", "first_touch,no_such_model"], None, "no_such_model"),
        (["--models", "linera"], None, "did you mean 'linear'?"),
        ([], "[options\nlookback_days = 3\n", "TOML"),
        ([], "[colours]\nred = 1\n", "colours"),
        ([], "[options]\nlookbak_days = 30\n", "lookbak_days"),
        ([], "[options]\nlookback_days = -3\n", "lookback_days"),
        ([], '[[rules]]\nchannel = "X"\nmedium = "("\n', "regular expressions"),
        ([], "[models.time_decay]\nhalf_life = 3\n", "in/channels.toml"),
        (["--lookback-days", "0"], None, "--lookback-days"),
        ([], "[models.time_decy]\nhalf_life_days = 3\n", "time_decy"),
        ([], '[models.time_decay]\nhalf_life_days = "soon"\n', "half_life_days"),
        # checked when the model is made: the message names the config file
        ([], "[models.time_decay]\nhalf_life_days = 0\n", "in/channels.toml"),
        ([], "[models.time_decay]\nhalf_life_days = true\n", "got True"),
        # it blamed the deals file: "column 'status' holds List(String) values"
        ([], '[constants.deals]\nstatus = ["won"]\n', "status must be one value, got ['won']"),
        (["--from", "2025-06-01", "--to", "2025-01-01"], None, "is after --to"),
        ([], '[channels."Direct"]\ndirekt = true\n', "did you mean 'direct'"),
        ([], '[channels."Direct"]\ndirect = "yes"\n', "direct is not true/false"),
        (["--paths", "paths.csv"], None, "DATA_DIR would be ignored"),
        (["--paths", "p.csv", "--to", "2025-01-01"], None, "DATA_DIR, --to would be ignored"),
        (["--paths", "p.csv", "--gross-margin", "0.5"], None, "--gross-margin would be ignored"),
        (["--gross-margin", "0"], None, "0<x<=1"),
        (["--models", ","], None, "names no model"),
        (["--paths", "p.csv", "--strict"], None, "--strict would be ignored"),
        (["--buckets", "2", "--bootstrap", "10"], None, "--bootstrap: not available with --b"),
        (["--memory-limit", "1GB", "--event-log", "e.csv"], None, "--event-log: not available"),
        # the hint gives the reason of the option given, not the bootstrap's too
        (["--buckets", "2", "--event-log", "e.csv"], None, "log is read whole: run without"),
        (["--engine", "spark", "--memory-limit", "1GB"], None, "--memory-limit: not available"),
        (["--spark-master", "local[2]"], None, "--spark-master is for --engine spark"),
        ([], '[statuses]\nEngaging = "maybe"\n', "not to open, won or lost"),
        ([], '[statuses]\n"Won 1" = "won"\n"won-1" = "lost"\n', "matches the same statuses"),
        ([], '[statuses]\n"--" = "won"\n', "has no letter or digit"),
        (["--buckets", "2", "--memory-limit", "1GB"], None, "--buckets and --memory-limit"),
        (["--seed", "3"], None, "--seed without --bootstrap"),
        (["--event-log", "e.csv", "--level", "account"], None, "--event-log and --level"),
        ([], '[options]\nstrict = "false"\n', "[options] strict is not true/false"),
        ([], "[options]\nstrict = 0\n", "strict = true or strict = false, without quotes"),
        (
            ["--models", "markov"],
            '[models.markov]\nvalue_weighted = "false"\n',
            "value_weighted is not true/false: got 'false'",
        ),
        (
            ["--models", "markov"],
            "[models.markov]\ncollapse_repeats = 1\n",
            "collapse_repeats is not true/false",
        ),
        ([], '[[rules]]\nchannel = "X"\nmedium = 5\n', "rule #1 medium must be text"),
        ([], "[[rules]]\nchannel = 3\n", "rule #1 channel must be text"),
        ([], '[[rules]]\nchannel = ""\nmedium = "cpc"\n', "rule #1 channel is empty"),
        ([], '[[rules]]\nchannel = "(none)"\nmedium = "^$"\n', "is reserved for deals"),
        ([], '[[rules]]\nchannel = "X"\nmedium = "^(?!organic).*$"\n', "look-around"),
        ([], '[[rules]]\nchannel = "X"\nsource = "(a)\\\\1"\n', "Rust regex syntax"),
        (["--models", "shapley"], "[models.shapley]\nseed = -1\n", "seed must be a whole"),
        (["--bootstrap", "5", "--seed", "-1"], None, "'--seed': -1 is not in the range"),
        # a TOML true is a Python int: it ran with a lookback of 1 day
        ([], "[options]\nlookback_days = true\n", "whole number of days, 1 or more, got True"),
        # 1.5 was "must be a positive number of days"
        ([], "[options]\nlookback_days = 1.5\n", "whole number of days, 1 or more, got 1.5"),
        # a list of numbers was an internal error (exit 5); an empty list ran every model;
        # a misspelt name was a usage error that did not name the config file
        ([], "[options]\nmodels = [1, 2]\n", "[options] models must be a comma list"),
        ([], '[options]\nmodels = ""\n', "channels.toml: [options] models names no model"),
        ([], '[options]\nmodels = "linaer"\n', "channels.toml: [options] unknown model 'linaer'"),
        # a window from year 1 or to 9999 ran for minutes over its months (millions of rows)
        (["--to", "9999-12-31"], None, "--to 9999-12-31 is outside the years 1900-2199"),
        (["--from", "0001-01-01"], None, "--from 0001-01-01 is outside the years"),
        ([], "[metrics]\nperiod_to = 9999-12-31\n", "period_to 9999-12-31 is outside the years"),
        # click's range check lets NaN through: the error blamed channels.toml's [metrics]
        (["--gross-margin", "nan"], None, "'--gross-margin': nan is not a finite number"),
        ([], '[columns.deal]\namount = "value"\n', "did you mean [columns.deals]?"),
    ],
    ids=[
        "unknown-model",
        "misspelt-model",
        "bad-toml",
        "unknown-table",
        "unknown-option",
        "bad-lookback",
        "bad-regex",
        "unknown-param",
        "zero-lookback",
        "params-of-unknown-model",
        "non-numeric-param",
        "zero-half-life",
        "boolean-half-life",
        "list-constant",
        "from-after-to",
        "misspelt-channel-flag",
        "channel-flag-not-bool",
        "paths-with-a-data-folder",
        "paths-with-a-window",
        "paths-with-a-margin",
        "zero-margin",
        "empty-model-list",
        "paths-with-strict",
        "bootstrap-with-buckets",
        "event-log-with-memory-limit",
        "event-log-with-buckets",
        "memory-limit-with-spark",
        "spark-master-without-spark",
        "status-mapped-to-no-status",
        "status-keys-that-collide",
        "status-key-without-letters",
        "buckets-and-memory-limit",
        "seed-without-bootstrap",
        "event-log-at-account-level",
        "strict-in-quotes",
        "strict-a-number",
        "model-flag-in-quotes",
        "model-flag-a-number",
        "rule-pattern-not-text",
        "rule-channel-not-text",
        "rule-channel-empty",
        "rule-channel-none",
        "rule-look-ahead",
        "rule-back-reference",
        "negative-shapley-seed",
        "negative-bootstrap-seed",
        "lookback-a-boolean",
        "lookback-a-fraction",
        "config-models-not-names",
        "config-models-empty",
        "config-models-misspelt",
        "window-to-year-9999",
        "window-from-year-1",
        "config-window-to-year-9999",
        "margin-not-a-number",
        "misspelt-table",
    ],
)
def test_usage_and_config_errors_exit_2_and_leave_outputs(tmp_path, args, config, words):
    data = _good(tmp_path / "in")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert out / "channel_summary.parquet" in before
    # make the next run differ: a new deal would change every output if anything were written
    _write(data, "deals", DEAL_HEAD, [*DEAL_OK, "d9,c2,2025-01-03,2025-01-04,won,7"])
    if config is not None:
        (data / "channels.toml").write_text(config)
    result = run_cli(["run", data, "--out", out, "-q", *args], exit_code=2)
    assert words in " ".join(result.output.split())
    after = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert not list(out.rglob("*.tmp"))


@pytest.mark.parametrize("encoding", ["latin-1", "utf-16"])
def test_a_config_that_is_not_utf8_gets_a_hint_to_save_it_so(tmp_path, encoding):
    data = _good(tmp_path / "in")
    config = data / "channels.toml"
    config.write_bytes('[channels."Café"]\ndirect = true\n'.encode(encoding))
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {config}: not UTF-8 text" in text
    assert "hint: save the file as UTF-8" in text


def test_a_config_with_a_byte_order_mark_is_read(tmp_path):
    # Windows Notepad's "UTF-8" starts the file with a BOM; the settings after it apply
    data = _good(tmp_path / "in")
    (data / "channels.toml").write_bytes(
        b"\xef\xbb\xbf" + b'[channels."Email"]\nmarketing = false\n'
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    cs = pl.read_parquet(out / "channel_summary.parquet")
    flags = dict(zip(cs["channel"], cs["is_marketing"], strict=True))
    assert flags == {"Email": False, "Social": True}


def test_strict_failure_leaves_earlier_summary_untouched(tmp_path):
    data = _good(tmp_path / "in")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    before = (out / "channel_summary.parquet").read_bytes()
    _write(data, "deals", DEAL_HEAD, [*DEAL_OK, "d9,c2,2025-01-03,2025-01-04,won,-7"])
    run_cli(["run", data, "--out", out, "-q", "--strict"], exit_code=1)
    assert (out / "channel_summary.parquet").read_bytes() == before
    assert not list(out.rglob("*.tmp"))


def _journeys_written_ahead(monkeypatch, out: Path) -> list[list[str]]:
    """Make ``attrib.run.run`` write the journeys ahead of the other outputs (the metrics
    worker waits until they are written) and record the output folder's files then."""
    import threading

    import attrib.outputs
    import attrib.run

    written = threading.Event()
    seen: list[list[str]] = []
    mapped, write = attrib.run.map_run_metrics, attrib.outputs.StagedTables.write

    def late_metrics(*args):
        assert written.wait(60)
        return mapped(*args)

    def recorded_write(self, name, frame):
        write(self, name, frame)
        seen.append(sorted(p.name for p in out.iterdir()))
        written.set()

    monkeypatch.setattr(attrib.run, "map_run_metrics", late_metrics)
    monkeypatch.setattr(attrib.outputs.StagedTables, "write", recorded_write)
    return seen


def test_journeys_written_ahead_land_with_the_other_outputs(tmp_path, monkeypatch):
    """While the metrics finish, the journeys table is written under a temporary name; the
    run then moves it into place before the manifest: same table, no temporary file left."""
    import attrib.run

    data = _good(tmp_path / "in")
    out = tmp_path / "out"
    seen = _journeys_written_ahead(monkeypatch, out)
    manifest = attrib.run.write_manifest
    in_place = []
    monkeypatch.setattr(
        attrib.run,
        "write_manifest",
        lambda o, m: in_place.append((o / "journeys.parquet").exists()) or manifest(o, m),
    )
    result = attrib.run.run(data, out=out, models=["first_touch"])
    assert in_place == [True]
    assert len(seen) == 1
    assert any(n.startswith(".journeys.parquet.") for n in seen[0])
    assert "journeys.parquet" not in seen[0]
    assert pl.read_parquet(out / "journeys.parquet").equals(result.tables["journeys"])
    assert "journeys.parquet" in result.manifest["outputs"]
    assert not list(out.rglob("*.tmp"))


def test_a_failure_after_journeys_written_ahead_leaves_outputs(tmp_path, monkeypatch):
    """A computation error after the journeys were written ahead: exit 3, and the earlier
    run's outputs stay as they were (the new journeys table is deleted, not moved in)."""
    import attrib.run
    from attrib.errors import ComputationError

    data = _good(tmp_path / "in")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    _write(data, "deals", DEAL_HEAD, [*DEAL_OK, "d9,c2,2025-01-03,2025-01-04,won,7"])
    seen = _journeys_written_ahead(monkeypatch, out)

    def failing(*args):
        raise ComputationError("the metrics failed", hint="a test")

    monkeypatch.setattr(attrib.run, "finish_metrics", failing)
    result = run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"], exit_code=3)
    assert "the metrics failed" in result.output
    assert len(seen) == 1
    assert any(n.startswith(".journeys.parquet.") for n in seen[0])
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not list(out.rglob("*.tmp"))


def test_a_table_written_ahead_that_cannot_land_is_deleted(tmp_path):
    """Moving a table written ahead onto its name fails (a folder has that name): an
    output error naming the file, and no temporary file left behind."""
    from attrib.errors import OutputError
    from attrib.outputs import StagedTables

    out = tmp_path / "out"
    (out / "journeys.parquet").mkdir(parents=True)
    with StagedTables(out) as staged:
        staged.write("journeys", pl.DataFrame({"a": [1]}))
        assert len(list(out.glob(".journeys.parquet.*.tmp"))) == 1
        with pytest.raises(OutputError) as raised:
            staged.commit()
    assert raised.value.file == str(out / "journeys.parquet")
    assert not list(out.rglob("*.tmp"))


def test_output_error_exit_4(tmp_path):
    data = _good(tmp_path / "in")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = run_cli(["run", data, "--out", blocker, "-q"], exit_code=4)
    assert str(blocker) in result.output
    assert blocker.read_text() == "x"


_STRAY_ZONE = [f"c{i},2025-01-0{1 + i % 9} 10:00:00,Email" for i in range(3)]


@pytest.mark.parametrize(
    ("rows", "rejected", "words"),
    [
        # one zoned timestamp among naive ones (a stray export row): it alone is rejected
        (
            [*_STRAY_ZONE, "c9,2025-01-02T10:00:00+02:00,Social", *_STRAY_ZONE],
            4,
            "has a timezone while most rows do not",
        ),
        # a tie rejects the naive one, without claiming a majority
        (
            ["c1,2025-01-02T10:00:00+02:00,Social", "c2,2025-01-03 10:00:00,Email"],
            2,
            "2025-01-03 10:00:00 has no timezone while as many rows or more do",
        ),
    ],
    ids=["stray-zone", "tie"],
)
def test_timezone_mixing_rejects_the_less_common_kind(tmp_path, rows, rejected, words):
    """A column mixing timezone-aware and naive text rejects the less common kind (the naive
    rows on a tie), not every row of the other."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, rows)
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert q["row"].to_list() == [rejected]
    assert words in q["reason"][0]


def test_quarantined_timestamps_read_as_written(tmp_path):
    """Typed timestamps (Parquet; stage rows rejected after parsing at account level) show in
    the quarantine without the zero microseconds a plain text cast adds."""
    from datetime import datetime

    data = tmp_path / "in"
    data.mkdir()
    pl.DataFrame(
        {
            "customer_id": ["c1", None, "c2"],
            "ts": [datetime(2025, 1, 1, 10), datetime(2025, 1, 2, 11, 30, 5), datetime(2025, 1, 3)],
            "channel": ["Email", "Email", "Social"],
        }
    ).write_parquet(data / "touchpoints.parquet")
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert q["ts"].to_list() == ["2025-01-02 11:30:05"]


@pytest.mark.parametrize("zone", ["UTC", "Europe/Berlin"])
def test_a_zoned_typed_timestamp_is_quarantined_at_its_utc_time(tmp_path, zone):
    """Rejected by validation it read "2025-01-03 11:30:00.000000+00:00", rejected later
    (no account, at account level) "2025-01-03 12:00:00", and Spark wrote the latter form:
    every path now shows the UTC time, as the checks read it."""
    from attrib.run import run

    data = zoned_parquet_rejects(tmp_path / "data", zone)
    result = run(data, models="linear", level="account")
    touches = result.inputs.quarantine["touchpoints"]
    assert touches["ts"].to_list() == ["2025-01-03 11:30:00"]  # (Berlin's 12:30)
    deals = result.inputs.quarantine["deals"].sort("row")
    reasons = deals["reason"].to_list()
    assert any("duplicate deal_id" in r for r in reasons)
    assert any("no account_id" in r for r in reasons)
    assert set(deals["created_at"]) == {"2025-01-03 12:00:00"}


def test_validate_lists_rows_and_strict(tmp_path):
    data = _export(tmp_path / "in", "deals", "d3,c1,2025-01-03,2025-01-05,won,-5")
    result = run_cli(["validate", data])
    assert "deals.csv row 2 column 'amount'" in result.output
    run_cli(["validate", data, "--strict"], exit_code=1)
    out = tmp_path / "q"
    run_cli(["validate", data, "--out", out])
    assert pl.read_parquet(out / "quarantine" / "deals.parquet")["row"].to_list() == [2]
    assert not (out / "channel_summary.parquet").exists()


def test_validate_takes_the_files_one_by_one_as_run_does(tmp_path):
    data = _export(tmp_path / "in", "deals", "d3,c1,2025-01-03,2025-01-05,won,-5")
    files = ["--touchpoints", data / "touchpoints.csv", "--deals", data / "deals.csv"]
    result = run_cli(["validate", *files])
    assert "deals.csv row 2 column 'amount'" in result.output
    assert "touchpoints" in result.output


# --- more contract rules: synonyms, stages, costs, typed Parquet ------------------------------
def _summary_of_deals(tmp_path: Path, deal_rows: list[str]) -> pl.DataFrame:
    """``channel_summary`` of a first-touch run on TOUCH_OK and ``deal_rows``, which must
    all be valid (no quarantine)."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, deal_rows)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    assert not (out / "quarantine").exists()
    return pl.read_parquet(out / "channel_summary.parquet")


def test_status_synonyms_are_accepted(tmp_path):
    cs = _summary_of_deals(
        tmp_path,
        [
            "d1,c1,2025-01-03,2025-01-05,Closed Won,100",
            "d2,c2,2025-01-03,2025-01-04,closed_lost,50",
        ],
    )
    assert cs["revenue"].sum() == 100.0
    assert cs["lost_deals"].sum() == 1.0


@pytest.mark.parametrize(
    "stage",
    [
        "appointmentscheduled",  # HubSpot's internal names
        "Decision Maker Bought-In",  # and its labels
        "Id. Decision Makers",  # Salesforce's opportunity stages
        "Proposal/Price Quote",
        "Negotiation/Review",
    ],
)
def test_the_open_stages_of_crms_default_pipelines_are_open(tmp_path, stage):
    """A HubSpot or Salesforce deal export names an open deal by its pipeline stage: every
    such deal was quarantined ("status ... is not one of open, won, lost") without
    [statuses] lines for the CRM's default stages."""
    cs = _summary_of_deals(
        tmp_path,
        ["d1,c1,2025-01-03,2025-01-05,Closed Won,100", f'd2,c2,2025-01-03,,"{stage}",50'],
    )
    assert (cs["revenue"].sum(), cs["pipeline"].sum()) == (100.0, 50.0)


def test_stages_unknown_and_mapped(tmp_path):
    data = _good(tmp_path / "in")
    _write(
        data,
        "stages",
        "customer_id,stage,ts",
        ["c1,Marketing Qualified,2025-01-01", "c1,demo,2025-01-02", "c2,lead,yesterday"],
    )
    (data / "channels.toml").write_text('[stages]\n"Marketing Qualified" = "mql"\n')
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "w_shaped"])
    q = pl.read_parquet(out / "quarantine" / "stages.parquet")
    assert q.select("row", "column").rows() == [(2, "stage"), (3, "ts")]
    assert "demo" in q["reason"][0]


@pytest.mark.parametrize(
    "config",
    [
        '[stages]\n"demo REQUESTED " = "MQL"\n',  # any case and spacing, either side
        '[metrics]\nstage_names = { "Demo Requested" = "mql" }\n',  # the metrics' table
    ],
)
def test_stage_names_are_mapped_before_validation_case_insensitively(tmp_path, config):
    """``[metrics] stage_names`` used to reach only the funnel, after validation had
    quarantined the rows it names; ``[stages]`` keys matched in their exact case only."""
    data = _good(tmp_path / "in")
    _write(
        data,
        "stages",
        "customer_id,stage,ts",
        ["c1,Demo Requested,2025-01-02", "c1,LEAD,2025-01-01"],  # at/after the touch
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out / "unmapped", "-q", "--models", "first_touch"])
    (data / "channels.toml").write_text(config)
    run_cli(["run", data, "--out", out / "mapped", "-q", "--models", "first_touch"])
    assert (out / "unmapped" / "quarantine" / "stages.parquet").exists()
    assert not (out / "mapped" / "quarantine").exists()

    def mql_rows(run: Path) -> list[tuple[str, int]]:
        funnel = pl.read_parquet(run / "funnel.parquet").filter(
            (pl.col("view") == "cohort") & (pl.col("period") == "all") & (pl.col("stage") == "mql")
        )
        return funnel.sort("channel").select("channel", "count").rows()

    # unmapped, no mql row is valid: the stage is absent from the funnel. Mapped, c1 (first
    # touch: Email) reached mql by its row, c2 (Social) by its deal (stages are cumulative)
    assert mql_rows(out / "unmapped") == []
    assert mql_rows(out / "mapped") == [("(all)", 2), ("Email", 1), ("Social", 1)]


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ('[stages]\n"Demo" = "sql"\n"demo" = "opportunity"\n', "[stages] key 'demo' differs"),
        (
            '[metrics]\nstage_names = { Demo = "sql", demo = "opportunity" }\n',
            "[metrics] stage_names key 'demo' differs",
        ),
        ('[metrics]\nstage_names = { Demo = "prospect" }\n', "unknown stage"),
        (
            '[stages]\n"Demo" = "sql"\n[metrics]\nstage_names = { demo = "opportunity" }\n',
            "stage 'demo' maps to 'sql' in [stages] and to 'opportunity'",
        ),
    ],
)
def test_stage_names_that_cannot_be_applied_are_refused_before_reading(tmp_path, config, words):
    """Keys that differ only in case (matched alike) but map elsewhere, in either table, and
    a [metrics] stage name that maps nowhere: exit 2 before any input is read (no
    quarantine written)."""
    data = _good(tmp_path / "in")
    _write(data, "stages", "customer_id,stage,ts", ["c1,Demo,2025-01-01"])
    (data / "channels.toml").write_text(config)
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    assert words in result.output
    assert not (tmp_path / "out").exists()


def test_stage_keys_that_differ_in_case_but_agree_are_fine(tmp_path):
    data = _good(tmp_path / "in")
    (data / "channels.toml").write_text('[stages]\n"Demo" = "sql"\n"DEMO" = " SQL"\n')
    run_cli(["run", data, "--out", tmp_path / "out", "-q"])


def test_costs_negative_spend(tmp_path):
    data = _good(tmp_path / "in")
    _write(
        data,
        "costs",
        "date,channel,spend",
        ["2025-01-01,Email,10", "2025-01-01,Social,-3", "2025-01-01,,4", "someday,Email,1"],
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    q = pl.read_parquet(out / "quarantine" / "costs.parquet")
    assert q.select("row", "column").rows() == [(2, "spend"), (3, "channel"), (4, "date")]
    run_cli(["run", data, "--out", tmp_path / "strict", "-q", "--strict"], exit_code=1)


def test_typed_parquet_timezone_and_integer_ids(tmp_path):
    # tz-aware Parquet timestamps are converted to UTC (Berlin is UTC+1 in January);
    # integer customer ids in Parquet join text ids in the CSV deals
    data = tmp_path / "in"
    data.mkdir()
    pl.DataFrame(
        {
            "customer_id": [1, 2],
            "ts": [datetime(2025, 1, 1, 10), datetime(2025, 1, 2)],
            "channel": ["Email", "Social"],
        }
    ).with_columns(pl.col("ts").dt.replace_time_zone("Europe/Berlin")).write_parquet(
        data / "touchpoints.parquet"
    )
    _write(
        data,
        "deals",
        DEAL_HEAD,
        ["d1,1,2025-01-02,2025-01-03,won,10", "d2,2,2025-01-02,2025-01-03,won,5"],
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    j = pl.read_parquet(out / "journeys.parquet").sort("deal_id")
    assert j["path"].to_list() == ["Email", "Social"]
    assert j["first_touch_at"].to_list() == [datetime(2025, 1, 1, 9), datetime(2025, 1, 1, 23)]


def test_rerun_on_fixed_data_leaves_no_stale_quarantine(tmp_path):
    # a quarantine file from an earlier run must not outlive the rows it described
    data = _export(tmp_path / "in", "deals", "d3,c1,2025-01-03,2025-01-05,won,-5")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    assert (out / "quarantine" / "deals.parquet").exists()
    _good(data)
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    assert not (out / "quarantine" / "deals.parquet").exists()


def test_account_level_needs_an_account_column(tmp_path):
    # at --level account the touches' account_id is what a journey is keyed by: without the
    # column every row would be rejected, so it is a missing required column (exit 2)
    data = _good(tmp_path / "in")
    result = run_cli(["run", data, "--out", tmp_path / "out", "--level", "account"], exit_code=2)
    assert "'account_id'" in result.output
    assert str(data / "touchpoints.csv") in result.output
    assert "[columns.touchpoints]" in result.output
    assert not (tmp_path / "out" / "channel_summary.parquet").exists()


def test_nested_parquet_column_is_an_input_error(tmp_path):
    # a list-typed id column cannot be used: exit 2 naming the column, not an internal error
    data = tmp_path / "in"
    data.mkdir()
    pl.DataFrame(
        {"customer_id": [["c1"], ["c2"]], "ts": ["2025-01-01", "2025-01-02"], "channel": ["E", "S"]}
    ).write_parquet(data / "touchpoints.parquet")
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    assert "'customer_id'" in result.output
    assert str(data / "touchpoints.parquet") in result.output


def test_map_typed_parquet_column_is_an_input_error(tmp_path):
    # a Parquet map column (read by Polars as Map, a nested type that is neither List nor
    # Struct) was cast to text: "Internal error: InvalidOperationError: cannot cast
    # `map[str, i64]` to `str`" (exit 5); it is refused as a list or struct column is
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "in"
    data.mkdir()
    campaigns = pa.array([[("k", 1)], [("k", 2)]], pa.map_(pa.string(), pa.int64()))
    touches = {"customer_id": ["c1", "c2"], "ts": ["2025-01-01", "2025-01-02"]}
    pq.write_table(
        pa.table({**touches, "channel": ["E", "S"], "campaign": campaigns}),
        data / "touchpoints.parquet",
    )
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    assert "'campaign'" in result.output
    assert str(data / "touchpoints.parquet") in result.output
    assert "Internal error" not in result.output


def test_far_future_sentinel_date_window_does_not_overflow():
    # CRM exports use 9999-12-31 as a "never" date; a run whose data reaches it asked the
    # metrics for the window [first day, 9999-12-31], whose exclusive end (the next day)
    # overflowed: "Internal error: OverflowError" (exit 5). The whole run is not used here
    # because the funnel's month grid up to year 9999 takes half a minute (reported).
    from attrib.metrics.periods import in_window

    frame = pl.DataFrame({"ts": [datetime(2025, 1, 1), datetime(9999, 12, 31, 23, 59, 59)]})
    inside = frame.select(in_window(pl.col("ts"), date(2025, 1, 1), date.max))["ts"]
    assert inside.to_list() == [True, True]
    before = frame.select(in_window(pl.col("ts"), date(2025, 1, 2), date.max))["ts"]
    assert before.to_list() == [False, True]


def test_placeholder_dates_in_typed_columns_are_rejected_but_not_an_open_deals(tmp_path):
    """A Parquet timestamp outside the years 1900-2199 (0001-01-01 for "unknown", 9999-12-31
    for "never") is rejected as text of that date is, and no run reads it as a time; an open
    deal's expected close date of 9999-12-31 is ignored as any expected close is."""
    data = tmp_path / "in"
    data.mkdir()
    pl.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3"],
            "ts": [datetime(2025, 1, 1), datetime(2025, 1, 2), datetime(1, 1, 1)],
            "channel": ["Email", "Social", "Email"],
        }
    ).write_parquet(data / "touchpoints.parquet")
    _write(data, "deals", DEAL_HEAD, [*DEAL_OK, "d3,c2,2025-01-04,9999-12-31 00:00:00,open,7"])
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch", "-q"])
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert q.select("row", "column").rows() == [(3, "ts")]
    assert "ts 0001-01-01 00:00:00 is outside the years 1900-2199" in q["reason"][0]
    assert not (out / "quarantine" / "deals.parquet").exists()
    assert pl.read_parquet(out / "channel_summary.parquet")["pipeline"].sum() == 57.0


@pytest.mark.parametrize("statistics", [True, False])
@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]])
@pytest.mark.parametrize("column", ["ts", "customer_id"])
def test_a_parquet_timestamp_beyond_any_calendar_is_an_input_error(
    tmp_path, engine, column, statistics
):
    """A Parquet timestamp so far from 1970 that no calendar date has it (epoch microseconds
    stored as seconds: the year ~55 million) made Polars panic when the run turned it into
    text or a date: a Python traceback and exit 1 (of any column, an id too). It stops the
    run naming the file, the row and the column (exit 2)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    data = tmp_path / "in"
    data.mkdir()
    columns = {
        "customer_id": pa.array(["c1", "c2"]),
        "ts": pa.array([1_735_689_600, 1_735_776_000], pa.timestamp("s")),
        "channel": pa.array(["Email", "Social"]),
    }
    far = 1_735_689_600 * 10**6  # microseconds, written as seconds
    columns[column] = pa.array([1_735_689_600, far], pa.timestamp("s"))
    # (the bucketed scan reads the footer's statistics first, the rows where there are none)
    pq.write_table(pa.table(columns), data / "touchpoints.parquet", write_statistics=statistics)
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    out = tmp_path / "out"
    result = run_cli(["run", data, "--out", out, "-q", *engine], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {data / 'touchpoints.parquet'}, row 2, column {column!r}" in text
    assert "Traceback" not in text
    assert not out.exists() or not any(out.iterdir())


def test_iso_offsets_hours_only_and_spaced(tmp_path):
    # ISO 8601 allows an hours-only offset ("+02", what PostgreSQL prints for timestamptz)
    # and exports often put a space before the offset; all are aware, read as UTC
    data = tmp_path / "in"
    _write(
        data,
        "touchpoints",
        TOUCH_HEAD,
        [
            "c1,2025-01-01 10:00:00+02,Email",
            "c1,2025-01-02 10:00:00 -03:30,Social",
            "c2,2025-01-02 00:30+01,Webinar",
        ],
    )
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    assert not (out / "quarantine" / "touchpoints.parquet").exists()
    j = pl.read_parquet(out / "journeys.parquet").sort("deal_id")
    assert j["first_touch_at"].to_list() == [datetime(2025, 1, 1, 8), datetime(2025, 1, 1, 23, 30)]
    assert j["last_touch_at"].to_list() == [
        datetime(2025, 1, 2, 13, 30),
        datetime(2025, 1, 1, 23, 30),
    ]


def test_mapped_column_missing_names_the_source_column(tmp_path):
    # [columns] maps ts to a column the file lacks: the message names that source column
    data = _good(tmp_path / "in")
    (data / "channels.toml").write_text('[columns.touchpoints]\nts = "event_time"\n')
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    assert "'event_time'" in result.output
    assert str(data / "touchpoints.csv") in result.output
    assert "columns found: customer_id, ts, channel" in result.output


def test_float_typed_ids_match_text_ids(tmp_path):
    # pandas writes an integer id column with a gap as float (1.0, 2.0, NaN): the ids must
    # still match the deals' "1" and "2", not silently turn every deal into zero-touch
    data = tmp_path / "in"
    data.mkdir()
    pl.DataFrame(
        {
            "customer_id": [1.0, 2.0, None],
            "ts": ["2025-01-01", "2025-01-02", "2025-01-02"],
            "channel": ["Email", "Social", "Webinar"],
        }
    ).write_parquet(data / "touchpoints.parquet")
    _write(
        data,
        "deals",
        DEAL_HEAD,
        ["d1,1,2025-01-03,2025-01-05,won,10", "d2,2,2025-01-03,2025-01-05,won,5"],
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    cs = pl.read_parquet(out / "channel_summary.parquet")
    got = {c: v for c, v in zip(cs["channel"], cs["revenue"], strict=True) if v}
    assert got == {"Email": 10.0, "Social": 5.0}
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    assert q.select("row", "column").rows() == [(3, "customer_id")]


@st.composite
def deal_rows(draw):
    """Deal rows as text, some broken in one or more ways, with a duplicated id now and then."""
    statuses = ["won", "lost", "open", "Closed Won", "maybe", None]
    rows = []
    for i in range(draw(st.integers(1, 25))):
        deal = draw(st.sampled_from([f"d{i}", f"d{i}", "dup", None]))
        created = draw(st.sampled_from(["2025-01-03", "2025-01-03T10:00:00Z", "nope", None]))
        closed = draw(
            st.sampled_from(["2025-01-05", "2025-01-01", "2025-01-06T00:00:00Z", "TBD", None])
        )
        amount = draw(st.sampled_from(["10", "-5", "abc", None, "inf"]))
        rows.append((deal, "c1", created, closed, draw(st.sampled_from(statuses)), amount))
    return rows


def _one_rule_at_a_time(rows):
    """Which rows a plain row-by-row reading of the contract rejects (the reference)."""
    ids = [r[0] for r in rows]
    created_all = [r[2] for r in rows if r[2] is not None]

    # mixing rejects the less common kind ("nope" counts as naive text), naive on a tie; a
    # date (YYYY-MM-DD) is neither kind and never rejected for it
    def is_date(text):
        return len(text) == 10

    n_aware = sum(c.endswith("Z") for c in created_all)
    n_naive = sum(not c.endswith("Z") and not is_date(c) for c in created_all)
    reject_naive = bool(n_aware and n_naive and n_aware >= n_naive)
    reject_aware = bool(n_aware and n_naive and n_aware < n_naive)

    def status_of(status):
        key = "".join(ch for ch in (status or "").lower() if ch.isalpha())
        return {"won": "won", "closedwon": "won", "lost": "lost", "open": "open"}.get(key)

    # an open deal's closed_at is an expected close date: ignored before any rule reads it,
    # the column's timezone mixing included ("TBD" counts as naive text)
    closes = [r[3] for r in rows if r[3] is not None and status_of(r[4]) != "open"]
    c_aware = sum(c.endswith("Z") for c in closes)
    c_naive = sum(not c.endswith("Z") and not is_date(c) for c in closes)
    reject_c_naive = bool(c_aware and c_naive and c_aware >= c_naive)
    reject_c_aware = bool(c_aware and c_naive and c_aware < c_naive)
    bad = set()
    for i, (deal, _, created, closed, status, amount) in enumerate(rows):
        norm = status_of(status)
        if norm == "open":
            closed = None
        closed_ok = closed is None or (
            closed != "TBD"
            and not (reject_c_naive and not closed.endswith("Z") and not is_date(closed))
            and not (reject_c_aware and closed.endswith("Z"))
        )
        try:
            value = float(amount)
            amount_ok = value >= 0 and value not in (float("inf"), float("-inf"))
        except (TypeError, ValueError):
            amount_ok = False
        parsed = created is not None and created != "nope"
        zoned = parsed and created.endswith("Z")
        naive = parsed and not zoned and not is_date(created)
        created_ok = parsed and not (reject_naive and naive) and not (reject_aware and zoned)
        if (
            not deal
            or not created_ok
            or norm is None
            or not amount_ok
            or (norm in ("won", "lost") and not closed)
            or not closed_ok
            or (norm in ("won", "lost") and closed and parsed and closed[:10] < created[:10])
            or (deal and ids.count(deal) > 1)
        ):
            bad.add(i)
    return bad


@settings(max_examples=60, deadline=None)
@given(deal_rows())
def test_two_pass_validation_rejects_exactly_the_broken_rows(rows):
    from attrib.config import RunConfig
    from attrib.io import FILE_COL, ROW_COL
    from attrib.schema import validate

    raw = pl.DataFrame(
        {
            "deal_id": [r[0] for r in rows],
            "customer_id": [r[1] for r in rows],
            "created_at": [r[2] for r in rows],
            "closed_at": [r[3] for r in rows],
            "status": [r[4] for r in rows],
            "amount": [r[5] for r in rows],
            FILE_COL: ["deals.csv"] * len(rows),
            ROW_COL: list(range(1, len(rows) + 1)),
        }
    )
    v = validate(raw, "deals", RunConfig())
    bad = _one_rule_at_a_time(rows)
    assert set(v.rejected["row"].to_list()) == {i + 1 for i in bad}
    assert v.frame[ROW_COL].to_list() == [i + 1 for i in range(len(rows)) if i not in bad]
    assert v.rejected["reason"].null_count() == 0


def test_a_run_removes_the_outputs_an_earlier_run_left(tmp_path):
    """Outputs of an earlier run in the same folder that this run does not write (touch
    credits, another model's tables, a report) are deleted; other files are left alone."""
    out = tmp_path / "out"
    run_cli(["run", "--out", out, "--touch-credits", "--report", "-q"])
    assert (out / "touch_credits.parquet").is_file()
    assert (out / "report.html").is_file()
    (out / "notes.txt").write_text("mine")
    run_cli(["run", "--out", out, "--models", "linear", "-q"])
    manifest = json.loads((out / "manifest.json").read_text())
    top = {p.name for p in out.iterdir() if p.is_file()}
    assert top == {*manifest["outputs"], "manifest.json", "notes.txt"}
    assert "linear" in set(pl.read_parquet(out / "channel_summary.parquet")["model"])


def test_a_folder_without_an_earlier_run_keeps_its_files(tmp_path):
    """Only what an earlier run's manifest lists is attrib's to delete: a user's own
    report.html in a folder that held no run stays."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").write_text("my own report")
    run_cli(["run", "--out", out, "--models", "linear", "-q"])
    assert (out / "report.html").read_text() == "my own report"
    assert (out / "channel_summary.parquet").is_file()


def test_an_output_folder_that_is_a_file_fails_before_any_work(tmp_path):
    target = tmp_path / "out"
    target.write_text("not a folder")
    result = run_cli(["run", "--out", target, "-q"], exit_code=4)
    assert "the output folder is a file" in result.output
    assert target.read_text() == "not a folder"


@pytest.mark.parametrize("command", ["run", "validate"])
def test_a_header_that_repeats_a_read_column_is_refused(tmp_path, command):
    """A CSV header naming a column twice: the reader kept the first and renamed the other,
    and the run used the first without a word (here the second's channels were lost). A
    repeated column the run does not read (``note``) changes nothing."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    rows = ["c1,2025-01-01,x,Email,a,b", "c2,2025-01-02,y,Social,a,b"]
    _write(data, "touchpoints", "customer_id,ts,channel,channel,note,note", rows)
    out = tmp_path / "out"
    result = run_cli([command, data, "--out", out], exit_code=2)
    text = " ".join(result.output.split())
    where = f"file {data / 'touchpoints.csv'}, column 'channel'"
    assert f"{where}: the header names column 'channel' 2 times" in text
    assert not out.exists()
    rows = ["c1,2025-01-01,Email,a,b", "c2,2025-01-02,Social,a,b"]
    _write(data, "touchpoints", "customer_id,ts,channel,note,note", rows)
    run_cli([command, data, "--out", out])
    # a repeat beside a missing column is named first: the missing-column error listed the
    # reader's copy (ts_duplicated_0) among the columns found
    _write(data, "stages", "customer_id,ts,ts", ["c1,2025-01-01,lead"])
    bucketed = ["--buckets", "2"] if command == "run" else []
    for extra in ([], bucketed):
        args = [command, data, "--out", tmp_path / "o2", *extra]
        text = " ".join(run_cli(args, exit_code=2).output.split())
        assert f"file {data / 'stages.csv'}, column 'ts': the header names column 'ts' 2" in text
        assert "duplicated" not in text


@pytest.mark.parametrize("command", ["run", "validate"])
def test_an_output_folder_under_a_file_fails_before_any_work(tmp_path, command):
    """``--out file/sub`` ran the whole job, then failed writing with "cannot remove an
    earlier run's touchpoints.parquet: Not a directory" (there was no earlier run);
    ``validate --out file`` said "cannot write output". Both now name the file at once."""
    data = _export(tmp_path / "in", "touchpoints", "c3,yesterday,Email")
    target = tmp_path / "file"
    target.write_text("not a folder")
    result = run_cli([command, data, "--out", target / "sub"], exit_code=4)
    text = " ".join(result.output.split())
    assert f"the output folder lies under {target}, which is a file" in text
    assert "yesterday" not in text  # before any work: the bad row was not read
    assert target.read_text() == "not a folder"


def test_a_repeated_target_is_rejected_whatever_the_row_order(tmp_path):
    """Two targets for one (kpi, period): the last row used to win, so the row order decided
    the target. Every copy is now rejected, as a repeated deal id is."""
    outs = []
    for order, rows in enumerate(
        [
            ["revenue,all,100", "revenue, all ,200", "win_rate,all,0.5"],
            ["win_rate,all,0.5", "revenue, all ,200", "revenue,all,100"],
        ]
    ):
        data = _good(tmp_path / f"in{order}")
        _write(data, "targets", "kpi,period,target", rows)
        out = tmp_path / f"out{order}"
        run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
        q = pl.read_parquet(out / "quarantine" / "targets.parquet")
        assert (
            q["reason"].to_list()
            == ["duplicate kpi revenue period all (every copy is rejected)"] * 2
        )
        assert q["column"].to_list() == ["kpi", "kpi"]
        kpis = pl.read_parquet(out / "kpis.parquet").filter(pl.col("period") == "all")
        targets = dict(kpis.select("kpi", "target").iter_rows())
        assert targets["revenue"] is None
        assert targets["win_rate"] == 0.5
        outs.append(kpis)
    assert outs[0].equals(outs[1])


def test_a_quarantined_open_deal_shows_its_expected_close_date_as_given(tmp_path):
    """The expected close date is ignored for the run, not erased from the evidence: a row
    rejected for another reason keeps its closed_at text in the quarantine."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    _write(data, "deals", DEAL_HEAD, ["d9,c1,2025-01-10,TBD,open,-5", *DEAL_OK[:1]])
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--models", "first_touch"])
    q = pl.read_parquet(tmp_path / "out" / "quarantine" / "deals.parquet")
    assert q.select("row", "column", "closed_at").rows() == [(1, "amount", "TBD")]
    assert q["reason"].to_list() == ["amount -5.0 is negative"]


@pytest.mark.parametrize("as_parquet", [False, True])
def test_a_close_date_on_the_creation_day_is_the_creation_time(tmp_path, as_parquet):
    """CRMs export the close as a date (Salesforce CloseDate) and the creation with a time:
    a deal won the day it was created read as closed at midnight, before its creation, and
    was rejected. It now closes at its creation time, and that day's touches up to it count;
    a close date before the creation day is still rejected."""
    data = tmp_path / "in"
    _write(
        data,
        "touchpoints",
        TOUCH_HEAD,
        ["c1,2025-01-06 09:30:00,Email", "c1,2025-01-10 10:00:00,Social", "c2,2025-01-02,Email"],
    )
    deals = pl.DataFrame(
        {
            "deal_id": ["d1", "d2"],
            "customer_id": ["c1", "c2"],
            "created_at": ["2025-01-10T14:22:05Z", "2025-01-05T08:00:00Z"],
            "closed_at": [date(2025, 1, 10), date(2025, 1, 4)],
            "status": ["won", "won"],
            "amount": [100.0, 50.0],
        }
    )
    if as_parquet:
        deals.write_parquet(data / "deals.parquet")
    else:
        deals.with_columns(pl.col("closed_at").cast(pl.String)).write_csv(data / "deals.csv")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "last_touch"])
    journey = pl.read_parquet(out / "journeys.parquet").filter(pl.col("deal_id") == "d1")
    assert journey["closed_at"].item() == datetime(2025, 1, 10, 14, 22, 5)
    assert journey["path"].item() == "Email > Social"
    summary = pl.read_parquet(out / "channel_summary.parquet")
    assert dict(summary.select("channel", "revenue").iter_rows())["Social"] == 100.0
    rejected = pl.read_parquet(out / "quarantine" / "deals.parquet")
    assert rejected["deal_id"].to_list() == ["d2"]
    assert rejected["reason"].item() == "closed_at is before created_at"


@pytest.mark.parametrize(
    "close",
    ["2025-01-10 00:00:00", "2025-01-10T00:00:00Z", datetime(2025, 1, 10)],
    ids=["text", "utc-text", "parquet-datetime"],
)
def test_a_close_at_midnight_on_the_creation_day_is_the_creation_time(tmp_path, close):
    """A close at 00:00:00 UTC exactly is a date wherever it ends something (README, "Dates
    without a time"): written with its midnight, or a Parquet timestamp, it was rejected as
    closed before created where the same date without a time closed at the creation."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, ["c1,2025-01-06 09:30:00,Email"])
    deals = pl.DataFrame(
        {
            "deal_id": ["d1"],
            "customer_id": ["c1"],
            "created_at": [datetime(2025, 1, 10, 14, 22, 5)],
            "closed_at": [close],
            "status": ["won"],
            "amount": [100.0],
        }
    )
    deals.write_parquet(data / "deals.parquet")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "last_touch"])
    journey = pl.read_parquet(out / "journeys.parquet")
    assert journey.filter(pl.col("deal_id") == "d1")["closed_at"].item() == datetime(
        2025, 1, 10, 14, 22, 5
    )
    assert not (out / "quarantine" / "deals.parquet").exists()


@pytest.mark.parametrize("as_parquet", [False, True])
def test_cost_dates_keep_the_day_they_name(tmp_path, as_parquet):
    """A cost date with an offset (or a zoned Parquet timestamp) was moved to UTC before its
    day was taken: 2025-03-01T00:00+01:00 became February 28, the table was no longer all on
    the 1st, so it was read as daily and February got March's spend (310, not 280)."""
    data = _good(tmp_path / "in")
    days = [datetime(2025, m, 1) for m in (1, 2, 3)]
    costs = pl.DataFrame({"date": days, "channel": ["Email"] * 3, "spend": [310.0, 280, 310]})
    if as_parquet:
        costs.with_columns(pl.col("date").dt.replace_time_zone("Europe/Berlin")).write_parquet(
            data / "costs.parquet"
        )
    else:
        costs.with_columns(pl.col("date").dt.strftime("%Y-%m-%dT%H:%M:%S+01:00")).write_csv(
            data / "costs.csv"
        )
    out = tmp_path / "out"
    window = ["--from", "2025-02-01", "--to", "2025-02-28"]
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch", *window])
    summary = pl.read_parquet(out / "channel_summary.parquet")
    assert dict(summary.select("channel", "spend").iter_rows())["Email"] == 280.0


def test_a_header_only_file_without_a_column_is_named(tmp_path):
    """With no row to take the file name from, the error said 'file (empty input)'."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    _write(data, "touchpoints", "customer_id,channel", [])
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {data / 'touchpoints.csv'}, column 'ts'" in text


def test_a_utf16_file_gets_an_encoding_hint(tmp_path):
    """A spreadsheet's 'Unicode text' (UTF-16) header was shown as garbled names."""
    data = _good(tmp_path / "in")
    text = "\n".join([TOUCH_HEAD, *TOUCH_OK]) + "\n"
    (data / "touchpoints.csv").write_bytes(text.encode("utf-16"))
    result = run_cli(["run", data, "--out", tmp_path / "out", "-q"], exit_code=2)
    assert "save the file as UTF-8" in " ".join(result.output.split())


def test_dates_are_neither_naive_nor_zoned_timestamps(tmp_path):
    """A date has no time of day for a zone to apply to: beside zoned timestamps in one
    column it was counted naive and rejected as the less common kind."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    rows = [
        "d1,c1,2025-01-03T09:00:00+01:00,2025-01-05,won,100",
        "d2,c2,2025-01-03T09:00:00+01:00,2025-01-06T10:00:00+01:00,won,50",
        "d3,c2,2025-01-07T09:00:00+01:00,2025-01-08T10:00:00+01:00,lost,5",
    ]
    _write(data, "deals", DEAL_HEAD, rows)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    assert not (out / "quarantine").exists()


def test_an_all_empty_closed_at_column_is_read(tmp_path):
    """NDJSON deals whose closed_at is null everywhere (a Null-typed column) beside a broken
    row made the close rules fail in the message pass (exit 5, "a bug in attrib")."""
    data = tmp_path / "in"
    _write(data, "touchpoints", TOUCH_HEAD, TOUCH_OK)
    lines = [
        '{"deal_id": "d1", "customer_id": "c1", "created_at": "2025-01-03", '
        '"closed_at": null, "status": "open", "amount": 10}',
        '{"deal_id": "d2", "customer_id": "c2", "created_at": "2025-01-03", '
        '"closed_at": null, "status": "won", "amount": 5}',
    ]
    (data / "deals.ndjson").write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    rejected = pl.read_parquet(out / "quarantine" / "deals.parquet")
    assert rejected.select("deal_id", "reason").rows() == [("d2", "won deal has no closed_at")]


def test_stage_names_crms_export_are_known_without_a_mapping(tmp_path):
    """HubSpot's lifecycle stages ("Marketing Qualified Lead", its internal
    "salesqualifiedlead") and Salesforce's "Closed Won" were quarantined unless mapped in
    [stages]; they now read as their stage. A name of no stage stays rejected, and the
    config's own mapping comes first, in the same spellings."""
    data = _good(tmp_path / "in")
    rows = [
        "c1,Lead,2025-01-01",
        "c1,Marketing Qualified Lead,2025-01-01",
        "c1,salesqualifiedlead,2025-01-02",
        "c1,Opportunity,2025-01-02",
        "c1,Closed Won,2025-01-03",
        "c2,marketing_qualified_lead,2025-01-01",
        "c2,Subscriber,2025-01-01",
    ]
    _write(data, "stages", "customer_id,stage,ts", rows)

    def cohort_counts(run: Path) -> dict[str, int]:
        funnel = pl.read_parquet(run / "funnel.parquet").filter(
            (pl.col("view") == "cohort") & (pl.col("period") == "all")
        )
        return dict(funnel.filter(pl.col("channel") == "(all)").select("stage", "count").rows())

    out = tmp_path / "out"
    run_cli(["run", data, "--out", out / "builtin", "-q", "--models", "first_touch"])
    quarantine = pl.read_parquet(out / "builtin" / "quarantine" / "stages.parquet")
    assert quarantine.select("row", "column").rows() == [(7, "stage")]
    assert quarantine["reason"].item() == (
        'stage Subscriber is not a known stage (map it in [stages], e.g. "Subscriber" ='
        ' "session"; the stages are session, lead, mql, sql, opportunity, offer, customer, and'
        ' "session" takes a name that is no funnel stage)'
    )
    builtin = cohort_counts(out / "builtin")
    assert builtin["mql"] == 2  # c1 and c2
    assert builtin["customer"] >= 1  # c1's Closed Won row
    own_names = (
        '"Closed Won" = "offer"\nsubscriber = "lead"\n"Sales Qualified Lead" = "opportunity"\n'
    )
    (data / "channels.toml").write_text("[stages]\n" + own_names)
    run_cli(["run", data, "--out", out / "own", "-q", "--models", "first_touch"])
    assert not (out / "own" / "quarantine").exists()
    own = cohort_counts(out / "own")
    assert builtin.get("offer", 0) == 0 < own["offer"]  # (no offer row without the mapping)
    # a [stages] key matches in the built-in names' spellings too: salesqualifiedlead
    assert "sql" in builtin
    assert "sql" not in own


def test_a_stages_key_as_given_wins_over_another_keys_spelling():
    """``closed_won`` is one [stages] key and a spelling of another, ``Closed Won``: the key
    as written maps it, whichever comes first."""
    from attrib.parsing import stage_spellings

    names = {"closed_won": "customer", "closed won": "offer"}
    assert stage_spellings(names)["closed_won"] == "customer"
    assert stage_spellings(names)["closedwon"] == "offer"


@pytest.mark.parametrize("first", [None, " ", "x"], ids=["null", "space", "text"])
def test_blank_rows_found_whatever_the_first_column_holds(first):
    """A first column mostly empty (an optional account_id) makes every row a candidate of
    the cheap first-value test; the narrowing over every value must keep the same answer as
    the plain rule (``blank_line``), whichever rows are blank."""
    from polars.testing import assert_frame_equal

    from attrib.io import blank_line, without_blank_rows

    n = 300
    other = [None if i % 7 == 0 else (" \t" if i % 11 == 0 else f"v{i}") for i in range(n)]
    frame = pl.DataFrame(
        {
            "account_id": [first] * n,
            "b": other,
            "c": [None if i % 7 == 0 or i % 11 == 0 else i for i in range(n)],
        },
        schema={"account_id": pl.String, "b": pl.String, "c": pl.Int64},
    ).with_row_index("__row", offset=1)
    got = without_blank_rows(frame)
    assert_frame_equal(got, frame.filter(~blank_line(frame.schema)))
    blank = 0 if first == "x" else sum(1 for i in range(n) if i % 7 == 0 or i % 11 == 0)
    assert got.height == n - blank


@pytest.mark.parametrize("exists", [True, False])
def test_an_unwritable_output_folder_fails_before_any_work(tmp_path, monkeypatch, exists):
    """A read-only --out was found only when the first table was written, after the whole
    job (and a bootstrap): the folder, or the one it would be made in, is tried first."""
    import errno

    import attrib.outputs

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    out = tmp_path / "out"
    if exists:
        out.mkdir()
    monkeypatch.setattr(attrib.outputs.tempfile, "TemporaryFile", read_only)
    stages = []
    monkeypatch.setattr("attrib.run.load_inputs", lambda *a, **k: stages.append("read"))
    result = run_cli(["run", "--out", out if exists else out / "q2", "-q"], exit_code=4)
    text = " ".join(result.output.split())
    if exists:
        assert "the output folder is not writable: Read-only file system" in text
    else:
        assert f"the output folder cannot be made in {tmp_path}: Read-only file system" in text
    assert stages == []  # no input was read


def test_table_files_are_found_whatever_their_case(tmp_path):
    """A spreadsheet's 'Deals.csv' or 'TOUCHPOINTS.CSV' was not found ("no deals input
    found", the file beside it), nor a 'Touchpoints/' folder; a 'touchpoints.txt' is still
    skipped as a note (a 'costs.txt' note must not stop a run), but the missing table's hint
    names it."""

    def inputs(folder: Path) -> Path:
        rows = [("c1", "2025-01-02", "Email"), ("c1", "2025-01-04", "Social")]
        deal = [("d1", "c1", "2025-01-05", "2025-01-09", "won", 10.0)]
        return write_inputs(folder, touches=touches(rows), deals=deals(deal))

    data = inputs(tmp_path / "in")
    (data / "deals.csv").rename(data / "Deals.csv")
    (data / "touchpoints.csv").rename(data / "TOUCHPOINTS.CSV")
    run_cli(["run", data, "--out", tmp_path / "mixed", "--models", "linear", "-q"])
    run_cli(["run", inputs(tmp_path / "lower"), "--out", tmp_path / "plain", "-q"])
    mixed = pl.read_parquet(tmp_path / "mixed" / "channel_summary.parquet")
    plain = pl.read_parquet(tmp_path / "plain" / "channel_summary.parquet")
    assert mixed.equals(plain.filter(pl.col("model") == "linear"))
    (data / "Touchpoints").mkdir()
    (data / "TOUCHPOINTS.CSV").rename(data / "Touchpoints" / "part-1.csv")
    run_cli(["run", data, "--out", tmp_path / "folder", "--models", "linear", "-q"])
    assert pl.read_parquet(tmp_path / "folder" / "channel_summary.parquet").equals(mixed)
    (data / "costs.txt").write_text("ask finance for the Q3 numbers\n")
    run_cli(["run", data, "--out", tmp_path / "note", "--models", "linear", "-q"])
    (data / "Touchpoints" / "part-1.csv").rename(data / "touchpoints.txt")
    (data / "Touchpoints").rmdir()
    result = run_cli(["run", data, "--out", tmp_path / "txt", "-q"], exit_code=2)
    text = " ".join(result.output.split())
    assert "no touchpoints input found" in text
    assert (
        "hint: touchpoints.txt is not read (.txt): if it holds comma-separated rows, rename it"
        " touchpoints.csv; else put a touchpoints.csv" in text
    )


def test_every_missing_required_column_of_a_file_is_named_at_once(tmp_path):
    """A touches export with ``user_id, event_time`` failed on customer_id, then (mapped)
    on ts: one run per column. The message names both and the hint maps both."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    _write(data, "touchpoints", "user_id,event_time,channel", ["c1,2025-01-01,Email"])
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    text = " ".join(result.output.split())
    assert "required columns 'customer_id', 'ts' are missing" in text
    # a line each, under its table's header: the block pastes into channels.toml as it is
    assert (
        '    [columns.touchpoints]\n      customer_id = "user_id"\n      ts = "event_time"\n'
    ) in result.output
    assert "(columns found: user_id, event_time, channel)" in text
    (data / "channels.toml").write_text('[columns.touchpoints]\ncustomer_id = "user"\n')
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert "required columns 'user' (mapped to customer_id), 'ts' are missing" in text


def test_a_mapping_from_a_missing_column_to_one_the_file_has_says_remove_it(tmp_path):
    """[columns.deals] amount = "amt" over a file with its own 'amount': the hint said to
    map amount = "amount"; it says to remove the mapping."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    _write(data, "touchpoints", "customer_id,ts,channel", ["c1,2025-01-01,Email"])
    (data / "channels.toml").write_text('[columns.deals]\namount = "amt"\n')
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert "required column 'amt' (mapped to amount) is missing" in text
    assert (
        "hint: remove [columns.deals] amount = \"amt\" (the file has 'amount' itself) "
        "(columns found: "
    ) in text
    # with another missing column: each gets its own advice
    (data / "deals.csv").write_text((data / "deals.csv").read_text().replace("status", "state"))
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert (
        "remove [columns.deals] amount = \"amt\" (the file has 'amount' itself); "
        'map it in the config: [columns.deals] status = "state" (columns found:'
    ) in text


def test_an_unknown_stage_reason_gives_a_line_that_is_valid_toml(tmp_path):
    """The reason's [stages] line: an empty stage read '"(empty)" = "lead"' (no such name),
    and a name holding a quote gave a line TOML refuses."""
    import tomllib

    data = _good(tmp_path / "in")
    _write(
        data, "stages", "customer_id,stage,ts", ['c1,"Said ""hi""",2025-01-01', "c1,,2025-01-01"]
    )
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--models", "linear"])
    reasons = pl.read_parquet(tmp_path / "out" / "quarantine" / "stages.parquet")["reason"]
    quoted, empty = reasons.to_list()
    assert quoted.startswith('stage Said "hi" is not a known stage (map it in [stages], e.g. ')
    line = quoted.split("[stages], e.g. ")[1].split("; the stages")[0]
    assert tomllib.loads(line) == {'Said "hi"': "lead"}
    assert "stage is empty" in empty
    assert "map it" not in empty


def test_every_table_missing_columns_is_named_in_one_error(tmp_path):
    """Touches without ts and deals without amount: the touches' error came alone, and the
    deals' only on the next run. The first error's hint names the others."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD.replace(",amount", ""), ["d1,c1,2025-01-02,2025-01-05,won"])
    _write(data, "touchpoints", "customer_id,when,channel", ["c1,2025-01-01,Email"])
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert f"file {data / 'touchpoints.csv'}, column 'ts': required column 'ts' is missing" in text
    assert f"; also {data / 'deals.csv'}: required column 'amount' is missing" in text
    # with its own hint: the deals' mapping came only on the next run
    assert 'is missing: map it in the config: [columns.deals] amount = "<your column>"' in text
    from attrib.api import load_inputs
    from attrib.errors import SchemaError

    with pytest.raises(SchemaError, match=r"also .*deals\.csv: required column 'amount'"):
        load_inputs(data)


def test_an_error_given_its_file_after_it_was_raised_says_it():
    """``load_inputs`` names the file of a header-only table's error after it was raised;
    ``str(error)`` kept the text it was made with (pytest's ``match`` saw no file)."""
    from attrib.errors import SchemaError

    err = SchemaError("required column 'ts' is missing", column="ts")
    err.file = "touchpoints.csv"
    err.hint = "map it"
    assert str(err) == (
        "file touchpoints.csv, column 'ts': required column 'ts' is missing\n  hint: map it"
    )


@pytest.mark.parametrize("buckets", [None, 2])
def test_a_csv_file_whose_lines_end_in_a_carriage_return_alone_is_read_whole(
    tmp_path: Path, buckets: int | None
) -> None:
    """Lines ended by "\\r" alone (classic Mac OS exports): Polars read the header and no
    row, so every touch was dropped without a word (the deals all went to (none)). Read as
    lines, its row 2 (no time) is quarantined as row 2, and c1's Email takes d1's 100."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    rows = [TOUCH_HEAD, TOUCH_OK[0], "c3,,Email", TOUCH_OK[1]]
    (data / "touchpoints.csv").write_bytes(("\r".join(rows) + "\r").encode())
    args = ["run", data, "--out", tmp_path / "out", "--models", "linear", "-q"]
    run_cli([*args, "--buckets", str(buckets)] if buckets else args)
    summary = pl.read_parquet(tmp_path / "out" / "channel_summary.parquet")
    revenue = dict(summary.select("channel", "revenue").iter_rows())
    assert revenue["Email"] == 100.0
    quarantine = pl.read_parquet(tmp_path / "out" / "quarantine" / "touchpoints.parquet")
    assert quarantine["row"].to_list() == [2]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["row_counts"]["touchpoints_read"] == 3


def test_validate_checks_the_models_tables_as_a_run_does(tmp_path):
    """``attrib validate`` passed a config whose [models.markov] a run then refused (a
    misspelt parameter): a pre-flight check in CI said all was well."""
    data = _export(tmp_path / "in", "touchpoints", "c3,2025-01-01 00:00:00,Email")
    (data / "channels.toml").write_text("[models.markov]\ncolapse_repeats = false\n")
    said = []
    for command in (["validate", data], ["run", data, "--out", tmp_path / "out"]):
        text = " ".join(run_cli(command, exit_code=2).output.split())
        assert "unknown parameter(s) ['colapse_repeats'] for model 'markov'" in text
        said.append(text[text.index("Config error") :])
    assert said[0] == said[1]


def test_stage_names_in_the_plural_read_as_their_stage_and_a_rejection_guesses_by_words(
    tmp_path,
):
    """CRM reports head stages in the plural ("Sales Qualified Leads", "Proposals"): each
    reads as its stage, as the README says; a name of no stage is rejected with the
    [stages] line its words suggest ("Marketing Qualified Prospect" is an mql, not a lead)."""
    data = _good(tmp_path / "in")
    names = {
        "New Leads": "lead",
        "Marketing Qualified Leads": "mql",
        "Sales Qualified Leads": "sql",
        "Sales Opportunities": "opportunity",
        "Proposals": "offer",
        "Quotes": "offer",
        "Customers": "customer",
    }
    rows = [f"c{i},{name},2025-01-01" for i, name in enumerate(names)]
    rows += ["c9,Marketing Qualified Prospect,2025-01-01", "c9,Signed Contract,2025-01-02"]
    _write(data, "stages", "customer_id,stage,ts", rows)
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", "--models", "first_touch"])
    rejected = pl.read_parquet(out / "quarantine" / "stages.parquet")
    assert rejected.get_column("row").to_list() == [len(names) + 1, len(names) + 2]
    reasons = rejected.get_column("reason").to_list()
    assert '"Marketing Qualified Prospect" = "mql"' in reasons[0]
    assert '"Signed Contract" = "offer"' in reasons[1]  # "contract" before "signed"
    funnel = pl.read_parquet(out / "funnel.parquet").filter(
        (pl.col("view") == "cohort") & (pl.col("period") == "all") & (pl.col("channel") == "(all)")
    )
    counts = dict(funnel.select("stage", "count").rows())
    for stage in set(names.values()):
        assert counts[stage] >= 1, stage


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        # an amount column with its currency: not 'account_id', which deals read as itself
        (
            "deal_id,customer_id,account_id,created_at,closed_at,status,Amount (USD)",
            {"amount": "Amount (USD)"},
        ),
        # a HubSpot export: the close date too, or every won deal is rejected after the fix
        (
            "deal_id,customer_id,Create Date,Close Date,Deal Stage,Amount",
            {
                "created_at": "Create Date",
                "status": "Deal Stage",
                "amount": "Amount",
                "closed_at": "Close Date",
            },
        ),
    ],
)
def test_a_missing_column_hint_maps_what_the_file_surely_has(tmp_path, head, expected):
    """The hint's [columns] lines, written as given, make a config the run reads every deal
    with: no wrong column ('account_id' for amount), no column left out (closed_at)."""
    data = tmp_path / "in"
    row = {
        "deal_id": "d1",
        "customer_id": "c1",
        "account_id": "a1",
        "created_at": "2025-01-02",
        "Create Date": "2025-01-02",
        "closed_at": "2025-01-05",
        "Close Date": "2025-01-05",
        "status": "won",
        "Deal Stage": "won",
        "Amount (USD)": "10",
        "Amount": "10",
    }
    _write(data, "deals", head, [",".join(row[c] for c in head.split(","))])
    _write(data, "touchpoints", "customer_id,ts,channel", ["c1,2025-01-01,Email"])
    err = run_cli(["validate", data], exit_code=2).output
    mapped = hint_config(err.split("hint: ", 1)[1])["columns"]["deals"]
    assert mapped == expected
    lines = "".join(f'{k} = "{v}"\n' for k, v in mapped.items())
    (data / "channels.toml").write_text(f"[columns.deals]\n{lines}")
    run_cli(["run", data, "--out", tmp_path / "out", "-q", "--models", "first_touch"])
    assert not (tmp_path / "out" / "quarantine").exists()


def test_a_misspelt_optional_column_is_told_with_the_missing_ones(tmp_path):
    """'Campaign' (not read: the column is campaign) stopped validation before the same
    file's missing customer_id and the deals' missing amount were named: one per try."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD.replace("amount", "Total"), DEAL_OK)
    _write(data, "touchpoints", "customer_id,ts,channel,Campaign", ["c1,2025-01-01,Email,x"])
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert "column 'Campaign' is not read: the column is named 'campaign'" in text
    assert "required column 'amount' is missing" in text
    # missing columns of the same file: the hint maps the misspelt one with them
    _write(data, "touchpoints", "user,ts,channel,Campaign", ["c1,2025-01-01,Email,x"])
    result = run_cli(["validate", data], exit_code=2)
    touch_hint = result.output.split("hint: ", 1)[1].split("; also", 1)[0]
    assert hint_config(touch_hint)["columns"]["touchpoints"]["campaign"] == "Campaign"
    assert "required column 'amount' is missing" in " ".join(result.output.split())


def test_a_missing_column_error_maps_the_channel_too(tmp_path):
    """Touches lacking required columns and any channel column: the first error's config
    block mapped the required ones only, and the run after pasting it stopped again."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    _write(data, "touchpoints", "id,day,lp_id,origin", ["c1,2025-01-01,lp1,paid_search"])
    for command in (["run", data, "--out", tmp_path / "out"], ["validate", data]):
        text = run_cli(command, exit_code=2).output
        assert "required columns 'customer_id', 'ts', 'channel' are missing" in text
        assert '\n      channel = "origin"\n' in text  # Olist's MQL origin, surely the channel
        assert "or, for the channel, write [[rules]] over source/medium" in " ".join(text.split())
    # source/medium name the channel too (through [[rules]]): no channel asked for
    _write(data, "touchpoints", "id,day,source,medium", ["c1,2025-01-01,google,cpc"])
    text = run_cli(["validate", data], exit_code=2).output
    assert "required columns 'customer_id', 'ts' are missing" in text
    assert "channel =" not in text


@pytest.mark.parametrize("engine", [[], ["--buckets", "2"]], ids=["in-memory", "bucketed"])
def test_a_rejected_row_names_the_column_as_the_file_does(tmp_path, engine):
    """Olist's empty origins were quarantined at "column 'channel'", a column the file has
    not: the column is named as the file names it."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    _write(data, "touchpoints", "id,day,origin", ["c1,2025-01-01,paid", "c2,2025-01-02,"])
    (data / "channels.toml").write_text(
        '[columns.touchpoints]\ncustomer_id = "id"\nts = "day"\nchannel = "origin"\n'
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "-q", *engine])
    q = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")
    reason = (
        "channel is empty (to keep such touches, map 'origin' as source instead and write"
        " [[rules]] over it: a touch no rule matches is (unassigned))"
    )
    assert q.select("row", "column", "reason").rows() == [(2, "origin", reason)]
    text = " ".join(run_cli(["validate", data]).output.split())
    assert f"touchpoints.csv row 2 column 'origin': {reason}" in text
    # as it says: origin as source, a rule for 'paid'; the empty one is (unassigned)
    (data / "channels.toml").write_text(
        '[columns.touchpoints]\ncustomer_id = "id"\nts = "day"\nsource = "origin"\n'
        '[[rules]]\nchannel = "Paid"\nsource = "^paid$"\n'
    )
    run_cli(["run", data, "--out", out, "-q", "--strict", "--models", "linear", *engine])
    journeys = pl.read_parquet(out / "journeys.parquet").sort("entity_id")
    assert journeys["path"].to_list() == ["Paid", "(unassigned)"]


def test_touches_without_a_channel_column_are_offered_the_one_they_have(tmp_path):
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    _write(data, "touchpoints", "customer_id,ts,Channel Name", ["c1,2025-01-01,Email"])
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert 'map it: [columns.touchpoints] channel = "Channel Name"' in text
    _write(data, "touchpoints", "customer_id,ts,kind", ["c1,2025-01-01,Email"])
    text = " ".join(run_cli(["validate", data], exit_code=2).output.split())
    assert '[columns.touchpoints] channel = "<your column>"' in text
    assert "(columns found: customer_id, ts, kind)" in text


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ('[constants.deals]\namount = "x"\n', "[constants.deals] amount = 'x': amount x is not a"),
        ("[constants.deals]\nstatus = 5\n", "[constants.deals] status = 5: status 5 is a code"),
        (
            '[constants.touchpoints]\nts = "2025-13-01"\n',
            "[constants.touchpoints] ts = '2025-13-01': ts 2025-13-01 is not a timestamp",
        ),
    ],
)
def test_a_constant_its_column_refuses_is_a_config_error(tmp_path, section, said):
    """A [constants] value its column refuses rejected every row of the table (exit 0), each
    reason naming a column of the export; the value to fix is in the config."""
    data = tmp_path / "in"
    _write(data, "deals", DEAL_HEAD, DEAL_OK)
    _write(data, "touchpoints", "customer_id,ts,channel", ["c1,2025-01-01,Email"])
    (data / "channels.toml").write_text(section)
    for command in (["validate", data], ["run", data, "--out", tmp_path / "out", "-q"]):
        text = " ".join(run_cli(command, exit_code=2).output.split())
        assert f"Config error: file {data / 'channels.toml'}: {said}" in text
        assert "every row of the table gets this value" in text
    assert not (tmp_path / "out").exists()
