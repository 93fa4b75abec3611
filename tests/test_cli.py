"""The ``attrib`` command line: commands, readers, config mapping, channel rules, adapters.

Expected credit is worked out by hand in the comments; CliRunner runs the click app
in-process (``run_cli`` also asserts that no traceback is printed).
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from conftest import RULE_BASED, assert_credit, deals, run_cli, touches, write_inputs

# Two customers: c1 Email Jan 1, Social Jan 3 -> d1 won 100 (created Jan 2, closed Jan 5);
# c2 Webinar Jan 2 -> d2 open 50 (created Jan 4).
# first_touch: revenue Email 100, pipeline Webinar 50. linear: revenue Email 50, Social 50.
TOUCHES = pl.DataFrame(
    {
        "customer_id": ["c1", "c1", "c2"],
        "ts": [datetime(2025, 1, 1), datetime(2025, 1, 3), datetime(2025, 1, 2)],
        "channel": ["Email", "Social", "Webinar"],
    }
)
DEALS = pl.DataFrame(
    {
        "deal_id": ["d1", "d2"],
        "customer_id": ["c1", "c2"],
        "created_at": [datetime(2025, 1, 2), datetime(2025, 1, 4)],
        "closed_at": [datetime(2025, 1, 5), None],
        "status": ["won", "open"],
        "amount": [100.0, 50.0],
    }
)
EXPECTED = {
    ("first_touch", "revenue"): {"Email": 100},
    ("first_touch", "pipeline"): {"Webinar": 50},
    ("linear", "revenue"): {"Email": 50, "Social": 50},
    ("linear", "pipeline"): {"Webinar": 50},
}


def _summary_credit(out: Path, model: str, metric: str) -> dict[str, float]:
    cs = pl.read_parquet(out / "channel_summary.parquet").filter(pl.col("model") == model)
    return {c: v for c, v in zip(cs["channel"], cs[metric], strict=True) if v != 0}


def _check_expected(out: Path) -> None:
    for (model, metric), expected in EXPECTED.items():
        assert_credit(_summary_credit(out, model, metric), expected)


def _write(df: pl.DataFrame, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        df.write_parquet(path)
    elif path.suffix == ".ndjson":
        df.with_columns(pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S")).write_ndjson(path)
    else:
        df.write_csv(path)
    return path


# --- readers ---------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".ndjson"])
def test_reader_formats(tmp_path, suffix):
    data = tmp_path / "in"
    _write(TOUCHES, data / f"touchpoints{suffix}")
    _write(DEALS, data / f"deals{suffix}")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch,linear", "-q"])
    _check_expected(out)
    assert not list(out.rglob("*.tmp"))


def test_reader_folder_and_glob(tmp_path):
    # touchpoints as a folder of two files of different formats; deals via a glob
    data = tmp_path / "in"
    _write(TOUCHES.head(2), data / "touchpoints" / "a.csv")
    _write(TOUCHES.tail(1), data / "touchpoints" / "b.parquet")
    _write(DEALS.head(1), tmp_path / "crm" / "deals-1.csv")
    _write(DEALS.tail(1), tmp_path / "crm" / "deals-2.csv")
    (tmp_path / "crm" / "notes.txt").write_text("not data")
    out = tmp_path / "out"
    run_cli(
        [
            "run",
            "--touchpoints",
            data / "touchpoints",
            "--deals",
            str(tmp_path / "crm" / "deals-*.csv"),
            "--out",
            out,
            "--models",
            "first_touch,linear",
            "-q",
        ]
    )
    _check_expected(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["row_counts"]["touchpoints_read"] == 3
    assert manifest["row_counts"]["deals_read"] == 2


def test_glob_matching_nothing_exits_2(tmp_path):
    _write(TOUCHES, tmp_path / "t.csv")
    result = run_cli(
        ["run", "--touchpoints", tmp_path / "t.csv", "--deals", str(tmp_path / "none-*.csv")],
        exit_code=2,
    )
    assert "none-*.csv" in result.output


def test_unsupported_and_corrupt_files_exit_2(tmp_path):
    _write(TOUCHES, tmp_path / "in" / "touchpoints.csv")
    (tmp_path / "in" / "deals.parquet").write_bytes(b"PAR1 this is not parquet")
    result = run_cli(["run", tmp_path / "in", "--out", tmp_path / "out"], exit_code=2)
    assert "deals.parquet" in result.output


# --- config: [columns], [constants], [[rules]], channel flags --------------------------------
def test_columns_mapping_and_constants(tmp_path):
    data = tmp_path / "in"
    _write(
        TOUCHES.rename({"customer_id": "user_id", "ts": "event_time", "channel": "utm_channel"}),
        data / "touchpoints.csv",
    )
    # a won-deals export: one date for both created and closed, no status column
    deals = pl.DataFrame(
        {
            "id": ["d1", "d2"],
            "user_id": ["c1", "c2"],
            "won_date": ["2025-01-05"] * 2,
            "value": [100, 30],
        }
    )
    _write(deals, data / "deals.csv")
    (data / "channels.toml").write_text(
        "[columns.touchpoints]\n"
        'customer_id = "user_id"\nts = "event_time"\nchannel = "utm_channel"\n'
        "[columns.deals]\n"
        'deal_id = "id"\ncustomer_id = "user_id"\ncreated_at = "won_date"\n'
        'closed_at = "won_date"\namount = "value"\n'
        '[constants.deals]\nstatus = "won"\n'
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch,last_touch", "-q"])
    # d1 (c1, Jan 5): Email Jan 1, Social Jan 3; d2 (c2, Jan 5): Webinar Jan 2
    assert_credit(_summary_credit(out, "first_touch", "revenue"), {"Email": 100, "Webinar": 30})
    assert_credit(_summary_credit(out, "last_touch", "revenue"), {"Social": 100, "Webinar": 30})
    assert_credit(_summary_credit(out, "last_touch", "conversions"), {"Social": 1, "Webinar": 1})


def test_channel_rules_from_source_medium(tmp_path):
    # ordered rules, case-insensitive regex search, all given patterns must match:
    #   google/CPC -> Paid Search; LinkedIn/paid_social -> Paid Social (rule 2 before rule 3);
    #   facebook/organic -> Organic Social (rule 2's medium fails); newsletter/email -> Email;
    #   bing/display -> (unassigned). One won deal of 100 -> linear 20 each.
    data = tmp_path / "in"
    rows = [
        ("2025-01-01", "google", "CPC"),
        ("2025-01-02", "LinkedIn", "paid_social"),
        ("2025-01-03", "facebook", "organic"),
        ("2025-01-04", "newsletter", "email"),
        ("2025-01-05", "bing", "display"),
    ]
    (data).mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,source,medium\n" + "".join(f"c1,{t},{s},{m}\n" for t, s, m in rows)
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-01,2025-01-06,won,100\n"
    )
    (data / "channels.toml").write_text(
        '[[rules]]\nchannel = "Paid Search"\nmedium = "^(cpc|ppc)$"\n'
        '[[rules]]\nchannel = "Paid Social"\nsource = "linkedin|facebook"\nmedium = "^paid"\n'
        '[[rules]]\nchannel = "Organic Social"\nsource = "linkedin|facebook"\n'
        '[[rules]]\nchannel = "Email"\nmedium = "^email$"\n'
        '[channels."Paid Social"]\nmarketing = false\n'
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "linear,last_touch", "-q"])
    names = ("Paid Search", "Paid Social", "Organic Social", "Email", "(unassigned)")
    assert_credit(_summary_credit(out, "linear", "revenue"), dict.fromkeys(names, 20.0))
    assert_credit(_summary_credit(out, "last_touch", "revenue"), {"(unassigned)": 100})
    cs = pl.read_parquet(out / "channel_summary.parquet").filter(pl.col("model") == "linear")
    flags = dict(zip(cs["channel"], cs["is_marketing"], strict=True))
    assert flags["Paid Social"] is False
    # traffic no rule classified is no evidence of marketing (unless [channels] says so)
    assert flags["(unassigned)"] is False
    assert flags["Email"] is True
    assert flags["Paid Search"] is True
    j = pl.read_parquet(out / "journeys.parquet")
    assert j["path"].to_list() == [" > ".join(names)]


def test_channel_rule_patterns_are_rust_regex_syntax(tmp_path):
    # the patterns run in Polars (Rust's regex crate): \p{L} (a letter, any script), which
    # Python's re refuses, is a valid pattern; "Événement" is all letters, "Q3-2025" is not
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,source,campaign\nc1,2025-01-01,web,Événement\nc1,2025-01-02,web,Q3-2025\n",
        encoding="utf-8",
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-01,2025-01-06,won,100\n"
    )
    (data / "channels.toml").write_text(
        '[[rules]]\nchannel = "Events"\ncampaign = "^\\\\p{L}+$"\n', encoding="utf-8"
    )
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch,last_touch", "-q"])
    assert_credit(_summary_credit(out, "first_touch", "revenue"), {"Events": 100})
    assert_credit(_summary_credit(out, "last_touch", "revenue"), {"(unassigned)": 100})


# --- commands --------------------------------------------------------------------------------
def test_models_lists_every_rule_based_model():
    result = run_cli(["models"])
    listed = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert listed[: len(RULE_BASED)] == list(RULE_BASED)
    assert "[half_life_days = 7.0]" in result.output


def test_explain_gives_defaults_as_the_config_writes_them(tmp_path):
    """``collapse_repeats = True`` and ``max_set_size = None`` (Python's spelling) pasted into
    channels.toml were refused as TOML: every line of a parameter with a default pastes
    into its [models.NAME] table and the run reads it back as that default."""
    import tomllib

    from attrib.models import model_class, model_names

    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    tables = []
    for name in model_names():
        lines = run_cli(["explain", name]).output.split("[models." + name + "]):")[-1]
        params = {p.name: p.default for p in model_class(name).params_doc}
        pasted = []
        for line in lines.strip().splitlines() if params else []:
            given, _, _ = line.strip().partition("    ")
            key = given.split(" = ")[0]
            if params[key] is None:
                assert given == f"{key} = (not set)"
                continue
            assert tomllib.loads(given) == {key: params[key]}
            pasted.append(given)
        tables.append(f"[models.{name}]\n" + "\n".join(pasted))
    (data / "channels.toml").write_text("\n".join(tables) + "\n")
    run_cli(["validate", data])


@pytest.mark.parametrize("key", ["max_set_size", "max_exact_channels", "n_samples"])
def test_a_true_is_no_count_of_a_shapley_parameter(tmp_path, key):
    """``max_set_size = true`` was read as 1 (a bool is an int to Python): every journey
    capped at one channel, and nothing said."""
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    (data / "channels.toml").write_text(f"[models.shapley]\n{key} = true\n")
    result = run_cli(["validate", data], exit_code=2)
    assert f"{key} must be a whole number" in result.output


def test_explain_time_decay():
    result = run_cli(["explain", "time_decay"])
    assert "Time decay (time_decay)" in result.output
    assert "2^(−Δt/half_life)" in result.output
    assert "half_life_days = 7.0" in result.output
    assert "[models.time_decay]" in result.output


def test_explain_unknown_model_exits_2():
    result = run_cli(["explain", "nope"], exit_code=2)
    assert "unknown model 'nope'" in result.output
    assert "first_touch" in result.output  # the choices are listed


@pytest.mark.parametrize(("given", "meant"), [("linea", "linear"), ("LINEAR", "linear")])
def test_explain_a_misspelt_model_suggests_one(given, meant):
    # `attrib run --models linea` said "did you mean 'linear'?"; `attrib explain linea` did not
    result = run_cli(["explain", given], exit_code=2)
    assert f"did you mean {meant!r}?" in result.output


@pytest.mark.parametrize("model", RULE_BASED)
def test_explain_every_model(model):
    result = run_cli(["explain", model])
    assert f"({model})" in result.output
    assert "Definition:" in result.output


def test_run_format_json(tmp_path):
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    result = run_cli(
        ["run", data, "--out", tmp_path / "out", "--format", "json", "--models", "linear"]
    )
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    rows = {r["channel"]: r for r in payload["channel_summary"]}
    assert rows["Email"]["revenue"] == 50
    assert rows["Webinar"]["pipeline"] == 50
    assert payload["rejected"] == {"touchpoints": 0, "deals": 0}
    assert "report" not in payload
    # with --report the page's path (it said nothing of the page)
    args = ["run", data, "--out", tmp_path / "r", "--format", "json", "--models", "linear"]
    payload = json.loads(run_cli([*args, "--report"]).stdout)
    assert payload["report"] == str(tmp_path / "r" / "report.html")


def test_run_format_json_error(tmp_path):
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    result = run_cli(
        ["run", data, "--out", tmp_path / "out", "--format", "json", "--models", "nope"],
        exit_code=2,
    )
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["exit_code"] == 2
    assert "nope" in payload["message"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["run", "--format", "json", "--lookback-days", "-1"], "'--lookback-days'"),
        (["validate", "--format=json", "--nope"], "No such option '--nope'"),
        (["plan", "--format", "json", "--target-revenue", "lots"], "'--target-revenue'"),
        # an option given last without its value: click's error has no context to name
        (["run", "--format", "json", "--models"], "'--models' requires an argument"),
    ],
    ids=["bad-value", "unknown-option", "plan-bad-value", "missing-value"],
)
def test_click_usage_errors_answer_in_json_when_asked(args, words):
    """An option click itself refuses (a range, a type, an unknown name) gave its plain-text
    usage error even with --format json: a script parsing stdout got nothing."""
    result = run_cli(args, exit_code=2)
    payload = json.loads(result.stdout)
    assert payload["ok"] is False
    assert payload["error"] == "UsageError"
    assert payload["exit_code"] == 2
    assert words in payload["message"]
    assert payload["hint"].endswith(f" {args[0]} --help'")  # (in-process the app is "cli")
    assert "Error:" in result.stderr  # click's own text stays on stderr
    assert not run_cli(["run", "--lookback-days", "-1"], exit_code=2).stdout  # no JSON unasked
    # generate's --format is its files' (csv, parquet): no JSON document there
    assert not run_cli(["generate", "never-written", "--format", "json"], exit_code=2).stdout


def test_run_table_output_and_touch_credits(tmp_path):
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    out = tmp_path / "out"
    result = run_cli(["run", data, "--out", out, "--models", "linear", "--touch-credits"])
    assert "Email" in result.stdout
    tc = pl.read_parquet(out / "touch_credits.parquet")
    # linear: d1's two touches 1/2 each, revenue 50 each; d2's one touch: pipeline 50
    by = {(r["channel"], r["journey_id"]): r for r in tc.iter_rows(named=True)}
    assert sorted(tc["weight"].to_list()) == [0.5, 0.5, 1.0]
    assert {k[0]: v["revenue"] for k, v in by.items()} == {
        "Email": 50.0,
        "Social": 50.0,
        "Webinar": 0.0,
    }
    assert {k[0]: v["pipeline"] for k, v in by.items()}["Webinar"] == 50.0
    manifest = json.loads((out / "manifest.json").read_text())
    assert "touch_credits.parquet" in manifest["outputs"]
    assert manifest["row_counts"]["touch_credits"] == 3


def test_run_on_shipped_sample(tmp_path):
    out = tmp_path / "out"
    run_cli(["run", "--out", out, "--models", "first_touch", "-q"])
    cs = pl.read_parquet(out / "channel_summary.parquet")
    assert cs.height > 5
    assert cs["revenue"].sum() > 0


def test_event_log_adapter(tmp_path):
    # u1: Email Jan 1, Social Jan 2, Social Jan 3 converting (10) -> journey Email, Social, Social
    #     (the conversion row is a touch too). u2: Display Jan 1 converting (5), Email Jan 5
    #     (non-converting tail). first_touch: Email 10, Display 5; last_touch: Social 10,
    #     Display 5; linear: Email 10/3, Social 20/3, Display 5.
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,2025-01-01 00:00:00,Email,0,\n"
        "u1,2025-01-02 00:00:00,Social,0,\n"
        "u1,2025-01-03 00:00:00,Social,1,10\n"
        "u2,2025-01-01 00:00:00,Display,1,5\n"
        "u2,2025-01-05 00:00:00,Email,0,\n"
    )
    out = tmp_path / "out"
    run_cli(
        ["run", "--event-log", log, "--out", out, "--models", "first_touch,last_touch,linear", "-q"]
    )
    assert_credit(_summary_credit(out, "first_touch", "revenue"), {"Email": 10, "Display": 5})
    assert_credit(_summary_credit(out, "last_touch", "revenue"), {"Social": 10, "Display": 5})
    assert_credit(
        _summary_credit(out, "linear", "revenue"), {"Email": 10 / 3, "Social": 20 / 3, "Display": 5}
    )
    assert_credit(
        _summary_credit(out, "linear", "conversions"),
        {"Email": 1 / 3, "Social": 2 / 3, "Display": 1},
    )
    sources = json.loads((out / "manifest.json").read_text())["inputs"]
    assert sources["event_log"][0]["path"] == str(log)
    assert len(sources["event_log"][0]["sha256"]) == 64
    assert sources["touchpoints"] == [{"frame": "(touchpoints frame)", "rows": 5}]


def test_event_log_with_nested_columns(tmp_path):
    """A Parquet event log was cast to text whole: a column it does not read holding lists
    (GA4's event_params) or a role column holding lists, bytes or durations stopped the run
    with "Internal error: InvalidOperationError: cannot cast List type" (exit 5). Columns
    it does not read are ignored, as in the touchpoints; such a role column is an input
    error naming the log and the column (exit 2)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    log = tmp_path / "events.parquet"
    columns = {
        "cookie": pa.array(["u1", "u1"]),
        "time": pa.array(["2025-01-01 00:00:00", "2025-01-02 00:00:00"]),
        "channel": pa.array(["Email", "Social"]),
        "conversion": pa.array([0, 1]),
        "conversion_value": pa.array([None, 10.0]),
        "event_params": pa.array([[{"key": "a", "value": 1}]] * 2),
    }
    pq.write_table(pa.table(columns), log)
    out = tmp_path / "out"
    run_cli(["run", "--event-log", log, "--out", out, "--models", "first_touch", "-q"])
    assert_credit(_summary_credit(out, "first_touch", "revenue"), {"Email": 10})
    columns["cookie"] = pa.array([["u1"], ["u1"]])
    pq.write_table(pa.table(columns), log)
    result = run_cli(["run", "--event-log", log, "--out", tmp_path / "out2", "-q"], exit_code=2)
    text = " ".join(result.output.split())
    assert f"file {log}, column 'cookie'" in text
    assert "not single values" in text


def test_help_imports_no_heavy_library():
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from cli.main import cli\n"
        "for args in (['--help'], ['run', '--help'], ['validate', '--help']):\n"
        "    r = CliRunner().invoke(cli, args)\n"
        "    assert r.exit_code == 0, r.output\n"
        "    assert 'Usage' in r.output\n"
        "heavy = ('numba', 'statsmodels', 'pyspark', 'scipy', 'polars')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""


def test_event_log_numeric_conversion_flags(tmp_path):
    # exports written through pandas often carry the flag as a float ("1.0"/"0.0"); a flag
    # that is a positive number counts as a conversion. u1: Email, Social converting (7):
    # first_touch Email 7, last_touch Social 7.
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,2025-01-01 00:00:00,Email,0.0,\n"
        "u1,2025-01-02 00:00:00,Social,1.0,7\n"
    )
    out = tmp_path / "out"
    run_cli(["run", "--event-log", log, "--out", out, "--models", "first_touch,last_touch", "-q"])
    assert_credit(_summary_credit(out, "first_touch", "revenue"), {"Email": 7})
    assert_credit(_summary_credit(out, "last_touch", "conversions"), {"Social": 1})


def test_event_log_float_cookies_and_blank_values(tmp_path):
    """A Parquet log with float cookies made deal ids "1.0#1"; a blank value (" ") was
    rejected as "amount   is not a number", though an empty value means 0."""
    log = tmp_path / "events.parquet"
    pl.DataFrame(
        {
            "cookie": [1.0, 1.0, 2.0],
            "time": ["2025-01-01 10:00:00", "2025-01-02 10:00:00", "2025-01-03 10:00:00"],
            "channel": ["Email", "Social", "Email"],
            "conversion": [0, 1, 1],
            "conversion_value": ["", " ", "12"],
        }
    ).write_parquet(log)
    out = tmp_path / "out"
    run_cli(["run", "--event-log", log, "--out", out, "--models", "first_touch", "-q"])
    journeys = pl.read_parquet(out / "journeys.parquet").sort("deal_id")
    assert journeys.select("deal_id", "amount").rows() == [("1#1", 0.0), ("2#1", 12.0)]
    assert not (out / "quarantine").exists()


def test_event_log_without_a_column_names_the_file_and_the_role(tmp_path):
    log = tmp_path / "events.csv"
    log.write_text("cookie,time,source,conversion\nu1,2025-01-01 00:00:00,Email,0\n")
    result = run_cli(["run", "--event-log", log, "--out", tmp_path / "out"], exit_code=2)
    text = " ".join(result.output.split())
    assert "event log has no column 'channel' (its channel column)" in text
    assert str(log) in text
    assert "columns found: cookie, time, source, conversion" in text
    assert '[event_log] channel = "source"' in text  # the config line that maps it


def test_an_event_log_without_several_columns_names_them_all_at_once(tmp_path):
    """time, channel and conversion all missing: one came per try, each after the fix of
    the one before. The hint's [event_log] block maps each (a close name where one is)."""
    from conftest import hint_config

    log = tmp_path / "events.csv"
    log.write_text("cookie,timestamp,utm_source,converted\nu1,2025-01-01,a,1\n")
    result = run_cli(["validate", "--event-log", log], exit_code=2)
    text = " ".join(result.output.split())
    assert (
        "event log has no columns 'time' (its ts column), 'channel' (its channel column),"
        " 'conversion' (its conversion column)"
    ) in text
    block = result.output.split("hint: ", 1)[1]
    mapped = hint_config(
        block.replace("name the log's own columns in the config:", "map them in the config:")
    )
    assert mapped == {
        "event_log": {"time": "timestamp", "channel": "utm_source", "conversion": "converted"}
    }
    assert "event_log_tables(path, ts=..., channel=..., conversion=...)" in text
    # Mixpanel's names, which no close spelling finds: guessed from the exports' own
    log.write_text("distinct_id,time,mp_source,conversion,revenue\nu1,2025-01-01,a,1,5\n")
    result = run_cli(["validate", "--event-log", log], exit_code=2)
    block = result.output.split("hint: ", 1)[1].replace(
        "name the log's own columns in the config:", "map them in the config:"
    )
    assert hint_config(block) == {
        "event_log": {
            "cookie": "distinct_id",
            "channel": "your_column",
            "conversion_value": "revenue",
        }
    }  # (the value's line too: its column missing, the next run said every conversion was 0)
    assert "event_log_tables(path, customer=..., channel=..., value=...)" in " ".join(
        result.output.split()
    )


def test_an_event_log_names_its_own_columns_in_the_config(tmp_path):
    """A Mixpanel or Amplitude log names its columns its own way (distinct_id, utm_source,
    revenue): ``--event-log`` read only cookie/time/channel/conversion/conversion_value,
    and the config's [columns] tables do not apply to it. ``[event_log]`` names them, for
    run and validate alike; a misspelt role is refused."""
    log = tmp_path / "events.csv"
    log.write_text(
        "distinct_id,event_time,utm_source,is_purchase,revenue\n"
        "u1,2025-01-01 10:00,google,0,\nu1,2025-01-02 10:00,email,1,50\n"
    )
    config = tmp_path / "channels.toml"
    config.write_text(
        '[event_log]\ncookie = "distinct_id"\ntime = "event_time"\nchannel = "utm_source"\n'
        'conversion = "is_purchase"\nconversion_value = "revenue"\n'
    )
    out = tmp_path / "out"
    args = ["--event-log", log, "--config", config]
    run_cli(["run", *args, "--out", out, "--models", "linear", "-q"])
    summary = pl.read_parquet(out / "channel_summary.parquet")
    assert summary.select("channel", "revenue").sort("channel").rows() == [
        ("email", 25.0),
        ("google", 25.0),
    ]
    report = json.loads(run_cli(["validate", *args, "--format", "json"]).stdout)
    assert report["tables"]["touchpoints"]["rows"] == 2
    config.write_text('[event_log]\ncookies = "distinct_id"\n')
    result = run_cli(["run", *args, "--out", tmp_path / "bad"], exit_code=2)
    assert "unknown [event_log] key(s) ['cookies']" in result.output


def test_summary_order_and_manifest(tmp_path):
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "linear,first_touch", "-q"])
    cs = pl.read_parquet(out / "channel_summary.parquet")
    # models in the order requested, then channels by name; (none) only when it holds credit
    assert cs.select("model", "channel").rows() == [
        ("linear", "Email"),
        ("linear", "Social"),
        ("linear", "Webinar"),
        ("first_touch", "Email"),
        ("first_touch", "Social"),
        ("first_touch", "Webinar"),
    ]
    camp = pl.read_parquet(out / "campaign_summary.parquet")
    assert camp.filter(pl.col("model") == "first_touch")["channel"].to_list() == [
        "Email",
        "Webinar",
    ]  # campaign rows only where there is credit (Social has none under first touch)
    manifest = json.loads((out / "manifest.json").read_text())
    import hashlib

    for table in ("touchpoints", "deals"):
        (entry,) = manifest["inputs"][table]
        raw = (data / f"{table}.csv").read_bytes()
        assert entry["sha256"] == hashlib.sha256(raw).hexdigest()
        assert entry["bytes"] == len(raw)
    assert manifest["row_counts"]["touchpoints_read"] == 3
    assert manifest["row_counts"]["journeys"] == 2
    assert manifest["rejected"] == {"touchpoints": 0, "deals": 0}
    assert [m["name"] for m in manifest["models"]] == ["linear", "first_touch"]
    assert manifest["config"]["lookback_days"] == 365
    assert "polars" in manifest["versions"]
    assert "channel_summary.parquet" in manifest["outputs"]


