"""The data-quality section: rows read and rejected, quarantine reasons, run details."""

from __future__ import annotations

from typing import Any

import polars as pl

from attrib.config import toml_value
from attrib.report._base import DASH, Col, Context, Section, Window, not_computed, table
from attrib.report._data import has
from attrib.report._format import esc

# ---------------------------------------------------------------------------------------------
# data quality


def data_quality(ctx: Context) -> Section:
    """Rows read and rejected, quarantine reasons, models, inputs and versions."""
    sec = Section(
        "quality",
        "Data quality",
        "Data quality and run details",
        "Every rejected row is in the out folder's quarantine/ with its file, row, column "
        "and reason.",
    )
    m = ctx.out.manifest
    parts = []
    counts = m.get("row_counts") or {}
    rejected = m.get("rejected") or {}
    rows = []
    for key, n in counts.items():
        if not str(key).endswith("_read"):
            continue
        t = str(key)[: -len("_read")]
        bad = rejected.get(t, 0) or 0
        rows.append(
            {
                "table": t,
                "read": n,
                "rejected": bad,
                "share": (bad / n) if n else None,
            }
        )
    if rows:
        total_bad = sum(int(r["rejected"]) for r in rows)
        tone = "good" if total_bad == 0 else "bad"
        headline_text = (
            "No input row was rejected."
            if total_bad == 0
            else f"{total_bad:,} input rows were rejected and left out of the run."
        )
        parts.append(f'<p class="lead"><span class="pill {tone}">{esc(headline_text)}</span></p>')
        parts.append(
            table(
                [
                    Col("input table", "table"),
                    Col("rows read", "read", "count"),
                    Col("rejected", "rejected", "count"),
                    Col("rejected share", "share", "pct2"),
                ],
                rows,
            )
        )
    elif ctx.paths_run():
        parts.append(
            '<p class="note">A path table (--paths) is read as given: its rows are paths with'
            " their counts, not touches or deals, and none is rejected.</p>"
        )
    elif not counts:
        parts.append(
            not_computed(
                "input row counts (manifest.json is absent)",
                "the out folder of `attrib run` holds one.",
            )
        )
    warnings = [str(w) for w in m.get("warnings") or []]
    if warnings:  # what the run said on the terminal: the numbers may not mean what they seem
        items = "".join(f"<li>{esc(w)}</li>" for w in warnings)
        parts.append(f'<h3>Warnings of the run</h3><ul class="warnings">{items}</ul>')
    q = ctx.out.quarantine()
    qrows = []
    for t, df in q.items():
        if df.height == 0:
            continue
        keys = [c for c in ("column", "reason") if c in df.columns]
        if not keys:
            qrows.append({"table": t, "column": None, "reason": None, "rows": df.height})
            continue
        g = (
            df.group_by(keys)
            .agg(pl.len().alias("rows"))
            .sort(["rows", *keys], descending=[True] + [False] * len(keys))
            .head(8)
        )
        for r in g.to_dicts():
            qrows.append({"table": t, **r})
    if qrows:
        parts.append("<h3>Why rows were rejected</h3>")
        parts.append(
            table(
                [
                    Col("table", "table"),
                    Col("column", "column"),
                    Col("reason", "reason"),
                    Col("rows", "rows", "count"),
                ],
                qrows,
            )
        )
    j = ctx.out.table("journeys")
    facts = []
    if "journeys" in counts:
        facts.append(f"{int(counts['journeys']):,} journeys")
    if "touches_in_journeys" in counts:
        facts.append(f"{int(counts['touches_in_journeys']):,} touches in journeys")
    if has(j, "status"):
        assert j is not None
        by = j.group_by("status").agg(pl.len().alias("n")).sort("status")
        names = {"none": "without a deal"}
        facts += [f"{int(n):,} {esc(names.get(s, s))}" for s, n in by.iter_rows()]
    if facts:
        parts.append(f'<p class="note">Journeys: {" · ".join(facts)}.</p>')
    if ctx.out.problems:
        parts.append(
            '<p class="na"><strong>Unreadable outputs:</strong> '
            + esc("; ".join(ctx.out.problems))
            + "</p>"
        )
    parts.append(_run_details(m, ctx.window()))
    sec.body = "".join(parts)
    return sec


def _run_details(m: dict[str, Any], window: Window | None) -> str:
    parts = ["<details><summary>Models, inputs and versions</summary>"]
    models = m.get("models") or []
    if models:
        mrows = []
        for mod in models:
            if not isinstance(mod, dict):
                continue
            params = mod.get("params") or {}
            mrows.append(
                {
                    "name": mod.get("name"),
                    "title": mod.get("title"),
                    "summary": mod.get("summary"),
                    # as the config writes them (true, "dalessandro", (not set)), as
                    # `attrib models` shows them: not Python's True and None
                    "params": ", ".join(f"{k}={toml_value(v)}" for k, v in sorted(params.items()))
                    or DASH,
                }
            )
        parts.append("<h3>Models</h3>")
        parts.append(
            table(
                [
                    Col("model", "name"),
                    Col("title", "title"),
                    Col("what it does", "summary"),
                    Col("parameters", "params"),
                ],
                mrows,
            )
        )
    inputs = m.get("inputs") or {}
    irows = []
    for t, files in sorted(inputs.items()):
        for f in files or []:
            if isinstance(f, dict):
                irows.append(
                    {
                        "table": t,
                        "path": f.get("path"),
                        "bytes": f.get("bytes"),
                        "sha": str(f.get("sha256") or "")[:16],
                    }
                )
    if irows:
        parts.append("<h3>Input files</h3>")
        parts.append(
            table(
                [
                    Col("table", "table"),
                    Col("file", "path"),
                    Col("bytes", "bytes", "count"),
                    Col("sha256 (first 16)", "sha"),
                ],
                irows,
            )
        )
    cfg = m.get("config") or {}
    # a path table (--paths) has no timestamps, entities or rows to reject: those settings
    # did not apply
    paths_run = "paths" in (m.get("inputs") or {})
    applied = () if paths_run else ("lookback_days", "level", "revenue_window", "strict")
    settings = {k: cfg.get(k) for k in (*applied, "source")}
    if window is not None:
        settings["reporting window"] = window.told()
    metrics = cfg.get("metrics") or {}
    if isinstance(metrics, dict) and not paths_run:  # (a path run computes no KPI)
        settings |= {k: metrics[k] for k in ("gross_margin", "baseline_period") if k in metrics}
    versions = {"attrib": m.get("attrib_version"), **(m.get("versions") or {})}
    kv = [
        (k, toml_value(v) if isinstance(v, bool) else v)  # (strict: false, not False)
        for k, v in {**settings, **versions}.items()
        if v is not None
    ]
    if kv:
        parts.append("<h3>Settings and versions</h3>")
        parts.append(
            table([Col("item", "k"), Col("value", "v")], [{"k": k, "v": v} for k, v in kv])
        )
    timings = m.get("timings_s") or {}
    if timings:
        trows = [{"stage": k, "s": v} for k, v in timings.items()]
        parts.append("<h3>Stage timings</h3>")
        parts.append(table([Col("stage", "stage"), Col("seconds", "s", "number")], trows))
    parts.append("</details>")
    return "".join(parts)
