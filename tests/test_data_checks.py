"""Warnings about data that is valid but probably not what the user meant: shown on the
terminal (not with -q) and kept in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
from conftest import deals, run_cli, touches, write_inputs

from attrib.data_checks import DealCounts, many_zero_touch, rejected_rows
from attrib.engines.local import run_bucketed

TOUCHES = touches([("c1", "2025-01-05", "Email", "jan"), ("c2", "2025-01-06", "Webinar", "w")])


def _run_data(data: Path, out: Path, *args: str) -> tuple[str, dict]:
    """``attrib run data --out out --models linear *args``: its output on one line and its
    manifest."""
    result = run_cli(["run", data, "--out", out, "--models", "linear", *args])
    return " ".join(result.output.split()), json.loads((out / "manifest.json").read_text())


def _run(tmp_path: Path, deal_rows, *args: str):
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(deal_rows))
    return _run_data(data, tmp_path / "out", *args)


def test_channels_written_two_ways_are_flagged(tmp_path):
    """'Display' and 'display ' (a second export's spelling) are two channels in every
    table: the warning names them; one spelling alone says nothing."""
    rows = [("c1", "2025-01-04", "Display"), ("c1", "2025-01-05", "display "), *TOUCHES.rows()]
    deal = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    data = write_inputs(tmp_path / "in", touches=touches(rows), deals=deals(deal))
    text, manifest = _run_data(data, tmp_path / "out")
    assert "1 channel(s) written more than one way (case or spaces)" in text
    assert "'Display' / 'display';" in text  # (validation strips the spaces)
    assert sum("written more than one way" in w for w in manifest["warnings"]) == 1
    text, manifest = _run(tmp_path / "one", [deal[0]])
    assert "more than one way" not in text


def test_deals_whose_ids_match_no_touch_are_flagged(tmp_path):
    text, manifest = _run(tmp_path, [("d1", "C-1", "2025-01-07", "2025-01-09", "won", 10.0)])
    assert "warning: none of the 1 deals' customers has a touch" in text
    assert len(manifest["warnings"]) == 1
    assert "same customer ids" in manifest["warnings"][0]
    assert manifest["row_counts"]["zero_touch_deals"] == 1


def test_many_deals_without_touches_are_flagged(tmp_path):
    """Ids that match only partly ('00123' vs '123') made some deals zero-touch silently:
    the warning came only when every deal had lost its touches. Here 1 of 2 (50%)."""
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    text, manifest = _run(
        tmp_path / "half", [*rows, ("d2", "00c2", "2025-01-07", "2025-01-09", "won", 5.0)]
    )
    assert "1 of 2 deals (50%) have no touch in their window" in text
    assert len(manifest["warnings"]) == 1
    # untracked deals are usually a few percent: a quarter or fewer is not flagged
    assert many_zero_touch(DealCounts(4, 3)) is None
    assert many_zero_touch(DealCounts(100, 74)) is not None


def test_many_deals_sharing_few_touches_are_not_blamed_on_ids(tmp_path):
    """Eight deals of one customer closed on eight days after its one touch: the first takes
    it, seven are zero-touch though the ids match (Maven's accounts: ~85 deals each). The
    warning said to check id formats; it now says where those touches went. A deal whose
    customer has no touch at all is still sent to the ids."""
    rows = [(f"d{i}", "c1", "2025-01-07", f"2025-01-{10 + i:02d}", "won", 1.0) for i in range(8)]
    text, _ = _run(tmp_path / "shared", rows)
    assert "7 of 8 deals (88%) have no touch in their window" in text
    assert "7 of them belong to customers that do have touches" in text
    assert "many deals per customer share few touches" in text
    assert "leading zeros" not in text
    stray = ("d9", "00c9", "2025-01-07", "2025-01-09", "won", 1.0)
    text, _ = _run(tmp_path / "stray", [*rows, stray])
    assert "8 of 9 deals (89%)" in text
    assert "7 of them belong to customers" in text
    assert "for the other 1, check that their customer ids" in text
    # at account level, accounts
    assert "belong to accounts that" in many_zero_touch(DealCounts(10, 2, None, 7), "account")
    # mostly unmatched ids: the id hint alone, as before
    assert "7 of them" not in many_zero_touch(DealCounts(10, 2, None, 3))
    assert "leading zeros" in many_zero_touch(DealCounts(10, 2, None, 3))


def test_a_window_without_deals_is_flagged(tmp_path):
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    text, manifest = _run(tmp_path, rows, "--from", "2030-01-01")
    assert "no deal was closed or created in the reporting window" in text
    assert len(manifest["warnings"]) == 1


def _window_inputs(folder: Path, in_window, earlier) -> Path:
    """Touched deals (one touch each, customer ``c<i>``) and zero-touch ones (customer
    ``X-<i>``, no touch) closed inside 2025 (``in_window``: (touched, zero-touch)) and in 2024
    (``earlier``), for a run with ``--from 2025-01-01``."""
    touch_rows, deal_rows = [], []
    for year, (touched, zero) in ((2025, in_window), (2024, earlier)):
        for i in range(touched):
            customer = f"c{year}-{i}"
            touch_rows.append((customer, f"{year}-03-01", "Email", "jan"))
            deal_rows.append(
                (f"d{year}-{i}", customer, f"{year}-03-02", f"{year}-03-05", "won", 1.0)
            )
        for i in range(zero):
            deal = (f"z{year}-{i}", f"X-{year}-{i}", f"{year}-03-02", f"{year}-03-05", "won", 1.0)
            deal_rows.append(deal)
    return write_inputs(folder, touches=touches(touch_rows), deals=deals(deal_rows))


def test_zero_touch_deals_are_counted_in_the_reporting_window(tmp_path):
    """With --from/--to only the window's deals are credited, (none) included: the warning
    counted every deal of the export, so zero-touch deals of earlier years (CRM history older
    than the tracking) raised it over a window whose deals all had touches, and a window of
    mostly zero-touch deals went unflagged beside many touched earlier ones."""
    window = ("--from", "2025-01-01", "--to", "2025-12-31")
    # 2024's deals predate the tracking (5 zero-touch), the window's have touches
    data = _window_inputs(tmp_path / "old", in_window=(2, 0), earlier=(0, 5))
    text, manifest = _run_data(data, tmp_path / "old-out", *window)
    assert "have no touch in their window" not in text
    assert manifest["row_counts"]["zero_touch_deals"] == 5
    assert manifest["row_counts"]["zero_touch_deals_in_window"] == 0
    text, manifest = _run_data(data, tmp_path / "old-all")  # no window: all 7 deals count
    assert "5 of 7 deals (71%) have no touch in their window" in text
    assert "zero_touch_deals_in_window" not in manifest["row_counts"]
    # the window's deals mostly zero-touch, beside ten touched ones in 2024 (2 of 13: 15%)
    data = _window_inputs(tmp_path / "new", in_window=(1, 2), earlier=(10, 0))
    text, manifest = _run_data(data, tmp_path / "new-out", *window)
    assert "2 of 3 deals in the reporting window (67%) have no touch in their window" in text
    assert "leading zeros" in text  # their customers have no touch anywhere
    assert manifest["row_counts"]["zero_touch_deals_in_window"] == 2
    bucketed = run_bucketed(
        data, buckets=3, models="linear", metrics={"period_from": "2025-01-01"}
    ).manifest
    assert any("2 of 3 deals in the reporting window" in w for w in bucketed["warnings"])


def test_zero_touch_deals_of_touched_customers_are_counted_in_the_window(tmp_path):
    """A zero-touch deal in the window whose customer's touches an earlier deal took (outside
    the window) is told apart from an id mismatch, counted in the window."""
    rows = [
        ("d1", "c1", "2024-12-01", "2024-12-02", "won", 1.0),  # takes c1's touch
        ("d2", "c1", "2025-02-01", "2025-02-02", "won", 1.0),
        ("d3", "c2", "2025-02-01", "2025-02-02", "won", 1.0),
    ]
    data = write_inputs(
        tmp_path / "in",
        touches=touches([("c1", "2024-11-30", "Email", "a"), ("c2", "2025-01-06", "Webinar", "w")]),
        deals=deals(rows),
    )
    text, _ = _run_data(data, tmp_path / "out", "--from", "2025-01-01")
    assert "1 of 2 deals in the reporting window (50%)" in text
    assert "1 of them belong to customers that do have touches" in text
    assert "leading zeros" not in text


def test_quiet_keeps_the_warnings_and_drops_the_summary(tmp_path):
    text, manifest = _run(tmp_path, [("d1", "C-1", "2025-01-07", "2025-01-09", "won", 10.0)], "-q")
    assert "warning: " in text
    assert "revenue by channel" not in text
    assert any("same customer ids" in w for w in manifest["warnings"])


def test_matching_data_gets_no_warning(tmp_path):
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    text, manifest = _run(tmp_path, rows)
    assert "warning" not in text
    assert manifest["warnings"] == []
    assert manifest["row_counts"]["zero_touch_deals"] == 0


def test_rejected_rows_say_how_many_and_where():
    assert rejected_rows({"touchpoints": 0, "deals": 0}, None) is None
    text = rejected_rows({"touchpoints": 1200, "deals": 3, "stages": 0}, Path("out"))
    assert text == (  # (a relative folder named whole: `plan --run` repeats it from elsewhere)
        "1,203 input row(s) rejected (touchpoints: 1,200, deals: 3); "
        f"each row's reason is in {Path.cwd() / 'out' / 'quarantine'}/"
    )
    # without an out folder (`attrib plan DATA_DIR`) it named a Python object to a CLI user
    text = rejected_rows({"deals": 3}, None)
    assert text is not None
    assert "`attrib validate` on the same inputs with `--out DIR`" in text


def test_a_run_knows_when_it_compiled_its_kernels(tmp_path):
    """``compile_note``: said with an empty kernel cache (once per process), not once the
    cache is filled; always with the cache off."""
    import os
    import subprocess
    import sys

    probe = (
        "from attrib._numba import compile_note, set_up_in_background\n"
        "t = set_up_in_background()\n"
        "print(compile_note(t) is not None, compile_note(t) is not None)\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("ATTRIB_NUMBA_CACHE", None)

    def child(**extra: str) -> str:
        done = subprocess.run(
            [sys.executable, "-c", probe],
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert [child(), child()] == ["True False", "False False"]
    assert child(ATTRIB_NUMBA_CACHE="0") == "True False"


def test_the_bucketed_engine_adds_up_its_buckets_deals(tmp_path):
    deal_rows = [(f"d{i}", f"X-{i}", "2025-01-07", "2025-01-09", "won", 10.0) for i in range(6)]
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(deal_rows))
    result = run_bucketed(data, buckets=3, models="linear", out=tmp_path / "out")
    assert result.manifest["row_counts"]["zero_touch_deals"] == 6
    assert any("same customer ids" in w for w in result.manifest["warnings"])


def test_deal_counts_add_up():
    a, b = DealCounts(3, 2, None, 1), DealCounts(4, 0, 1, 2)
    assert a + b == DealCounts(7, 2, 1, 3)
    assert (a + b).zero_touch == 5
    assert DealCounts(2, 2) + DealCounts(1, 1) == DealCounts(3, 3, None)
    windowed = DealCounts(5, 4, 3, 0, (), 1) + DealCounts(2, 0, 2, 1, (), 0)
    assert windowed == DealCounts(7, 4, 5, 1, (), 1)
    assert windowed.credited() == (5, 4)  # the window's 5 deals, 4 of them zero-touch
    assert (DealCounts(5, 4) + DealCounts(2, 0)).credited() == (7, 3)


def _spend_run(tmp_path: Path, costs: str, targets: str | None = None, *args: str):
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(rows))
    (data / "costs.csv").write_text("date,channel,spend\n" + costs)
    if targets is not None:
        (data / "targets.csv").write_text("kpi,period,target\n" + targets)
    return _run_data(data, tmp_path / "out", *args)


def test_spend_on_a_channel_no_touch_has_is_flagged_with_the_likely_name(tmp_path):
    text, manifest = _spend_run(tmp_path, "2025-01-05,email,10\n2025-01-05,Sales,5\n")
    assert "spend on 1 channel(s) no touch has: 'email'" in text
    assert "'email' -> 'Email'" in text
    assert len(manifest["warnings"]) == 1  # sales cost is not channel spend: not flagged


def test_the_likely_name_of_spend_is_found_across_spaces_and_separators(tmp_path):
    """A GA-style 'WEB inar' or a snake_case 'web_inar' beside the touches' 'Webinar' got no
    suggestion: only case was set aside."""
    text, _ = _spend_run(tmp_path, "2025-01-05,web_inar,10\n2025-01-05,WEB inar,5\n")
    assert "'WEB inar' -> 'Webinar', 'web_inar' -> 'Webinar'" in text
    assert "(case, spaces and separators included)" in text


def test_spend_on_a_channel_the_config_declares_is_expected(tmp_path):
    """Offline spend (TV) listed under [channels] is no surprise: no warning."""
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    config = '[channels."TV"]\nmarketing = true\n'
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(rows), config=config)
    (data / "costs.csv").write_text("date,channel,spend\n2025-01-05,TV,100\n")
    result = run_cli(["run", data, "--out", tmp_path / "out", "--models", "linear"])
    assert "warning" not in result.output


def test_a_config_channel_written_another_way_than_the_touches_is_flagged(tmp_path):
    """[channels."email"] for the touches' 'Email' sets no flag on any touch (names match
    exactly): the warning names the fix; an offline channel (TV) says nothing."""
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    config = '[channels."email"]\nmarketing = false\n[channels."TV"]\nmarketing = true\n'
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(rows), config=config)
    text, manifest = _run_data(data, tmp_path / "out")
    assert "1 [channels] entry(ies) of the config name a touch channel written another way" in text
    assert "'email' -> 'Email'" in text
    assert "TV" not in " ".join(manifest["warnings"])
    assert len(manifest["warnings"]) == 1


def test_every_touch_rejected_is_not_called_an_id_mismatch(tmp_path):
    bad = touches([("c1", "soon", "Email", "jan")])
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    data = write_inputs(tmp_path / "in", touches=bad, deals=deals(rows))
    result = run_cli(["run", data, "--out", tmp_path / "out", "--models", "linear"])
    text = " ".join(result.output.split())
    assert "all 1 touchpoints rows were rejected" in text
    assert "no valid touchpoint: all 1 deals are credited to (none)" in text
    assert "same customer ids" not in text


def test_spend_outside_the_datas_span_is_flagged_unless_a_window_is_set(tmp_path):
    costs = "2025-01-05,Email,10\n2024-06-05,Email,7\n2026-02-01,Webinar,3\n"
    text, manifest = _spend_run(tmp_path / "span", costs)
    assert "2 cost row(s) with 10.00 of spend lie outside the reporting window" in text
    assert "(2025-01-05 to 2025-01-09," in text
    assert "weekly rows" not in text  # (said only of a table whose dates are weeks apart)
    assert len(manifest["warnings"]) == 1
    _, windowed = _spend_run(tmp_path / "window", costs, None, "--from", "2025-01-01")
    assert windowed["warnings"] == []


def test_targets_that_match_no_kpi_row_are_flagged(tmp_path):
    # a well-formed period the run does not cover (a later quarter) is a plan, not a typo
    targets = "revenu,all,5\nrevenue,Jan 2025,5\nrevenue,all,5\nrevenue,2026-Q3,5\n"
    text, manifest = _spend_run(tmp_path, "2025-01-05,Email,10\n", targets)
    assert "2 target row(s) fill nothing" in text
    assert "'revenu' is not a KPI (did you mean 'revenue'?)" in text
    assert "'Jan 2025' not a period (all, YYYY-MM or YYYY-Qn)" in text
    assert len(manifest["warnings"]) == 1
    _, later = _spend_run(tmp_path / "later", "2025-01-05,Email,10\n", "revenue,2026-Q3,5\n")
    assert later["warnings"] == []
    # validate tells the same rows (no KPIs computed: a KPI no run makes, a malformed period)
    checked = json.loads(run_cli(["validate", tmp_path / "in", "--format", "json"]).stdout)
    (said,) = checked["warnings"]
    assert said.startswith("2 target row(s) fill nothing: 'revenu' is not a KPI")
    assert "'Jan 2025' not a period" in said


def test_the_bucketed_engine_gives_the_spend_warnings(tmp_path):
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(rows))
    (data / "costs.csv").write_text("date,channel,spend\n2025-01-05,email,10\n")
    result = run_bucketed(data, buckets=2, models="linear", out=tmp_path / "out")
    assert any("no touch has: 'email'" in w for w in result.manifest["warnings"])


def test_a_deals_file_that_leaves_nothing_is_flagged(tmp_path):
    text, manifest = _run(tmp_path / "header", [])
    assert "no deal rows were read" in text
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", -1.0)]
    text, manifest = _run(tmp_path / "rejected", rows)
    assert "all 1 deals rows were rejected" in text
    assert len(manifest["warnings"]) == 2  # and the rejected-rows warning


def test_a_monthly_cost_table_read_as_daily_because_of_a_repeated_row_is_flagged(tmp_path):
    monthly = "2025-01-01,Email,10\n2025-01-01,Webinar,4\n"
    window = ("--from", "2025-01-01", "--to", "2025-01-31")
    _, clean = _spend_run(tmp_path / "clean", monthly, None, *window)
    assert clean["warnings"] == []
    text, repeated = _spend_run(
        tmp_path / "repeated", monthly + "2025-01-01,Email,3\n", None, *window
    )
    assert "2 row(s) repeat a (channel, campaign, month) (e.g. Email 2025-01-01)" in text
    assert "read as daily rows" in text
    assert len(repeated["warnings"]) == 1


def test_a_baseline_period_outside_the_window_is_flagged(tmp_path):
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    warnings = {}
    for baseline in ("2025-01", "2024-03"):
        config = f'[metrics]\nbaseline_period = "{baseline}"\n'
        data = write_inputs(tmp_path / baseline, touches=TOUCHES, deals=deals(rows), config=config)
        warnings[baseline] = _run_data(data, tmp_path / baseline / "out", "-q")[1]["warnings"]
    assert warnings["2025-01"] == []
    assert len(warnings["2024-03"]) == 1
    assert "baseline_period '2024-03' is outside the reporting window" in warnings["2024-03"][0]


def test_monthly_rows_in_a_daily_cost_table_are_flagged(tmp_path):
    """The grain is the whole table's: Email's monthly totals (on the 1sts) beside Webinar's
    daily rows were counted whole on the 1st, silently (February 10-20 got none of Email's
    280, where a monthly table prorates 280 x 11/28)."""
    window = ("--from", "2025-02-10", "--to", "2025-02-20")
    daily = "2025-02-11,Webinar,4\n2025-02-12,Webinar,4\n"
    _, clean = _spend_run(tmp_path / "daily", daily, None, *window)
    mixed = "2025-01-01,Email,310\n2025-02-01,Email,280\n" + daily
    text, flagged = _spend_run(tmp_path / "mixed", mixed, None, *window)
    assert "the cost rows of 'Email' are one a month, each on the 1st" in text
    # (both runs also say that no deal falls in that window)
    assert len(flagged["warnings"]) == len(clean["warnings"]) + 1


def _source_medium_export(data: Path) -> Path:
    """Two touches with source/medium and no channel column, each of a won deal (10, 30)."""
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,source,medium\nc1,2025-01-05,google,cpc\nc2,2025-01-06,(direct),(none)\n"
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-07,2025-01-09,won,10\nd2,c2,2025-01-07,2025-01-09,won,30\n"
    )
    return data


def test_much_credit_on_unassigned_touches_is_flagged(tmp_path):
    """Touches that no [[rules]] rule matched go to (unassigned); a missing rule moved a
    large share of the credit there without a word."""
    data = _source_medium_export(tmp_path / "in")
    rules = '[[rules]]\nchannel = "Paid Search"\nmedium = "^cpc$"\n'
    warned = {}
    for name, config in (("missing", rules), ("whole", rules + '[[rules]]\nchannel = "Direct"\n')):
        (data / "channels.toml").write_text(config)
        warned[name] = _run_data(data, tmp_path / name, "-q")[1]["warnings"]
    assert warned["whole"] == []
    assert len(warned["missing"]) == 1
    assert "75% of the pipeline created is credited to (unassigned)" in warned["missing"][0]
    # the values a rule would need, most frequent first
    assert warned["missing"][0].endswith(
        "; most often source / medium (direct) / (none) (1 touch(es))"
    )
    # the bucketed engine counts them bucket by bucket, and names the same values
    (data / "channels.toml").write_text(rules)
    for k in ("1", "3"):
        bucketed = _run_data(data, tmp_path / f"b{k}", "-q", "--buckets", k)[1]["warnings"]
        assert bucketed == warned["missing"]


def test_unassigned_credit_is_checked_under_every_model(tmp_path):
    """Rules for cpc and organic but none for email, the last of one journey's three
    touches: first touch credits (unassigned) nothing, last touch half of the pipeline. Only
    the first model listed was checked, so the default order (first_touch first) and
    --models first_touch,last_touch said nothing."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,source,medium\nc1,2025-01-01,google,cpc\nc1,2025-01-02,google,organic\n"
        "c1,2025-01-03,newsletter,email\nc2,2025-01-04,google,cpc\n"
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-07,2025-01-09,won,10\nd2,c2,2025-01-07,2025-01-09,won,10\n"
    )
    (data / "channels.toml").write_text(
        '[[rules]]\nchannel = "Paid Search"\nmedium = "^cpc$"\n'
        '[[rules]]\nchannel = "Organic Search"\nmedium = "^organic$"\n'
    )
    for order in ("first_touch,last_touch", "last_touch,first_touch", "first_touch,linear"):
        result = run_cli(["run", data, "--out", tmp_path / order, "-q", "--models", order])
        warnings = json.loads((tmp_path / order / "manifest.json").read_text())["warnings"]
        assert len(warnings) == 1, result.output
        worst = "last_touch: touches" if "last" in order else "linear: touches"
        share = "50%" if "last" in order else "17%"
        assert warnings[0].startswith(
            f"{share} of the pipeline created is credited to (unassigned) under {worst}"
        )
    alone = run_cli(["run", data, "--out", tmp_path / "first", "-q", "--models", "first_touch"])
    assert "(unassigned)" not in alone.output


