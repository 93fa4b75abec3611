"""Locate, read and validate a run's input tables; derive channels and the journey entity."""

from __future__ import annotations

import difflib
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from attrib.channels import channel_expr
from attrib.columns import (
    ACCOUNT_ID,
    CAMPAIGN,
    CHANNEL,
    CUSTOMER_ID,
    DATE,
    ENTITY_ID,
    REASON,
    REASON_COLUMN,
    TABLE_COLUMNS,
    TABLES,
    TS,
)
from attrib.config import RunConfig, load_config
from attrib.errors import InputError, SchemaError, UsageError
from attrib.io import (
    FILE_COL,
    ROW_COL,
    Projection,
    check_shared_columns,
    find_table,
    missing_input_hint,
    misspelt_optional,
    read_files,
    resolve_files,
)
from attrib.schema import (
    Validated,
    channel_sources,
    check_constants,
    quarantine_text,
    unread_optional,
    unused_columns,
    validate,
)

CONFIG_NAME = "channels.toml"


@dataclass
class Inputs:
    """Validated input tables of one run (Polars frames in canonical columns)."""

    config: RunConfig
    touches: pl.DataFrame
    deals: pl.DataFrame
    stages: pl.DataFrame | None = None
    costs: pl.DataFrame | None = None
    targets: pl.DataFrame | None = None
    quarantine: dict[str, pl.DataFrame] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)
    rows_read: dict[str, int] = field(default_factory=dict)
    #: deals and stage rows as validated, waiting for ``attach_accounts`` to give them their
    #: journey entity (only with ``load_inputs(defer_accounts=True)``; empty afterwards)
    validated: dict[str, Validated] = field(default_factory=dict, repr=False)
    #: the tables given as frames (the Python API), as given, for the warnings that read an
    #: export's own columns (a file's are read again); the touches' without their rows
    frames: dict[str, pl.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def rejected(self) -> dict[str, int]:
        """Rejected row count per table."""
        return {t: q.height for t, q in self.quarantine.items()}


def locate_inputs(
    data_dir: str | Path | None,
    overrides: dict[str, str | Path | None] | None = None,
) -> dict[str, list[Path]]:
    """Files per table: ``--<table>`` overrides first, then ``<table>.*`` in the data folder."""
    overrides = overrides or {}
    found: dict[str, list[Path]] = {}
    folder = Path(data_dir) if data_dir is not None else None
    if folder is not None and not folder.is_dir():
        raise InputError(
            "data folder not found", file=str(folder), hint="check the DATA_DIR argument"
        )
    for table in TABLES:
        given = overrides.get(table)
        if given is not None:
            found[table] = resolve_files(given)
        elif folder is not None:
            files = find_table(folder, table)
            if files:
                found[table] = files
    return found


def _entity(frame: pl.DataFrame, config: RunConfig, lookup: pl.DataFrame | None) -> pl.DataFrame:
    """Add ``entity_id``: the customer, or its account at ``level = "account"``."""
    if config.level == "customer":
        return frame.with_columns(pl.col(CUSTOMER_ID).alias(ENTITY_ID))
    account = pl.col(ACCOUNT_ID) if ACCOUNT_ID in frame.columns else pl.lit(None, dtype=pl.String)
    if lookup is not None:
        frame = frame.join(lookup, on=CUSTOMER_ID, how="left", maintain_order="left")
        account = pl.coalesce(account, pl.col("__account"))
        return frame.with_columns(account.alias(ENTITY_ID)).drop("__account")
    return frame.with_columns(account.alias(ENTITY_ID))


def _split_missing_entity(
    v: Validated, frame: pl.DataFrame, config: RunConfig
) -> tuple[pl.DataFrame, pl.DataFrame]:
    bad = frame.filter(pl.col(ENTITY_ID).is_null())
    if bad.height == 0:
        return frame, v.rejected
    canon = [c for c in v.rejected.columns if c not in ("file", "row", REASON_COLUMN, REASON)]
    extra = bad.select(
        pl.col(FILE_COL).cast(pl.String).alias("file"),
        pl.col(ROW_COL).alias("row"),
        pl.lit(config.source_column(v.table, ACCOUNT_ID)).alias(REASON_COLUMN),
        pl.lit("no account_id for this customer (needed at --level account)").alias(REASON),
        *[
            quarantine_text(c, bad.schema[c])
            if c in bad.columns
            else pl.lit(None, dtype=pl.String).alias(c)
            for c in canon
        ],
    )
    return frame.filter(pl.col(ENTITY_ID).is_not_null()), pl.concat([v.rejected, extra]).sort(
        "file", "row"
    )


def with_the_others(errors: Sequence[SchemaError]) -> SchemaError:
    """The first table's schema error, its hint naming the other tables' too, each with its
    own hint (a user mapped the touches' columns, ran again, and only then heard of the
    deals'; then only of their columns, the config block to write coming on the next run)."""
    first, *others = errors
    if others:
        more = "; ".join(
            f"{e.file}: {e.message}" + (f": {e.hint}" if e.hint else "") for e in others
        )
        first.hint = f"{first.hint}; also {more}" if first.hint else f"also {more}"
    return first


def prepare_touches(tv: Validated, config: RunConfig) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validated touches with channel (column or rules), campaign (null where none) and
    entity; plus rejects."""
    touches = tv.frame.with_columns(
        channel_expr(config, set(tv.frame.columns)).alias(CHANNEL),
        # no campaign stays null here; the journeys' dictionaries name it "(none)"
        *([] if CAMPAIGN in tv.frame.columns else [pl.lit(None, pl.String).alias(CAMPAIGN)]),
    )
    touches, rejected = _split_missing_entity(tv, _entity(touches, config, None), config)
    # the input file and row only serve the quarantine: ~12 B a touch not kept for the run
    touches = touches.drop(FILE_COL, ROW_COL, strict=False)
    # one chunk for the columns the journey builder hands to numpy or gathers rows of (a
    # gather over a file's ~80 row-group chunks is ~6x slower); the others stay as read
    return pl.DataFrame(
        [
            touches.get_column(c).rechunk() if c in _JOURNEY_COLUMNS else touches.get_column(c)
            for c in touches.columns
        ]
    ), rejected


#: touch columns ``journeys.build_journeys`` reads row by row
_JOURNEY_COLUMNS = frozenset({ENTITY_ID, TS, CHANNEL, CAMPAIGN, "is_marketing"})


def attach_entity(
    v: Validated, config: RunConfig, lookup: pl.DataFrame | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Validated deal or stage rows with their journey entity (``entity_id``); plus the
    rejects, now including rows with no account at ``level = "account"``."""
    return _split_missing_entity(v, _entity(v.frame, config, lookup), config)


def attach_accounts(inputs: Inputs, touch_accounts: pl.DataFrame | None) -> None:
    """Give the validated deals and stage rows their journey entity: the customer, or at
    ``level = "account"`` the account ``touch_accounts`` (``account_lookup`` of the valid
    touches) completed by the deals' name. ``load_inputs`` calls it once the touches are
    read; with ``defer_accounts`` the bucketed engine does, once its touch buckets are."""
    config = inputs.config
    lookup = (
        with_deal_accounts(touch_accounts, inputs.validated["deals"].frame)
        if config.level == "account"
        else None
    )
    inputs.deals, inputs.quarantine["deals"] = attach_entity(
        inputs.validated["deals"], config, lookup
    )
    if "stages" in inputs.validated:
        inputs.stages, inputs.quarantine["stages"] = attach_entity(
            inputs.validated["stages"], config, lookup
        )
    inputs.validated = {}  # given: not held twice


def smallest_accounts(parts: list[pl.DataFrame]) -> pl.DataFrame | None:
    """One ``account_lookup`` from several (each customer's smallest account over all of
    them); None from none."""
    if not parts:
        return None
    return pl.concat(parts).group_by(CUSTOMER_ID).agg(pl.col("__account").min())


def account_lookup(touches: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """customer -> account (the smallest account id a customer's touches name)."""
    frame = (
        touches.filter(pl.col(ACCOUNT_ID).is_not_null())
        .group_by(CUSTOMER_ID)
        .agg(pl.col(ACCOUNT_ID).min().alias("__account"))
    )
    return frame.collect() if isinstance(frame, pl.LazyFrame) else frame


def with_deal_accounts(lookup: pl.DataFrame | None, deals: pl.DataFrame) -> pl.DataFrame | None:
    """The customer -> account map (``account_lookup``) completed by the deals: a customer no
    touch names an account for takes the smallest ``account_id`` of its deals, so the stage
    rows (which carry no account) of a customer with deals but no touches keep their entity."""
    if ACCOUNT_ID not in deals.columns:
        return lookup
    own = account_lookup(deals)
    if lookup is None:
        return own
    return pl.concat([lookup, own.join(lookup, on=CUSTOMER_ID, how="anti")], how="vertical")


def required_sources(table: str, config: RunConfig) -> frozenset[str]:
    """The source columns a table's files must hold: its required canonical columns under
    their ``[columns]`` names (a ``[constants]`` value needs none)."""
    required, _ = TABLE_COLUMNS[table]
    mapping = config.columns.get(table, {})
    constants = config.constants.get(table, {})
    return frozenset(mapping.get(c, c) for c in required if c not in constants)


def shared_sources(table: str, config: RunConfig) -> frozenset[str]:
    """The source columns every file of a table must hold once any does: the required ones,
    and the touches' ``channel``. A touch file without the channel column others have was
    read as channel-less (no ``[[rules]]`` apply beside a channel column), every one of its
    touches rejected as "channel is empty"; it is a column renamed in one export."""
    mapping = config.columns.get(table, {})
    channel = table == "touchpoints" and CHANNEL not in config.constants.get(table, {})
    return required_sources(table, config) | (
        {mapping.get(CHANNEL, CHANNEL)} if channel else frozenset()
    )


def optional_sources(table: str, config: RunConfig) -> dict[str, str]:
    """The optional source columns a run reads from a table's files, under their
    ``[columns]`` names (each with its canonical name): no file may spell one another way,
    or its values would be ignored (a missing required column has an error of its own).
    Not those ``schema.unread_optional`` names (a CRM's 'Account ID' beside the deals at
    customer level, a GA-style 'Source' beside the channel without rules: nothing lost)."""
    mapping = config.columns.get(table, {})
    _, optional = TABLE_COLUMNS[table]
    skip = unread_optional(table, config)
    required = required_sources(table, config)
    read = {mapping.get(c, c): c for c in optional if c not in skip}
    return {source: c for source, c in read.items() if source not in required}


def with_misspelt(
    err: SchemaError,
    files: Sequence[Path | str],
    columns: Sequence[Collection[str]],
    table: str,
    config: RunConfig,
) -> list[SchemaError]:
    """A header's missing-column error and, after it, an optional column the files spell
    another way ('Source' for a rule's source), unless ``err``'s hint maps it: what the
    engines that check headers alone (bucketed, Spark) tell, as ``load_inputs`` does."""
    spelt = misspelt_optional(files, columns, optional_sources(table, config), table)
    return [err, *not_mapped_by([spelt] if spelt is not None else [], err.hint or "")]


def not_mapped_by(misspelt: list[SchemaError], hint: str) -> list[SchemaError]:
    """The errors of columns spelt another way ('Source', where no channel column is left
    either) to tell beside a table's missing-column error, but not those its ``hint`` maps
    already ('Campaign', mapped in the hint's config block)."""
    return [m for m in misspelt if f'"{m.column}"' not in hint]


def check_table_columns(
    files: Sequence[Path | str], columns: Sequence[Collection[str]], table: str, config: RunConfig
) -> None:
    """``io.check_shared_columns`` over a table's files (or frame) with its shared and
    optional sources: one call for every reader (in memory, frames, buckets, Spark)."""
    check_shared_columns(
        files, columns, shared_sources(table, config), optional_sources(table, config), table
    )


def used_columns(table: str, config: RunConfig) -> Projection | None:
    """The source columns a run reads from a table's files (None: all of them).

    Only touchpoints are projected, the one large table (``unused_columns``): at 10M touches
    in Parquet, not reading and checking two text columns saves ~0.4 s and ~0.5 GB.
    """
    if table != "touchpoints":
        return None
    required, optional = TABLE_COLUMNS[table]
    unused = unused_columns(table, config)
    mapping = config.columns.get(table, {})
    constants = config.constants.get(table, {})
    read = [c for c in (*required, *optional) if c not in unused and c not in constants]
    wanted = frozenset(mapping.get(c, c) for c in read)
    # account_id keys the journeys at account level, and a mapped column must be there:
    # without either, the error lists the file's columns
    account = {mapping.get(ACCOUNT_ID, ACCOUNT_ID)} if ACCOUNT_ID in read else set()
    unread = unread_optional(table, config)
    mapped = {mapping[c] for c in read if c in mapping and c not in unread}
    return Projection(
        wanted=wanted,
        required=required_sources(table, config) | account | mapped,
        # a source that also feeds a used column (channel = "touch_type") is read
        unused=frozenset(mapping.get(c, c) for c in unused) - wanted,
        # a file naming no channel is read whole for the error's list (and guess)
        one_of=channel_sources(config),
    )


def resolve_config(
    data_dir: str | Path | None,
    config: RunConfig | str | Path | None,
    *,
    lookback_days: int | None = None,
    level: str | None = None,
    strict: bool | None = None,
    metrics: dict[str, Any] | None = None,
) -> RunConfig:
    """The run config: given, or ``--config``, or ``DATA_DIR/channels.toml``, or defaults;
    then the command line's overrides (``None``: not given), ``[metrics]`` ones included, so
    that every step of every engine reads one config."""
    if data_dir is not None and not isinstance(data_dir, (str, os.PathLike)):
        kind = f"{type(data_dir).__module__}.{type(data_dir).__qualname__}"
        raise UsageError(
            f"data_dir takes a folder; got a {kind}",
            hint="pass each table by name: touchpoints=..., deals=... (a path or a frame)",
        )
    if not isinstance(config, RunConfig):
        if config is None and data_dir is not None and (Path(data_dir) / CONFIG_NAME).is_file():
            config = Path(data_dir) / CONFIG_NAME
        config = load_config(config)
    resolved = config.with_overrides(
        lookback_days=lookback_days, level=level, strict=strict
    ).with_metrics(metrics)
    check_constants(resolved)
    return resolved


def empty_touches() -> pl.DataFrame:
    """Touches with no row, in the columns ``build_journeys`` reads (a batch of no touch)."""
    return pl.DataFrame(
        schema={
            ENTITY_ID: pl.String,
            TS: pl.Datetime("us"),
            CHANNEL: pl.String,
            CAMPAIGN: pl.String,
        }
    )


def frame_label(table: str) -> str:
    """Where a table given as a frame is (no file): "(<table> frame)", in the quarantine's
    ``file`` column, error messages and the manifest."""
    return f"({table} frame)"


def frame_input(frame: pl.DataFrame, table: str) -> pl.DataFrame:
    """An in-memory table as the file readers give one: its columns plus the location columns
    (``__file`` = ``frame_label(table)``, ``__row`` = 1-based row) that quarantine rows name."""
    if FILE_COL in frame.columns and ROW_COL in frame.columns:
        return frame
    return frame.with_columns(
        pl.lit(frame_label(table)).alias(FILE_COL),
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW_COL),
    )


TableSource = str | Path | pl.DataFrame | pl.LazyFrame | None


def _split_sources(
    given: dict[str, TableSource],
) -> tuple[dict[str, str | Path | None], dict[str, pl.DataFrame]]:
    """Table arguments as file specs and in-memory frames; anything else is a usage error."""
    specs: dict[str, str | Path | None] = {}
    frames: dict[str, pl.DataFrame] = {}
    for table, source in given.items():
        if isinstance(source, pl.LazyFrame):  # a notebook's query: its result is the table
            try:
                source = source.collect()
            except pl.exceptions.PolarsError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise InputError(
                    f"{table}= is a LazyFrame that could not be collected: {first}",
                    file=frame_label(table),
                    hint="collect() it yourself to see the error, then pass the DataFrame",
                ) from None
        if isinstance(source, pl.DataFrame):
            frames[table] = frame_input(source, table)
        elif source is None or isinstance(source, (str, Path)):
            specs[table] = source
        else:
            kind = f"{type(source).__module__}.{type(source).__qualname__}"
            raise UsageError(
                f"{table}= takes a file, folder or glob, or a polars DataFrame (or LazyFrame);"
                f" got a {kind}",
                hint="convert a pandas DataFrame with polars.from_pandas(df)"
                if "pandas" in kind
                else "pass a path or a polars.DataFrame",
            )
    return specs, frames


def load_inputs(
    data_dir: str | Path | None = None,
    *,
    touchpoints: TableSource = None,
    deals: TableSource = None,
    stages: TableSource = None,
    costs: TableSource = None,
    targets: TableSource = None,
    config: RunConfig | str | Path | None = None,
    frames: dict[str, pl.DataFrame] | None = None,
    streamed: tuple[str, ...] = (),
    defer_accounts: bool = False,
    used_only: bool = False,
) -> Inputs:
    """Read and validate every input table; bad rows are quarantined, not dropped silently.

    Each table may be a file, folder or glob, or a polars DataFrame (its rows are then named
    "(<table> frame)" row N in the quarantine). ``frames`` supplies already-read raw tables
    (e.g. from ``attrib.adapters``) the same way. Tables named in
    ``streamed`` (touchpoints, stages) are located but not read: the bucketed engine streams
    them. ``defer_accounts`` (``level = "account"``): the deals and stage rows get no entity
    here (and keep no account rejections) until ``attach_accounts`` gives them the accounts
    of the valid touches, which the caller validates itself.
    ``used_only``: read only the touch columns a run uses (``used_columns``; what
    ``attrib run`` does); the touches and their quarantine then lack the others.
    """
    specs, given_frames = _split_sources(
        {
            "touchpoints": touchpoints,
            "deals": deals,
            "stages": stages,
            "costs": costs,
            "targets": targets,
        }
    )
    for table in frames or {}:
        if table not in TABLE_COLUMNS:
            close = difflib.get_close_matches(str(table), list(TABLE_COLUMNS), n=1)
            raise UsageError(
                f"frames= names no input table {table!r}",
                hint=(f"did you mean {close[0]!r}? " if close else "")
                + f"the tables are {', '.join(TABLE_COLUMNS)}",
            )
    frames = {t: frame_input(f, t) for t, f in (frames or {}).items()} | given_frames
    config = resolve_config(data_dir, config)
    for table, frame in frames.items():  # as ``read_files`` checks a file's columns
        check_table_columns([frame_label(table)], [frame.columns], table, config)
    files = {t: paths for t, paths in locate_inputs(data_dir, specs).items() if t not in frames}
    for required in ("touchpoints", "deals"):
        if required not in files and required not in frames:
            where = str(data_dir) if data_dir is not None else None
            hint = missing_input_hint(data_dir, required)
            raise InputError(f"no {required} input found", file=where, hint=hint)
    validated: dict[str, Validated] = {}
    rows: dict[str, int] = {}
    # a column spelt another way ('Campaign') is told with the table's other schema errors
    misspelt: dict[str, list[SchemaError]] = {table: [] for table in files}
    raws = {
        table: read_files(
            paths,
            used_columns(table, config) if used_only else None,
            required=shared_sources(table, config),
            optional=optional_sources(table, config),
            table=table,
            # a cost row's day is the one its export names, whatever its zone
            wall_clock=[config.source_column(table, DATE)] if table == "costs" else (),
            misspelt=misspelt[table],
        )
        for table, paths in files.items()
        if table not in frames and table not in streamed
    }
    schema_errors: list[SchemaError] = []
    for table, raw in {**raws, **frames}.items():
        rows[table] = raw.height
        hint = ""
        try:  # touches: prepare_touches makes only the columns the journeys read contiguous
            validated[table] = validate(raw, table, config, rechunk=table != "touchpoints")
        except SchemaError as err:
            if err.file is None and files.get(table):  # a header-only file has no row to say
                err.file = ", ".join(str(p) for p in files[table])
            elif err.file is None and table in frames:  # (an empty frame has none either)
                err.file = frame_label(table)
            schema_errors.append(err)  # the other tables' too: all mapped in one go
            hint = err.hint or ""
        schema_errors += not_mapped_by(misspelt.get(table, []), hint)
    if schema_errors:
        raise with_the_others(schema_errors)

    quarantine: dict[str, pl.DataFrame] = {}
    if "touchpoints" in validated:
        touches, quarantine["touchpoints"] = prepare_touches(validated["touchpoints"], config)
    else:  # the bucketed engine streams touchpoints itself
        touches = pl.DataFrame()
    for table in ("deals", "stages", "costs", "targets"):
        if table in validated:
            quarantine[table] = validated[table].rejected
    inputs = Inputs(
        validated={t: validated[t] for t in ("deals", "stages") if t in validated},
        config=config,
        touches=touches,
        deals=validated["deals"].frame,  # (no entity until ``attach_accounts``)
        stages=validated["stages"].frame if "stages" in validated else None,
        costs=validated["costs"].frame if "costs" in validated else None,
        targets=validated["targets"].frame if "targets" in validated else None,
        quarantine=quarantine,
        files={t: [str(p) for p in ps] for t, ps in files.items()},
        rows_read=rows,
        frames={t: f.head(0) if t == "touchpoints" else f for t, f in given_frames.items()},
    )
    if not (defer_accounts and config.level == "account"):  # deferred: the caller attaches
        account_level = config.level == "account" and ACCOUNT_ID in touches.columns
        attach_accounts(inputs, account_lookup(touches) if account_level else None)
    return inputs
