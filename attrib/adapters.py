"""Adapters from other export shapes into attrib's touchpoints and deals tables.

A single B2C-style event log (one row per event: ``cookie, time, channel, conversion,
conversion_value``) becomes: every row a touch; every row with a true conversion flag a won
deal (``deal_id`` = cookie + "#" + its sequence number, created and closed at the event time,
amount = the conversion value, 0 when empty). The flag is true for 1/true/t/yes/y or any
positive number (``1.0`` from float-typed exports). Conversion rows are touches too, as in
ChannelAttribution's data model (the channel that carried the conversion gets a touch).
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from attrib.errors import SchemaError
from attrib.inputs import frame_input
from attrib.io import FILE_COL, ROW_COL, as_export_text, read_files, resolve_files

_TRUE = ("1", "true", "t", "yes", "y")


def event_log_tables(
    source: str | Path | pl.DataFrame,
    *,
    customer: str = "cookie",
    ts: str = "time",
    channel: str = "channel",
    conversion: str = "conversion",
    value: str = "conversion_value",
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(touchpoints, deals) in canonical columns, as text, ready for ``load_inputs(frames=...)``."""
    if isinstance(source, pl.DataFrame):
        frame = frame_input(source.drop(FILE_COL, ROW_COL, strict=False), "event log")
    else:
        frame = read_files(resolve_files(source))
    roles = {customer: "customer", ts: "ts", channel: "channel", conversion: "conversion"}
    found = [c for c in frame.columns if c not in (FILE_COL, ROW_COL)]
    for col, role in roles.items():
        if col not in frame.columns:
            where = frame.get_column(FILE_COL)[0] if frame.height else None
            raise SchemaError(
                f"event log has no column {col!r} (its {role} column)",
                file=str(where) if where is not None else None,
                column=col,
                hint=f"columns found: {', '.join(found)}; name it {col!r} in the file, or pass "
                f"the file's name in Python: event_log_tables(path, {role}=...)",
            )
    # as text the way a CSV export holds it: a float cookie 1.0 is "1", not "1.0"
    text = frame.with_columns(
        as_export_text(c, t).alias(c)
        for c, t in frame.schema.items()
        if c not in (FILE_COL, ROW_COL)
    )
    touches = text.select(
        pl.col(customer).alias("customer_id"),
        pl.col(ts).alias("ts"),
        pl.col(channel).alias("channel"),
        FILE_COL,
        ROW_COL,
    )
    text_flag = pl.col(conversion).str.strip_chars().str.to_lowercase()
    # "1", "true", "yes", ... or any positive number ("1.0" from float-typed exports)
    flag = text_flag.is_in(_TRUE) | (text_flag.cast(pl.Float64, strict=False) > 0).fill_null(False)
    amount = pl.col(value) if value in text.columns else pl.lit("0")
    conv = (
        text.filter(flag)
        .select(
            pl.col(customer).alias("customer_id"),
            pl.col(ts).alias("ts"),
            amount.alias("amount"),
            FILE_COL,
            ROW_COL,
        )
        .sort("customer_id", "ts", "amount", ROW_COL)
        .with_columns(
            (
                pl.col("customer_id")
                + "#"
                + (pl.int_range(pl.len()).over("customer_id") + 1).cast(pl.String)
            ).alias("deal_id")
        )
    )
    deals = conv.select(
        "deal_id",
        "customer_id",
        pl.col("ts").alias("created_at"),
        pl.col("ts").alias("closed_at"),
        pl.lit("won").alias("status"),
        # an empty value is 0, blank text as a null
        pl.when(pl.col("amount").str.strip_chars() != "").then("amount").otherwise(pl.lit("0")),
        FILE_COL,
        ROW_COL,
    )
    return touches, deals
