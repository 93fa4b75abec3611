"""The HTML report: builds from a run's out folder, is self-contained, escapes every data
string, degrades section by section, and shows hand-computed figures.

Browser rendering (console errors, every chart drawn) is in test_report_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from conftest import run_cli

from attrib.errors import InputError
from attrib.report import build_report
from attrib.report._format import change, compact, fmt, json_for_script
from attrib.report.html import vega_bundle
from attrib.run import run
from attrib.synth import generate

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
CLOSER = "</script><script>alert(3)</script>"
SECTION_IDS = (
    "headline",
    "models",
    "sourced",
    "spend",
    "funnel",
    "days",
    "markov",
    "shapley",
    "intervals",
    "targets",
    "plan",
    "campaigns",
    "quality",
)


# --------------------------------------------------------------------------------------------
# builders shared with test_report_browser.py


def synthetic_run(root: Path, *, payload: bool = False, bootstrap: int = 20) -> Path:
    """A small synthetic run (with targets); ``payload`` renames a channel and a campaign to
    HTML/script injections. Returns the out folder."""
    data = root / "data"
    generate(data, customers=300, seed=3, months=6)
    (data / "targets.csv").write_text("kpi,period,target\nrevenue,2025-Q2,150000\n")
    if payload:
        for name in ("touchpoints.csv", "costs.csv"):
            df = pl.read_csv(data / name, infer_schema=False)
            df = df.with_columns(pl.col("channel").str.replace_all("^Display$", SCRIPT))
            if "campaign" in df.columns:
                df = df.with_columns(
                    pl.when(pl.col("campaign").str.starts_with("paid_search/brand"))
                    .then(pl.lit(IMG))
                    .otherwise(pl.col("campaign"))
                    .alias("campaign")
                )
            df.write_csv(data / name)
    out = root / "out"
    run(data, out=out, bootstrap=bootstrap)
    write_plan(out)
    return out


def write_plan(out: Path) -> None:
    """A plan.parquet in the documented schema (what `attrib plan` writes)."""
    pl.DataFrame(
        {
            "kind": ["input", "input", "stage", "stage", "stage", "budget", "budget", "budget"],
            "name": [
                "target_revenue",
                "avg_deal_size",
                "lead",
                "opportunity",
                "customer",
                "Email",
                SCRIPT,
                "(total)",
            ],
            "value": [100000.0, 10000.0, 100.0, 25.0, 10.0, 300.0, 700.0, 1000.0],
            "rate": [None, None, None, 0.25, 0.4, 0.3, 0.7, 1.0],
            "rate_lo": [None, None, None, 0.2, 0.1, None, None, None],
            "rate_hi": [None, None, None, 0.3, 0.7, None, None, None],
            "wide_interval": [None, None, None, False, True, None, None, None],
            "unit_cost": [None, None, None, None, None, 10.0, 20.0, None],
            "period": ["2025-Q3"] * 8,
        }
    ).write_parquet(out / "plan.parquet")


class Tags(HTMLParser):
    """Every start tag with its attributes (script bodies are not parsed as markup)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def parse_tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def embedded_specs(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="attrib-specs">(.*?)</script>', page)
    assert found is not None
    return json.loads(found.group(1))


def section(page: str, sid: str) -> str:
    """The HTML of one section."""
    found = re.search(rf'<section class="block" id="{sid}">(.*?)</section>', page, re.S)
    assert found is not None, sid
    return found.group(1)


def data_values(spec: dict) -> list[dict]:
    """Every inline data row of a (layered / concatenated) spec, named datasets included."""
    rows: list[dict] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "datasets" and isinstance(value, dict):
                    for named in value.values():
                        rows.extend(v for v in named if isinstance(v, dict))
                elif key == "values" and isinstance(value, list):
                    rows.extend(v for v in value if isinstance(v, dict))
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(spec)
    return rows


# --------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = synthetic_run(tmp_path_factory.mktemp("report"))
    path = build_report(out, validate=True)  # every chart spec checked against Vega-Lite
    return out, path.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def payload_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    out = synthetic_run(tmp_path_factory.mktemp("payload"), payload=True, bootstrap=0)
    path = build_report(out, validate=True)
    return out, path.read_text(encoding="utf-8")


# --------------------------------------------------------------------------------------------
# the page


def test_builds_every_section_from_a_run(full_run: tuple[Path, str]) -> None:
    out, page = full_run
    assert (out / "report.html").is_file()
    for sid in SECTION_IDS:
        section(page, sid)
    assert "could not be rendered" not in page
    cs = pl.read_parquet(out / "channel_summary.parquet")
    # a section shows its "not computed" note exactly when its data is absent from the run
    present = {
        "headline": (out / "kpis.parquet").is_file(),
        "spend": "spend" in cs.columns,
        "funnel": (out / "funnel.parquet").is_file(),
        "markov": (out / "markov_removal_effects.parquet").is_file(),
        "shapley": (out / "shapley_values.parquet").is_file(),
        "intervals": "revenue_lo" in cs.columns,
        "plan": True,
        "models": True,
        "sourced": True,
        "days": True,
    }
    for sid, has_data in present.items():
        assert ("Not computed in this run" in section(page, sid)) is not has_data, sid


def test_chart_containers_match_specs(full_run: tuple[Path, str]) -> None:
    _, page = full_run
    specs = embedded_specs(page)
    divs = re.findall(r'<div class="chart [^"]*" id="(chart-\d+)"', page)
    assert sorted(divs) == sorted(specs)
    assert len(divs) == len(set(divs))
    assert len(specs) >= 15
    for spec in specs.values():
        assert "vega-lite" in spec["$schema"]


def test_model_comparison_data_is_the_channel_summary(full_run: tuple[Path, str]) -> None:
    out, page = full_run
    cs = pl.read_parquet(out / "channel_summary.parquet")
    specs = embedded_specs(page)
    ids = re.findall(r'id="(chart-\d+)"', section(page, "models"))
    rows = data_values(specs[ids[0]])  # the revenue chart
    got = {(r["model"], r["channel"]): r["value"] for r in rows}
    want = {(m, c): v for m, c, v in cs.select("model", "channel", "revenue").iter_rows()}
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-9)
    # each model's shares sum to 1 (conservation shown on the page)
    for m in cs.get_column("model").unique().to_list():
        shares = [r["share"] for r in rows if r["model"] == m]
        assert sum(shares) == pytest.approx(1.0)


def test_self_contained(full_run: tuple[Path, str]) -> None:
    _, page = full_run
    tags = parse_tags(page)
    for tag, attrs in tags:
        assert tag not in ("link", "img", "iframe", "object", "embed", "base"), tag
        if tag == "script":
            assert "src" not in attrs
        for value in attrs.values():
            assert not re.match(r"\s*(https?:)?//", value or ""), (tag, attrs)
    assert "@import" not in page
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", page)
    assert "vegaEmbed" in page  # the library itself is inline


def test_the_vega_bundle_is_kept_between_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # bundling Vega takes ~1 s, most of a small report's time: the second report reads it
    bundle = vega_bundle.__wrapped__
    monkeypatch.setenv("ATTRIB_CACHE_DIR", str(tmp_path / "cache"))
    js = bundle()
    (kept,) = (tmp_path / "cache").glob("vega-*.js")
    assert kept.read_text(encoding="utf-8") == js
    assert "vegaEmbed" in js
    kept.write_text("/* kept */", encoding="utf-8")
    assert bundle() == "/* kept */"  # read back, not bundled again
    kept.write_text("", encoding="utf-8")  # an empty file is no bundle: made again
    assert bundle() == js
    monkeypatch.setenv("ATTRIB_CACHE_DIR", "0")  # keeps nothing
    kept.unlink()
    assert bundle() == js
    assert not kept.exists()
    blocked = tmp_path / "a file"
    blocked.write_text("")
    monkeypatch.setenv("ATTRIB_CACHE_DIR", str(blocked))  # cannot be written: not needed
    assert bundle() == js