def test_validate_format_json(tmp_path):
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    result = run_cli(["validate", data, "--format", "json"])
    payload = json.loads(result.stdout)
    assert payload["ok"] is True
    nothing = {"reasons": [], "examples": []}
    assert payload["tables"]["touchpoints"] == {"rows": 3, "rejected": 0, **nothing}
    assert payload["tables"]["deals"] == {"rows": 2, "rejected": 0, **nothing}
    # rejected rows: why, as the text form says it (the JSON gave only the count)
    _write(DEALS.with_columns(pl.Series("amount", [-1.0, -2.0])), data / "deals.csv")
    _write(
        TOUCHES.with_columns(pl.Series("channel", ["Email", None, "Webinar"])),
        data / "touchpoints.csv",
    )
    tables = json.loads(run_cli(["validate", data, "--format", "json"]).stdout)["tables"]
    assert tables["deals"]["rejected"] == 2
    assert tables["deals"]["reasons"] == [
        {"column": "amount", "rows": 2, "first_reason": "amount -1.0 is negative"}
    ]
    assert [(e["row"], e["column"]) for e in tables["deals"]["examples"]] == [
        (1, "amount"),
        (2, "amount"),
    ]
    assert tables["deals"]["examples"][0]["file"].endswith("deals.csv")
    assert tables["touchpoints"]["reasons"][0]["column"] == "channel"


