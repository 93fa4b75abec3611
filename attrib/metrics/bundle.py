"""All ROI, KPI and funnel tables of one run, from the attribution and the inputs."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import polars as pl

from attrib.metrics.funnel import compute_funnel
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
    return {
        "channel_summary": add_spend_metrics(
            channel_summary, costs, touches, stages, deals, settings, journeys=journeys
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
        ),
        "kpis": compute_kpis(
            journeys, deals, costs, stages, touches, settings, targets, channel_flags=flags
        ),
        "funnel": compute_funnel(stages, touches, deals, settings),
    }


def touch_digest(touches: pl.DataFrame, journeys: pl.DataFrame) -> pl.DataFrame:
    """The few touches the metrics read: each entity's first and last touch and each
    journey's first touch. Lets the bucketed engine compute metrics without all touches."""
    ordered = touches.sort("entity_id", "ts", "channel", "campaign")
    firsts = ordered.group_by("entity_id", maintain_order=True).first()
    lasts = ordered.group_by("entity_id", maintain_order=True).last()
    starts = journeys.filter(pl.col("first_touch_at").is_not_null()).select(
        "entity_id", pl.col("first_touch_at").alias("ts")
    )
    journey_firsts = ordered.join(starts.unique(), on=["entity_id", "ts"], how="semi")
    return (
        pl.concat([firsts, lasts, journey_firsts], how="diagonal_relaxed")
        .unique(maintain_order=False)
        .sort("entity_id", "ts", "channel", "campaign")
    )