def test_report_is_deterministic(full_run: tuple[Path, str], tmp_path: Path) -> None:
    out, page = full_run
    again = build_report(out, target=tmp_path / "again.html")
    assert again.read_text(encoding="utf-8") == page


def test_sourced_shares_do_not_depend_on_the_group_order() -> None:
    """The sourced/influenced total was summed in the order Polars' group-by returned the
    categories: two builds of one run differed in a share's last bit (0.1 + 0.2 + 0.3 is
    not 0.3 + 0.2 + 0.1 in floating point)."""
    from itertools import permutations

    from attrib.report.credit_sections import category_totals

    rows = [("Marketing-sourced", 0.1), ("Influenced only", 0.2), ("No marketing touch", 0.3)]
    results = {
        category_totals(pl.DataFrame(list(p), schema=["category", "v"], orient="row"))[1]
        for p in permutations(rows)
    }
    assert results == {0.1 + 0.2 + 0.3}


# --------------------------------------------------------------------------------------------
# escaping


def test_malicious_names_render_as_text(payload_run: tuple[Path, str]) -> None:
    out, page = payload_run
    channels = pl.read_parquet(out / "channel_summary.parquet").get_column("channel").to_list()
    assert SCRIPT in channels  # the payload really went through the run
    assert SCRIPT not in page
    # the page outside the two library scripts (Vega's tooltip code itself contains "<img")
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)
    assert "<img" not in markup
    assert "onerror=alert(2)>" not in markup.replace(escape(IMG), "")
    assert escape(SCRIPT) in page  # shown as text in the tables
    assert escape(IMG) in section(page, "campaigns")
    tags = parse_tags(page)
    assert [t for t, _ in tags].count("script") == 3  # specs JSON, the Vega bundle, the runtime
    for tag, attrs in tags:
        assert not any(k.lower().startswith("on") for k in attrs), (tag, attrs)
    # inside the JSON the names are \u-escaped and come back intact when parsed
    values = [
        v for spec in embedded_specs(page).values() for r in data_values(spec) for v in r.values()
    ]
    assert SCRIPT in values
    assert "\\u003cscript\\u003ealert(1)\\u003c/script\\u003e" in page


def test_json_for_script_cannot_close_the_element() -> None:
    data = {"a": CLOSER, "b": "<!-- x & y -->", "c": "\u2028", "d": float("nan")}
    text = json_for_script(data)
    assert "<" not in text
    assert ">" not in text
    assert "&" not in text
    assert "\u2028" not in text
    assert json.loads(text) == {**data, "d": None}


# --------------------------------------------------------------------------------------------
# missing and damaged inputs


