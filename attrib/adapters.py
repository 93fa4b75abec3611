"""Adapters from other export shapes into attrib's touchpoints and deals tables.

A single B2C-style event log (one row per event: ``cookie, time, channel, conversion,
conversion_value``) becomes: every row a touch; every row with a true conversion flag a won
deal (``deal_id`` = cookie + "#" + its sequence number, created and closed at the event time,
amount = the conversion value, 0 when empty). The flag is true for 1/true/t/yes/y or any
positive number (``1.0`` from float-typed exports). Conversion rows are touches too, as in
ChannelAttribution's data model (the channel that carried the conversion gets a touch).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import polars as pl

from attrib.columns import NONE_CHANNEL
from attrib.config import RunConfig
from attrib.errors import SchemaError
from attrib.inputs import frame_input
from attrib.io import FILE_COL, ROW_COL, as_export_text, loose_name, read_files, resolve_files
from attrib.schema_hints import config_lines, unreadable_column_error

#: an event_log_tables argument's ``[event_log]`` key (``config.EVENT_LOG_COLUMNS``)
_ROLE_KEYS = {
    "customer": "cookie",
    "ts": "time",
    "channel": "channel",
    "conversion": "conversion",
    "value": "conversion_value",
}
#: how common event exports name each role (Mixpanel, GA4's BigQuery export, Segment,
#: Amplitude), by role: guessed first in the hint of a log lacking the role's column
_EXPORT_NAMES = {
    "customer": ("distinct_id", "user_pseudo_id", "anonymous_id", "amplitude_id", "user_id"),
    "ts": ("event_time", "event_timestamp", "timestamp", "time"),
    "channel": ("utm_source", "traffic_source", "source", "channel_grouping"),
    "conversion": ("converted", "is_conversion", "purchase"),
    "value": ("revenue", "purchase_revenue", "value", "amount"),
}
_TRUE = ("1", "true", "t", "yes", "y")
_FALSE = ("0", "false", "f", "no", "n")


def event_log_tables(
    source: str | Path | pl.DataFrame,
    *,
    customer: str = "cookie",
    ts: str = "time",
    channel: str = "channel",
    conversion: str = "conversion",
    value: str = "conversion_value",
    warnings: list[str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(touchpoints, deals) in canonical columns, as text, ready for ``load_inputs(frames=...)``.

    ``warnings``, when given, receives what the adapter reads in a way the log's author
    probably did not mean (``event_log_warnings``): ``attrib run --event-log`` prints them."""
    if isinstance(source, pl.DataFrame):
        frame = frame_input(source.drop(FILE_COL, ROW_COL, strict=False), "event log")
    else:
        frame = read_files(resolve_files(source))
    roles = {customer: "customer", ts: "ts", channel: "channel", conversion: "conversion"}
    found = [c for c in frame.columns if c not in (FILE_COL, ROW_COL)]
    if missing := [(col, role) for col, role in roles.items() if col not in frame.columns]:
        raise _missing_roles(frame, missing, found, value)
    # the columns read, as text the way a CSV export holds it: a float cookie 1.0 is "1",
    # not "1.0"; the others are ignored (GA4's nested event_params), as in the touchpoints
    used = [c for c in dict.fromkeys((customer, ts, channel, conversion, value)) if c in found]
    first = frame.get_column(FILE_COL)[0] if frame.height else None
    where = str(first) if first is not None else None
    for c in used:
        if (err := unreadable_column_error(frame.lazy(), c, frame.schema[c], c, where)) is not None:
            raise err
    text = frame.select(
        *(as_export_text(c, frame.schema[c]).alias(c) for c in used), FILE_COL, ROW_COL
    )
    text_flag = pl.col(conversion).str.strip_chars().str.to_lowercase()
    # "1", "true", "yes", ... or any positive number ("1.0" from float-typed exports)
    flag = text_flag.is_in(_TRUE) | (text_flag.cast(pl.Float64, strict=False) > 0).fill_null(False)
    # a conversion row without a channel (empty, or GA's "(none)") is a conversion only, not
    # a touch to reject; any other row without one is still quarantined as a touch
    no_channel = pl.col(channel).str.strip_chars().fill_null("").is_in(("", NONE_CHANNEL))
    touches = text.filter(~(flag & no_channel)).select(
        pl.col(customer).alias("customer_id"),
        pl.col(ts).alias("ts"),
        pl.col(channel).alias("channel"),
        FILE_COL,
        ROW_COL,
    )
    if warnings is not None:
        warnings.extend(event_log_warnings(text, found, conversion, value, text_flag, flag))
        warnings.extend(repeated_conversions(text.filter(flag), customer, ts, value))
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