def test_touches_with_no_channel_column_and_no_rules_are_flagged(tmp_path):
    """Source and medium columns but no [[rules]]: every touch is (unassigned), and the
    run said nothing (the warning was for rules that missed some touches)."""
    data = _source_medium_export(tmp_path / "in")
    warned = _run_data(data, tmp_path / "out", "-q")[1]["warnings"]
    assert warned == [
        "100% of the pipeline created is credited to (unassigned) under linear: the config"
        " has no [[rules]] to name channels from the touches' source/medium; write them"
        " (README, The config), or map the column that names the channel:"
        ' [columns.touchpoints] channel = "..."'
    ]
    # a channel column: no rules needed, no warning
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,channel\nc1,2025-01-05,Paid Search\nc2,2025-01-06,Direct\n"
    )
    assert _run_data(data, tmp_path / "out2", "-q")[1]["warnings"] == []


def test_unmatched_values_add_up_the_counts_of_every_bucket():
    """Bucket by bucket, a/x leads the first bucket and b/y neither; together b/y (1 + 2)
    comes first, then a/x (2), then c/z (1), ties by name."""
    from attrib.data_checks import unmatched_values

    first = pl.DataFrame({"source": ["a", "b"], "medium": ["x", "y"], "len": [2, 1]})
    second = pl.DataFrame({"source": ["b", "c"], "medium": ["y", "z"], "len": [2, 1]})
    assert unmatched_values(pl.concat([first, second])) == (
        "; most often source / medium b / y (3 touch(es)), a / x (2 touch(es)), c / z (1 touch(es))"
    )
    assert unmatched_values(None) == ""


