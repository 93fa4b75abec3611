"""All ROI, KPI and funnel tables of one run, from the attribution and the inputs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from attrib.metrics.funnel import compute_funnel, stage_facts
from attrib.metrics.kpis import compute_kpis
from attrib.metrics.roi import add_spend_metrics
from attrib.metrics.settings import MetricsSettings


def metrics_settings(raw: dict[str, Any], **overrides: Any) -> MetricsSettings:
    """``[metrics]`` from the config, then command-line overrides (``None`` = not given)."""
    settings = MetricsSettings.from_mapping(raw)
    given = {k: v for k, v in overrides.items() if v is not None}
    return replace(settings, **given) if given else settings


def compute_metrics(
    *,
    touches: pl.DataFrame | None,
    deals: pl.DataFrame,
    stages: pl.DataFrame | None,
    costs: pl.DataFrame | None,
    targets: pl.DataFrame | None,
    journeys: pl.DataFrame,
    channel_summary: pl.DataFrame,
    campaign_summary: pl.DataFrame,
    settings: MetricsSettings,
) -> dict[str, pl.DataFrame]:
    """Summaries with spend columns, ``kpis`` and ``funnel`` (docs/METRICS.md)."""
    flags = channel_summary.select("channel", "is_marketing").unique().sort("channel")
    facts = stage_facts(stages, touches, deals, settings)
    return {
        "channel_summary": add_spend_metrics(
            channel_summary, costs, touches, stages, deals, settings, journeys=journeys, facts=facts
        ),
        "campaign_summary": add_spend_metrics(
            campaign_summary,
            costs,
            touches,
            stages,
            deals,
            settings,
            by_campaign=True,
            journeys=journeys,
            facts=facts,
        ),
        "kpis": compute_kpis(
            journeys, deals, costs, stages, touches, settings, targets, channel_flags=flags
        ),
        "funnel": compute_funnel(stages, touches, deals, settings, facts=facts),
    }
