"""The Spark engine's inputs: each table read into Spark with the local reader's checks and
names (files, folders, globs, Hadoop-style URIs, ``table:NAME`` or a DataFrame), the files'
rows numbered as the local reader numbers them, and the input per table found in a data
folder. pyspark is imported only inside functions, so importing this module does not import it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from attrib.columns import DATE, RESERVED_COLUMNS
from attrib.config import RunConfig
from attrib.engines import _spark_worker as w
from attrib.engines._spark_session import _spark_call, uri_path
from attrib.errors import InputError, UsageError
from attrib.io import (
    FILE_COL,
    ROW_COL,
    check_repeated_key,
    csv_header,
    csv_separator,
    empty_text_error,
    file_format,
    find_table,
    missing_input_hint,
    mixed_columns,
    nul_byte_error,
    parquet_schema,
    read_failure,
    resolve_files,
    table_folder,
    utf16_error,
)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession

#: ``table:db.name`` names a catalog table as an input (and is its rows' ``file``)
TABLE_PREFIX = "table:"
#: the tables besides touchpoints, collected to the driver and validated there
_SIDE_TABLES = ("deals", "stages", "costs", "targets")
#: Spark's CSV ``nullValue``: a text no export holds. Spark reads a field equal to it as null,
#: and an empty unquoted field as it (so null), while a quoted empty field (``""``) stays
#: empty text, as the local reader reads both; by default ("") Spark read both as null
CSV_NULL = "\x00attrib:null\x00"


@dataclass
class _Raw:
    """A raw input table in Spark plus how to name its files like the local reader."""

    frame: SparkFrame
    names: dict[str, str]  # Spark file URI -> file name as the local engine reports it
    located: bool  # rows carry __uri/__block (file splits), so rows can be numbered
    #: the local Parquet files' schemas by file name (``check_parquet_types`` read them)
    schemas: dict[str, pl.Schema] = field(default_factory=dict)


def _local_files(spec: str | Path) -> list[Path] | None:
    text = str(spec)
    if "://" in text and not text.startswith("file://"):
        return None
    try:
        return resolve_files(text.removeprefix("file://"))
    except InputError:
        if any(ch in text for ch in "*?[") or Path(text).exists():
            raise
        return None


def _read_raw(spark: SparkSession, spec: Any, table: str, config: RunConfig) -> _Raw:
    """Read one input table as raw columns (CSV as text, like the local reader). Local part
    files lacking a column their siblings have are refused as locally
    (``inputs.check_table_columns``): Spark would read the column as null in them. A column
    typed differently in two local files becomes the text a CSV export holds, as locally
    (``io.stack_parts``): Parquet files are read in groups of one type per such column,
    each group's column made text (``_spark_worker.ExportText``) before the groups are
    stacked (Spark merges no two such types)."""
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import functions as sf
    from pyspark.sql.types import StringType, StructField, StructType

    from attrib.inputs import check_table_columns, with_misspelt, with_the_others
    from attrib.schema import header_error, repeated_header_error

    if isinstance(spec, SparkFrame):
        return _Raw(spec.drop(*RESERVED_COLUMNS), {}, located=False)
    text = str(spec)
    if text.startswith(TABLE_PREFIX):
        name = text.removeprefix(TABLE_PREFIX)
        frame = _spark_call(f"opening table {name}", lambda: spark.table(name))
        return _Raw(frame.drop(*RESERVED_COLUMNS), {}, located=False)
    local = _local_files(spec)
    to_text: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], dict[str, pl.DataType]] = {}
    if local is not None:
        schemas = check_parquet_types([p for p in local if file_format(p) == "parquet"], table)
        # files read together share a format and, for CSV, the separator and the header:
        # Spark names a CSV file's columns by the first file's header, position by position
        groups: dict[tuple[str, str, tuple[str, ...], tuple[str, ...]], list[str]] = {}
        names: dict[str, str] = {}
        known: dict[Path, list[str]] = {}  # each file's columns, where its header tells
        found: list[tuple[Path, str, str, tuple[str, ...]]] = []
        for p in local:
            kind = file_format(p)
            if kind == "csv" and (utf16 := utf16_error(p, "csv file")) is not None:
                raise utf16  # (read as UTF-8 by Spark: garbled names, a failed run)
            if kind != "parquet" and (nul := nul_byte_error(p, f"{kind} file")) is not None:
                raise nul
            sep = csv_separator(p) if kind == "csv" else ","
            header = csv_header(p, sep) if kind == "csv" else ()
            # a file Spark reads no column of, naming no file: refused as locally
            if kind == "ndjson":  # (Spark's reader stops at a repeated key naming no file)
                check_repeated_key(p)
            if kind != "parquet" and (empty := empty_text_error(p, f"{kind} file")) is not None:
                raise empty
            found.append((p, kind, sep, header))
            names[str(p.resolve())] = str(p)
            if kind == "parquet" or header:  # (a BOM is no part of the first name)
                known[p] = [h.removeprefix("\ufeff") for h in header] or schemas[p].names()
        for p, columns in known.items():  # (a header's copies Spark would rename apart)
            if (repeated := repeated_header_error(columns, table, config, str(p))) is not None:
                raise repeated
        # as locally: a file lacking a column its siblings have is named first; a column
        # every file lacks is told next (with the hint's sure mappings, a misspelt 'Channel'
        # among them); else a column spelt another way
        missing = [e for p, c in known.items() if (e := header_error(c, table, config, str(p)))]
        if len(missing) < len(known):  # (a file lacking what its siblings have is named)
            check_table_columns(list(known), list(known.values()), table, config)
        if missing:  # ('Source' for a rule's source beside no channel column) told with it
            told = with_misspelt(missing[0], list(known), list(known.values()), table, config)
            if len(told) > 1:  # (else validation tells the missing columns, as locally)
                raise with_the_others(told)
        text_columns = [dict.fromkeys(known[p], pl.String()) for p, k, _, _ in found if k == "csv"]
        mixed = mixed_columns([*schemas.values(), *text_columns])
        for p, kind, sep, header in found:
            typed = {c: schemas[p][c] for c in mixed if c in schemas.get(p, {})}
            key = (kind, sep, header, tuple(f"{c}: {t}" for c, t in typed.items()))
            groups.setdefault(key, []).append(str(p.resolve()))
            to_text[key] = typed
    else:
        schemas = {}
        kind = "parquet"
        for suffix, k in (("csv", "csv"), ("json", "ndjson"), ("jsonl", "ndjson")):
            if text.rstrip("/").lower().endswith(f".{suffix}") or f".{suffix}." in text.lower():
                kind = k
        groups, names = {(kind, ",", (), ()): [text]}, {}
    wall_clock = (config.source_column(table, DATE),) if table == "costs" else ()
    frames = []
    for key, paths in sorted(groups.items()):
        kind, sep = key[:2]
        reader = spark.read.format("json" if kind == "ndjson" else kind)
        if kind == "csv":
            reader = (
                reader.option("header", True)
                .option("escape", '"')
                .option("multiLine", False)
                .option("sep", sep)
                .option("nullValue", CSV_NULL)
            )
        elif kind == "parquet":
            reader = reader.option("mergeSchema", True)
        else:  # a line that is no JSON object, or a NaN, refuses the file as locally (Spark's
            # lenient reader made a broken line a row of nulls, a NaN a number)
            reader = reader.option("mode", "FAILFAST").option("allowNonNumericNumbers", False)
        frame = _spark_call(f"reading {table}", functools.partial(reader.load, paths))
        frame = frame.drop(*RESERVED_COLUMNS).select(  # (a file's own: see io._read_one)
            "*",
            sf.col("_metadata.file_path").alias(w.URI_COL),
            sf.col("_metadata.file_block_start").alias(w.BLOCK_COL),
        )
        if as_text := to_text.get(key):
            schema = StructType(
                [
                    StructField(f.name, StringType()) if f.name in as_text else f
                    for f in frame.schema
                ]
            )
            frame = map_in_arrow(frame, w.ExportText(as_text, wall_clock), schema)
        frames.append(frame)
    out = frames[0]
    for more in frames[1:]:
        out = out.unionByName(more, allowMissingColumns=True)
    return _Raw(out, names, located=True, schemas={str(p): s for p, s in schemas.items()})


def map_in_arrow(frame: SparkFrame, fn: Any, schema: Any) -> SparkFrame:
    """``frame.mapInArrow(fn, schema)``, a frame with a dot in a column name (``page.url``,
    Mixpanel's ``properties.time``) handed over under plain names that ``fn`` gets back
    (``_spark_worker.WithNames``): Spark read such a name as a path into a struct."""
    names = tuple(frame.columns)
    if not any("." in name for name in names):
        return frame.mapInArrow(fn, schema)
    plain = frame.toDF(*[f"_c{i}" for i in range(len(names))])
    return plain.mapInArrow(w.WithNames(fn, names), schema)


def check_parquet_types(files: list[Path], table: str) -> dict[Path, pl.Schema]:
    """The schemas of a table's Parquet files (metadata only). A file that is no Parquet is
    an input error naming it, as the local reader's. (``table``: the table the files are.)"""
    schemas: dict[Path, pl.Schema] = {}
    for path in files:
        try:
            schemas[path] = parquet_schema(path)
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
            raise read_failure(exc, [path], "parquet file") from None
        nanos = [
            c
            for c, t in schemas[path].items()
            if isinstance(t, pl.Datetime) and t.time_unit == "ns"
        ]
        if nanos:  # (Spark's own refusal names neither the file nor the column)
            raise InputError(
                "Spark cannot read nanosecond Parquet timestamps",
                file=str(path),
                column=nanos[0],
                hint="write them in microseconds: pandas df.to_parquet(..., "
                "coerce_timestamps='us'), polars .cast(pl.Datetime('us')); or run it locally",
            )
    return schemas


def _display(uri: str, names: dict[str, str]) -> str:
    return names.get(uri_path(uri), uri)


def _number_collected(raw: _Raw, table: str) -> pl.DataFrame:
    """Collect a small raw table to the driver with ``__file``/``__row`` as the local reader."""
    arrow = _spark_call(f"reading {table}", raw.frame.toArrow)
    frame = w.to_polars(arrow)
    if not raw.located:
        return frame.with_columns(
            pl.lit(f"{TABLE_PREFIX}{table}").alias(FILE_COL),
            pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(ROW_COL),
        )
    files = {u: _display(u, raw.names) for u in frame.get_column(w.URI_COL).unique().to_list()}
    numbered = (
        frame.with_row_index("__i")
        .with_columns(
            pl.col(w.URI_COL).replace_strict(files, return_dtype=pl.String).alias(FILE_COL)
        )
        .sort(w.URI_COL, w.BLOCK_COL, "__i")
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over(w.URI_COL).alias(ROW_COL))
        .sort("__i")
        .drop("__i", w.URI_COL, w.BLOCK_COL)
    )
    return w.without_blank_csv_rows(numbered)


