"""The installed package: every module of the source tree ships in a non-editable install."""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_of_the_tree_is_installed():
    """pyproject's package list once left out attrib.synth: `attrib generate` then failed in
    any wheel install (Spark clusters, Databricks) while the editable checkout worked."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    shipped = set(find_packages(where=str(ROOT), include=include))
    in_tree = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("attrib", "cli")
        for init in (ROOT / top).rglob("__init__.py")
    }
    assert "attrib.synth" in in_tree
    assert shipped == in_tree