def test_only_a_channel_summary(full_run: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = full_run
    shutil.copy(out / "channel_summary.parquet", tmp_path / "channel_summary.parquet")
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "could not be rendered" not in page
    for sid in ("headline", "sourced", "funnel", "days", "markov", "shapley", "targets", "plan"):
        assert "Not computed in this run" in section(page, sid), sid
    assert "Not computed in this run" not in section(page, "models")
    assert "Not computed in this run" not in section(page, "spend")


def test_the_missing_plan_says_how_to_plan_into_this_folder(
    full_run: tuple[Path, str], tmp_path: Path
) -> None:
    """`attrib plan --target-revenue X` alone plans the shipped sample into ./attrib-out: the
    note names --run, so the plan is of this run and lands where the report reads."""
    out, _ = full_run
    shutil.copy(out / "channel_summary.parquet", tmp_path / "channel_summary.parquet")
    note = section(build_report(tmp_path).read_text(encoding="utf-8"), "plan")
    assert "--run OUT_DIR" in note
    assert "attrib report OUT_DIR" in note


def test_spend_totals_of_an_absent_stage_are_empty(
    full_run: tuple[Path, str], tmp_path: Path
) -> None:
    """A run without an 'mql' stage has null MQLs on every channel ("—"); the per-channel
    table's total row summed them to 0, as if the funnel had counted none."""
    out, _ = full_run
    cs = pl.read_parquet(out / "channel_summary.parquet")
    cs.with_columns(pl.lit(None, pl.Int64).alias("mqls")).write_parquet(
        tmp_path / "channel_summary.parquet"
    )
    spend = section(build_report(tmp_path).read_text(encoding="utf-8"), "spend")
    heads = re.findall(r"<th[^>]*>(.*?)</th>", spend.split("</thead>")[0])
    total = re.search(r'<tfoot><tr class="total">(.*?)</tr>', spend, re.S)
    assert total is not None
    cells = re.findall(r"<td[^>]*>(.*?)</td>", total.group(1))
    assert cells[heads.index("MQLs")] == "—"
    assert cells[heads.index("Leads")] not in ("—", "0")


def test_damaged_and_partial_files(full_run: tuple[Path, str], tmp_path: Path) -> None:
    out, _ = full_run
    for f in out.glob("*.parquet"):
        shutil.copy(f, tmp_path / f.name)
    shutil.copy(out / "manifest.json", tmp_path / "manifest.json")
    (tmp_path / "funnel.parquet").write_bytes(b"not a parquet file")
    pl.DataFrame({"kpi": ["revenue"], "period": ["all"]}).write_parquet(tmp_path / "kpis.parquet")
    cs = pl.read_parquet(tmp_path / "channel_summary.parquet")
    cs.drop("spend", "roas", "romi", strict=False).write_parquet(
        tmp_path / "channel_summary.parquet"
    )
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "could not be rendered" not in page
    assert "funnel.parquet could not be read" in section(page, "quality")
    for sid in ("funnel", "headline", "spend", "targets"):
        assert "Not computed in this run" in section(page, sid), sid
    assert "Not computed in this run" not in section(page, "models")


@pytest.mark.parametrize(
    ("row_counts", "rejected"),
    [({"journeys": "lots", "deals_read": None}, [1, 2]), (["journeys"], "none")],
    ids=["counts-no-numbers", "entries-no-objects"],
)
def test_a_hand_edited_manifest_does_not_cost_the_page(
    full_run: tuple[Path, str], tmp_path: Path, row_counts: object, rejected: object
) -> None:
    """A manifest whose counts are no numbers (or whose entries are no objects) stopped the
    page with an internal error (exit 5) in its subtitle; the counts are left out instead."""
    out, whole = full_run
    assert re.search(r'<p class="meta">[^<]*journeys[^<]*valid deals', whole)  # as written
    for f in out.glob("*.parquet"):
        shutil.copy(f, tmp_path / f.name)
    manifest = json.loads((out / "manifest.json").read_text())
    manifest.update(row_counts=row_counts, rejected=rejected)
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    page = build_report(tmp_path).read_text(encoding="utf-8")
    meta = re.search(r'<p class="meta">(.*?)</p>', page)
    assert meta is not None
    assert "journeys" not in meta.group(1)
    assert "valid deals" not in meta.group(1)


def test_not_an_out_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        build_report(tmp_path / "missing")
    with pytest.raises(InputError, match="no attrib outputs"):
        build_report(tmp_path)
    # a damaged manifest alone was "no manifest.json"
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(InputError, match=r"manifest.json could not be read \(.*\) and no summ"):
        build_report(tmp_path)


def test_attrib_report_warns_of_what_it_could_not_read(
    full_run: tuple[Path, str], tmp_path: Path
) -> None:
    """A damaged table, or one the manifest lists that is gone, was noted inside the page
    only: `attrib report` exited 0 without a word. Each is a warning on stderr (-q too)."""
    out, _ = full_run
    shutil.copytree(out, tmp_path / "out")
    (tmp_path / "out" / "channel_summary.parquet").write_bytes(b"garbage")
    (tmp_path / "out" / "kpis.parquet").unlink()
    result = run_cli(["report", tmp_path / "out", "-q"])
    assert result.stdout == ""
    missing, damaged = result.stderr.splitlines()
    assert missing == (
        "warning: kpis.parquet is missing (manifest.json lists it) (the report leaves it out)"
    )
    assert damaged.startswith("warning: channel_summary.parquet could not be read (")
    problems: list[str] = []
    build_report(tmp_path / "out", problems=problems)
    assert len(problems) == 2
    shutil.copytree(out, tmp_path / "whole")
    assert run_cli(["report", tmp_path / "whole", "-q"]).stderr == ""


# --------------------------------------------------------------------------------------------
# hand-computed figures


def _card(page: str, label: str) -> str:
    found = re.search(
        rf'<div class="card"><div class="card-label">{re.escape(label)}</div>(.*?)'
        r'<div class="card-foot">',
        page,
        re.S,
    )
    assert found is not None, label
    return found.group(1)


def test_headline_changes_and_targets(tmp_path: Path) -> None:
    rows = [
        # kpi, period, value, lo, hi, target
        ("revenue", "all", 250000.0, None, None, None),
        ("revenue", "2025-Q3", 100000.0, None, None, None),
        ("revenue", "2025-Q4", 150000.0, None, None, 120000.0),
        ("win_rate", "2025-Q3", 0.20, 0.15, 0.26, None),
        ("win_rate", "2025-Q4", 0.25, 0.19, 0.32, 0.30),
        ("cac_total", "2025-Q3", 100.0, None, None, None),
        ("cac_total", "2025-Q4", 120.0, None, None, 150.0),
    ]
    kpis = pl.DataFrame(
        rows,
        schema=["kpi", "period", "value", "lo", "hi", "target"],
        orient="row",
    ).with_columns(
        # index = value / target x 100, as kpis.parquet carries it
        (pl.col("value") / pl.col("target") * 100).alias("index"),
        pl.lit(None, pl.Float64).alias("index_vs_baseline"),
    )
    kpis.write_parquet(tmp_path / "kpis.parquet")
    page = build_report(tmp_path).read_text(encoding="utf-8")
    head = section(page, "headline")
    assert "2025-Q4</strong> compared with <strong>2025-Q3" in head
    revenue = _card(head, "Revenue (won)")
    assert "150k" in revenue
    assert "+50.0%" in revenue  # (150000 - 100000) / 100000
    assert "delta good" in revenue
    win = _card(head, "Win rate")
    assert "25.0%" in win
    assert "+5.0 pp" in win  # 25% - 20%, in percentage points
    cac = _card(head, "CAC (total)")
    assert "+20.0%" in cac
    assert "delta bad" in cac  # a cost going up is bad news
    tgt = section(page, "targets")
    assert '<span class="pill good">125</span>' in tgt  # 150000 / 120000 x 100
    # CAC 120 against a target of 150 (index 80): a cost under its target is met
    assert '<span class="pill good">80</span>' in tgt
    # the chart's tooltip reads each KPI in its unit, as the table does
    (spec,) = [s for s in embedded_specs(page).values() if "actual_text" in json.dumps(s)]
    rows = [r for r in data_values(spec) if "label" in r]  # (not the 100 line's)
    shown = {r["label"]: (r["actual_text"], r["target_text"]) for r in rows}
    assert shown["Revenue (won) · 2025-Q4"] == ("150,000", "120,000")
    assert shown["Win rate · 2025-Q4"] == ("25.0%", "30.0%")


def test_days_to_deal_card_says_over_how_many_won_deals(tmp_path: Path) -> None:
    """Days to deal is measured over the won deals with a touch: 85 of 4,238 read as all."""
    rows = [
        ("days_to_deal_median", "2025-Q3", 40.0),
        ("days_to_deal_median", "2025-Q4", 165.0),
        ("days_to_deal_won_deals", "2025-Q3", 12.0),
        ("days_to_deal_won_deals", "2025-Q4", 85.0),
        ("won_deals", "2025-Q3", 12.0),
        ("won_deals", "2025-Q4", 4238.0),
    ]

    def days_foot() -> str:
        frame = pl.DataFrame(rows, schema=["kpi", "period", "value"], orient="row")
        frame.with_columns(lo=None, hi=None).write_parquet(tmp_path / "kpis.parquet")
        head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
        card = re.search(
            r'Days to deal[^<]*</div>.*?<div class="card-foot">(.*?)</div>', head, re.S
        )
        assert card is not None
        return card.group(1)

    assert days_foot() == "over 85 of 4,238 won deals (the rest have no touch)"
    rows[3] = ("days_to_deal_won_deals", "2025-Q4", 4238.0)  # every won deal touched
    assert days_foot() == ""


def test_a_win_rate_without_lost_deals_says_so(tmp_path: Path) -> None:
    """An event log's deals are all won: a 'Win rate 100.0%' card with its 95% interval read
    as a fact about the business. The card says there was no lost deal, as the CLI does."""
    rows = [
        ("win_rate", "2025-Q3", 1.0, 0.8, 1.0),
        ("win_rate", "2025-Q4", 1.0, 0.77, 1.0),
        ("revenue", "2025-Q3", 10.0, None, None),
        ("revenue", "2025-Q4", 12.0, None, None),
    ]

    def win_rate_foot() -> str:
        schema = ["kpi", "period", "value", "lo", "hi"]
        pl.DataFrame(rows, schema=schema, orient="row").write_parquet(tmp_path / "kpis.parquet")
        head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
        card = re.search(r'Win rate</div>.*?<div class="card-foot">(.*?)</div>', head, re.S)
        assert card is not None
        return card.group(1)

    foot = win_rate_foot()
    assert "no lost deal" in foot
    assert "95% CI" not in foot
    # a quarter without a lost deal in a run with lost deals keeps its interval
    rows.append(("win_rate", "all", 0.6, 0.5, 0.7))
    assert "95% CI 77.0%–100.0%" in win_rate_foot()


def test_the_baseline_index_names_its_period_and_compares_like_with_like(
    tmp_path: Path,
) -> None:
    """With baseline_period = 2025-Q1, kpis.parquet indexes every period against Q1: a
    month's revenue (a third of a quarter's) showed as 33, the whole year's as 400. The page
    names the baseline and lists only the periods of its kind (quarters)."""
    rows = [
        ("revenue", "all", 400.0, 400.0),
        ("revenue", "2025-01", 30.0, 30.0),
        ("revenue", "2025-Q1", 100.0, 100.0),
        ("revenue", "2025-Q2", 120.0, 120.0),
    ]
    pl.DataFrame(
        rows, schema=["kpi", "period", "value", "index_vs_baseline"], orient="row"
    ).with_columns(pl.lit(None, pl.Float64).alias("target")).write_parquet(
        tmp_path / "kpis.parquet"
    )
    manifest = {"config": {"metrics": {"baseline_period": "2025-Q1"}}}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    tgt = section(build_report(tmp_path).read_text(encoding="utf-8"), "targets")
    assert "Index vs the baseline period 2025-Q1" in tgt
    periods = re.findall(r'<td class="txt">(all|2025-\d\d|2025-Q\d)</td>', tgt)
    assert periods == ["2025-Q1", "2025-Q2"]
    assert '<span class="pill good">120</span>' in tgt


def test_sourced_influenced_shares(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "journey_id": [0, 1, 2, 3, 4],
            "status": ["won", "won", "won", "open", "none"],
            "amount": [1000.0, 500.0, 250.0, 800.0, 0.0],
            "marketing_sourced": [True, False, False, True, True],
            "marketing_influenced": [True, True, False, True, True],
        }
    ).write_parquet(tmp_path / "journeys.parquet")
    page = build_report(tmp_path).read_text(encoding="utf-8")
    specs = embedded_specs(page)
    cid = re.search(r'id="(chart-\d+)"', section(page, "sourced")).group(1)
    rows = {(r["measure"], r["category"]): r for r in data_values(specs[cid])}
    assert rows[("Won revenue", "Marketing-sourced")]["share"] == pytest.approx(1000 / 1750)
    assert rows[("Won revenue", "Influenced only")]["share"] == pytest.approx(500 / 1750)
    assert rows[("Won revenue", "No marketing touch")]["share"] == pytest.approx(250 / 1750)
    assert rows[("Open deals' pipeline", "Marketing-sourced")]["share"] == pytest.approx(1.0)
    assert rows[("All deals", "Marketing-sourced")]["value"] == 2  # won 1000 and the open one
    # headline falls back to journey totals: won revenue 1750, win rate 3 / (3 + 0)
    head = section(page, "headline")
    assert "1.75k" in head
    assert "100.0%" in head