def test_unassigned_deals_are_flagged_when_their_amounts_are_zero(tmp_path):
    """Olist's deals mostly carry an amount of 0 (declared revenue unknown): 29% of them on
    (unassigned) was under 1% of the pipeline, and no warning came. The deal count says it."""
    data = tmp_path / "in"
    data.mkdir()
    (data / "touchpoints.csv").write_text(
        "customer_id,ts,source\nc1,2025-01-05,paid_search\nc2,2025-01-06,unknown\n"
        "c3,2025-01-06,paid_search\n"
    )
    (data / "deals.csv").write_text(
        "deal_id,customer_id,created_at,closed_at,status,amount\n"
        "d1,c1,2025-01-07,2025-01-09,won,1000\nd2,c2,2025-01-07,2025-01-09,won,0\n"
        "d3,c3,2025-01-07,2025-01-09,won,0\n"
    )
    (data / "channels.toml").write_text('[[rules]]\nchannel = "Paid Search"\nsource = "^paid"\n')
    warnings = _run_data(data, tmp_path / "out", "-q")[1]["warnings"]
    assert len(warnings) == 1
    assert "33% of the deals created are credited to (unassigned)" in warnings[0]
    assert warnings[0].endswith("; most often source unknown (1 touch(es))")


def test_a_window_that_cuts_months_says_how_much_monthly_spend_it_prorates_away(tmp_path):
    """The data's span (January 5-9) counts 5 of January's 31 days of a monthly row: 310
    became 50 in every spend number, and nothing said so (only rows wholly outside were)."""
    text, manifest = _spend_run(tmp_path / "cut", "2025-01-01,Email,310\n")
    assert "260.00 of their monthly spend is prorated away" in text
    assert len(manifest["warnings"]) == 1
    _, whole = _spend_run(
        tmp_path / "whole",
        "2025-01-01,Email,310\n",
        None,
        "--from",
        "2025-01-01",
        "--to",
        "2025-01-31",
    )
    assert whole["warnings"] == []