def _wall_clock(frame: pl.DataFrame, raw: _Raw, column: str) -> pl.DataFrame:
    """A collected cost table's ``column`` at the clock of the zone its Parquet file wrote
    it in, as the local reader keeps it (a cost row's day is the one its export names):
    Spark keeps a zoned Parquet timestamp as an instant only, which arrives here in UTC."""
    dtype = frame.schema.get(column)
    if not isinstance(dtype, pl.Datetime):
        return frame
    zones: dict[str, str] = {}
    for name, schema in raw.schemas.items():
        given = schema.get(column)
        if isinstance(given, pl.Datetime) and given.time_zone not in (None, "UTC"):
            zones[name] = given.time_zone
    if not zones:
        return frame
    col = pl.col(column).dt.replace_time_zone("UTC")
    value = pl.col(column)
    for name, zone in zones.items():
        at_clock = col.dt.convert_time_zone(zone).dt.replace_time_zone(None)
        value = pl.when(pl.col(FILE_COL) == name).then(at_clock).otherwise(value)
    return frame.with_columns(value.alias(column))


def _spark_frame(value: object) -> bool:
    """Whether ``value`` is a Spark DataFrame (classic or Connect), without importing
    pyspark for anything else."""
    return any(c.__module__.startswith("pyspark.") for c in type(value).__mro__)


