"""Warnings about data that is valid but probably not what the user meant: shown on the
terminal (not with -q) and kept in the manifest."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import deals, run_cli, touches, write_inputs

from attrib.data_checks import DealCounts, rejected_rows
from attrib.engines.local import run_bucketed

TOUCHES = touches([("c1", "2025-01-05", "Email", "jan"), ("c2", "2025-01-06", "Webinar", "w")])


def _run(tmp_path: Path, deal_rows, *args: str):
    data = write_inputs(tmp_path / "in", touches=TOUCHES, deals=deals(deal_rows))
    out = tmp_path / "out"
    result = run_cli(["run", data, "--out", out, "--models", "linear", *args])
    return " ".join(result.output.split()), json.loads((out / "manifest.json").read_text())


def test_deals_whose_ids_match_no_touch_are_flagged(tmp_path):
    text, manifest = _run(tmp_path, [("d1", "C-1", "2025-01-07", "2025-01-09", "won", 10.0)])
    assert "warning: none of the 1 deals' customers has a touch" in text
    assert len(manifest["warnings"]) == 1
    assert "same customer ids" in manifest["warnings"][0]
    assert manifest["row_counts"]["zero_touch_deals"] == 1


def test_a_window_without_deals_is_flagged(tmp_path):
    rows = [("d1", "c1", "2025-01-07", "2025-01-09", "won", 10.0)]
    text, manifest = _run(tmp_path, rows, "--from", "2030-01-01")
    assert "no deal was closed or created in the reporting window" in text
    assert len(manifest["warnings"]) == 1


def test_quiet_keeps_warnings_in_the_manifest_only(tmp_path):
    text, manifest = _run(tmp_path, [("d1", "C-1", "2025-01-07", "2025-01-09", "won", 10.0)], "-q")
    assert "warning" not in text
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
    assert text == (
        "1,203 input row(s) rejected (touchpoints: 1,200, deals: 3); "
        "each row's reason is in out/quarantine/"
    )


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
    a, b = DealCounts(3, 2, None), DealCounts(4, 0, 1)
    assert a + b == DealCounts(7, 2, 1)
    assert (a + b).zero_touch == 5
    assert DealCounts(2, 2) + DealCounts(1, 1) == DealCounts(3, 3, None)
