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

__all__ = ["SECTIONS", "SECTION_IDS", "Context", "Section", "prepare_models"]

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

#: section function -> (anchor id, nav label), for the error note of a section that failed
SECTION_IDS: dict[str, tuple[str, str]] = {
    "headline": ("headline", "Headline"),
    "model_comparison": ("models", "Models"),
    "sourced_influenced": ("sourced", "Sourced"),
    "spend_return": ("spend", "Spend"),
    "funnel": ("funnel", "Funnel"),
    "days_to_deal": ("days", "Days to deal"),
    "markov": ("markov", "Markov"),
    "shapley": ("shapley", "Shapley"),
    "bootstrap": ("intervals", "Intervals"),
    "targets": ("targets", "Targets"),
    "plan": ("plan", "Plan"),
    "campaigns": ("campaigns", "Campaigns"),
    "data_quality": ("quality", "Data quality"),
}
