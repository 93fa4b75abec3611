"""Canonical deals and stages frames from hand-written rows, shared by the metrics tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

from attrib.metrics.funnel import StageFacts, stage_facts
from attrib.metrics.periods import resolve_window
from attrib.metrics.roi import channel_marketing_flags, sourced_map, spend_metrics
from attrib.metrics.settings import MetricsSettings

DealRow = tuple[str, str, dt.datetime, dt.datetime | None, str, float]


def deals_frame(rows: list[DealRow]) -> pl.DataFrame:
    """(deal, entity, created, closed, status, amount) → canonical deals."""
    schema = {
        "deal_id": pl.String,
        "entity_id": pl.String,
        "created_at": pl.Datetime("us"),
        "closed_at": pl.Datetime("us"),
        "status": pl.String,
        "amount": pl.Float64,
    }
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.with_columns(pl.col("entity_id").alias("customer_id")).select(
        "deal_id", "entity_id", "customer_id", *list(schema)[2:]
    )


def stages_frame(rows: list[tuple[str, str, dt.datetime]]) -> pl.DataFrame:
    """(entity, stage, ts) → canonical stages."""
    schema = {"entity_id": pl.String, "stage": pl.String, "ts": pl.Datetime("us")}
    frame = pl.DataFrame(rows, schema=schema, orient="row")
    return frame.select("entity_id", pl.col("entity_id").alias("customer_id"), "stage", "ts")


def add_spend_metrics(
    summary: pl.DataFrame,
    costs: pl.DataFrame | None,
    touches: pl.DataFrame | None,
    stages: pl.DataFrame | None,
    deals: pl.DataFrame | None,
    settings: MetricsSettings,
    *,
    by_campaign: bool = False,
    journeys: pl.DataFrame | None = None,
    facts: StageFacts | None = None,
) -> pl.DataFrame:
    """Add ``ADDED_COLUMNS`` to a channel (or campaign) summary, one row per model × key:
    one batch of ``sourced_map`` and its ``spend_metrics``, from plain frames (the tests'
    shortcut through what ``attrib.metrics.bundle`` does for a run)."""
    window = resolve_window(settings, touches, deals, stages)
    facts = facts or stage_facts(stages, touches, deals, settings)
    sourced = sourced_map(facts, deals, touches, journeys, window)
    return spend_metrics(
        summary,
        costs,
        settings,
        window,
        sourced,
        facts.present,
        by_campaign=by_campaign,
        flags=channel_marketing_flags(touches),
    )