def _guess_role(column: str, role: str, free: list[str], *, sure: bool = False) -> str | None:
    """The log's column most likely meant for ``role`` (default name ``column``): an
    export's own name for it (``_EXPORT_NAMES``), else a close spelling (``sure``: one
    differing only in case or separators); None if neither."""
    loose = {loose_name(c): c for c in free}
    known = (loose[n] for n in map(loose_name, (*_EXPORT_NAMES[role], column)) if n in loose)
    close = [] if sure else difflib.get_close_matches(column, free, n=1, cutoff=0.5)
    return next(known, close[0] if close else None)


def _missing_roles(
    frame: pl.DataFrame, missing: list[tuple[str, str]], found: list[str], value: str
) -> SchemaError:
    """Every role column the log lacks in one error (not one per try), with the [event_log]
    lines that name the log's own columns, a close one guessed where there is one; the
    (optional) value column's line too where it is missing and guessed (GA4's
    ``purchase_revenue``), or the next run warns that every conversion is worth 0."""
    where = frame.get_column(FILE_COL)[0] if frame.height else None
    named = ", ".join(f"{col!r} (its {role} column)" for col, role in missing)
    free = [c for c in found if c not in {col for col, _ in missing}]

    guesses = [_guess_role(col, role, free) for col, role in missing]
    lines = [
        f'{_ROLE_KEYS[role]} = "{guess or "your_column"}"'
        for (_, role), guess in zip(missing, guesses, strict=True)
    ]
    roles = [role for _, role in missing]
    # (only a sure guess: not a close spelling, "converted" for conversion_value)
    unused = [c for c in free if c not in guesses]
    if value not in found and (guess := _guess_role(value, "value", unused, sure=True)):
        lines.append(f'{_ROLE_KEYS["value"]} = "{guess}"')
        roles.append("value")
    python = ", ".join(f"{role}=..." for role in roles)
    config = config_lines("event_log", lines)
    return SchemaError(
        f"event log has no column{'s' if len(missing) > 1 else ''} {named}",
        file=str(where) if where is not None else None,
        column=missing[0][0],
        hint=f"columns found: {', '.join(found)}; name the log's own column"
        f"{'s' if len(missing) > 1 else ''} in the config:{config} (Python:"
        f" event_log_tables(path, {python}))",
    )


def event_log_frames(
    source: str | Path | pl.DataFrame,
    warnings: list[str],
    columns: Mapping[str, str] | None = None,
) -> dict[str, pl.DataFrame]:
    """``event_log_tables`` as the raw ``frames`` ``load_inputs`` takes (``attrib run`` and
    ``attrib validate --event-log``), its warnings appended to ``warnings``; ``columns``:
    the config's ``[event_log]`` names of the log's columns."""
    given = {role: (columns or {}).get(key) for role, key in _ROLE_KEYS.items()}
    names = {role: column for role, column in given.items() if column is not None}
    touches, deals = event_log_tables(source, warnings=warnings, **names)
    return {"touchpoints": touches, "deals": deals}


#: the tables an event log stands for: their [columns] and [constants] do not apply to it
_LOG_TABLES = ("touchpoints", "deals")


def event_log_config(config: RunConfig, warnings: list[str]) -> RunConfig:
    """The config an event log's tables are read with: the adapter gives them attrib's own
    column names, so ``[columns]`` and ``[constants]`` of touchpoints and deals do not apply
    (a mapping there named a column the adapter's tables lack, and stopped the run); set
    aside with a warning naming ``[event_log]``, where the log's columns are mapped."""
    dropped = [
        f"[{kind}.{table}]"
        for kind, tables in (("columns", config.columns), ("constants", config.constants))
        for table in _LOG_TABLES
        if tables.get(table)
    ]
    if not dropped:
        return config
    warnings.append(
        f"{' and '.join(dropped)} of the config do not apply to an event log (set aside): its "
        'columns are mapped by role in [event_log], e.g. cookie = "distinct_id"'
    )
    return replace(
        config,
        columns={t: m for t, m in config.columns.items() if t not in _LOG_TABLES},
        constants={t: m for t, m in config.constants.items() if t not in _LOG_TABLES},
    )