def test_validate_strict_json_failure_is_one_document(tmp_path):
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS.with_columns(pl.lit(-1.0).alias("amount")), data / "deals.csv")
    result = run_cli(["validate", data, "--format", "json", "--strict"], exit_code=1)
    payload = json.loads(result.stdout)  # one JSON document, not two
    assert payload["ok"] is False
    assert "2 row(s) rejected" in payload["message"]
    # with the per-table report a CI job reads to see what failed (it was left out)
    deals = payload["tables"]["deals"]
    assert (deals["rows"], deals["rejected"]) == (2, 2)
    assert deals["reasons"] == [
        {"column": "amount", "rows": 2, "first_reason": "amount -1.0 is negative"}
    ]
    assert payload["tables"]["touchpoints"]["rejected"] == 0
    assert payload["warnings"] == []
    args = ["run", data, "--out", tmp_path / "out", "--format", "json", "--strict"]
    payload = json.loads(run_cli(args, exit_code=1).stdout)
    assert payload["rejected"] == {"touchpoints": 0, "deals": 2}
    assert payload["rows_read"] == {"touchpoints": 3, "deals": 2}


def test_strict_failure_reads_checks_failed(tmp_path):
    """Its label is words, not the class name ("ChecksFailed error:")."""
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS.with_columns(pl.lit(-1.0).alias("amount")), data / "deals.csv")
    result = run_cli(["validate", data, "--strict"], exit_code=1)
    assert "Checks failed: 2 row(s) rejected and strict is on" in result.output
    assert "ChecksFailed" not in result.output