def test_a_campaign_column_named_another_way_is_flagged(tmp_path):
    """A GA-style touch export's ``utm_campaign`` (or a CRM's ``Campaign Name``) is not the
    campaign column: every touch's campaign was ``(none)`` without a word. The warning names
    the file and the mapping; mapped, or beside a ``campaign`` column, nothing is said."""
    import polars as pl

    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    data = write_inputs(
        tmp_path / "in", touches=TOUCHES.rename({"campaign": "utm_campaign"}), deals=deals(rows)
    )
    pl.DataFrame(
        {"date": ["2025-01-05"], "channel": ["Email"], "Campaign Name": ["jan"], "spend": [5.0]}
    ).write_parquet(data / "costs.parquet")
    text, manifest = _run_data(data, tmp_path / "out")
    touch_file, cost_file = data / "touchpoints.csv", data / "costs.parquet"
    assert (
        f"{touch_file}: no 'campaign' column, so each touch's campaign is (none); 'utm_campaign'"
        ' is named like it: map it under [columns.touchpoints] (campaign = "utm_campaign")'
    ) in text
    assert f"{cost_file}: no 'campaign' column, so each cost row's campaign is (none)" in text
    assert sum("is named like it" in w for w in manifest["warnings"]) == 2
    config = '[columns.touchpoints]\ncampaign = "utm_campaign"\n[constants.costs]\ncampaign = "x"\n'
    (data / "channels.toml").write_text(config)
    text, manifest = _run_data(data, tmp_path / "mapped")
    assert "named like it" not in text
    summary = pl.read_parquet(tmp_path / "mapped" / "campaign_summary.parquet")
    assert "jan" in summary["campaign"].to_list()  # (the spend is campaign "x")
    text, _ = _run(tmp_path / "both", rows)  # TOUCHES has a campaign column
    assert "named like it" not in text