def _locate(data_dir: str | Path | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """Input per table: an explicit argument first, else ``<table>.*`` in the data folder."""
    found: dict[str, Any] = {}
    folder = Path(data_dir) if data_dir is not None else None
    if folder is not None and not folder.is_dir():
        raise InputError(
            "data folder not found", file=str(folder), hint="check the DATA_DIR argument"
        )
    for table in ("touchpoints", *_SIDE_TABLES):
        given = overrides.get(table)
        if isinstance(given, pl.DataFrame | pl.LazyFrame):  # (read as a path, deep inside)
            raise UsageError(
                f"{table}= is a polars frame: the Spark engine reads paths, URIs,"
                " table:NAME or Spark DataFrames",
                hint=f'write it to Parquet first ({table}.write_parquet("{table}.parquet"))'
                " and pass the path, or run it in memory with attrib.api.run",
            )
        if given is not None and not isinstance(given, str | Path) and not _spark_frame(given):
            raise UsageError(
                f"{table}= must be a path, URI, table:NAME or Spark DataFrame,"
                f" got {type(given).__name__}"
            )
        if given is not None:
            found[table] = given
        elif folder is not None:
            files = find_table(folder, table)
            if files:
                # (several files: the table's folder, named in any case)
                found[table] = (
                    files[0]
                    if len(files) == 1
                    else str(table_folder(folder, table) or folder / table)
                )
    for required in ("touchpoints", "deals"):
        if required not in found:
            raise InputError(
                f"no {required} input found",
                file=str(data_dir) if data_dir is not None else None,
                hint=missing_input_hint(
                    data_dir, required, "PATH (a file, folder, glob, URI or table:NAME)"
                ),
            )
    return found


def _describe_source(spec: Any) -> str:
    if isinstance(spec, str | Path):
        return str(spec)
    return type(spec).__name__