def test_a_strict_failure_says_the_folders_tables_are_an_earlier_runs(tmp_path):
    """A strict failure writes the quarantine only: the earlier run's tables beside it stay,
    and the error says so (they read like this run's results)."""
    data, out = tmp_path / "in", tmp_path / "out"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    run_cli(["run", data, "--out", out, "--models", "linear", "-q"])
    summary = (out / "channel_summary.parquet").read_bytes()
    _write(DEALS.with_columns(pl.lit(-1.0).alias("amount")), data / "deals.csv")
    result = run_cli(["run", data, "--out", out, "--strict", "-q"], exit_code=1)
    text = " ".join(result.output.split())
    assert f"the tables beside it in {out} are an earlier run's, left as they were" in text
    assert (out / "channel_summary.parquet").read_bytes() == summary
    assert (out / "quarantine" / "deals.parquet").is_file()
    fresh = run_cli(["run", data, "--out", tmp_path / "new", "--strict", "-q"], exit_code=1)
    assert "earlier run" not in fresh.output


def test_an_output_folder_given_as_the_data_folder_says_so(tmp_path):
    """`attrib run out/` (the --out folder of an earlier run) said only that no touchpoints
    input was found."""
    data, out = tmp_path / "in", tmp_path / "out"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    run_cli(["run", data, "--out", out, "--models", "linear", "-q"])
    result = run_cli(["run", out, "--out", tmp_path / "again", "-q"], exit_code=2)
    text = " ".join(result.output.split())
    assert "no touchpoints input found" in text
    assert "holds the outputs of `attrib run` (manifest.json), not its inputs" in text


@pytest.mark.parametrize("command", ["run", "validate", "plan"])
def test_a_file_given_as_the_data_folder_says_how_to_name_a_table(tmp_path, command):
    deals = tmp_path / "deals.csv"
    _write(DEALS, deals)
    extra = ["--target-revenue", "1000"] if command == "plan" else []
    result = run_cli([command, deals, *extra], exit_code=2)
    text = " ".join(result.output.split())
    assert "is a file, not a data folder" in text
    assert "--touchpoints FILE, --deals FILE" in text


@pytest.mark.parametrize("command", ["run", "validate", "plan"])
def test_an_unquoted_glob_is_named_as_the_cause(tmp_path, command):
    """`--touchpoints logs/2026-*.parquet` unquoted: the shell gives the option the first
    file and DATA_DIR the second, which was told only that it is no data folder."""
    logs = tmp_path / "logs"
    logs.mkdir()
    for month in ("01", "02", "03"):
        _write(TOUCHES, logs / f"2026-{month}.csv")
    deals = tmp_path / "deals.csv"
    _write(DEALS, deals)
    expanded = [str(logs / f"2026-{m}.csv") for m in ("01", "02", "03")]
    extra = ["--target-revenue", "1000"] if command == "plan" else []
    result = run_cli([command, "--deals", deals, "--touchpoints", *expanded, *extra], exit_code=2)
    text = " ".join(result.output.split())
    assert "was a glob after --touchpoints left unquoted?" in text
    assert f"quote it: --touchpoints '{logs}/*.csv'" in text


