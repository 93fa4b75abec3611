"""Canonical deals and stages frames from hand-written rows, shared by the metrics tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

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