def test_sourced_shares_follow_the_reporting_window(tmp_path: Path) -> None:
    """With --from/--to, the sourced/influenced shares count the deals the attribution
    columns credit: won by closed_at, open by created_at, in the window."""
    from datetime import datetime

    day = lambda d: datetime(2025, 1, d)  # noqa: E731
    pl.DataFrame(
        {
            "journey_id": [0, 1, 2, 3],
            "status": ["won", "won", "open", "open"],
            "amount": [1000.0, 500.0, 800.0, 300.0],
            "marketing_sourced": [True, False, True, False],
            "marketing_influenced": [True, False, True, False],
            "created_at": [day(2), day(3), day(4), day(25)],
            "closed_at": [day(10), day(28), None, None],
        }
    ).write_parquet(tmp_path / "journeys.parquet")
    window = {"period_from": "2025-01-01", "period_to": "2025-01-15"}
    (tmp_path / "manifest.json").write_text(json.dumps({"config": {"metrics": window}}))
    page = build_report(tmp_path).read_text(encoding="utf-8")
    cid = re.search(r'id="(chart-\d+)"', section(page, "sourced")).group(1)
    rows = {(r["measure"], r["category"]): r for r in data_values(embedded_specs(page)[cid])}
    # in the window: won 1000 (closed Jan 10) and open 800 (created Jan 4), both sourced
    assert rows[("Won revenue", "Marketing-sourced")]["value"] == 1000
    assert rows[("Won revenue", "No marketing touch")]["value"] == 0
    assert rows[("Open deals' pipeline", "Marketing-sourced")]["share"] == pytest.approx(1.0)
    assert rows[("All deals", "Marketing-sourced")]["value"] == 2


def test_funnel_table(tmp_path: Path) -> None:
    stages = ["lead", "mql", "customer"]
    pl.DataFrame(
        {
            "view": ["cohort"] * 3,
            "period": ["all"] * 3,
            "channel": ["(all)"] * 3,
            "stage": stages,
            "stage_order": [1, 2, 6],
            "count": [200, 50, 5],
            "rate_from_previous": [None, 0.25, 0.1],
            "rate_from_previous_lo": [None, 0.195, 0.043],
            "rate_from_previous_hi": [None, 0.314, 0.214],
            "rate_from_lead": [1.0, 0.25, 0.025],
            "rate_from_lead_lo": [0.98, 0.195, 0.011],
            "rate_from_lead_hi": [1.0, 0.314, 0.057],
            "median_days_from_previous": [None, 3.5, 40.0],
        }
    ).write_parquet(tmp_path / "funnel.parquet")
    page = build_report(tmp_path).read_text(encoding="utf-8")
    f = section(page, "funnel")
    assert "Not computed" not in f
    assert '25.0% <small class="ci">19.5%–31.4%</small>' in f
    assert "98.0%" not in f  # lead from lead: 100% by definition, not shown
    assert "3.5 d" in f
    assert "40 d" in f


def test_plan_section(tmp_path: Path) -> None:
    write_plan(tmp_path)
    page = build_report(tmp_path).read_text(encoding="utf-8")
    p = section(page, "plan")
    assert "Not computed" not in p
    assert "100k" in p  # target revenue card
    assert '40.0% <small class="ci">10.0%–70.0%</small>' in p
    assert 'class="pill bad"' in p  # the wide interval is flagged
    assert escape(SCRIPT) in p
    assert SCRIPT not in page
    assert "lead mix of the history period <strong>2025-Q3</strong>" in p
    # a plan.parquet written before it had a period column: no sentence, no error
    pl.read_parquet(tmp_path / "plan.parquet").drop("period").write_parquet(
        tmp_path / "plan.parquet"
    )
    older = section(build_report(tmp_path).read_text(encoding="utf-8"), "plan")
    assert "history period" not in older
    assert "100k" in older


def test_a_plan_older_than_the_run_says_so(tmp_path: Path) -> None:
    """`attrib run` into a folder keeps its plan.parquet: after a rerun with another window the
    page showed the earlier run's plan as this one's. A plan without the --run digest is
    judged by its time."""
    write_plan(tmp_path)
    (tmp_path / "manifest.json").write_text("{}")
    manifest_time = (tmp_path / "manifest.json").stat().st_mtime_ns
    os.utime(tmp_path / "plan.parquet", ns=(manifest_time - 10**9, manifest_time - 10**9))
    stale = section(build_report(tmp_path).read_text(encoding="utf-8"), "plan")
    assert "This plan may be of another run</strong> (plan.parquet was written before" in stale
    assert "100k" in stale  # still shown
    os.utime(tmp_path / "plan.parquet", ns=(manifest_time + 10**9, manifest_time + 10**9))
    fresh = section(build_report(tmp_path).read_text(encoding="utf-8"), "plan")
    assert "another run" not in fresh


def test_a_plan_made_with_run_names_its_run(tmp_path: Path) -> None:
    """`attrib plan --run OUT` writes its run's manifest digest into plan.parquet: a copy of
    the folder with other file times is still this run's plan, and a rerun into the folder
    makes it another run's, whatever the times say."""
    data = tmp_path / "data"
    generate(data, customers=200, seed=5, months=4)
    out = tmp_path / "out"
    run(data, out=out, models="linear")
    run_cli(["plan", "--run", out, "--target-revenue", "1e5", "-q"])
    plan_time = (out / "plan.parquet").stat().st_mtime_ns
    os.utime(out / "manifest.json", ns=(plan_time + 10**9, plan_time + 10**9))  # a copy's times
    copied = section(build_report(out).read_text(encoding="utf-8"), "plan")
    assert "another run" not in copied
    assert "Not computed" not in copied
    run(data, out=out, models="first_touch")  # the plan stays, of the earlier run
    os.utime(out / "plan.parquet", ns=(plan_time + 10**10, plan_time + 10**10))  # newer
    rerun = section(build_report(out).read_text(encoding="utf-8"), "plan")
    assert "This plan may be of another run</strong> (it was planned from another run" in rerun


def test_a_plan_written_from_python_names_its_run_or_its_inputs(tmp_path: Path) -> None:
    """``Plan.write`` writes plan.parquet as `attrib plan` does, with the SHA-256 of its run's
    manifest.json (or, planned from the inputs, their digest) in its metadata, so the report
    shows it as this run's plan; there was no way from Python to write a plan the report
    would show."""
    import hashlib

    from attrib.manifest import PLAN_INPUTS_KEY, PLAN_RUN_KEY, inputs_digest
    from attrib.metrics.plan import plan_from_inputs, plan_from_run

    data = tmp_path / "data"
    generate(data, customers=200, seed=5, months=4)
    out = tmp_path / "out"
    run(data, out=out, models="linear")
    written = plan_from_run(1e5, out).write(out)
    assert written == out / "plan.parquet"
    metadata = pl.read_parquet_metadata(written)
    sha = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()
    assert metadata[PLAN_RUN_KEY] == sha
    shown = section(build_report(out).read_text(encoding="utf-8"), "plan")
    assert "another run" not in shown
    assert "Not computed" not in shown

    written = plan_from_inputs(1e5, data).write(tmp_path / "api2")
    metadata = pl.read_parquet_metadata(written)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert metadata[PLAN_INPUTS_KEY] == inputs_digest(manifest["inputs"])
    assert PLAN_RUN_KEY not in metadata


