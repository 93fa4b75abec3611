"""The data contract: canonical columns per table, type parsing and row validation.

Every check is a Polars expression over whole columns (no row loops). A row that breaks a rule
is not dropped silently: it goes to the quarantine frame with the column and the reason, and
the run reports the counts (``--strict`` turns any rejection into a failed run). A table-level
problem (a required column missing) raises ``SchemaError`` naming the file and the columns
that are there.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl

from attrib.columns import (
    ACCOUNT_ID,
    AMOUNT,
    CAMPAIGN,
    CHANNEL,
    CLOSED_AT,
    CLOSED_STATUSES,
    CREATED_AT,
    CUSTOMER_ID,
    DATE,
    DEAL_ID,
    MEDIUM,
    NONE_CHANNEL,
    REASON,
    REASON_COLUMN,
    SOURCE,
    SPEND,
    STAGE,
    STATUS,
    TABLE_COLUMNS,
    TOUCH_TYPE,
    TS,
)
from attrib.config import RunConfig
from attrib.encoded import US_PER_DAY
from attrib.errors import ConfigError, InputError, SchemaError
from attrib.io import (
    FILE_COL,
    REPEATED_SUFFIX,
    ROW_COL,
    file_format,
    parquet_schema,
)
from attrib.parsing import (
    MIXED_NONE,
    Reason,
    Why,
    mixing_code,
    mixing_counts,
    parse_id,
    parse_number,
    parse_stage,
    parse_status,
    parse_timestamp,
    reason_if,
)
from attrib.schema_hints import (
    confident_guess,
    file_schema,
    missing_column_error,
    nested_traffic_fields,
    unreadable_column_error,
)


@dataclass(frozen=True)
class Validated:
    """A table after validation: typed canonical rows and the rejected rows with reasons."""

    table: str
    frame: pl.DataFrame
    rejected: pl.DataFrame
    files: tuple[str, ...]


def unused_columns(table: str, config: RunConfig) -> frozenset[str]:
    """Canonical columns of ``table`` a run never reads: the touches' ``touch_type``
    (descriptive) and, at ``level = "customer"``, their ``account_id``. Neither can reject a
    row (a nested-type one is still refused: ``io.Projection``), so a run keeps and rejects
    the same rows without them."""
    if table != "touchpoints":
        return frozenset()
    return frozenset({TOUCH_TYPE} | ({ACCOUNT_ID} if config.level == "customer" else set()))


def unread_optional(table: str, config: RunConfig, columns: Collection[str] = ()) -> frozenset[str]:
    """Canonical optional columns of ``table`` a run does not read from its files: those a
    ``[constants]`` value gives, ``unused_columns``, any table's ``account_id`` at ``level =
    "customer"``, and the touches' ``source`` or ``medium`` where no ``[[rules]]`` entry
    matches on it, or, the file's ``columns`` known, beside a channel column (only rules
    read them, and only without one)."""
    skip = config.constants.get(table, {}).keys() | unused_columns(table, config)
    if config.level == "customer":
        skip |= {ACCOUNT_ID}
    for ruled in (SOURCE, MEDIUM):
        if not any(getattr(rule, ruled) is not None for rule in config.rules):
            skip |= {ruled}
    if table == "touchpoints" and config.source_column(table, CHANNEL) in columns:
        skip |= {SOURCE, MEDIUM}
    return frozenset(skip)


def map_columns(raw: pl.DataFrame, table: str, config: RunConfig) -> pl.DataFrame:
    """Rename/derive canonical columns per ``[columns.<table>]`` and ``[constants.<table>]``."""
    return _mapped(raw, table, config, keep_given=False).collect(engine="in-memory")


def no_channel_reason(config: RunConfig) -> str:
    """Why a touch without a channel is rejected, and, where the channel is read from a
    column mapped in ``[columns]`` (Olist's ``origin``), how to keep such touches: that
    column read as ``source`` through ``[[rules]]`` (a file's own ``channel`` column is
    read as the channel whatever else it is mapped to)."""
    column = config.source_column("touchpoints", CHANNEL)
    if column == CHANNEL:
        return f"{CHANNEL} is empty"
    return (
        f"{CHANNEL} is empty (to keep such touches, map {column!r} as source instead and write"
        " [[rules]] over it: a touch no rule matches is (unassigned))"
    )


def _mapping(
    available: list[str], table: str, config: RunConfig
) -> tuple[list[pl.Expr], list[tuple[str, str]]]:
    """The canonical columns as expressions over source columns named ``available``
    (``[columns]`` renames, ``[constants]`` replace), and the columns missing as (canonical
    name, source name): the required ones, and the optional ones the config maps (a misspelt
    ``campaign = "landing_page"`` had made every campaign ``(none)`` without a word)."""
    required, optional = TABLE_COLUMNS[table]
    mapping = config.columns.get(table, {})
    constants = config.constants.get(table, {})
    unread = unread_optional(table, config, available)
    exprs: list[pl.Expr] = []
    missing: list[tuple[str, str]] = []
    for column in (*required, *optional):
        source = mapping.get(column, column)
        if column in constants:
            exprs.append(pl.lit(constants[column]).alias(column))
        elif source in available:
            exprs.append(pl.col(source).alias(column))
        elif column in required or (column in mapping and column not in unread):
            missing.append((column, source))
    # (a mapped channel column that is missing is there already)
    no_channel = table == "touchpoints" and not _has_channel_source(available, config)
    if no_channel and all(c != CHANNEL for c, _ in missing):
        missing.append((CHANNEL, mapping.get(CHANNEL, CHANNEL)))
    return exprs, missing


def channel_sources(config: RunConfig) -> frozenset[str]:
    """The touch file columns any one of which names each touch's channel: ``channel``, or
    ``source``/``medium`` for ``[[rules]]`` to read (as ``[columns]`` names them); none
    needed when ``[constants]`` gives the channel."""
    if CHANNEL in config.constants.get("touchpoints", {}):
        return frozenset()
    return frozenset(config.source_column("touchpoints", c) for c in (CHANNEL, SOURCE, MEDIUM))


def _has_channel_source(available: Collection[str], config: RunConfig) -> bool:
    """Whether touches with these source columns name their channel (``channel_sources``)."""
    sources = channel_sources(config)
    return not sources or not sources.isdisjoint(available)


def header_error(
    columns: Sequence[str], table: str, config: RunConfig, file: str | None
) -> SchemaError | None:
    """The error of a table's file whose header lacks columns the run needs (required, or
    mapped in ``[columns]``), else None: what validation raises, from the names alone (the
    bucketed engine and Spark check their files' headers with it). A column the header
    names twice (the reader's copy ``ts_duplicated_0``) is told first, as validation does."""
    names = [re.sub(rf"{REPEATED_SUFFIX}\d+$", "", c) for c in columns]
    if (repeated := repeated_header_error(names, table, config, file)) is not None:
        return repeated
    _, missing = _mapping(list(columns), table, config)
    return _missing_error(columns, missing, table, config, file) if missing else None


def _missing_error(
    columns: Sequence[str],
    missing: list[tuple[str, str]],
    table: str,
    config: RunConfig,
    file: str | None,
    schema: Mapping[str, pl.DataType] | None = None,
) -> SchemaError:
    """``header_error``'s error, the ``missing`` (canonical, source) columns known;
    ``schema``: the columns' types where known (a nested one may hold the channel)."""
    available = [c for c in columns if c not in (FILE_COL, ROW_COL)]
    # no channel column and no source/medium either, not a mapped channel column that is
    # missing: a channel is needed, but not one column by name (as ``_mapping`` adds it)
    no_channel = (
        table == "touchpoints"
        and CHANNEL not in config.columns.get(table, {})
        and not _has_channel_source(available, config)
    )
    if no_channel and len(missing) == 1:
        return _no_channel_error(available, file, schema)
    (column, source), *also = missing
    required = all(c in TABLE_COLUMNS[table][0] or no_channel for c, _ in missing)
    maps_too = _optional_found(available, table, config, {c for c, _ in missing})
    alternative = "or, for the channel, write [[rules]] over source/medium" if no_channel else None
    return missing_column_error(
        table, column, source, available, file, also, required, maps_too, alternative
    )


def _no_channel_error(
    available: list[str], file: str | None, schema: Mapping[str, pl.DataType] | None
) -> SchemaError:
    """The error of touches with no column that names their channel: a guess at the
    file's column for it, else the nested traffic fields to unnest, else the two ways."""
    guess = confident_guess("touchpoints", CHANNEL, available)
    hint = (
        f'map it: [columns.touchpoints] channel = "{guess}"'
        if guess is not None
        else "map the column that names each touch's channel: [columns.touchpoints] channel"
        f' = "<your column>", or write [[rules]] over source/medium (columns found:'
        f" {', '.join(available) or 'none'})"
    )
    read = schema if schema is not None else dict.fromkeys(available, pl.String())
    if nested := nested_traffic_fields(file_schema(file, pl.Schema(read))):
        top = nested[0].split(".")[0]
        hint = (
            f"the nested column {top!r} holds {', '.join(nested)}: make them columns of"
            f" their own in the export (BigQuery: SELECT {nested[0]} AS"
            f' {nested[0].rsplit(".", 1)[-1]}, ...; Polars: .unnest("{top}")), then'
            " map them or write [[rules]]"
        )
    return SchemaError(
        "touchpoints need a 'channel' column or 'source'/'medium' columns with [[rules]]",
        file=file,
        column=CHANNEL,
        hint=hint,
    )


def _optional_found(
    available: list[str], table: str, config: RunConfig, missing: set[str]
) -> list[tuple[str, str]]:
    """Optional columns a run reads that the file has under another name, surely ('Close
    Date' for closed_at): a hint that maps the missing required columns maps these too, or
    the run after the fix rejects every won deal for want of its close."""
    unread = unread_optional(table, config, available)
    found = []
    for column in TABLE_COLUMNS[table][1]:
        if column in missing or column in unread or column in config.columns.get(table, {}):
            continue
        if column in available or column in config.constants.get(table, {}):
            continue
        if (guess := confident_guess(table, column, available)) is not None:
            found.append((column, guess))
    return found


def _mapped(
    raw: pl.DataFrame, table: str, config: RunConfig, *, keep_given: bool = True
) -> pl.LazyFrame:
    """``map_columns`` as a lazy plan: validation folds it into its own (an eager select of
    a frame whose columns are chunked differently would copy every column to align them)."""
    exprs, missing = _mapping(raw.columns, table, config)
    # a header naming a read column twice first: its copy (ts_duplicated_0) would be listed
    # among the columns found of a missing-column error, as if the file had it
    _refuse_repeated_columns(raw, table, config)
    if missing:  # no row to name its file: the caller that read the files names them
        file = raw[FILE_COL][0] if raw.height else None
        raise _missing_error(raw.columns, missing, table, config, file, raw.schema)
    mapped = raw.lazy().select(*exprs, FILE_COL, ROW_COL)
    return _without_expected_closes(mapped, table, config, keep_given=keep_given)


def _refuse_repeated_columns(raw: pl.DataFrame, table: str, config: RunConfig) -> None:
    """SchemaError for a column the table reads that a file's header names twice: the
    reader keeps the first and renames the others, so the values of the others were dropped
    (or, where the first was another field renamed by mistake, every row rejected)."""
    # the reader's copies (channel_duplicated_0, ...) as the header named them
    names = [re.sub(rf"{REPEATED_SUFFIX}\d+$", "", c) for c in raw.columns]
    if (err := repeated_header_error(names, table, config, None)) is None:
        return
    given = raw.filter(pl.col(f"{err.column}{REPEATED_SUFFIX}0").is_not_null())[FILE_COL]
    files = given if given.len() else raw[FILE_COL]
    err.file = str(files[0]) if files.len() else None
    raise err


def repeated_header_error(
    names: Sequence[str], table: str, config: RunConfig, file: str | None
) -> SchemaError | None:
    """``_refuse_repeated_columns`` from a file's header names (Spark renames the copies
    apart, ``channel3``, and the run stopped on a missing ``channel``), else None."""
    required, optional = TABLE_COLUMNS[table]
    mapping = config.columns.get(table, {})
    constants = config.constants.get(table, {})
    for column in (*required, *optional):
        source = mapping.get(column, column)
        if column not in constants and (n := list(names).count(source)) > 1:
            return SchemaError(
                f"the header names column {source!r} {n} times",
                file=file,
                column=source,
                hint=f"rename or remove the copies: one column is read as {column}",
            )
    return None


#: an open deal's closed_at as given, for its quarantine row only (``_without_expected_closes``)
_GIVEN_CLOSE = "__given_closed_at"


def _without_expected_closes(
    mapped: pl.LazyFrame, table: str, config: RunConfig, *, keep_given: bool = False
) -> pl.LazyFrame:
    """Deals: an open deal's ``closed_at`` (a CRM's expected close date) cleared before
    anything reads it. Every step takes "closed" from the status, so the date is no close;
    parsed, an unreadable one ("TBD") would reject the deal, and zoned ones would count in
    the column's timezone mixing and could reject won deals' plain dates. ``keep_given``:
    the value as given in ``_GIVEN_CLOSE``, so that a quarantined row shows what it held."""
    if table != "deals" or CLOSED_AT not in mapped.collect_schema().names():
        return mapped
    is_open = parse_status(config)[0] == "open"
    return mapped.with_columns(
        *([pl.col(CLOSED_AT).alias(_GIVEN_CLOSE)] if keep_given else []),
        pl.when(is_open.fill_null(False)).then(None).otherwise(pl.col(CLOSED_AT)).alias(CLOSED_AT),
    )


def deal_event_time() -> pl.Expr:
    """When a deal counts: a closed deal (won or lost, with a ``closed_at``) at its close, any
    other at its creation. The journeys' revenue window ends there, and a reporting window
    credits, and the report counts, a deal by it."""
    closed = pl.col(STATUS).is_in(CLOSED_STATUSES) & pl.col(CLOSED_AT).is_not_null()
    return pl.when(closed).then(pl.col(CLOSED_AT)).otherwise(pl.col(CREATED_AT))


#: a Polars expression or a Series: what an expression helper gives back for each
ExprOrSeries = TypeVar("ExprOrSeries", pl.Expr, pl.Series)


def is_date(us: ExprOrSeries) -> ExprOrSeries:
    """Whether epoch microseconds are a date without a time: midnight UTC exactly (the one
    reading of a date-only CRM time; the funnel's numba kernel spells the same test)."""
    return us % US_PER_DAY == 0


def through_its_day(us: pl.Expr) -> pl.Expr:
    """Epoch microseconds as a window end: a date (``is_date``; a CRM's close date) is the
    last microsecond of its day, since a touch later that day came at or before it as far as
    anyone can tell; any other time as it is."""
    return pl.when(is_date(us)).then(us + (US_PER_DAY - 1)).otherwise(us)


def at_or_before(touched: pl.Expr, milestone: pl.Expr) -> pl.Expr:
    """Whether a touch time (Datetime) is at or before a milestone (Datetime) as the journeys
    read it: a milestone on a date (``through_its_day``) holds its whole day."""
    return touched.dt.epoch("us") <= through_its_day(milestone.dt.epoch("us"))


def quarantine_text(column: str, dtype: pl.DataType) -> pl.Expr:
    """A value as a quarantine file shows it: text, a typed timestamp without the zero
    microseconds a plain cast writes ("2025-09-11 05:49:38", not "...38.000000"), one with
    a zone at its UTC time, as every later check (which reads it in UTC) and Spark show it."""
    if isinstance(dtype, pl.Datetime):
        value = pl.col(column)
        if dtype.time_zone is not None:
            value = value.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return value.dt.to_string("%Y-%m-%d %H:%M:%S%.f").alias(column)
    return pl.col(column).cast(pl.String).alias(column)


def mixing_facts(frame: pl.LazyFrame, table: str, config: RunConfig) -> dict[str, int]:
    """Per text timestamp column of a table (canonical name): its ``mixing_code`` over every
    row of ``frame`` (raw source columns, mapped as ``validate`` maps them): a whole-table
    fact, computed once. One pass over those columns; typed columns cost nothing. (A missing
    required column is ``validate``'s to report, with the file it is missing from.)"""
    names = frame.collect_schema().names()
    exprs, _ = _mapping(names, table, config)
    by_file = (
        [pl.col(FILE_COL).cast(pl.String)]
        if FILE_COL in names
        else [pl.lit(None, pl.String).alias(FILE_COL)]
    )
    mapped = _without_expected_closes(frame.select(*exprs, *by_file), table, config)
    schema = mapped.collect_schema()
    text = [c for c in _TIMESTAMPS if c in schema and schema[c] == pl.String]
    if not text:
        return {}
    counts = [e for c in text for e in mixing_counts(c)]
    # per file: a typed file's values (stacked as text beside text files) do not vote
    per_file = mapped.group_by(FILE_COL).agg(counts).collect(engine="streaming")
    codes = {}
    for c in text:
        typed = typed_timestamp_files(per_file[FILE_COL].to_list(), table, c, config)
        voters = per_file.filter(~pl.col(FILE_COL).is_in(typed))
        aware, naive = (int(voters[f"{c}:{kind}"].sum()) for kind in ("aware", "naive"))
        codes[c] = mixing_code(aware, naive)
    return codes


def typed_timestamp_files(
    files: Iterable[str | None], table: str, column: str, config: RunConfig
) -> list[str]:
    """The files whose ``column`` (canonical) is a typed timestamp in the file itself (a
    Parquet Datetime), among a table's files stacked as text (``io.stack_parts``): their
    values name their instant, so they neither vote in the timezone-mixing rule nor are
    rejected by it (written as naive text, a zoned Parquet part outvoted the zoned text rows
    beside it, rejecting them)."""
    source = config.source_column(table, column)
    typed = []
    for file in files:
        if file is None:
            continue
        try:
            if file_format(Path(file)) != "parquet":
                continue
            if isinstance(parquet_schema(Path(file)).get(source), pl.Datetime):
                typed.append(file)
        except (InputError, OSError, pl.exceptions.PolarsError):
            continue  # (not a local file: its values vote, as text)
    return typed


def _checks(
    schema: pl.Schema,
    table: str,
    config: RunConfig,
    mixed: dict[str, pl.Expr],
) -> list[tuple[str, pl.Expr, Why]]:
    """(column, parsed value, why-invalid) per canonical column of ``schema``. ``mixed``: per
    text timestamp column, the whole column's ``mixing_code`` (as a column, so that pass 2,
    which sees only the flagged rows, reads the same code)."""
    out: list[tuple[str, pl.Expr, Why]] = []

    def has(c: str) -> bool:
        return c in schema

    def ident(c: str, *, required: bool = True, empty: str | None = None) -> tuple[pl.Expr, Why]:
        return parse_id(c, schema[c], required=required, empty=empty)

    def stamp(c: str, *, required: bool = False, local: bool = False) -> tuple[pl.Expr, Why]:
        value, why = parse_timestamp(
            c, schema[c], mixed=mixed.get(c), required=required, local=local
        )
        if not required:
            return value, why

        def why_required(raw: pl.Expr, value: pl.Expr) -> Reason:
            return reason_if(raw.is_null(), f"{c} is empty") + why(raw, value)

        return value, why_required

    if table == "touchpoints":
        out.append((CUSTOMER_ID, *ident(CUSTOMER_ID)))
        if has(ACCOUNT_ID):
            out.append(
                (
                    ACCOUNT_ID,
                    *ident(ACCOUNT_ID, required=config.level == "account"),
                )
            )
        out.append((TS, *stamp(TS, required=True)))
        if has(CHANNEL):
            out.append((CHANNEL, *ident(CHANNEL, empty=no_channel_reason(config))))
        for c in (SOURCE, MEDIUM, CAMPAIGN, TOUCH_TYPE):
            if has(c):
                out.append((c, *ident(c, required=False)))
    elif table == "deals":
        out.append((DEAL_ID, *ident(DEAL_ID)))
        out.append((CUSTOMER_ID, *ident(CUSTOMER_ID)))
        if has(ACCOUNT_ID):
            out.append((ACCOUNT_ID, *ident(ACCOUNT_ID, required=False)))
        created, why_created = stamp(CREATED_AT, required=True)
        out.append((CREATED_AT, created, why_created))
        out.append((STATUS, *parse_status(config)))
        out.append((AMOUNT, *parse_number(AMOUNT, schema[AMOUNT])))
        if has(CLOSED_AT):
            closed, why_closed = stamp(CLOSED_AT)
            # a CRM's close *date* (Salesforce CloseDate) on the day a deal was created with
            # a time reads as midnight, before the creation: the deal closed when created. A
            # close at midnight UTC exactly is such a date however written (text with its
            # 00:00:00, a Parquet timestamp), as ``through_its_day`` reads it
            given = schema[CLOSED_AT]
            if given in (pl.String, pl.Date) or isinstance(given, pl.Datetime):
                same_day = (
                    is_date(closed.dt.epoch("us"))
                    & (closed < created)
                    & (closed + pl.duration(days=1) > created)
                )
                closed = pl.when(same_day).then(created).otherwise(closed)
            out.append((CLOSED_AT, closed, why_closed))
    elif table == "stages":
        out.append((CUSTOMER_ID, *ident(CUSTOMER_ID)))
        if has(ACCOUNT_ID):
            out.append((ACCOUNT_ID, *ident(ACCOUNT_ID, required=False)))
        out.append((STAGE, *parse_stage(config)))
        out.append((TS, *stamp(TS, required=True)))
    elif table == "costs":
        # the day as written: a +01:00 midnight is that day, not the evening before in UTC
        d, why = stamp(DATE, required=True, local=True)
        out.append((DATE, d.dt.date(), why))
        out.append((CHANNEL, *ident(CHANNEL)))
        if has(CAMPAIGN):
            out.append((CAMPAIGN, *ident(CAMPAIGN, required=False)))
        out.append((SPEND, *parse_number(SPEND, schema[SPEND])))
    elif table == "targets":
        out.append(("kpi", *ident("kpi")))
        out.append(("period", *ident("period")))
        out.append(("target", *parse_number("target", schema["target"])))
    return out


def _row_rules(table: str, schema: pl.Schema) -> list[tuple[str, Reason]]:
    """Rules across columns, applied to parsed values: (column, why-invalid). ``schema``:
    the checked columns' input dtypes."""
    present = set(schema)
    rules: list[tuple[str, Reason]] = []
    if table == "touchpoints" and CHANNEL in present:
        # the channel of deals without touches: a touch of that name would merge into it
        rules.append(
            (
                CHANNEL,
                reason_if(
                    pl.col(CHANNEL) == NONE_CHANNEL,
                    f"channel {NONE_CHANNEL} is reserved for deals without touches (rename it "
                    "in the export, e.g. Direct, or read the channel from another column:"
                    " [columns.touchpoints] channel, or [event_log] channel for an event log)",
                ),
            )
        )
    if table == "deals" and CLOSED_AT in present:
        closed = pl.col(STATUS).is_in(CLOSED_STATUSES)
        # empty in the input: one that is there but not a timestamp has its own reason
        raw = pl.col(f"__raw_{CLOSED_AT}")
        empty = (
            raw.is_null() | (raw.str.strip_chars() == "")
            if schema[CLOSED_AT] == pl.String
            else raw.is_null()
        )
        rules.append(
            (
                CLOSED_AT,
                reason_if(
                    closed & empty,
                    pl.format("{} deal has no closed_at", pl.col(STATUS)),
                )
                + reason_if(
                    closed & (pl.col(CLOSED_AT) < pl.col(CREATED_AT)),
                    "closed_at is before created_at",
                ),
            )
        )
    if table == "deals" and CLOSED_AT not in present:
        rules.append(
            (
                CLOSED_AT,
                reason_if(
                    pl.col(STATUS).is_in(CLOSED_STATUSES),
                    pl.format("{} deal has no closed_at column", pl.col(STATUS)),
                ),
            )
        )
    return rules


#: validation's own columns: any rule broken (pass 1), a duplicated deal id (whole column)
_BAD = "__bad"
_DUP = "__dup"
#: tables whose rows must be unique on a key: every copy of a repeated key is rejected (no
#: copy is more right than another, and keeping the first or last depends on row order)
_UNIQUE_KEYS = {"deals": (DEAL_ID,), "targets": ("kpi", "period")}
#: columns parsed as timestamps (text ones are checked for mixed timezone awareness)
_TIMESTAMPS = (TS, CREATED_AT, CLOSED_AT, DATE)


def _mixing_code_of_rows(
    code: int, files: Sequence[str], table: str, column: str, config: RunConfig
) -> pl.Expr:
    """A column's timezone-mixing code for each row: the table's, but none for the rows of
    a file whose values are typed timestamps (``typed_timestamp_files``)."""
    if code == MIXED_NONE or not (typed := typed_timestamp_files(files, table, column, config)):
        return pl.lit(code, dtype=pl.Int8)
    exempt = pl.col(FILE_COL).cast(pl.String).is_in(typed)
    return (
        pl.when(exempt)
        .then(pl.lit(MIXED_NONE, dtype=pl.Int8))
        .otherwise(pl.lit(code, dtype=pl.Int8))
    )


def validate(
    raw: pl.DataFrame,
    table: str,
    config: RunConfig,
    *,
    rechunk: bool = True,
    mixed: dict[str, int] | None = None,
) -> Validated:
    """Map, parse and check one table; split it into valid rows and quarantined rows.

    ``mixed``: the whole table's timezone-mixing facts (``mixing_facts``) when ``raw`` is
    one part of it (a bucket): the rule is about the table, not the part.

    ``rechunk``: return each valid column as one chunk (numpy hand-offs and row gathers want
    that); a caller that needs only some columns contiguous passes False and rechunks those
    (``inputs.prepare_touches``: every column of 10M touches costs ~0.7 s).
    """
    files = tuple(sorted(set(raw[FILE_COL].unique().to_list()))) if raw.height else ()
    mapped = _mapped(raw, table, config)
    schema = mapped.collect_schema()
    columns = list(schema)
    first_file = files[0] if files else None
    for column, dtype in schema.items():
        source = config.source_column(table, column)
        if (err := unreadable_column_error(mapped, column, dtype, source, first_file)) is not None:
            raise err
    if table == "touchpoints" and config.level == "account" and ACCOUNT_ID not in columns:
        # journeys are keyed by the touches' account: without it every row would be rejected
        source = config.source_column(table, ACCOUNT_ID)
        available = [c for c in raw.columns if c not in (FILE_COL, ROW_COL)]
        file = files[0] if files else None
        err = missing_column_error(table, ACCOUNT_ID, source, available, file)
        raise SchemaError(
            f"{err.message} (journeys at level account are keyed by it)",
            file=err.file,
            column=err.column,
            hint=err.hint,
        )
    # timezone mixing is a whole-column rule: the table's (a part of it is given them)
    codes = mixed if mixed is not None else mixing_facts(raw.lazy(), table, config)
    mixing = {
        c: _mixing_code_of_rows(codes.get(c, MIXED_NONE), files, table, c, config)
        for c in _TIMESTAMPS
        if c in schema and schema[c] == pl.String
    }
    given_close = _GIVEN_CLOSE in columns
    columns = [c for c in columns if c != _GIVEN_CLOSE]
    canon = [c for c in columns if c not in (FILE_COL, ROW_COL)]
    # pass 1, over every row: typed values, then one cheap flag per rule (no message text)
    lf, present, whys = _typed(
        mapped.with_columns(m.alias(f"__mixed_{c}") for c, m in mixing.items()),
        schema,
        table,
        config,
        list(mixing),
    )
    flags = [f"__f{i}" for i in range(len(whys))]
    lf = lf.with_columns(why.flag().alias(f) for why, f in zip(whys, flags, strict=True))
    unique = _UNIQUE_KEYS.get(table)
    if unique:
        lf = lf.with_columns(
            ((pl.len().over(unique) > 1) & pl.all_horizontal(pl.col(unique).is_not_null())).alias(
                _DUP
            )
        )
    lf = lf.with_columns(pl.any_horizontal([*flags, *([_DUP] if unique else [])]).alias(_BAD)).drop(
        *flags
    )
    typed = lf.collect(engine="in-memory")
    flagged = typed.get_column(_BAD)
    if not flagged.any():  # nothing rejected: no message text, no copies
        empty = pl.DataFrame(
            schema={"file": pl.String, "row": pl.Int64, REASON_COLUMN: pl.String, REASON: pl.String}
            | dict.fromkeys(canon, pl.String)
        )
        good = _with_all_columns(typed.select(*canon, FILE_COL, ROW_COL), table)
        return Validated(
            table=table, frame=good.rechunk() if rechunk else good, rejected=empty, files=files
        )
    # pass 2, over the flagged rows only: the messages, from the raw values (whole-column
    # facts, timezone mixing and duplicated deal ids, come from pass 1)
    raw_bad = typed.filter(_BAD).select(
        *[pl.col(f"__raw_{c}").alias(c) if c in present else pl.col(c) for c in columns],
        *[f"__mixed_{c}" for c in mixing],
        *([_DUP] if unique else []),
        *([_GIVEN_CLOSE] if given_close else []),
    )
    explained = _explain(raw_bad, table, config, list(mixing))
    if given_close:  # the quarantine shows an open deal's expected close date as given
        explained = explained.with_columns(pl.col(_GIVEN_CLOSE).alias(CLOSED_AT))
    rejected = (
        explained.filter(pl.col(REASON).is_not_null())
        .select(
            pl.col(FILE_COL).cast(pl.String).alias("file"),
            pl.col(ROW_COL).alias("row"),
            pl.col(REASON_COLUMN),
            pl.col(REASON),
            *[quarantine_text(c, explained.schema[c]) for c in canon],
        )
        .sort("file", "row")
    )
    keep = ~flagged
    if rejected.height < explained.height:
        # defensive: every flag's case has a non-null message today; a row flagged without
        # one would stay, as in a one-pass reading
        mask = keep.to_numpy().copy()
        mask[np.flatnonzero(flagged.to_numpy())[explained[REASON].is_null().to_numpy()]] = True
        keep = pl.Series(mask)
    good = _with_all_columns(typed.filter(keep).select(*canon, FILE_COL, ROW_COL), table)
    return Validated(
        table=table, frame=good.rechunk() if rechunk else good, rejected=rejected, files=files
    )


def _with_all_columns(good: pl.DataFrame, table: str) -> pl.DataFrame:
    """Valid rows with every column the later steps read: deals without the optional
    ``closed_at`` column (each closed deal was rejected for it) get it, null: no open deal
    has a close."""
    if table == "deals" and CLOSED_AT not in good.columns:
        return good.with_columns(pl.lit(None, dtype=pl.Datetime("us")).alias(CLOSED_AT))
    return good


def _typed(
    lf: pl.LazyFrame, schema: pl.Schema, table: str, config: RunConfig, mixing: list[str]
) -> tuple[pl.LazyFrame, list[str], list[Reason]]:
    """Both passes' first step: each checked column's raw input kept as ``__raw_<c>`` (a
    zero-copy alias) and replaced by its typed value, and every rule's ``Reason`` read off
    the typed value and the raw input. Polars does not share sub-expressions across a
    ``with_columns`` here, so a reason written on the raw text would parse it twice.

    Returns the plan, the checked columns (in check order) and the reasons (checks', then
    the cross-column rules').
    """
    checks = _checks(schema, table, config, {c: pl.col(f"__mixed_{c}") for c in mixing})
    present = [c for c, _, _ in checks]
    lf = lf.with_columns(
        *[pl.col(c).alias(f"__raw_{c}") for c in present],
        *[value.alias(c) for c, value, _ in checks],
    )
    whys = [why(pl.col(f"__raw_{c}"), pl.col(c)) for c, _, why in checks]
    checked = pl.Schema({c: schema[c] for c in present})
    return lf, present, whys + [why for _, why in _row_rules(table, checked)]


def _footer_note(raw: list[str]) -> pl.Expr:
    """A rejected row that looks like a report's last lines, one text and nothing else
    (Salesforce's "Confidential Information - Do Not Distribute"), or a total line (Google
    Ads' "Total: Campaign"): it is rejected on every run (``--strict`` fails) until the
    export is cleaned, so the reason says so. (Flagged rows only: message text.)"""
    text = [pl.col(c).cast(pl.String).str.strip_chars().fill_null("") for c in raw]
    filled = pl.sum_horizontal([(t != "").cast(pl.Int32) for t in text])
    sentence = pl.any_horizontal([t.str.contains(" ", literal=True) for t in text])
    # "Total", "Totals", "Total: Campaign", "Grand total (3)": not a name that starts so
    pattern = r"(?i)^(?:grand\s+)?totals?\s*(?:[:(]|$)"
    total = pl.any_horizontal([t.str.contains(pattern) for t in text])
    return pl.when(((filled == 1) & sentence) | total).then(
        pl.lit("a report's footer or total line? delete it from the export")
    )


def _explain(raw: pl.DataFrame, table: str, config: RunConfig, mixing: list[str]) -> pl.DataFrame:
    """Flagged raw rows with ``reason`` (every broken rule's message, "; "-joined) and
    ``column`` (the first broken one, as the file names it: ``origin`` where ``[columns]``
    maps it to channel); the canonical columns keep their raw values."""
    lf, present, whys = _typed(raw.lazy(), raw.schema, table, config, mixing)
    rules = _row_rules(table, pl.Schema({c: raw.schema[c] for c in present}))
    names = [f"__m{i}" for i in range(len(whys))]
    columns = present + [c for c, _ in rules]
    lf = lf.with_columns(why.message().alias(n) for why, n in zip(whys, names, strict=True))
    unique = _UNIQUE_KEYS.get(table)
    if unique:
        what = " ".join(f"{key} {{}}" for key in unique)
        # every copy is flagged, so the copies of a key are all here: those that agree on
        # every column read (an export's line written twice; an open deal's expected close
        # included) are told apart from records that disagree. Grouped over the copies only:
        # a window over every flagged row (a wrongly mapped table) took seconds per million
        read = [f"__raw_{c}" for c in present]
        read += [_GIVEN_CLOSE] if _GIVEN_CLOSE in raw.columns else []
        agree = (
            lf.filter(pl.col(_DUP))
            .group_by(unique)
            .agg((pl.struct(read).n_unique() == 1).alias("__agree"))
        )
        same = pl.when(pl.col("__agree")).then(
            pl.lit("; the copies agree on every column attrib reads: keep one")
        )
        lf = (
            lf.join(agree, on=unique, how="left", maintain_order="left")
            .with_columns(
                pl.when(pl.col(_DUP))
                .then(
                    pl.format(
                        f"duplicate {what} (every copy is rejected{{}})",
                        *unique,
                        same.otherwise(pl.lit("")),
                    )
                )
                .alias("__mdup")
            )
            .drop("__agree")
        )
        names.append("__mdup")
        columns.append(unique[0])
    if len(present) >= 3:
        lf = lf.with_columns(_footer_note([f"__raw_{c}" for c in present]).alias("__mfoot"))
        names.append("__mfoot")
        columns.append(present[0])
    reason = pl.concat_str([pl.col(n) for n in names], separator="; ", ignore_nulls=True)
    first = pl.coalesce(
        [
            pl.when(pl.col(n).is_not_null()).then(pl.lit(config.source_column(table, c)))
            for n, c in zip(names, columns, strict=True)
        ]
    )
    return (
        lf.with_columns(
            pl.when(reason != "").then(reason).alias(REASON), first.alias(REASON_COLUMN)
        )
        .with_columns(pl.col(f"__raw_{c}").alias(c) for c in present)
        .collect(engine="in-memory")
    )


#: a value each canonical column takes, for checking a ``[constants]`` value on its own
_VALID_SAMPLE = {
    CUSTOMER_ID: "c",
    ACCOUNT_ID: "a",
    TS: "2025-01-01",
    CHANNEL: "x",
    SOURCE: "x",
    MEDIUM: "x",
    CAMPAIGN: "x",
    TOUCH_TYPE: "x",
    DEAL_ID: "d",
    CREATED_AT: "2025-01-01",
    CLOSED_AT: "2025-01-02",
    STATUS: "won",
    AMOUNT: "1",
    STAGE: "lead",
    DATE: "2025-01-01",
    SPEND: "1",
    "kpi": "revenue",
    "period": "all",
    "target": "1",
}


def check_constants(config: RunConfig) -> None:
    """ConfigError for a ``[constants.<table>]`` value its column refuses: it would reject
    every row of the table, each reason naming a column of the export (``amount x is not a
    number``), where the value to fix is in the config. Checked on one row of valid values."""
    for table, constants in config.constants.items():
        if not constants or table not in TABLE_COLUMNS:
            continue
        required, optional = TABLE_COLUMNS[table]
        values = {
            config.source_column(table, c): [_VALID_SAMPLE[c]]
            for c in (*required, *optional)
            if c not in constants
        }
        row = pl.DataFrame(values).with_columns(
            pl.lit("channels.toml").alias(FILE_COL), pl.lit(1, dtype=pl.Int64).alias(ROW_COL)
        )
        rejected = validate(row, table, config).rejected
        refused = rejected.filter(pl.col(REASON_COLUMN).is_in(list(constants)))
        if refused.height:
            column, reason = refused.row(0, named=True)[REASON_COLUMN], refused[REASON][0]
            raise ConfigError(
                f"[constants.{table}] {column} = {constants[column]!r}: {reason}",
                file=config.source,
                hint="every row of the table gets this value: give one its column takes",
            )
