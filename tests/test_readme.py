"""The README's Python example runs as written (on a copy of the shipped sample)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_python_example_runs_verbatim(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```python\n(import attrib\.api as at\n.*?)```", readme, re.S)
    assert block is not None, "the README's Python example is gone"
    shutil.copytree(ROOT / "data_samples", tmp_path / "exports")
    (tmp_path / "Data.csv").write_text(  # a ChannelAttribution-style path table
        "path;total_conversions;total_conversion_value;total_null\na > b;2;20;3\nb;1;5;4\na;0;0;2\n"
    )
    monkeypatch.chdir(tmp_path)
    scope: dict[str, object] = {}
    exec(compile(block.group(1), "README.md", "exec"), scope)
    assert isinstance(scope["result"].channel_summary, pl.DataFrame)
    kpis = scope["run"].tables["kpis"]
    revenue = kpis.filter((pl.col("kpi") == "revenue") & (pl.col("period") == "all"))["value"]
    linear = scope["run"].channel_summary.filter(pl.col("model") == "linear")
    whole = scope["result"].channel_summary.filter(pl.col("model") == "linear")
    assert 0 < linear["revenue"].sum() < whole["revenue"].sum()  # the window holds some deals
    assert linear["revenue"].sum() == pytest.approx(revenue.item())  # and limits both alike
    for folder in ("out", "q2q3", "big", "paths"):
        assert (tmp_path / folder / "manifest.json").is_file()
    assert (tmp_path / "q2q3" / "report.html").is_file()
    assert scope["plan"].table.filter(pl.col("name") == "customer").height == 1


def _commands():
    from cli.main import cli

    return sorted(cli.commands.items())


@pytest.mark.parametrize(("name", "command"), _commands(), ids=[n for n, _ in _commands()])
def test_every_command_and_option_is_in_the_readme(name, command):
    """The README's command reference names every command and every option it takes."""
    import click

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"`attrib {name}" in readme
    section = readme[readme.index("## Command reference") :]
    for param in command.params:
        if isinstance(param, click.Option):
            long = [o for o in param.opts if o.startswith("--")]
            # the option itself, not a longer one it begins (--to in --touchpoints)
            found = [o for o in long if re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", section)]
            assert found, f"attrib {name} {long} is not in the README"