def test_validate_gives_the_warnings_the_inputs_alone_give(tmp_path):
    """``attrib validate`` listed rejected rows only: a check before the first run said
    nothing of spend on a channel no touch has, channels written two ways or a campaign
    column named otherwise. It now gives those warnings, as the run does."""
    rows = [("c1", "2025-01-04", "Display"), ("c1", "2025-01-05", "display"), *TOUCHES.rows()]
    deal = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    data = write_inputs(
        tmp_path / "in",
        touches=touches(rows).rename({"campaign": "utm_campaign"}),
        deals=deals(deal),
    )
    (data / "costs.csv").write_text("date,channel,spend\n2025-01-05,email,10\n")
    result = run_cli(["validate", data, "--format", "json"])
    given = json.loads(result.stdout)["warnings"]
    assert len(given) == 3
    assert "'utm_campaign' is named like it" in given[0]  # what the files say comes first
    assert "spend on 1 channel(s) no touch has: 'email'" in given[1]
    assert "'Display' / 'display'" in given[2]
    _, manifest = _run_data(data, tmp_path / "out")
    assert set(given) <= set(manifest["warnings"])
    text = " ".join(run_cli(["validate", data]).output.split())
    assert all(f"warning: {' '.join(w.split())}" in text for w in given)


def test_a_constant_over_a_column_the_export_has_is_warned_of(tmp_path):
    """[constants.deals] status = "won" over a deals file with its own status column made
    every deal won without a word (revenue tripled on the sample): the run names the column
    it replaces, under its [columns] name; a constant for a missing column says nothing."""
    rows = [
        ("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0),
        ("d2", "c2", "2025-01-07", "2025-01-09", "lost", 20.0),
    ]
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(rows))
    (data / "channels.toml").write_text('[constants.deals]\nstatus = "won"\n')
    text, manifest = _run_data(data, tmp_path / "out")
    deal_file = data / "deals.csv"
    assert (
        f"{deal_file}: its own 'status' column is not read: [constants.deals] status = 'won' "
        "replaces every value of it (a constant is for a column the export lacks); remove the "
        "constant to read the column"
    ) in text
    assert sum("is not read: [constants." in w for w in manifest["warnings"]) == 1
    (data / "channels.toml").write_text(
        '[columns.deals]\nstatus = "stage"\n[constants.deals]\nstatus = "won"\n'
    )
    deal_file.write_text(deal_file.read_text().replace("status", "stage", 1))
    assert "its own 'stage' column is not read" in _run_data(data, tmp_path / "mapped")[0]
    deal_file.write_text(deal_file.read_text().replace(",stage", ",other", 1))
    assert "is not read: [constants." not in _run_data(data, tmp_path / "lacking")[0]


