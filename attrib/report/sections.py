"""The report's sections in page order (each module holds a family of them)."""

from __future__ import annotations

from collections.abc import Callable

from attrib.report._base import Context, Section, prepare_models
from attrib.report.credit_sections import (
    bootstrap,
    campaigns,
    markov,
    model_comparison,
    shapley,
    sourced_influenced,
)
from attrib.report.funnel_sections import days_to_deal, funnel, spend_return
from attrib.report.kpi_sections import headline, plan, targets
from attrib.report.quality_section import data_quality

__all__ = ["SECTIONS", "Context", "Section", "prepare_models"]

SECTIONS: tuple[Callable[[Context], Section], ...] = (
    headline,
    model_comparison,
    sourced_influenced,
    spend_return,
    funnel,
    days_to_deal,
    markov,
    shapley,
    bootstrap,
    targets,
    plan,
    campaigns,
    data_quality,
)