def test_a_plan_from_the_inputs_names_the_files_it_read(tmp_path: Path) -> None:
    """`attrib plan DATA_DIR --out OUT` writes a digest of the input files it read into
    plan.parquet: a plan of this run's data is this run's whatever the file times say, and
    a plan of other data is noted (it was judged by time only, so a newer plan of other data
    passed as this run's)."""
    data = tmp_path / "data"
    generate(data, customers=200, seed=5, months=4)
    other = tmp_path / "other"
    generate(other, customers=150, seed=6, months=4)
    out = tmp_path / "out"
    run(data, out=out, models="linear")
    run_cli(["plan", data, "--out", out, "--target-revenue", "1e5", "-q"])
    manifest_time = (out / "manifest.json").stat().st_mtime_ns
    older = manifest_time - 10**10  # a copy's times: the plan looks older than the run
    os.utime(out / "plan.parquet", ns=(older, older))
    same_data = section(build_report(out).read_text(encoding="utf-8"), "plan")
    assert "another run" not in same_data
    assert "Not computed" not in same_data
    run_cli(["plan", other, "--out", out, "--target-revenue", "1e5", "-q"])  # newer, other data
    other_data = section(build_report(out).read_text(encoding="utf-8"), "plan")
    assert (
        "This plan may be of another run</strong> (it was planned from other input files"
        in other_data
    )
    # a run whose manifest lists no file SHA-256s (a Spark run's sources, frames): by time
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    manifest["inputs"] = {t: ["(a Spark source)"] for t in manifest["inputs"]}
    (out / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    newer = (out / "manifest.json").stat().st_mtime_ns
    os.utime(out / "plan.parquet", ns=(newer - 10**10, newer - 10**10))
    by_time = section(build_report(out).read_text(encoding="utf-8"), "plan")
    assert "(plan.parquet was written before manifest.json" in by_time


def test_plan_says_what_share_of_the_leads_its_budget_buys(tmp_path: Path) -> None:
    """Organic and direct leads have no cost per lead, so the budget total buys only part of
    the leads the plan needs: the page says so (as `attrib plan` does), or a 624k total read
    as the cost of the whole target."""
    write_plan(tmp_path)
    plan = pl.read_parquet(tmp_path / "plan.parquet")
    plan.with_columns(
        pl.when(pl.col("name") == "(total)").then(0.6).otherwise(pl.col("rate")).alias("rate")
    ).write_parquet(tmp_path / "plan.parquet")
    p = section(build_report(tmp_path).read_text(encoding="utf-8"), "plan")
    total = re.search(r'<tr class="total">(.*?)</tr>', p, re.S)
    assert total is not None
    # the lead-mix column's total is the channels' mix (0.3 + 0.7), not the bought share
    # beside shares that sum to 100%
    assert "100.0%" in total.group(1)
    assert "60.0%" not in total.group(1)
    assert "The budget total buys 60.0% of the leads needed" in p
    # a budget that buys every lead needs no such sentence
    write_plan(tmp_path)
    whole = section(build_report(tmp_path).read_text(encoding="utf-8"), "plan")
    assert "The budget total buys" not in whole


def test_number_formats() -> None:
    assert compact(92.99999999999997) == "93"  # a total of fractional credit, as fmt reads it
    assert compact(1888436) == "1.89M"
    assert compact(654087.06) == "654k"
    assert compact(31) == "31"
    assert compact(None) == "—"
    # three significant digits after rounding; a value that rounds up takes the next unit
    assert compact(9_999) == "10.0k"
    assert compact(999_999) == "1.00M"
    assert compact(12.5) == "12.5"
    assert change(100.04, 100, "money") == ("no change", 0.0)  # +0.04% rounds to nothing
    assert change(150, 100, "money") == ("+50.0%", 50.0)
    assert change(0.25, 0.2, "pct")[0] == "+5.0 pp"
    assert change(5, 0, "count") == ("new", None)
    assert change(None, 1, "count") == ("—", None)
    # a total of fractional credit is whole up to float noise: "93", as the other models' 93
    assert fmt(sum([0.1] * 930), "count") == "93"
    assert fmt(1234.5, "money") == "1,234"  # whole units from 100 up
    assert fmt(3.195, "money") == "3.19"  # a path table's value is not "3"
    assert fmt(31.0, "money") == "31"
    assert fmt(92.5, "count") == "92.5"
    assert fmt(-0.0000000001, "count") == "0"  # not "-0"
    assert fmt(0.0) == "0"  # a CAC payback at no spend, not "0.0000"
    assert fmt(0.01234) == "0.0123"
    assert fmt(0.01234, "pct2") == "1.23%"


# --------------------------------------------------------------------------------------------
# CLI


def test_cli_report(full_run: tuple[Path, str], tmp_path: Path) -> None:
    from cli.report_cmd import report

    out, _ = full_run
    target = tmp_path / "r.html"
    result = CliRunner().invoke(report, [str(out), "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert f"report written to {target}" in result.output
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    missing = CliRunner().invoke(report, [str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert "hint:" in missing.output
    assert "Traceback" not in missing.output


def test_many_channels_are_capped_in_charts(tmp_path: Path) -> None:
    channels = [f"ch{i:02d}" for i in range(40)]
    pl.DataFrame(
        {
            "model": ["linear"] * 40 + ["first_touch"] * 40,
            "channel": channels * 2,
            "revenue": [float(i) for i in range(40)] * 2,  # ch39 earns most
            "pipeline": [0.0] * 80,
        }
    ).write_parquet(tmp_path / "channel_summary.parquet")
    page = build_report(tmp_path).read_text(encoding="utf-8")
    models = section(page, "models")
    cid = re.search(r'id="(chart-\d+)"', models).group(1)
    shown = {r["channel"] for r in data_values(embedded_specs(page)[cid])}
    assert shown == {f"ch{i:02d}" for i in range(10, 40)}  # the 30 with the most revenue
    assert "shows the 30 channels (of 40)" in models
    assert all(f">{c}</td>" in models for c in channels)  # the table keeps every channel


def test_command_module_is_light() -> None:
    # `attrib --help` must stay fast: registering the command imports no data library
    import subprocess
    import sys

    code = (
        "import sys, cli.report_cmd; "
        "print(sorted(m for m in ('polars', 'altair', 'vl_convert', 'numba') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"


def test_run_with_report_flag(tmp_path: Path) -> None:
    from cli.main import cli

    data, out = tmp_path / "data", tmp_path / "out"
    generate(data, customers=120, seed=5, months=3)
    result = CliRunner().invoke(
        cli, ["run", str(data), "--out", str(out), "--models", "first_touch,markov", "--report"]
    )
    assert result.exit_code == 0, result.output
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "could not be rendered" not in page
    assert '<option value="markov" selected>' in page


def test_a_failing_section_does_not_cost_the_page(
    full_run: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import attrib.report.html as report_html

    def funnel(ctx: object) -> None:
        raise RuntimeError("boom <b>")

    sections = tuple(funnel if s.__name__ == "funnel" else s for s in report_html.SECTIONS)
    monkeypatch.setattr(report_html, "SECTIONS", sections)
    out, _ = full_run
    page = build_report(out, target=tmp_path / "r.html").read_text(encoding="utf-8")
    assert "could not be rendered: RuntimeError: boom &lt;b&gt;" in section(page, "funnel")
    assert "could not be rendered" not in section(page, "models")
    assert page.count("could not be rendered") == 1


def _window_manifest(folder: Path, start: str, end: str, *, given: bool, **extra: object) -> None:
    metrics = {"period_from": start, "period_to": end} if given else {}
    manifest = {
        "config": {"metrics": metrics},
        "reporting_window": {"from": start, "to": end, "given": given},
        **extra,
    }
    (folder / "manifest.json").write_text(json.dumps(manifest))


def test_a_partial_latest_period_is_not_compared(tmp_path: Path) -> None:
    """The window ends mid-Q4: Q4's totals cover 46 of 92 days, so comparing them with Q3
    showed every total falling. Q3 is compared with Q2, and Q4 is named partial."""
    rows = [
        (kpi, period, value)
        for kpi, values in (("revenue", (90.0, 100.0, 50.0)), ("won_deals", (9.0, 10.0, 5.0)))
        for period, value in zip(("2025-Q2", "2025-Q3", "2025-Q4"), values, strict=True)
    ]
    pl.DataFrame(rows, schema=["kpi", "period", "value"], orient="row").write_parquet(
        tmp_path / "kpis.parquet"
    )
    _window_manifest(tmp_path, "2025-04-01", "2025-11-15", given=True)
    page = build_report(tmp_path).read_text(encoding="utf-8")
    head = section(page, "headline")
    assert "Latest whole period <strong>2025-Q3</strong> compared with <strong>2025-Q2" in head
    assert "2025-Q4 is partial (the window covers 2025-10-01 to 2025-11-15)" in head
    assert "+11.1%" in _card(head, "Revenue (won)")  # 100 / 90 - 1
    assert "2025-Q4 (partial)" in head  # the KPI table's column
    assert "Reporting window 2025-04-01 to 2025-11-15" in page


def test_period_all_is_named_the_window_when_one_was_given(tmp_path: Path) -> None:
    """With --from/--to, period "all" is the window, not all the data: the card's footnote
    and the KPI table said "all periods" / "all" beside a window's Q2 revenue."""
    rows = [("revenue", p, v) for p, v in (("all", 300.0), ("2025-04", 90.0), ("2025-05", 100.0))]
    pl.DataFrame(rows, schema=["kpi", "period", "value"], orient="row").write_parquet(
        tmp_path / "kpis.parquet"
    )
    _window_manifest(tmp_path, "2025-04-01", "2025-06-30", given=True)
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert '<div class="card-foot">whole window 2025-04-01 to 2025-06-30: 300</div>' in head
    assert "<th>whole window 2025-04-01 to 2025-06-30</th>" in head.replace(' class="num"', "")
    _window_manifest(tmp_path, "2025-04-01", "2025-06-30", given=False)
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert '<div class="card-foot">all periods: 300</div>' in head


def test_a_window_says_why_its_open_pipeline_differs_from_the_headline(tmp_path: Path) -> None:
    """A window in which no open deal was created credits no open pipeline while the headline
    shows the deals open at its end: #models dropped its open-pipeline chart and #sourced
    showed 0 without a word."""
    from datetime import datetime

    pl.DataFrame(
        {
            "model": ["linear", "linear"],
            "channel": ["Email", "Ads"],
            "revenue": [100.0, 50.0],
            "pipeline": [0.0, 0.0],
            "conversions": [1.0, 1.0],
        }
    ).write_parquet(tmp_path / "channel_summary.parquet")
    pl.DataFrame(
        {
            "journey_id": [0, 1],
            "status": ["won", "won"],
            "amount": [100.0, 50.0],
            "marketing_sourced": [True, False],
            "marketing_influenced": [True, False],
            "created_at": [datetime(2025, 4, 2), datetime(2025, 4, 3)],
            "closed_at": [datetime(2025, 4, 10), datetime(2025, 4, 20)],
        }
    ).write_parquet(tmp_path / "journeys.parquet")
    _window_manifest(tmp_path, "2025-04-01", "2025-06-30", given=True, row_counts={"journeys": 2})
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "2 journeys · 1 model<" in page
    said = "the open pipeline credited is that of the open deals created in it"
    assert "1 models" not in page  # the subtitle's count
    assert said in section(page, "models")
    assert "No open pipeline to attribute" in section(page, "models")
    assert said in section(page, "sourced")
    _window_manifest(tmp_path, "2025-04-01", "2025-06-30", given=False)
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "No open pipeline to attribute: no open deal of the run has an amount." in section(
        page, "models"
    )
    assert said not in section(page, "sourced")
    # open pipeline credited in a window: the chart beside the headline's snapshot card says
    # why the two differ where it is shown, not a section further down
    cs = pl.read_parquet(tmp_path / "channel_summary.parquet")
    cs.with_columns(pl.lit(20.0).alias("pipeline")).write_parquet(
        tmp_path / "channel_summary.parquet"
    )
    _window_manifest(tmp_path, "2025-04-01", "2025-06-30", given=True, row_counts={"journeys": 2})
    models = section(build_report(tmp_path).read_text(encoding="utf-8"), "models")
    assert f"Open pipeline: with a reporting window (2025-04-01 to 2025-06-30), {said}" in models
    _window_manifest(tmp_path, "2025-04-01", "2025-06-30", given=False)
    assert said not in section(build_report(tmp_path).read_text(encoding="utf-8"), "models")


def test_a_windowed_report_says_what_its_spend_and_funnel_count(tmp_path: Path) -> None:
    """A window's spend table sets window revenue against window spend (a campaign of the
    quarter before has revenue and no spend), and its leads are the period view, not the
    funnel's cohort view: the notes say so (the first only with a window)."""
    samples = Path(__file__).resolve().parents[1] / "data_samples"
    window = {"period_from": "2025-04-01", "period_to": "2025-06-30"}
    out = run(samples, out=tmp_path / "w", models="linear", metrics=window).out
    page = build_report(out).read_text(encoding="utf-8")
    assert "a campaign that ran before it can have revenue here and no spend" in section(
        page, "spend"
    )
    assert "leads … customers count the stages reached in the period" in section(page, "funnel")
    whole = run(samples, out=tmp_path / "a", models="linear").out
    assert "ran before it" not in section(build_report(whole).read_text(encoding="utf-8"), "spend")


def test_only_partial_periods_are_compared_uncoloured(tmp_path: Path) -> None:
    rows = [("revenue", "2025-Q1", 80.0), ("revenue", "2025-Q2", 100.0)]
    pl.DataFrame(rows, schema=["kpi", "period", "value"], orient="row").write_parquet(
        tmp_path / "kpis.parquet"
    )
    _window_manifest(tmp_path, "2025-03-01", "2025-06-30", given=False)
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert "<strong>2025-Q1</strong> (partial: 2025-03-01 to 2025-03-31)" in head
    assert "delta flat" in _card(head, "Revenue (won)")
    assert "different numbers of days" in head


def test_days_to_deal_and_warnings_follow_the_run(tmp_path: Path) -> None:
    """Days to deal counts the won deals the window counts (as the KPIs do); the run's
    warnings are on the page."""
    from datetime import datetime

    pl.DataFrame(
        {
            "journey_id": [0, 1, 2],
            "status": ["won", "won", "won"],
            "amount": [10.0, 20.0, 30.0],
            "created_at": [datetime(2025, 1, 2)] * 3,
            "closed_at": [datetime(2025, 1, 10), datetime(2025, 1, 20), datetime(2025, 3, 1)],
            "days_to_close": [8.0, 18.0, 58.0],
        }
    ).write_parquet(tmp_path / "journeys.parquet")
    _window_manifest(
        tmp_path, "2025-01-01", "2025-01-31", given=True, warnings=["spend on 1 channel <TV>"]
    )
    page = build_report(tmp_path).read_text(encoding="utf-8")
    days = section(page, "days")
    assert "2 won deals with touches" in days
    assert "median <strong>13 d" in days  # (8 + 18) / 2; the March close is outside the window
    quality = section(page, "quality")
    assert "Warnings of the run" in quality
    assert "spend on 1 channel &lt;TV&gt;" in quality


def test_a_run_without_costs_says_so_and_zero_credit_is_no_highlight(tmp_path: Path) -> None:
    """Without a costs file the spend columns are 0, not unknown: the spend section says no
    spend was given (it showed a table of zeros); a channel with no credit is no highlight."""
    pl.DataFrame(
        {
            "model": ["linear", "linear"],
            "channel": ["(none)", "Email"],
            "revenue": [7000.0, 0.0],
            "spend": [0.0, 0.0],
            "roas": [None, None],
        },
        schema_overrides={"roas": pl.Float64},
    ).write_parquet(tmp_path / "channel_summary.parquet")
    manifest = {"inputs": {"touchpoints": [], "deals": []}, "models": [{"name": "linear"}]}
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "give the run a costs file" in section(page, "spend")
    assert "earns the most won revenue" not in section(page, "headline")


def test_the_top_channel_highlight_names_more_revenue_on_none(tmp_path: Path) -> None:
    """Maven's run: "retail earns the most won revenue: 13.3k (0.1% of 10.0M)", with 99.5% on
    (none) unsaid. Zero-touch deals holding more than the top channel are named."""

    def headline(revenue: list[float]) -> str:
        pl.DataFrame(
            {"model": ["linear"] * 3, "channel": ["(none)", "Email", "Ads"], "revenue": revenue}
        ).write_parquet(tmp_path / "channel_summary.parquet")
        manifest = {"inputs": {"touchpoints": [], "deals": []}, "models": [{"name": "linear"}]}
        (tmp_path / "manifest.json").write_text(json.dumps(manifest))
        return section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")

    text = " ".join(headline([9950.0, 40.0, 10.0]).split())
    assert "<strong>Email</strong> earns the most won revenue: 40 (0.4% of 10.0k)." in text
    assert "More, 99.5%, is on <strong>(none)</strong>: won deals with no touch" in text
    assert "is on <strong>(none)</strong>" not in headline([30.0, 60.0, 10.0])


def test_whole_months_are_compared_when_no_two_quarters_are_whole(tmp_path: Path) -> None:
    """A window from Feb 1 to Apr 30: Q1 and Q2 are both partial (59 and 30 days), March
    and April whole: the headline compares the months."""
    rows = [
        (kpi, period, value)
        for kpi, value in (("revenue", 10.0),)
        for period in ("2025-Q1", "2025-Q2", "2025-02", "2025-03", "2025-04")
    ]
    pl.DataFrame(rows, schema=["kpi", "period", "value"], orient="row").write_parquet(
        tmp_path / "kpis.parquet"
    )
    _window_manifest(tmp_path, "2025-02-01", "2025-04-30", given=True)
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert "Latest period <strong>2025-04</strong> compared with <strong>2025-03</strong>" in head


def test_a_data_span_that_misses_a_few_days_still_covers_its_quarter(tmp_path: Path) -> None:
    """The data's span ends at the last event (Dec 30): Q4 is whole for the headline. A
    window the user gave is taken at its word: ending Dec 30, Q4 is partial."""
    rows = [("revenue", p, v) for p, v in (("2025-Q3", 90.0), ("2025-Q4", 100.0))]
    pl.DataFrame(rows, schema=["kpi", "period", "value"], orient="row").write_parquet(
        tmp_path / "kpis.parquet"
    )
    _window_manifest(tmp_path, "2025-07-01", "2025-12-30", given=False)
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert "Latest period <strong>2025-Q4</strong> compared with <strong>2025-Q3" in head
    _window_manifest(tmp_path, "2025-07-01", "2025-12-30", given=True)
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert "<strong>2025-Q4</strong> (partial: 2025-10-01 to 2025-12-30)" in head


def test_highlights_name_ties_and_compare_marketing_roas_only(tmp_path: Path) -> None:
    pl.DataFrame(
        {
            "model": ["linear"] * 4,
            "channel": ["Email", "Paid Search", "Display", "Trade Fair"],
            "is_marketing": [True, True, True, False],
            "revenue": [500.0, 500.0, 100.0, 0.0],
            "spend": [100.0, 250.0, 200.0, 10.0],
            "roas": [5.0, 2.0, 0.5, 0.0],
        }
    ).write_parquet(tmp_path / "channel_summary.parquet")
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert "<strong>Email</strong> and <strong>Paid Search</strong> earn the most" in head
    # the lowest marketing ROAS is Display's; the fair's sales cost is no campaign
    assert "lowest: <strong>Display</strong>" in head
    assert "Trade Fair" not in head


def test_dir_of_the_api_lists_every_name():
    import attrib.api as at

    names = dir(at)
    assert {"run", "run_bucketed", "run_spark", "build_report", "__doc__"} <= set(names)


def test_a_path_run_shows_no_pipeline_table_nor_settings_that_did_not_apply(
    tmp_path: Path,
) -> None:
    """A --paths run has no open deal and no timestamps: no table of zero pipeline, and no
    lookback or level in its settings."""
    from attrib.run import run_paths

    f = tmp_path / "paths.csv"
    f.write_text("path;total_conversions;total_conversion_value;total_null\na>b;3;30;2\nb;1;5;0\n")
    run_paths(f, out=tmp_path / "out", models="linear,markov")
    page = build_report(tmp_path / "out").read_text(encoding="utf-8")
    assert "Open pipeline by channel and model" not in page
    assert "lookback_days" not in section(page, "quality")
    # nor campaigns, KPIs, or rows to reject: said so, not "no campaign earned revenue"
    assert "a path table has no campaigns" in section(page, "campaigns")
    assert "No campaign earned revenue" not in section(page, "campaigns")
    assert "a path table has no KPIs" in section(page, "targets")
    assert "none is rejected" in section(page, "quality")
    # --paths refuses --costs and its rows have no stages: no hint to give it either
    for sid in ("spend", "funnel"):
        assert "a path table (--paths) has no dates, campaigns, stages or spend" in section(
            page, sid
        )
        assert "give the run a" not in section(page, sid)


def test_only_an_end_the_data_gives_has_slack_and_only_3_percent(tmp_path: Path) -> None:
    """--from given, the end the data's span (Dec 30): Q4 misses one day at the end the
    data gave, within 3% of its 92 days: whole. A month missing 7 of its 31 days is not."""
    rows = [("revenue", p, 1.0) for p in ("2025-Q3", "2025-Q4", "2025-11", "2025-12")]
    pl.DataFrame(rows, schema=["kpi", "period", "value"], orient="row").write_parquet(
        tmp_path / "kpis.parquet"
    )

    def manifest(to: str) -> None:
        window = {"from": "2025-07-01", "to": to, "given": True}
        window |= {"from_given": True, "to_given": False}
        config = {"metrics": {"period_from": "2025-07-01"}}
        (tmp_path / "manifest.json").write_text(
            json.dumps({"config": config, "reporting_window": window})
        )

    manifest("2025-12-30")
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert "Latest period <strong>2025-Q4</strong> compared with <strong>2025-Q3" in head
    manifest("2025-12-24")  # Q4 misses 7 days (> 2), December 7 of 31 (> 0)
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    assert "2025-Q4 is partial" in head or "<strong>2025-Q4</strong> (partial" in head


def test_paid_channels_without_revenue_are_named_beside_the_log_chart(tmp_path: Path) -> None:
    """A paid channel with no revenue cannot sit on the log-scale chart and was left out of
    it without a word: the channel most worth a look vanished from the picture."""
    pl.DataFrame(
        {
            "model": ["linear", "linear", "first_touch", "first_touch"],
            "channel": ["Email", "Display", "Email", "Display"],
            "is_marketing": [True] * 4,
            "revenue": [500.0, 0.0, 450.0, 50.0],
            "spend": [100.0, 200.0, 100.0, 200.0],
            "roas": [5.0, 0.0, 4.5, 0.25],
        }
    ).write_parquet(tmp_path / "channel_summary.parquet")
    spend = section(build_report(tmp_path).read_text(encoding="utf-8"), "spend")
    assert "Paid channels with no attributed revenue" in spend
    assert "· linear: Display." in spend
    assert "first_touch:" not in spend


def test_the_kpi_table_holds_every_period(tmp_path: Path) -> None:
    """Every quarter of the headline's grain, and every month in a second fold-out: the
    fold-out is where a reader finds a KPI of any period, not only the latest four."""
    quarters = [f"{y}-Q{q}" for y in (2024, 2025) for q in (1, 2, 3, 4)]
    months = [f"2025-{m:02d}" for m in range(1, 13)]
    periods = ["all", *quarters, *months]
    pl.DataFrame(
        {
            "kpi": ["revenue"] * len(periods),
            "period": periods,
            "value": [1000.0 + i for i in range(len(periods))],
        }
    ).write_parquet(tmp_path / "kpis.parquet")
    head = section(build_report(tmp_path).read_text(encoding="utf-8"), "headline")
    folds = re.findall(r"<details><summary>(.*?)</summary>(.*?)</details>", head, re.S)
    by_title = dict(folds)
    assert set(by_title) == {"All KPIs by period", "All KPIs by month"}
    for title, shown in (
        ("All KPIs by period", ["all periods", *quarters]),
        ("All KPIs by month", months),
    ):
        assert re.findall(r'<th class="num">(.*?)</th>', by_title[title]) == shown
    # each period's value is in its column: 2024-Q1 is the second period (1001)
    assert "1,001" in by_title["All KPIs by period"]
    assert "1,020" in by_title["All KPIs by month"]  # 2025-12, the last period


def test_shapley_table_reads_conversion_rate_points_as_the_chart(
    full_run: tuple[Path, str],
) -> None:
    out, page = full_run
    sv = pl.read_parquet(out / "shapley_values.parquet").sort("shapley_value", descending=True)
    top = section(page, "shapley")
    assert "Shapley value (conversion rate)" in top
    # 0.0123 reads 1.23%, as the chart's axis: written out here, not by the report's fmt
    assert f"{sv.get_column('shapley_value')[0] * 100:,.2f}%" in top


def test_top_campaigns_say_what_revenue_has_no_campaign(full_run: tuple[Path, str]) -> None:
    out, page = full_run
    cp = pl.read_parquet(out / "campaign_summary.parquet")
    model = cp.get_column("model")[0]
    unnamed = cp.filter(pl.col("model") == model, pl.col("campaign") == "(none)")
    assert unnamed.height  # the synthetic export has organic and direct touches
    revenue = float(unnamed.get_column("revenue").sum())
    assert revenue >= 100  # (whole units from 100 up, as every money cell)
    text = f"{revenue:,.0f}"
    assert f"(none)) is left out of this ranking: {text}." in section(page, "campaigns")


def test_numbers_near_zero_and_past_a_trillion_read_plainly() -> None:
    """A Shapley value of -0.000042 read "-0.00%"; amounts of 10^18 read "1,888,435,700B" on
    a card and "...000,512" (the float's binary noise) in a table."""
    assert fmt(-0.000042, "pct2") == "0.00%"
    assert fmt(-0.0000001) == "0.0000"
    assert fmt(-0.3, "money") == "-0.30"  # a real negative keeps its sign
    assert compact(-0.00001) == "0.00"
    assert compact(1.5e12) == "1.50T"
    assert compact(1.8884357e18) == "1.89e+18"
    assert fmt(1.8884357000000003e18, "money") == "1,888,435,700,000,000,000"
    assert fmt(910401090386414208.0, "count") == "910,401,090,386,414,000"
    assert fmt(123456789012.0, "money") == "123,456,789,012"  # (below 10^15: every digit)


def _one_channel_summary(folder: Path, revenue: list[float]) -> None:
    pl.DataFrame(
        {
            "model": ["linear", "first_touch", "last_touch"],
            "channel": ["Email"] * 3,
            "revenue": revenue,
            "pipeline": [0.0] * 3,
            "conversions": [2.0] * 3,
            "deals": [2.0] * 3,
        }
    ).write_parquet(folder / "channel_summary.parquet")


def test_models_that_differ_by_float_noise_agree(tmp_path: Path) -> None:
    """One channel: every model credits it the whole revenue, added in other orders. The
    highlight said the models disagree most about it "from 1.78M to 1.78M", and the range
    column read 0.00 beside whole numbers."""
    _one_channel_summary(tmp_path, [1782493.5099999984, 1782493.5100000042, 1782493.51])
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "disagree most" not in page
    pivot = section(page, "models")
    assert ">0.00<" not in pivot
    assert '<td class="num muted">0</td>' in pivot
    _one_channel_summary(tmp_path, [1782493.51, 1700000.0, 1782493.51])  # a real difference
    assert "disagree most about <strong>Email</strong>" in build_report(tmp_path).read_text(
        encoding="utf-8"
    )


def test_a_run_without_won_revenue_says_why_its_chart_is_missing(tmp_path: Path) -> None:
    """The won-revenue chart was dropped without a word; a window with no deal was said to
    differ from the headline's open pipeline, and #sourced drew four empty bars."""
    _one_channel_summary(tmp_path, [0.0, 0.0, 0.0])
    page = build_report(tmp_path).read_text(encoding="utf-8")
    assert "No won revenue to attribute: no deal in the run is won with an amount above 0." in (
        section(page, "models")
    )
    pl.DataFrame(
        {
            "model": ["linear"],
            "channel": ["Email"],
            "revenue": [0.0],
            "pipeline": [0.0],
            "deals": [0.0],
        }
    ).write_parquet(tmp_path / "channel_summary.parquet")
    from datetime import datetime

    pl.DataFrame(  # one deal, won before the window
        {
            "journey_id": [0],
            "status": ["won"],
            "amount": [10.0],
            "created_at": [datetime(2025, 5, 1)],
            "closed_at": [datetime(2025, 6, 1)],
            "marketing_sourced": [True],
            "marketing_influenced": [True],
        }
    ).write_parquet(tmp_path / "journeys.parquet")
    _window_manifest(tmp_path, "2030-01-01", "2030-03-31", given=True)
    page = build_report(tmp_path).read_text(encoding="utf-8")
    models = section(page, "models")
    none_held = "the reporting window (2030-01-01 to 2030-03-31) holds no such deal."
    assert f"No won revenue to attribute: {none_held}" in models
    assert f"No open pipeline to attribute: {none_held}" in models
    assert "so they differ" not in models
    sourced = section(page, "sourced")
    assert 'class="chart' not in sourced  # (no bar to draw)
    measures = "Won revenue, Open deals&#x27; pipeline, Won deals, All deals"
    assert f"Nothing to split for {measures}: {none_held}" in sourced


def test_run_details_write_parameters_and_a_half_given_window_as_they_are(
    tmp_path: Path,
) -> None:
    """The parameters read "max_set_size=None, collapse_repeats=True", the settings "strict
    False", and a window given by --from alone "2025-03-01 to 2025-06-30 (given)"."""
    _one_channel_summary(tmp_path, [10.0, 10.0, 10.0])
    manifest = {
        "config": {"strict": False, "level": "customer"},
        "reporting_window": {
            "from": "2025-03-01",
            "to": "2025-06-30",
            "given": True,
            "from_given": True,
            "to_given": False,
        },
        "models": [
            {
                "name": "shapley",
                "title": "Shapley",
                "summary": "s",
                "params": {"max_set_size": None, "collapse_repeats": True, "mode": "exact"},
            }
        ],
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    quality = section(build_report(tmp_path).read_text(encoding="utf-8"), "quality")
    assert "collapse_repeats=true, max_set_size=(not set), mode=&quot;exact&quot;" in quality
    assert "<td>false</td>" in quality.replace(' class="txt"', "")
    assert "2025-03-01 (given) to 2025-06-30 (the data&#x27;s end)" in quality
    for python_word in ("None", "True", "False"):
        assert python_word not in quality


@pytest.mark.parametrize(
    ("manifest", "words"),
    [
        ("null", "manifest.json holds null, not a run's JSON object"),
        ("[1, 2]", "manifest.json holds an array, not a run's JSON object"),
        ('{"outputs": "x"}', None),  # (read letter by letter: "x is missing")
        (None, "manifest.json could not be read"),  # a folder of that name
    ],
)
def test_a_damaged_manifest_is_named_in_a_warning(
    tmp_path: Path, manifest: str | None, words: str | None
) -> None:
    """A manifest that is null, a list or a folder gave no warning (exit 0, silent); outputs
    given as text were read letter by letter ("x is missing")."""
    pl.DataFrame({"model": ["linear"], "channel": ["Email"], "revenue": [1.0]}).write_parquet(
        tmp_path / "channel_summary.parquet"
    )
    if manifest is None:
        (tmp_path / "manifest.json").mkdir()
    else:
        (tmp_path / "manifest.json").write_text(manifest)
    result = run_cli(["report", tmp_path])
    if words is not None:
        assert words in result.output
    assert "x is missing" not in result.output