def test_commands_say_when_they_use_the_sample(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for args in (["validate"], ["plan", "--target-revenue", "1e6"]):
        result = run_cli(args)
        assert "no DATA_DIR given: using the shipped sample data" in result.output
    # quiet or JSON, a job that lost its DATA_DIR says it is on the sample (on stderr: the
    # JSON document on stdout stays one document)
    for args in (
        ["run", "-q", "--models", "linear", "--out", tmp_path / "q"],
        ["run", "--format", "json", "--models", "linear", "--out", tmp_path / "j"],
        ["validate", "--format", "json"],
        ["plan", "--target-revenue", "1e6", "--format", "json", "--out", tmp_path / "p"],
    ):
        result = run_cli(args)
        assert "warning: no DATA_DIR given: using the shipped sample data" in result.stderr
        if "json" in args:
            json.loads(result.stdout)
    named = run_cli(
        ["plan", "--target-revenue", "1e6", "--deals", tmp_path / "none.csv"], exit_code=2
    )
    assert "shipped sample" not in named.output
    # a table of the user's own is not mixed into the sample's touches and deals (costs
    # alone used to run on the sample with these costs): the run asks for touches instead
    costs = tmp_path / "costs.csv"
    costs.write_text("date,channel,spend\n2025-01-01,Email,10\n")
    for command in (["validate"], ["run", "-q"], ["plan", "--target-revenue", "1e6"]):
        alone = run_cli([*command, "--costs", costs], exit_code=2)
        assert "shipped sample" not in alone.output
        assert "no touchpoints input found" in alone.output


def test_cli_lookback_level_and_default_out(tmp_path, monkeypatch):
    # c1's Email (Jan 1) is 4 days before d1's close (Jan 5): --lookback-days 3 cuts it, so
    # first touch goes to Social (Jan 3). At --level account c2 (same account A) adds its
    # Webinar (Jan 2) to d1's journey: last touch Social, first touch Email.
    data = tmp_path / "in"
    _write(TOUCHES.with_columns(pl.lit("A").alias("account_id")), data / "touchpoints.csv")
    _write(DEALS.head(1), data / "deals.csv")
    monkeypatch.chdir(tmp_path)
    run_cli(["run", data, "--models", "first_touch,linear", "--lookback-days", "3", "-q"])
    assert_credit(
        _summary_credit(tmp_path / "attrib-out", "first_touch", "revenue"), {"Social": 100}
    )
    run_cli(["run", data, "--out", "acct", "--models", "linear", "--level", "account", "-q"])
    assert_credit(
        _summary_credit(tmp_path / "acct", "linear", "revenue"),
        {"Email": 100 / 3, "Webinar": 100 / 3, "Social": 100 / 3},
    )


def test_two_files_for_one_table_exit_2(tmp_path):
    data = tmp_path / "in"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(TOUCHES, data / "touchpoints.parquet")
    _write(DEALS, data / "deals.csv")
    result = run_cli(["run", data, "--out", tmp_path / "out"], exit_code=2)
    assert "touchpoints.csv" in result.output
    assert "touchpoints.parquet" in result.output


def test_touch_credits_add_up_to_the_channel_summary(tmp_path):
    # on the shipped sample: Σ touch credit by model x channel = the summary (zero-touch deals
    # have no touch rows; their value is the summary's "(none)" row)
    out = tmp_path / "out"
    run_cli(["run", "--out", out, "--models", ",".join(RULE_BASED), "--touch-credits", "-q"])
    tc = pl.read_parquet(out / "touch_credits.parquet")
    cs = pl.read_parquet(out / "channel_summary.parquet").filter(pl.col("channel") != "(none)")
    sums = tc.group_by("model", "channel").agg(
        pl.col("revenue", "pipeline", "pipeline_created", "conversions").sum()
    )
    joined = cs.join(sums, on=["model", "channel"], how="left", suffix="_tc").fill_null(0.0)
    for metric in ("revenue", "pipeline", "pipeline_created", "conversions"):
        diff = (joined[metric] - joined[f"{metric}_tc"]).abs().max()
        assert diff <= 1e-6 * max(1.0, joined[metric].abs().max()), metric
    # weights of each (model, journey) sum to 1
    w = tc.group_by("model", "journey_id").agg(pl.col("weight").sum())
    assert (w["weight"] - 1.0).abs().max() < 1e-9


def test_reader_gzipped_csv(tmp_path):
    import gzip

    data = tmp_path / "in"
    data.mkdir()
    buf = TOUCHES.write_csv().encode()
    (data / "touchpoints.csv.gz").write_bytes(gzip.compress(buf))
    _write(DEALS, data / "deals.csv")
    out = tmp_path / "out"
    run_cli(["run", data, "--out", out, "--models", "first_touch,linear", "-q"])
    _check_expected(out)


def test_run_gives_the_gc_back_to_the_calling_process(tmp_path, monkeypatch):
    """The cyclic GC is off only while a command runs: a caller's process (a notebook, this
    test) still collects its own garbage afterwards, also when the run fails, and keeps the
    objects it froze itself frozen."""
    import gc

    import attrib.run

    seen = []
    job = attrib.run.run
    monkeypatch.setattr(
        attrib.run, "run", lambda *a, **k: seen.append(gc.isenabled()) or job(*a, **k)
    )

    class Cycle:
        def __init__(self) -> None:
            self.me = self

    import weakref

    garbage = Cycle()
    alive = weakref.ref(garbage)
    del garbage  # unreachable, but only the cyclic GC can free it
    run_cli(["run", "--out", tmp_path / "out", "--models", "linear", "-q"])
    run_cli(["run", tmp_path / "missing", "--out", tmp_path / "bad", "-q"], exit_code=2)
    assert seen == [False, False]  # paused during both jobs
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert alive() is None
    gc.freeze()  # a caller's frozen objects are its own
    try:
        run_cli(["models"])
        assert gc.get_freeze_count() > 0  # (a frozen object freed meanwhile leaves the count)
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_background_fingerprints_match_and_raise(tmp_path):
    from attrib.outputs import fingerprint, fingerprints_in_background

    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text("x\n1\n")
    b.write_bytes(b"\x00" * 3_000_000)  # several read blocks
    got = fingerprints_in_background({"t": [str(a), str(b)]}).result(timeout=30)
    assert got == {"t": [fingerprint(a), fingerprint(b)]}
    with pytest.raises(FileNotFoundError):
        fingerprints_in_background({"t": [str(tmp_path / "gone.csv")]}).result(timeout=30)


def test_summary_table_keeps_long_channel_names_on_one_line(tmp_path):
    """A wrapped channel name would read as two channels (one of them without numbers)."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,channel\n"
        "c1,2025-01-01,Partner Referral Programme EMEA\n"
        "c1,2025-01-02,Email\n"
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-03,2025-01-04,won,10\n"
    )
    models = "first_touch,last_touch,last_non_direct,linear,time_decay,position_based,w_shaped"
    result = run_cli(["run", data, "--out", tmp_path / "out", "--models", models])
    assert "Partner Referral Programme EMEA" in result.output


def test_only_an_in_memory_run_in_its_own_process_tunes_the_allocator(tmp_path, monkeypatch):
    """``cli._malloc`` changes process-wide state: the console script's runs may do it (the
    malloc settings in memory only), a caller's process (CliRunner, a notebook) may not."""
    import cli.run_cmd
    from cli._options import OWN_PROCESS

    calls = []
    monkeypatch.setattr(cli.run_cmd, "keep_freed_memory", lambda: calls.append("malloc") or True)
    monkeypatch.setattr(cli.run_cmd, "small_pages_for_numpy", lambda: calls.append("pages") or True)
    own = {"obj": {OWN_PROCESS: True}}
    run_cli(["run", "--out", tmp_path / "a", "--models", "linear", "-q"])
    assert calls == []
    run_cli(["run", "--out", tmp_path / "b", "--models", "linear", "--buckets", "2", "-q"], **own)
    assert calls == ["pages"]  # small pages cost no memory: every engine
    calls.clear()
    run_cli(["run", "--out", tmp_path / "c", "--models", "linear", "-q"], **own)
    assert calls == ["pages", "malloc"]


def test_a_ctrl_c_while_the_cli_imports_exits_130_without_a_traceback():
    """The console script imports the click app inside its entry point: a Ctrl-C in those
    first ~50 ms reads "interrupted" and exits 130, as one during the command."""
    probe = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'cli.main':\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from cli import main\n"
        "sys.argv = ['attrib', 'models']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 130
    assert done.stderr == "interrupted\n"


def _console_script_last_lines(probe: str, tmp_path: Path) -> list[str]:
    """Run ``probe`` (a script ending in ``main()``) for a command that succeeds and one
    that fails on its input; check their exit codes and return their last lines of output."""
    lines = []
    for args, code in ((["models"], 0), (["run", str(tmp_path / "missing")], 2)):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
        lines.append(done.stdout.strip().splitlines()[-1])
    return lines


def test_console_script_ends_its_process_without_a_final_collection(tmp_path):
    """``main`` freezes the process's objects on the way out (the interpreter's shutdown
    would scan them all, ~0.7 s), whatever the command's exit code; atexit handlers run."""
    probe = (
        "import atexit, gc, sys\n"
        "from cli.main import main\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count() > 0))\n"
        "sys.argv = ['attrib', *sys.argv[1:]]\n"
        "main()\n"
    )
    assert _console_script_last_lines(probe, tmp_path) == ["frozen True"] * 2


def test_console_script_waits_for_its_background_threads_before_it_exits(tmp_path):
    """``main`` joins the threads started in the background (numba's set-up) on every way out,
    before it freezes: an error can end a command while the set-up still imports numba, and
    an interpreter torn down under it dies now and then (SIGSEGV/SIGABRT, not the exit code)."""
    probe = (
        "import gc, sys, time\n"
        "from attrib._threads import in_background\n"
        "from cli.main import main\n"
        "done = []\n"
        "in_background(lambda: time.sleep(1.5) or done.append(1), name='slow-set-up')\n"
        "freeze = gc.freeze\n"
        "gc.freeze = lambda: print('done at the freeze', bool(done)) or freeze()\n"
        "sys.argv = ['attrib', *sys.argv[1:]]\n"
        "main()\n"
    )
    assert _console_script_last_lines(probe, tmp_path) == ["done at the freeze True"] * 2


def test_python_dash_m_attrib_is_the_attrib_command(tmp_path):
    """``python -m attrib`` where the console script is not on PATH: same commands, same
    exit codes, no traceback."""
    outputs = []
    for args, code in ((["models"], 0), (["run", str(tmp_path / "missing")], 2)):
        done = subprocess.run(
            [sys.executable, "-m", "attrib", *args], capture_output=True, text=True, check=False
        )
        assert done.returncode == code, done.stderr
        assert "Traceback" not in done.stderr
        outputs.append(done.stdout + done.stderr)
    assert "first_touch" in outputs[0]
    assert "missing" in outputs[1]


def test_table_cells_show_counts_as_whole_numbers():
    from cli._output import _fmt

    assert [_fmt(v) for v in (93.0, 0.0, 77.0, 3.456, 12.5, 1888435.7, None)] == [
        "93",
        "0",
        "77",
        "3.46",
        "12.50",
        "1,888,436",
        "—",
    ]
    assert _fmt(float("nan")) == "nan"


@pytest.mark.parametrize(("debug", "traceback_shown"), [(None, False), ("0", False), ("1", True)])
def test_an_internal_bug_exits_5_with_a_traceback_only_when_asked(
    monkeypatch, capsys, tmp_path, debug, traceback_shown
):
    """The traceback is on stderr with ATTRIB_DEBUG=1, and always in a file the message names
    (a rare error may not come back when rerun)."""
    import tempfile

    from cli._errors import handle_errors

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    if debug is None:
        monkeypatch.delenv("ATTRIB_DEBUG", raising=False)
    else:
        monkeypatch.setenv("ATTRIB_DEBUG", debug)
    with pytest.raises(SystemExit) as exited, handle_errors():
        raise ZeroDivisionError("a bug")
    assert exited.value.code == 5
    err = capsys.readouterr().err
    assert "Internal error: ZeroDivisionError: a bug" in err
    assert ("Traceback" in err) is traceback_shown
    (saved,) = tmp_path.glob("attrib-internal-error-*.txt")
    assert f"(the traceback is in {saved})" in " ".join(err.split())
    assert 'raise ZeroDivisionError("a bug")' in saved.read_text()