def _where(rows: pl.DataFrame, shown: str) -> str:
    """'file.csv row 3 (x), row 9 (y) and 4 more' for the first rows of ``rows``."""
    first = rows.head(3)
    parts = [
        f"{f} row {r} ({v!r})" if i == 0 or f != first[FILE_COL][i - 1] else f"row {r} ({v!r})"
        for i, (f, r, v) in enumerate(
            zip(first[FILE_COL], first[ROW_COL], first[shown], strict=True)
        )
    ]
    more = f" and {rows.height - first.height} more" if rows.height > first.height else ""
    return ", ".join(parts) + more


def repeated_conversions(
    conversions: pl.DataFrame, customer: str, ts: str, value: str
) -> list[str]:
    """Conversion rows that repeat another's cookie, time and value exactly: each is one
    more won deal (its value counted again, the repeat zero-touch), usually one conversion
    recorded twice (a tag that fired twice, two exports stacked)."""
    keys = [customer, ts, *([value] if value in conversions.columns else [])]
    repeats = conversions.filter(pl.int_range(pl.len()).over(keys) > 0)
    if not repeats.height:
        return []
    return [
        f"{repeats.height:,} conversion row(s) repeat another's {', '.join(keys)} exactly and "
        f"each counts as one more conversion, its value again: {_where(repeats, ts)}; drop "
        "the repeats if they record one conversion twice"
    ]


def _a(name: str) -> str:
    """``name`` with its article, as the warnings name a column: "an event flag"."""
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def event_log_warnings(
    text: pl.DataFrame,
    found: list[str],
    conversion: str,
    value: str,
    text_flag: pl.Expr,
    flag: pl.Expr,
) -> list[str]:
    """What an event log says that the adapter drops or reads otherwise without a word: a
    missing value column (every conversion worth 0), a conversion flag that is neither true
    nor false (read as no conversion), a count above 1 (one conversion), a value on a row that
    is not a conversion (not counted)."""
    out: list[str] = []
    if value not in text.columns:
        where = text[FILE_COL][0] if text.height else "the event log"
        guess = _guess_role(value, "value", [c for c in found if c not in text.columns])
        line = f'[event_log] conversion_value = "{guess or "its value column"}"'
        out.append(
            f"event log {where} has no column {value!r}: every conversion is worth 0 (columns "
            f"found: {', '.join(found)}; to count revenue, name it in the config: {line})"
        )
    number = text_flag.cast(pl.Float64, strict=False)
    unknown = text.filter(
        text_flag.is_not_null()
        & (text_flag != "")
        & ~text_flag.is_in(_TRUE + _FALSE)
        & number.is_null()
    )
    if unknown.height:
        out.append(
            f"{unknown.height:,} event log row(s) have {_a(conversion)} flag that is neither true "
            "(1/true/t/yes/y or a number > 0) nor false (0/false/f/no/n, empty or a number <= 0) "
            f"and were read as no conversion: {_where(unknown, conversion)}; write them as 1 or 0"
        )
    counts = text.filter(number > 1)
    if counts.height:
        out.append(
            f"{counts.height:,} event log row(s) have {_a(conversion)} above 1, each read as one "
            f"conversion (the flag is not a count): {_where(counts, conversion)}; write one row "
            "per conversion"
        )
    if value in text.columns:
        raw = pl.col(value).str.strip_chars()
        stray = text.filter(~flag & raw.is_not_null() & (raw != "")).filter(
            raw.cast(pl.Float64, strict=False).fill_null(1.0) != 0
        )
        if stray.height:
            out.append(
                f"{stray.height:,} event log row(s) that are not conversions carry {_a(value)}, "
                f"which is not counted: {_where(stray, value)}; flag the row's {conversion} "
                "(1) if it converted, else leave its value empty"
            )
    return out