def test_a_quiet_run_still_warns_on_stderr_and_the_result_lists_its_warnings(tmp_path):
    """Every deal rejected (amounts written '5346,64' in a ';' file read as one column...):
    a ``-q`` run exited 0 and printed nothing, so a scheduled job published zeros. Warnings
    now reach stderr with -q (not with --format json, whose stdout carries them), and
    ``RunResult.warnings`` holds them for the Python API."""
    from attrib.api import run

    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", -10.0)]
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(rows))
    quiet = run_cli(["run", data, "--out", tmp_path / "q", "--models", "linear", "-q"])
    assert "warning: all 1 deals rows were rejected: none of them is used" in quiet.stderr
    assert quiet.stdout == ""
    as_json = run_cli(["run", data, "--out", tmp_path / "j", "--format", "json"])
    assert "warning:" not in as_json.stderr
    assert "all 1 deals rows were rejected" in " ".join(json.loads(as_json.stdout)["warnings"])
    result = run(data, models="linear")
    assert any("all 1 deals rows were rejected" in w for w in result.warnings)
    assert result.warnings == result.manifest["warnings"]


def test_channels_a_negative_shapley_value_leaves_without_credit_are_named(tmp_path):
    """One-touch journeys (Olist's): with exact-set rates, phi_Bad = (1/2 - 1) / 2 < 0, so
    Bad's won deal went to Good and Bad read as selling nothing, without a word."""
    rows = [("c1", "2025-01-02", "Good"), ("c2", "2025-01-02", "Good")]
    rows += [("c3", "2025-01-02", "Bad"), ("c4", "2025-01-02", "Bad")]
    won = [(f"d{i}", f"c{i}", "2025-01-05", "2025-01-09", "won", 10.0) for i in (1, 2, 3)]
    lost = [("d4", "c4", "2025-01-05", "2025-01-09", "lost", 10.0)]
    data = write_inputs(tmp_path / "in", touches=touches(rows), deals=deals(won + lost))
    text, manifest = _run_data(data, tmp_path / "out", "--models", "shapley")
    assert sum("got no credit" in w for w in manifest["warnings"]) == 1
    assert (
        "warning: shapley: 1 channel(s) got no credit, their Shapley value being negative "
        "(journeys with them convert worse than those without) and set to 0: 'Bad'; "
        'shapley_values.parquet holds the values, and [models.shapley] value_function = "dp6" '
        "gives none below 0"
    ) in text
    summary = pl.read_parquet(tmp_path / "out" / "channel_summary.parquet")
    assert summary.filter(pl.col("channel") == "Bad")["conversions"].item() == 0.0
    (data / "channels.toml").write_text('[models.shapley]\nvalue_function = "dp6"\n')
    text, _ = _run_data(data, tmp_path / "dp6", "--models", "shapley")
    assert "got no credit" not in text
    assert "got no credit" not in _run_data(data, tmp_path / "linear")[0]