def test_a_polars_panic_is_an_internal_error_not_a_traceback(monkeypatch, capsys, tmp_path):
    """A panic inside Polars (pyo3's PanicException, a BaseException, not an Exception: an
    out-of-range Parquet timestamp cast to text) went past the handler: a Python traceback
    on stderr and exit 1, the code of --strict's failed checks. It is an internal error."""
    import tempfile

    from polars.exceptions import PanicException

    from cli._errors import handle_errors

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("ATTRIB_DEBUG", raising=False)
    with pytest.raises(SystemExit) as exited, handle_errors():
        raise PanicException("invalid or out-of-range datetime")
    assert exited.value.code == 5
    err = capsys.readouterr().err
    assert "Internal error: PanicException: invalid or out-of-range datetime" in err
    assert "Traceback" not in err


def test_an_internal_bug_with_format_json_is_one_json_error_document(tmp_path, monkeypatch):
    """``--format json``: an internal error (exit 5) is an ``{"ok": false, ...}`` document
    on stdout like every other error, with the text mode's message and ATTRIB_DEBUG hint."""
    import tempfile

    import attrib.run

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.delenv("ATTRIB_DEBUG", raising=False)
    monkeypatch.setattr(attrib.run, "run", bug)
    result = run_cli(["run", "--out", tmp_path / "out", "--format", "json", "-q"], exit_code=5)
    payload = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert payload == {
        "ok": False,
        "error": "InternalError",
        "message": "ZeroDivisionError: a bug",
        "file": None,
        "row": None,
        "column": None,
        "hint": "this is a bug in attrib; rerun with ATTRIB_DEBUG=1 for the traceback and "
        f"report it (the traceback is in {next(tmp_path.glob('attrib-internal-error-*'))})",
        "exit_code": 5,
    }
    assert "Internal error: ZeroDivisionError: a bug" in result.stderr
    assert "ATTRIB_DEBUG=1" in result.stderr


def test_a_win_rate_without_lost_deals_says_so(tmp_path):
    """An event log's deals are all won: 'Win rate 100.0%' read as a fact about the business
    (its conversion rate was 22%). The headline says there was no lost deal to rate against."""
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,2025-01-01 00:00:00,Email,1,5\nu2,2025-01-01 00:00:00,Email,0,\n"
    )
    text = " ".join(run_cli(["run", "--event-log", log, "--out", tmp_path / "o"]).output.split())
    assert "Win rate │ 100.0% (no lost deal)" in text
    sample = " ".join(
        run_cli(["run", "--out", tmp_path / "s", "--models", "linear"]).output.split()
    )
    assert "Win rate │" in sample
    assert "no lost deal" not in sample  # the sample has lost deals


def test_the_summary_names_the_kpis_window(tmp_path):
    out = tmp_path / "out"
    whole = run_cli(["run", "--out", out, "--models", "linear"])
    assert "headline KPIs (whole run)" in whole.output
    window = run_cli(["run", "--out", out, "--models", "linear", "--from", "2025-03-01"])
    assert "headline KPIs (2025-03-01 to data end)" in window.output
    # the open pipeline is a snapshot at the window's end, not the channel table's pipeline
    # (open deals created in the window): labelled as the report labels it
    assert "Open pipeline (period end)" in window.output
    # small numbers make a narrow table: its title wrapped over two lines
    small = write_inputs(
        tmp_path / "small",
        touches=touches([("c1", "2025-04-02", "Email")]),
        deals=deals(
            [
                ("d1", "c1", "2025-04-03", "2025-04-09", "won", 10.0),
                ("d2", "c1", "2025-04-13", "2025-04-19", "lost", 10.0),
            ]
        ),
    )
    both = ["--from", "2025-04-01", "--to", "2025-05-31"]
    closed = run_cli(["run", small, "--out", out, "--models", "linear", *both])
    assert "headline KPIs (2025-04-01 to 2025-05-31)" in closed.output  # on one line
    assert "revenue by channel and model" in closed.output


@pytest.mark.parametrize(
    "args",
    [
        ["models"],
        ["run", "--out", "{tmp}/out", "--models", "linear"],  # rich's summary table
        ["plan", "--target-revenue", "1e6", "--out", "{tmp}/plan"],  # rich's plan table
        ["run", "--help"],  # click's own output
        ["--version"],
    ],
)
def test_a_closed_output_pipe_ends_quietly(tmp_path, args):
    """``attrib models | head -1``: the reader is gone before attrib writes; exit 141, no bug
    report (nor rich's exit 1 from a table, nor click's from the help: 1 is --strict's)."""
    argv = [a.format(tmp=tmp_path) for a in args]
    code = "import sys; from cli.main import main; sys.argv = ['attrib', *sys.argv[1:]]; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    proc.stdout.close()  # long before the child has imported anything
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Internal error" not in err
    assert "Traceback" not in err


def test_tables_into_a_closed_pipe_raise_broken_pipe():
    """The CLI's rich consoles leave a closed pipe to ``handle_errors`` (exit 141): rich's own
    ``on_broken_pipe`` exits 1, the code of --strict's rejections."""
    from cli._output import console

    class ClosedPipe:
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

        def flush(self) -> None:
            raise BrokenPipeError(32, "Broken pipe")

    with pytest.raises(BrokenPipeError):
        console(file=ClosedPipe()).print("a table")


def test_event_log_says_what_it_reads_otherwise_than_written(tmp_path):
    """A flag that is neither true nor false was read as no conversion, a count of 2 as one
    conversion, a value on a non-converting row dropped, and a log without its value column
    worth 0: all without a word. Each is now a warning naming the file, rows and column."""
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,2025-01-01 00:00:00,Email,0,5\n"
        "u1,2025-01-02 00:00:00,Social,1,10\n"
        "u2,2025-01-01 00:00:00,Email,purchase,7\n"
        "u3,2025-01-01 00:00:00,Email,2,8\n"
    )
    out = tmp_path / "out"
    result = run_cli(["run", "--event-log", log, "--out", out, "--models", "last_touch"])
    text = " ".join(result.output.split())
    assert f"{log} row 3 ('purchase')" in text
    assert "read as no conversion" in text
    assert "have a conversion above 1, each read as one conversion" in text
    assert f"{log} row 4 ('2')" in text
    assert "not conversions carry a conversion_value, which is not counted" in text
    assert f"{log} row 1 ('5'), row 3 ('7')" in text
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    assert len(warnings) == 3

    plain = tmp_path / "plain.csv"
    plain.write_text("cookie,time,channel,conversion,revenue\nu1,2025-01-01 00:00:00,Email,1,5\n")
    result = run_cli(["run", "--event-log", plain, "--out", tmp_path / "o2"])
    text = " ".join(result.output.split())
    assert f"event log {plain} has no column 'conversion_value'" in text
    assert "every conversion is worth 0 (columns found: cookie, time, channel" in text
    # the log's revenue column guessed (it said to rename it)
    assert 'name it in the config: [event_log] conversion_value = "revenue")' in text


def test_an_event_log_conversion_without_a_channel_is_a_conversion_only(tmp_path):
    """u1: Email Jan 1, then a conversion row (10) with no channel, u2 a conversion row with
    GA's "(none)": both are conversions, not touches to reject (--strict exited 1 on them).
    u1's journey is Email; u2's deal is zero-touch. A non-converting row without a channel
    is still a rejected touch."""
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,2025-01-01 00:00:00,Email,0,\n"
        "u1,2025-01-03 00:00:00,,1,10\n"
        "u2,2025-01-03 00:00:00,(none),1,5\n"
    )
    out = tmp_path / "out"
    run_cli(["run", "--event-log", log, "--out", out, "--models", "first_touch", "--strict", "-q"])
    assert_credit(_summary_credit(out, "first_touch", "revenue"), {"Email": 10, "(none)": 5})
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["rejected"] == {"touchpoints": 0, "deals": 0}
    assert manifest["row_counts"]["touchpoints_read"] == 1  # the conversions are no touches
    # 1 of 2 conversions zero-touch: the log's own causes, not mismatched ids (one file)
    (warning,) = [w for w in manifest["warnings"] if "have no touch" in w]
    assert warning.startswith(
        "1 of 2 conversions (50%) have no touch in their window and are credited to (none):"
        " conversion rows without a channel"
    )
    assert "leading zeros" not in warning
    with log.open("a") as f:
        f.write("u3,2025-01-04 00:00:00,,0,\n")
    run_cli(["run", "--event-log", log, "--out", out, "--strict", "-q"], exit_code=1)


