"""The analyst's HTML report: one self-contained ``report.html`` built from a run's out folder."""

from __future__ import annotations

from attrib.report.html import build_report

__all__ = ["build_report"]