def test_a_sampled_shapley_value_below_zero_by_noise_alone_is_not_named():
    from attrib.data_checks import clipped_shapley

    values = pl.DataFrame(
        {
            "channel": ["A", "B", "C", "D"],
            "shapley_value": [0.5, -0.01, -0.2, -0.05],
            "share": [1.0, 0.0, 0.0, 0.0],
            "std_error": [0.01, 0.02, 0.05, None],
        }
    )
    text = clipped_shapley({"shapley_values": values})
    assert text is not None
    assert "2 channel(s) got no credit" in text
    assert ": 'C', 'D';" in text  # B lies within twice its standard error of 0
    assert clipped_shapley({"shapley_values": values.head(2)}) is None
    assert clipped_shapley({}) is None


def test_the_compile_note_comes_before_the_first_kernel(monkeypatch, tmp_path):
    """The note came after "build journeys" (where the kernels compile), so a first run
    after an install showed nothing for ~30 s and looked hung."""
    import attrib.run
    from attrib.progress import Reporter

    events: list[str] = []

    class Recorder(Reporter):
        def started(self, name: str, detail: str) -> None:
            events.append(f"start {name}")

        def note(self, message: str) -> None:
            events.append(message)

    monkeypatch.setattr(attrib.run, "compile_note", lambda set_up: "compiling")
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(rows))
    attrib.run.run(data, models="linear", reporter=Recorder())
    assert events.index("compiling") < events.index("start build journeys")