def test_validate_checks_an_event_log(tmp_path):
    """`attrib validate --event-log`: the log's rows checked as a run reads them, its
    warnings said; it took no event log (a user had to run the whole job to check one)."""
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,soon,Email,0,\n"
        "u1,2025-01-02 00:00:00,Social,purchase,\n"
        "u2,2025-01-01 00:00:00,Email,1,5\n"
    )
    result = run_cli(["validate", "--event-log", log, "--out", tmp_path / "q"])
    text = " ".join(result.output.split())
    assert "touchpoints 3 rows 1 rejected" in text
    assert f"{log} row 1 column 'ts'" in text
    assert "read as no conversion" in text  # the adapter's warning
    assert (tmp_path / "q" / "quarantine" / "touchpoints.parquet").is_file()
    payload = json.loads(run_cli(["validate", "--event-log", log, "--format", "json"]).stdout)
    assert payload["tables"]["deals"]["rows"] == 1
    assert any("purchase" in w for w in payload["warnings"])
    both = run_cli(["validate", "--event-log", log, "--deals", log], exit_code=2)
    assert "--event-log and --deals together" in both.output


@pytest.mark.parametrize("command", ["run", "validate"])
def test_an_event_log_sets_the_configs_touch_and_deal_mappings_aside(tmp_path, command):
    """[columns] does not apply to an event log (README): a shared config's
    ``campaign = "utm_campaign"`` named a column the adapter's touches lack, and the run
    stopped with a hint to map it; now set aside with a warning naming [event_log]."""
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,2025-01-01 00:00:00,Email,0,\nu1,2025-01-02 00:00:00,Social,1,10\n"
    )
    config = tmp_path / "channels.toml"
    config.write_text(
        '[columns.touchpoints]\ncampaign = "utm_campaign"\n[constants.deals]\nstatus = "lost"\n'
    )
    args = [command, "--event-log", log, "--config", config]
    args += ["--out", tmp_path / "out", "--models", "linear"] if command == "run" else []
    text = " ".join(run_cli(args).output.split())
    assert "[columns.touchpoints] and [constants.deals] of the config do not apply" in text
    if command == "run":  # the log's conversion is a won deal of 10 (no constant status)
        summary = pl.read_parquet(tmp_path / "out" / "channel_summary.parquet")
        assert summary.select("channel", "revenue").sort("channel").rows() == [
            ("Email", 5.0),
            ("Social", 5.0),
        ]


def test_an_event_log_counts_a_rejected_row_once(tmp_path):
    """A conversion row with a bad time is rejected as a touch and as a deal: a 3-row log
    said '4 input row(s) rejected (touchpoints: 3, deals: 1)'."""
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,soon,Email,0,\n"
        "u1,later,Email,0,\n"
        "u1,never,Social,1,10\n"
        "u2,2025-01-01 00:00:00,Email,1,5\n"
    )
    out = tmp_path / "out"
    text = " ".join(run_cli(["run", "--event-log", log, "--out", out]).output.split())
    assert "3 event log row(s) rejected (as touches: 3, as conversions: 1)" in text
    strict = run_cli(["run", "--event-log", log, "--out", out, "--strict"], exit_code=1)
    assert "3 event log row(s) rejected" in " ".join(strict.output.split())
    # `attrib validate --event-log --strict` counts them as the run does (it said 4)
    checked = run_cli(["validate", "--event-log", log, "--strict"], exit_code=1)
    said = " ".join(checked.output.split())
    assert "3 event log row(s) rejected (as touches: 3, as conversions: 1)" in said
    assert "4 row(s)" not in said


def test_a_repeated_conversion_row_is_flagged(tmp_path):
    """The same conversion twice (a tag that fired twice) was two won deals, revenue counted
    twice, without a word. Same cookie and time with another value is two purchases: no
    warning for those."""
    log = tmp_path / "events.csv"
    row = "u1,2025-01-02 10:00:00,Social,1,10\n"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        + row
        + "u2,2025-01-02 10:00:00,Email,1,5\n"
        + row
        + "u2,2025-01-02 10:00:00,Email,1,6\n"
    )
    out = tmp_path / "out"
    quiet = run_cli(["run", "--event-log", log, "--out", out, "-q"])
    assert quiet.stdout == ""  # -q: no summary, but the warnings on stderr and in the manifest
    assert "warning: 1 conversion row(s) repeat another's" in quiet.stderr
    warnings = json.loads((out / "manifest.json").read_text())["warnings"]
    repeats = [w for w in warnings if "repeat another's" in w]
    assert len(repeats) == 1
    assert repeats[0].startswith(
        "1 conversion row(s) repeat another's cookie, time, conversion_value exactly"
    )
    assert f"{log} row 3 ('2025-01-02 10:00:00')" in repeats[0]
    # (the repeat, and u2's second purchase at the same time, are zero-touch: said too)
    assert any("2 of 4 conversions (50%) have no touch" in w for w in warnings)


def test_a_clean_event_log_warns_nothing(tmp_path):
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,conversion,conversion_value\n"
        "u1,2025-01-01 00:00:00,Email,0,\n"
        "u1,2025-01-02 00:00:00,Social,true,10\n"
        "u2,2025-01-02 00:00:00,Social,no,0\n"
        "u3,2025-01-02 00:00:00,Social,0.0,\n"
    )
    out = tmp_path / "out"
    run_cli(["run", "--event-log", log, "--out", out, "--models", "last_touch", "-q"])
    assert json.loads((out / "manifest.json").read_text())["warnings"] == []


def test_running_out_of_memory_is_a_computation_error_not_a_bug(tmp_path):
    # `attrib generate big/ --customers 1000000000000` failed numpy's first allocation with
    # MemoryError: exit 5, "this is a bug in attrib"
    result = run_cli(
        ["generate", tmp_path / "big", "--customers", "1000000000000", "--months", "1"],
        exit_code=3,
    )
    assert "Computation error: out of memory: Unable to allocate" in result.output
    assert "fewer --customers" in " ".join(result.output.split())
    assert not (tmp_path / "big").exists()


def test_a_stage_that_fails_is_not_reported_done(tmp_path):
    """The progress line said "read and validate: done in 0.00s" above a config error."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text("customer_id,ts,channel\nc1,2025-01-01,Email\n")
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\nd1,c1,2025-01-05,2025-01-06,won,1\n"
    )
    (data / "channels.toml").write_text("[columns.touchpoints]\nchannel = 5\n")
    result = run_cli(["run", data, "--out", tmp_path / "out", "-v"], exit_code=2)
    assert "read and validate ..." in result.output
    assert "done in" not in result.output
    assert "channel must be a column name" in result.output


def test_a_stage_run_while_an_error_is_handled_is_reported_done():
    """A stage entered inside an ``except`` block (a fallback after a failure) that ends
    well was reported failed: the handled error, not the stage's own, was looked at."""
    from attrib.progress import Reporter

    ended: list[tuple[str, bool]] = []

    class Recorder(Reporter):
        def finished(self, name: str, seconds: float, *, failed: bool = False) -> None:
            ended.append((name, failed))

    rep = Recorder()
    try:
        raise KeyError("first try")
    except KeyError:
        with rep.stage("fallback"):
            pass
    with pytest.raises(ValueError, match="the stage's own"), rep.stage("broken"):
        raise ValueError("the stage's own")
    assert ended == [("fallback", False), ("broken", True)]


def test_spark_says_so_too_of_an_output_folder_given_as_the_data_folder(tmp_path):
    """The Spark engine finds its inputs on its own (``_locate``, no session needed): its
    "no touchpoints input found" named only where to put the file."""
    from attrib.engines._spark_read import _locate
    from attrib.errors import InputError

    data, out = tmp_path / "in", tmp_path / "out"
    _write(TOUCHES, data / "touchpoints.csv")
    _write(DEALS, data / "deals.csv")
    run_cli(["run", data, "--out", out, "--models", "linear", "-q"])
    with pytest.raises(InputError) as err:
        _locate(out, {})
    assert "holds the outputs of `attrib run` (manifest.json), not its inputs" in str(
        err.value.hint
    )
    assert "--touchpoints PATH (a file, folder, glob, URI or table:NAME)" in str(err.value.hint)


def test_headline_days_have_one_decimal_whatever_the_value(capsys):
    """Days to deal read '2' in one run and '14.74' in another: one decimal always."""
    from cli._output import print_kpis

    for value, shown in ((2.0, "2.0"), (14.74, "14.7"), (0.5, "0.5")):
        kpis = pl.DataFrame({"kpi": ["days_to_deal_median"], "period": ["all"], "value": [value]})
        print_kpis(kpis)
        line = next(ln for ln in capsys.readouterr().out.splitlines() if "Days to deal" in ln)
        assert line.split()[-2] == shown, line


def test_headline_days_to_deal_says_over_how_many_won_deals(capsys):
    """Days to deal over 85 of 4,238 won deals (the rest with no touch) read as all's."""
    from cli._output import print_kpis

    for measured, note in ((85.0, "165.0 (over 85 of 4,238 won deals)"), (4238.0, "165.0")):
        kpis = pl.DataFrame(
            {
                "kpi": ["won_deals", "days_to_deal_median", "days_to_deal_won_deals"],
                "period": ["all"] * 3,
                "value": [4238.0, 165.0, measured],
            }
        )
        print_kpis(kpis)
        line = next(ln for ln in capsys.readouterr().out.splitlines() if "Days to deal" in ln)
        assert line.strip("│ ").endswith(note), line
        assert "(over" not in line or measured < 4238


