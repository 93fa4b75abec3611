"""The data contract: canonical columns per table, type parsing and row validation.

Every check is a Polars expression over whole columns (no row loops). A row that breaks a rule
is not dropped silently: it goes to the quarantine frame with the column and the reason, and
the run reports the counts (``--strict`` turns any rejection into a failed run). A table-level
problem (a required column missing) raises ``SchemaError`` naming the file and the columns
that are there.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import polars as pl

from attrib.config import CANONICAL_STAGES, RunConfig
from attrib.errors import SchemaError
from attrib.io import FILE_COL, ROW_COL

# Canonical column names (one place; never scattered as literals elsewhere).
CUSTOMER_ID = "customer_id"
ACCOUNT_ID = "account_id"
ENTITY_ID = "entity_id"
TS = "ts"
CHANNEL = "channel"
CAMPAIGN = "campaign"
SOURCE = "source"
MEDIUM = "medium"
TOUCH_TYPE = "touch_type"
DEAL_ID = "deal_id"
CREATED_AT = "created_at"
CLOSED_AT = "closed_at"
STATUS = "status"
AMOUNT = "amount"
STAGE = "stage"
DATE = "date"
SPEND = "spend"
REASON = "reason"
REASON_COLUMN = "column"

#: table -> (required columns, optional columns)
TABLE_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "touchpoints": ((CUSTOMER_ID, TS), (ACCOUNT_ID, CHANNEL, SOURCE, MEDIUM, CAMPAIGN, TOUCH_TYPE)),
    "deals": ((DEAL_ID, CUSTOMER_ID, CREATED_AT, STATUS, AMOUNT), (ACCOUNT_ID, CLOSED_AT)),
    "stages": ((CUSTOMER_ID, STAGE, TS), (ACCOUNT_ID,)),
    "costs": ((DATE, CHANNEL, SPEND), (CAMPAIGN,)),
    "targets": (("kpi", "period", "target"), ()),
}

STATUS_VALUES = ("open", "won", "lost")
_STATUS_SYNONYMS = {
    "open": "open",
    "inprogress": "open",
    "pipeline": "open",
    "won": "won",
    "closedwon": "won",
    "win": "won",
    "lost": "lost",
    "closedlost": "lost",
    "loss": "lost",
}
# a UTC offset after the time of day: Z, ±hh, ±hhmm or ±hh:mm (ISO 8601), optionally spaced
OFFSET_PATTERN = r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(Z|z|[+-]\d\d(?::?\d\d)?)$"
_TS_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


@dataclass(frozen=True)
class Validated:
    """A table after validation: typed canonical rows and the rejected rows with reasons."""

    table: str
    frame: pl.DataFrame
    rejected: pl.DataFrame
    files: tuple[str, ...]

    @property
    def n_rejected(self) -> int:
        return self.rejected.height


def _missing_column_error(table: str, column: str, available: list[str], file: str) -> SchemaError:
    close = difflib.get_close_matches(column, available, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    hint += (
        f'map it in the config: [columns.{table}] {column} = "<your column>"'
        f" (columns found: {', '.join(available) or 'none'})"
    )
    return SchemaError(
        f"required column {column!r} is missing", file=file, column=column, hint=hint
    )


def map_columns(raw: pl.DataFrame, table: str, config: RunConfig) -> pl.DataFrame:
    """Rename/derive canonical columns per ``[columns.<table>]`` and ``[constants.<table>]``."""
    required, optional = TABLE_COLUMNS[table]
    mapping = config.columns.get(table, {})
    constants = config.constants.get(table, {})
    available = [c for c in raw.columns if c not in (FILE_COL, ROW_COL)]
    file = raw[FILE_COL][0] if raw.height else "(empty input)"
    exprs: list[pl.Expr] = []
    for column in (*required, *optional):
        source = mapping.get(column, column)
        if column in constants:
            exprs.append(pl.lit(constants[column]).alias(column))
        elif source in raw.columns:
            exprs.append(pl.col(source).alias(column))
        elif column in required:
            raise _missing_column_error(table, source, available, file)
    return raw.select(*exprs, FILE_COL, ROW_COL)


def _as_text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def parse_timestamp(column: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    """(UTC-naive Datetime[us] value, reason-or-null) for a timestamp column of any dtype."""
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        value = (
            col.dt.convert_time_zone("UTC").dt.replace_time_zone(None) if dtype.time_zone else col
        )
        return value.dt.cast_time_unit("us"), pl.lit(None, dtype=pl.String)
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")), pl.lit(None, dtype=pl.String)
    if dtype != pl.String:
        bad = pl.when(col.is_not_null()).then(
            pl.format("{} is a {} value, not a timestamp", pl.lit(column), pl.lit(str(dtype)))
        )
        return pl.lit(None, dtype=pl.Datetime("us")), bad
    text = col.str.strip_chars()
    naive_text = text.str.replace(OFFSET_PATTERN, "${1}").str.replace("T", " ")
    parsed = pl.coalesce(
        [
            naive_text.str.strptime(pl.Datetime("us"), f, strict=False, exact=True)
            for f in _TS_FORMATS
        ]
    )
    offset = text.str.extract(OFFSET_PATTERN, 2)
    digits = offset.str.replace(":", "")  # "+0530" or "+02"
    minutes = pl.when(offset.str.to_uppercase() == "Z").then(0).otherwise(
        digits.str.slice(1, 2).cast(pl.Int64, strict=False) * 60
        + digits.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    ) * pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    value = parsed - pl.duration(minutes=minutes.fill_null(0))
    aware = offset.is_not_null()
    mixed = aware.any() & (~aware & text.is_not_null()).any()
    reason = (
        pl.when(text.is_not_null() & parsed.is_null())
        .then(pl.format("{} {} is not a timestamp", pl.lit(column), text.str.slice(0, 40)))
        .when(mixed & ~aware & text.is_not_null())
        .then(
            pl.format(
                "{} {} has no timezone while other rows do (mixed naive and timezone-aware "
                "timestamps; write all with an offset, or none: naive is read as UTC)",
                pl.lit(column),
                text,
            )
        )
    )
    return value, reason


def _parse_number(column: str, dtype: pl.DataType) -> tuple[pl.Expr, pl.Expr]:
    col = pl.col(column)
    if dtype.is_numeric():
        value = col.cast(pl.Float64)
        bad_text = pl.lit(None, dtype=pl.String)
    else:
        text = _as_text(col).str.strip_chars()
        value = text.cast(pl.Float64, strict=False)
        bad_text = pl.when(text.is_not_null() & value.is_null()).then(
            pl.format("{} {} is not a number", pl.lit(column), text.str.slice(0, 40))
        )
    reason = (
        pl.when(col.is_null())
        .then(pl.lit(f"{column} is empty"))
        .when(value.is_nan() | value.is_infinite())
        .then(pl.lit(f"{column} is not a finite number"))
        .when(value < 0)
        .then(pl.format("{} {} is negative", pl.lit(column), value))
        .otherwise(bad_text)
    )
    return value, reason


def _id(column: str, dtype: pl.DataType, *, required: bool = True) -> tuple[pl.Expr, pl.Expr]:
    col = pl.col(column)
    if dtype.is_float():
        # an integer id column with gaps comes as float from pandas (1.0): write it as "1"
        # so that it matches the same id read as text or integer elsewhere
        text = (
            pl.when((col == col.round()) & (col.abs() < 2.0**53))
            .then(col.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(col.cast(pl.String))
        )
    else:
        text = _as_text(col).str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    reason = (
        pl.when(text.is_null()).then(pl.lit(f"{column} is empty"))
        if required
        else pl.lit(None, dtype=pl.String)
    )
    return text, reason


def _status() -> tuple[pl.Expr, pl.Expr]:
    text = _as_text(pl.col(STATUS)).str.strip_chars()
    key = text.str.to_lowercase().str.replace_all(r"[^a-z]", "")
    value = key.replace_strict(_STATUS_SYNONYMS, default=None, return_dtype=pl.String)
    reason = pl.when(value.is_null()).then(
        pl.format("status {} is not one of open, won, lost", text.fill_null("(empty)"))
    )
    return value, reason


def _stage(config: RunConfig) -> tuple[pl.Expr, pl.Expr]:
    text = _as_text(pl.col(STAGE)).str.strip_chars()
    mapped = text.replace(config.stage_names) if config.stage_names else text
    value = mapped.str.to_lowercase()
    reason = pl.when(~value.is_in(list(CANONICAL_STAGES)) | value.is_null()).then(
        pl.format("stage {} is not a known stage (map it in [stages])", text.fill_null("(empty)"))
    )
    return value, reason


def _checks(
    frame: pl.DataFrame, table: str, config: RunConfig
) -> list[tuple[str, pl.Expr, pl.Expr]]:
    """(column, parsed value, reason-or-null) per canonical column present."""
    schema = frame.schema
    out: list[tuple[str, pl.Expr, pl.Expr]] = []

    def has(c: str) -> bool:
        return c in schema

    def ident(c: str, *, required: bool = True) -> tuple[pl.Expr, pl.Expr]:
        return _id(c, schema[c], required=required)

    if table == "touchpoints":
        out.append((CUSTOMER_ID, *ident(CUSTOMER_ID)))
        if has(ACCOUNT_ID):
            out.append(
                (
                    ACCOUNT_ID,
                    *ident(ACCOUNT_ID, required=config.level == "account"),
                )
            )
        out.append((TS, *parse_timestamp(TS, schema[TS])))
        if has(CHANNEL):
            out.append((CHANNEL, *ident(CHANNEL)))
        for c in (SOURCE, MEDIUM, CAMPAIGN, TOUCH_TYPE):
            if has(c):
                out.append((c, *ident(c, required=False)))
    elif table == "deals":
        out.append((DEAL_ID, *ident(DEAL_ID)))
        out.append((CUSTOMER_ID, *ident(CUSTOMER_ID)))
        if has(ACCOUNT_ID):
            out.append((ACCOUNT_ID, *ident(ACCOUNT_ID, required=False)))
        created, created_bad = parse_timestamp(CREATED_AT, schema[CREATED_AT])
        out.append(
            (
                CREATED_AT,
                created,
                pl.when(pl.col(CREATED_AT).is_null())
                .then(pl.lit("created_at is empty"))
                .otherwise(created_bad),
            )
        )
        out.append((STATUS, *_status()))
        out.append((AMOUNT, *_parse_number(AMOUNT, schema[AMOUNT])))
        if has(CLOSED_AT):
            out.append((CLOSED_AT, *parse_timestamp(CLOSED_AT, schema[CLOSED_AT])))
    elif table == "stages":
        out.append((CUSTOMER_ID, *ident(CUSTOMER_ID)))
        if has(ACCOUNT_ID):
            out.append((ACCOUNT_ID, *ident(ACCOUNT_ID, required=False)))
        out.append((STAGE, *_stage(config)))
        ts, bad = parse_timestamp(TS, schema[TS])
        out.append(
            (TS, ts, pl.when(pl.col(TS).is_null()).then(pl.lit("ts is empty")).otherwise(bad))
        )
    elif table == "costs":
        d, bad = parse_timestamp(DATE, schema[DATE])
        out.append(
            (
                DATE,
                d.dt.date(),
                pl.when(pl.col(DATE).is_null()).then(pl.lit("date is empty")).otherwise(bad),
            )
        )
        out.append((CHANNEL, *ident(CHANNEL)))
        if has(CAMPAIGN):
            out.append((CAMPAIGN, *ident(CAMPAIGN, required=False)))
        out.append((SPEND, *_parse_number(SPEND, schema[SPEND])))
    elif table == "targets":
        out.append(("kpi", *ident("kpi")))
        out.append(("period", *ident("period")))
        value, bad = _parse_number("target", schema["target"])
        out.append(("target", value, bad))
    return out


def _row_rules(table: str, present: set[str]) -> list[tuple[str, pl.Expr]]:
    """Rules across columns, applied to parsed values: (column, reason-or-null)."""
    rules: list[tuple[str, pl.Expr]] = []
    if (
        table == "touchpoints"
        and CHANNEL not in present
        and SOURCE not in present
        and MEDIUM not in present
    ):
        return rules
    if table == "touchpoints" and TS in present:
        rules.append((TS, pl.when(pl.col(TS).is_null()).then(pl.lit("ts is empty"))))
    if table == "deals" and CLOSED_AT in present:
        closed = pl.col(STATUS).is_in(["won", "lost"])
        rules.append(
            (
                CLOSED_AT,
                pl.when(closed & pl.col(CLOSED_AT).is_null())
                .then(pl.format("{} deal has no closed_at", pl.col(STATUS)))
                .when(pl.col(CLOSED_AT) < pl.col(CREATED_AT))
                .then(pl.lit("closed_at is before created_at")),
            )
        )
    if table == "deals" and CLOSED_AT not in present:
        rules.append(
            (
                CLOSED_AT,
                pl.when(pl.col(STATUS).is_in(["won", "lost"])).then(
                    pl.format("{} deal has no closed_at column", pl.col(STATUS))
                ),
            )
        )
    return rules


def validate(raw: pl.DataFrame, table: str, config: RunConfig) -> Validated:
    """Map, parse and check one table; split it into valid rows and quarantined rows."""
    files = tuple(sorted(set(raw[FILE_COL].unique().to_list()))) if raw.height else ()
    frame = map_columns(raw, table, config)
    if table == "touchpoints" and not ({CHANNEL, SOURCE, MEDIUM} & set(frame.columns)):
        file = files[0] if files else None
        raise SchemaError(
            "touchpoints need a 'channel' column or 'source'/'medium' columns with [[rules]]",
            file=file,
            column=CHANNEL,
            hint='map one: [columns.touchpoints] channel = "utm_channel"',
        )
    for column, dtype in frame.schema.items():
        if isinstance(dtype, (pl.List, pl.Array, pl.Struct, pl.Object)):
            source = config.columns.get(table, {}).get(column, column)
            raise SchemaError(
                f"column {source!r} holds {dtype} values, not single values",
                file=files[0] if files else None,
                column=source,
                hint="export one plain value per cell (text, number or timestamp)",
            )
    if table == "touchpoints" and config.level == "account" and ACCOUNT_ID not in frame.columns:
        # journeys are keyed by the touches' account: without it every row would be rejected
        source = config.columns.get(table, {}).get(ACCOUNT_ID, ACCOUNT_ID)
        available = [c for c in raw.columns if c not in (FILE_COL, ROW_COL)]
        err = _missing_column_error(table, source, available, files[0] if files else "(empty)")
        raise SchemaError(
            f"{err.message} (journeys at level account are keyed by it)",
            file=err.file,
            column=err.column,
            hint=err.hint,
        )
    checks = _checks(frame, table, config)
    present = {c for c, _, _ in checks}
    rules = _row_rules(table, present)
    reason_cols = [f"__r_{c}" for c, _, _ in checks]
    rule_cols = [f"__rr_{i}" for i in range(len(rules))]
    all_reason_cols = reason_cols + rule_cols
    all_columns = [c for c, _, _ in checks] + [c for c, _ in rules]
    # one lazy plan, collected once: shared sub-expressions (a stripped id feeds both its
    # value and its reason) are computed once; raw inputs stay beside the typed values as
    # zero-copy aliases for the quarantine
    lf = frame.lazy().with_columns(
        *[pl.col(c).alias(f"__raw_{c}") for c in present],
        *[reason.alias(name) for (_, _, reason), name in zip(checks, reason_cols, strict=True)],
        *[value.alias(c) for c, value, _ in checks],
    )
    lf = lf.with_columns(*[r.alias(n) for (_, r), n in zip(rules, rule_cols, strict=True)])
    reason = pl.concat_str([pl.col(c) for c in all_reason_cols], separator="; ", ignore_nulls=True)
    lf = lf.with_columns(
        pl.when(reason != "").then(reason).alias(REASON),
        pl.coalesce(
            [
                pl.when(pl.col(n).is_not_null()).then(pl.lit(c))
                for n, c in zip(all_reason_cols, all_columns, strict=True)
            ]
        ).alias(REASON_COLUMN),
    )
    if table == "deals":
        dup = (pl.len().over(DEAL_ID) > 1) & pl.col(DEAL_ID).is_not_null()
        lf = lf.with_columns(
            pl.when(dup)
            .then(
                pl.concat_str(
                    [
                        pl.col(REASON),
                        pl.format("duplicate deal_id {} (every copy is rejected)", pl.col(DEAL_ID)),
                    ],
                    separator="; ",
                    ignore_nulls=True,
                )
            )
            .otherwise(pl.col(REASON))
            .alias(REASON),
            pl.when(dup & pl.col(REASON_COLUMN).is_null())
            .then(pl.lit(DEAL_ID))
            .otherwise(pl.col(REASON_COLUMN))
            .alias(REASON_COLUMN),
        )
    canon = [c for c in frame.columns if c not in (FILE_COL, ROW_COL)]
    typed = lf.drop(*all_reason_cols).collect(engine="in-memory")
    bad = pl.col(REASON).is_not_null()
    if typed.get_column(REASON).null_count() == typed.height:  # nothing rejected: no copies
        empty = pl.DataFrame(
            schema={"file": pl.String, "row": pl.Int64, REASON_COLUMN: pl.String, REASON: pl.String}
            | dict.fromkeys(canon, pl.String)
        )
        good = typed.select(*canon, FILE_COL, ROW_COL)
        return Validated(table=table, frame=good, rejected=empty, files=files)
    raw_of = {c: f"__raw_{c}" if c in present else c for c in canon}
    rejected = (
        typed.filter(bad)
        .select(
            pl.col(FILE_COL).cast(pl.String).alias("file"),
            pl.col(ROW_COL).alias("row"),
            pl.col(REASON_COLUMN),
            pl.col(REASON),
            *[_as_text(pl.col(raw_of[c])).alias(c) for c in canon],
        )
        .sort("file", "row")
    )
    good = typed.filter(~bad).select(*canon, FILE_COL, ROW_COL)
    return Validated(table=table, frame=good, rejected=rejected, files=files)
