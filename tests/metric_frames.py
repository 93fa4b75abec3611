"""Canonical deals and stages frames from hand-written rows, shared by the metrics tests."""

from __future__ import annotations

import datetime as dt

import polars as pl

DealRow = tuple[str, str, dt.datetime, dt.datetime | None, str, float]


def deals_frame(rows: list[DealRow]) -> pl.DataFrame:
    """(deal, entity, created, closed, status, amount) → canonical deals."""
    return pl.DataFrame(
        {
            "deal_id": [r[0] for r in rows],
            "entity_id": [r[1] for r in rows],
            "customer_id": [r[1] for r in rows],
            "created_at": [r[2] for r in rows],
            "closed_at": [r[3] for r in rows],
            "status": [r[4] for r in rows],
            "amount": [r[5] for r in rows],
        },
        schema={
            "deal_id": pl.String,
            "entity_id": pl.String,
            "customer_id": pl.String,
            "created_at": pl.Datetime("us"),
            "closed_at": pl.Datetime("us"),
            "status": pl.String,
            "amount": pl.Float64,
        },
    )


def stages_frame(rows: list[tuple[str, str, dt.datetime]]) -> pl.DataFrame:
    """(entity, stage, ts) → canonical stages."""
    return pl.DataFrame(
        {
            "entity_id": [r[0] for r in rows],
            "customer_id": [r[0] for r in rows],
            "stage": [r[1] for r in rows],
            "ts": [r[2] for r in rows],
        },
        schema={
            "entity_id": pl.String,
            "customer_id": pl.String,
            "stage": pl.String,
            "ts": pl.Datetime("us"),
        },
    )