def test_spark_finds_a_table_folder_named_in_any_case(tmp_path):
    """``Touchpoints/`` with two parts: the Spark engine was handed the lower-case
    ``touchpoints`` path, which does not exist."""
    from attrib.engines._spark_read import _locate

    data = tmp_path / "in"
    _write(TOUCHES.head(2), data / "Touchpoints" / "a.csv")
    _write(TOUCHES.tail(2), data / "Touchpoints" / "b.csv")
    _write(DEALS, data / "DEALS.csv")
    found = _locate(data, {})
    assert found["touchpoints"] == str(data / "Touchpoints")
    assert found["deals"] == data / "DEALS.csv"


REPORT_IS_A_FOLDER = "the report's path is a folder"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["generate", "{file}"], "the output folder is a file"),
        (["generate", "{file}/sub"], "the output folder lies under {file}, which is a file"),
        (["report", "{run}", "-o", "{run}"], REPORT_IS_A_FOLDER),
        (["report", "{run}", "-o", "{file}/page.html"], "the output folder is a file"),
        (["plan", "--run", "{run}", "--target-revenue", "1e6", "-q", "--out", "{file}"], None),
    ],
)
def test_every_command_refuses_an_output_path_it_cannot_write_with_exit_4(tmp_path, args, message):
    """`generate FILE` and `report -o FOLDER` were click usage errors (exit 2), and `plan
    --out FILE` said "File exists" with a disk-space hint: every output path a command cannot
    write is an output error (exit 4) that says why, before any work."""
    run = tmp_path / "run"
    run_cli(["run", "--out", run, "--models", "linear", "-q"])
    file = tmp_path / "file"
    file.write_text("not a folder")
    given = [a.format(file=file, run=run) for a in args]
    result = run_cli(given, exit_code=4)
    text = " ".join(result.output.split())
    expected = (message or "the output folder is a file").format(file=file)
    assert f"Output error: file {file if message != REPORT_IS_A_FOLDER else run}" in text
    assert expected in text
    assert "Traceback" not in result.output
    assert file.read_text() == "not a folder"


def test_validate_strict_with_out_points_at_the_quarantine_it_wrote(tmp_path):
    """``validate --strict --out DIR`` hinted "write them with --out DIR" and "... N more
    (write them all with --out DIR)" though it had written them there."""
    data = tmp_path / "in"
    touches = pl.concat([TOUCHES] * 3).with_columns(pl.lit(None, pl.String).alias("customer_id"))
    _write(
        pl.concat([TOUCHES.cast({"ts": pl.String}), touches.cast({"ts": pl.String})]),
        data / "touchpoints.csv",
    )
    _write(DEALS, data / "deals.csv")
    out = tmp_path / "checked"
    text = " ".join(
        run_cli(["validate", data, "--strict", "--out", out], exit_code=1).output.split()
    )
    assert f"... 4 more (all in {out / 'quarantine'})" in text
    assert "with --out DIR" not in text
    result = run_cli(["validate", data, "--strict", "--out", out, "--format", "json"], exit_code=1)
    assert json.loads(result.stdout)["hint"].startswith(
        f"see each row's reason in {out / 'quarantine'}"
    )


def test_event_log_warnings_name_an_event_flag_with_its_article(tmp_path):
    """A flag column named ``event`` was "a event flag"; a (none) channel's quarantine reason
    pointed at [columns.touchpoints], which an event log sets aside."""
    log = tmp_path / "events.csv"
    log.write_text(
        "cookie,time,channel,event,amount\n"
        "u1,2025-01-01 00:00:00,Email,maybe,0\n"
        "u1,2025-01-01 12:00:00,(none),0,0\n"
        "u1,2025-01-02 00:00:00,Email,1,10\n"
    )
    (tmp_path / "channels.toml").write_text(
        '[event_log]\nconversion = "event"\nconversion_value = "amount"\n'
    )
    out = tmp_path / "out"
    args = ["run", "--event-log", log, "--config", tmp_path / "channels.toml", "--out", out]
    text = " ".join(run_cli([*args, "--models", "last_touch"]).output.split())
    assert "have an event flag that is neither true" in text
    reasons = pl.read_parquet(out / "quarantine" / "touchpoints.parquet")["reason"].to_list()
    assert any("[event_log] channel for an event log" in r for r in reasons)


_DEV_FULL = Path("/dev/full")


def _attrib(args: list[str], **streams: Any) -> subprocess.CompletedProcess[str]:
    """``python -m attrib ARGS`` in a process of its own, with the given stdout/stderr."""
    return subprocess.run(
        [sys.executable, "-m", "attrib", *map(str, args)], text=True, check=False, **streams
    )


@pytest.mark.skipif(not _DEV_FULL.exists(), reason="no /dev/full on this system")
def test_a_full_stdout_is_an_output_error_without_a_traceback():
    """``attrib models >/dev/full`` was an internal error (exit 5); ``--help`` a traceback
    (exit 1)."""
    for args in (["models"], ["--help"], ["explain", "linear"]):
        with _DEV_FULL.open("w") as full:
            done = _attrib(args, stdout=full, stderr=subprocess.PIPE)
        assert done.returncode == 4, (args, done.stderr)
        assert "cannot write the output: No space left on device" in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.skipif(not _DEV_FULL.exists(), reason="no /dev/full on this system")
def test_a_run_goes_on_when_stderr_takes_nothing(tmp_path):
    """Closed (``2>&-``), stderr made the run an internal error (exit 5); full, it stopped at
    the first progress line. Progress and warnings are lost; the outputs are written."""
    for name, stderr in (("closed", subprocess.DEVNULL), ("full", "full")):
        out = tmp_path / name
        args = ["run", "--out", out, "--models", "linear"]
        if stderr == "full":
            with _DEV_FULL.open("w") as full:
                done = _attrib(args, stdout=subprocess.DEVNULL, stderr=full)
        else:
            shell = 'exec "$0" -m attrib "$@" 2>&-'  # (stderr closed, as 2>&- does)
            done = subprocess.run(
                ["sh", "-c", shell, sys.executable, *map(str, args)],
                stdout=subprocess.DEVNULL,
                check=False,
            )
        assert done.returncode == 0, name
        assert (out / "manifest.json").is_file(), name


def test_a_json_error_keeps_its_code_and_message_when_stdout_is_gone(tmp_path):
    """``attrib run --models linaer --format json | true`` exited 141 with nothing on stderr;
    click's own error (``--lookback-days 0``) exited 1."""
    for args, words in (
        (["run", "--models", "linaer", "--format", "json"], "unknown model 'linaer'"),
        (["run", "--lookback-days", "0", "--format", "json"], "--lookback-days"),
    ):
        reader = subprocess.Popen(["true"], stdin=subprocess.PIPE)
        reader.wait()  # (gone before attrib writes: its stdout is a closed pipe)
        done = _attrib(args, stdout=reader.stdin, stderr=subprocess.PIPE)
        reader.stdin.close()
        assert done.returncode == 2, (args, done.stderr)
        assert words in done.stderr
        assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["run", ""],
        ["run", "--out", ""],
        ["run", "--touchpoints", ""],
        ["run", "--event-log", ""],
        ["validate", "--out", ""],
        ["generate", ""],
        ["report", ""],
        ["plan", "--run", "", "--target-revenue", "1e6"],
    ],
)
def test_an_empty_path_is_refused_not_read_as_the_current_folder(tmp_path, monkeypatch, args):
    """``--out "$OUT"`` with $OUT unset wrote a run's outputs into the current folder, and
    ``--touchpoints ""`` searched it for the table's files."""
    monkeypatch.chdir(tmp_path)
    result = run_cli(args, exit_code=2)
    assert "an empty path names no file" in result.output
    assert list(tmp_path.iterdir()) == []


def test_generate_names_its_folder_as_a_shell_pastes_it(tmp_path, monkeypatch):
    """``try: attrib run g ü x`` pasted as three arguments; one stage row read "1 rows"."""
    monkeypatch.chdir(tmp_path)
    result = run_cli(["generate", "g ü x", "--customers", "3", "--months", "1"])
    assert "try: attrib run 'g ü x'" in result.output
    assert " 1 rows" not in result.output


def test_help_shows_the_upper_bounds_the_code_enforces():
    """``--buckets`` showed [x>=1] and 5000 was refused; ``--customers`` hid its 10^12."""
    from attrib.engines.local import MAX_BUCKETS
    from attrib.synth.process import MAX_CUSTOMERS

    assert f"at most {MAX_BUCKETS:,}" in " ".join(run_cli(["run", "--help"]).output.split())
    assert MAX_CUSTOMERS == 10**12
    assert "at most 10^12" in " ".join(run_cli(["generate", "--help"]).output.split())
