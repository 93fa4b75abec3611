"""Out-of-core local engine: the same job on inputs larger than memory.

Touchpoints are streamed once through Polars' streaming engine into K Parquet buckets by a
hash of the journey entity (customer or account), so every journey lies in one bucket. Each
bucket is then validated, encoded and attributed by the very kernels of the in-memory path;
their additive partial states are summed (map -> reduce), data-driven models are finalized
once, and a second pass credits touches with the fitted models. Peak memory is that of one
bucket plus the (small) deals, stages and costs tables, so it is set by K, not input size.

The summaries equal the in-memory run's (up to floating-point summation order, ~1e-12
relative); ``journey_id`` numbers journeys bucket by bucket instead of globally.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from functools import partial
from numbers import Integral, Real
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import polars as pl
import pyarrow.parquet as pq

from attrib._numba import compile_note, set_up_in_background
from attrib.columns import ACCOUNT_ID, CUSTOMER_ID, ENTITY_ID, STAGE, TS
from attrib.config import RunConfig
from attrib.credit import credit_state, fit_models, model_credit, summarise
from attrib.data_checks import (
    DealCounts,
    check_rejections,
    deal_warnings,
    metric_warnings,
    unassigned_sources,
)
from attrib.encoded import Dictionaries, Journeys
from attrib.errors import AttribError, SchemaError, UsageError
from attrib.inputs import (
    Inputs,
    TableSource,
    account_lookup,
    attach_accounts,
    attach_entity,
    check_table_columns,
    empty_touches,
    load_inputs,
    prepare_touches,
    resolve_config,
    smallest_accounts,
    used_columns,
    with_the_others,
)
from attrib.io import (
    file_format,
    line_end,
    read_failure,
    scan_file,
    stack_parts,
)
from attrib.journey_codes import build_dictionaries
from attrib.journeys import build_journeys
from attrib.models import check_names, import_models
from attrib.models.base import AttributionModel, Fitted, State, reduce_states
from attrib.parsing import parse_id
from attrib.progress import Reporter
from attrib.schema import Validated, mixing_facts, validate
from attrib.schema_hints import unreadable_column
from attrib.writers import parquet_appender

if TYPE_CHECKING:
    from attrib.metrics.bundle import MetricsPartial, MetricsPlan
    from attrib.run import RunResult

HASH_SEED = 0x5EED
BYTES_PER_TOUCH = 400  # peak per touch of one bucket (~350 B measured at 3M touches), headroom
HELD_FACTOR = 3  # tables held whole (deals, stages at account level) peak at ~3x their size
BASE_BYTES = 600 * 1024**2  # interpreter, libraries and compiled kernels
#: each bucket is a part file per table and a pass of its own: past a few thousand the run is
#: file handling, not work (300M touches fit 96 buckets of 4 GB)
MAX_BUCKETS = 4096
_BUCKET = "__bucket"


def check_bucket_count(buckets: int) -> None:
    """UsageError for a bucket count out of 1..``MAX_BUCKETS`` (given, or a memory limit's)."""
    if not 1 <= buckets <= MAX_BUCKETS:
        raise UsageError(
            f"--buckets (buckets=) must be from 1 to {MAX_BUCKETS:,}, got {buckets:,}",
            hint="each bucket is a pass and part files of its own: 96 hold 300M touches in 4 GB",
        )


def parse_memory(text: str) -> int:
    """'4GB', '512MiB', '2g' -> bytes."""
    units = {
        "": 1,
        "b": 1,
        "k": 1024,
        "kb": 1024,
        "kib": 1024,
        "m": 1024**2,
        "mb": 1024**2,
        "mib": 1024**2,
        "g": 1024**3,
        "gb": 1024**3,
        "gib": 1024**3,
        "t": 1024**4,
        "tb": 1024**4,
        "tib": 1024**4,
    }
    raw = text.strip().lower().replace(" ", "")
    number = raw.rstrip("abgikmt")
    unit = raw[len(number) :]
    try:
        value = float(number)
    except ValueError:
        value = -1.0
    if value == 0 and unit in units:
        raise UsageError(
            f"memory limit {text!r} is zero", hint="give the memory a bucket may use, e.g. 4GB"
        )
    if not math.isfinite(value) or value <= 0 or unit not in units:  # ("nan", "inf", 1e999)
        raise UsageError(
            f"cannot read memory limit {text!r}", hint="write it like 4GB, 512MB or 2GiB"
        )
    if unit == "" and value < 1024**2:  # ("4": a count of bytes no run fits in)
        raise UsageError(
            f"memory limit {text!r} has no unit: it reads as {value:g} bytes",
            hint="give a unit, e.g. 4GB or 512MB",
        )
    return int(value * units[unit])


def count_rows(files: list[Path]) -> int:
    """Touch rows: exact for Parquet (metadata), estimated for text files (``text_rows``)."""
    total = 0
    for f in files:
        if file_format(f) == "parquet":
            total += pq.ParquetFile(f).metadata.num_rows
        else:
            total += text_rows(f)
    return total


def text_rows(path: Path, sample: int = 1 << 20) -> int:
    """A CSV or NDJSON file's rows, estimated from its first ``sample`` bytes (decompressed
    for ``.gz``, whose size is scaled by the sample's ratio): a fixed guess of bytes per row
    read a gzipped export as ~5x fewer rows, and K came out too small for the limit. Lines
    end in ``\n``, or in ``\r`` alone (``io.line_end``)."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as raw:
            if path.suffix.lower() == ".gz":
                text, read = _inflated_head(raw, sample)
                expanded = size * len(text) / read if read else 0.0
            else:
                text, expanded = raw.read(sample), float(size)
    except (OSError, EOFError, zlib.error):  # (unreadable: the reader names it in a moment)
        return size // 60
    if not text:
        return 0
    lines = text.count(line_end(text).encode())
    return math.ceil(expanded * max(lines, 1) / len(text))


def _inflated_head(raw: BinaryIO, sample: int) -> tuple[bytes, int]:
    """About the first ``sample`` bytes of a gzip stream, and how many compressed bytes gave
    them (the ratio scales the file's size), through every member of a joined ``.gz``."""
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    text, read = bytearray(), 0
    while len(text) < sample and (chunk := raw.read(1 << 14)):
        read += len(chunk)
        while chunk:
            text += inflate.decompress(chunk)
            chunk = b""
            if inflate.eof:  # a member ends: the next one starts in what it left
                chunk = inflate.unused_data
                inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return bytes(text), read


def buckets_for(files: list[Path], memory_limit: int, held: int = 0) -> int:
    """Smallest bucket count whose bucket fits the memory limit, next to ``held`` bytes of
    tables kept whole (deals, and stages at account level: ``HELD_FACTOR`` x their size)."""
    budget = memory_limit - BASE_BYTES - held
    touch_bytes = count_rows(files) * BYTES_PER_TOUCH
    # the least limit that fits (the touches in MAX_BUCKETS buckets), rounded up: the memory
    # named must fit (0.64 GB rounded to 0.6 did not)
    need = math.ceil((BASE_BYTES + held + touch_bytes / MAX_BUCKETS) / 1024**3 * 10) / 10
    hint = f"give at least {need:.1f} GB (1 GB = 1024 MB), more for fewer buckets"
    if budget <= 0:
        raise UsageError(
            f"memory limit {memory_limit / 1024**2:.0f} MiB is below attrib's base footprint"
            f" plus the deal/stage tables it holds ({(BASE_BYTES + held) / 1024**2:.0f} MiB)",
            hint=hint,
        )
    buckets = max(1, math.ceil(touch_bytes / budget))
    if buckets > MAX_BUCKETS:
        raise UsageError(
            f"memory limit {memory_limit / 1024**2:.0f} MiB would need {buckets:,} buckets "
            f"(at most {MAX_BUCKETS:,})",
            hint=hint,
        )
    return buckets


def _entity_source(config: RunConfig, table: str = "touchpoints") -> str:
    canonical = CUSTOMER_ID if config.level == "customer" else ACCOUNT_ID
    return config.source_column(table, canonical)


def _entity_constant(config: RunConfig, table: str) -> pl.Expr | None:
    """The journey id a ``[constants.<table>]`` value gives every row, as validation reads
    it (stripped text; a float 1.0 is "1"), or None: in memory the constant replaces the
    file's column, so bucketing by the file's column split one entity's rows apart."""
    canonical = CUSTOMER_ID if config.level == "customer" else ACCOUNT_ID
    constants = config.constants.get(table, {})
    if canonical not in constants:
        return None
    value = pl.DataFrame({canonical: [constants[canonical]]})
    text = value.select(parse_id(canonical, value.schema[canonical])[0]).item()
    return pl.lit(text if text is not None else "")


def bucket_of(expr: pl.Expr, k: int) -> pl.Expr:
    """Bucket number of an entity id (stripped text), the same for touches, deals, stages."""
    return (expr.cast(pl.String).str.strip_chars().hash(seed=HASH_SEED) % k).cast(pl.Int32)


def partition_table(
    files: list[Path], config: RunConfig, k: int, folder: Path, table: str = "touchpoints"
) -> list[list[Path]]:
    """Stream a table's files (touchpoints, or stages) into ``k`` hash buckets of the journey
    entity; returns each bucket's files."""
    source = _entity_source(config, table)
    constant = _entity_constant(config, table)
    projection = used_columns(table, config)  # the columns the in-memory job reads too
    scans: list[pl.LazyFrame] = []
    schemas: list[pl.Schema] = []
    for f in files:
        try:  # a file no reader can open (an empty NDJSON file) is named, as in memory
            scans.append(scan_file(f, projection))
            schema = scans[-1].collect_schema()
            schemas.append(schema)
            # a decimal wider than Polars reads (precision > 38): its read error, as in memory
            # (the bucket writer panics on it: exit 5)
            if wide := [
                c for c, t in schema.items() if isinstance(t, pl.Decimal) and t.precision > 38
            ]:
                scans[-1].select(wide).head(1).collect()
        except AttribError:  # (named already: a repeated NDJSON key)
            raise
        except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
            raise read_failure(exc, [f], f"{file_format(f)} file") from None
    columns = [schema.names() for schema in schemas]
    check_table_columns(files, columns, table, config)
    for scan, schema in zip(scans, schemas, strict=True):
        # an id of a type no value of which can be hashed as text (a list, a struct): the
        # validator names the file and the column, as in memory (a bug's exit 5, else)
        if (
            constant is None
            and source in schema
            and unreadable_column(scan, source, schema[source])
        ):
            validate(scan.head(1).collect(), table, config)
    lazy = stack_parts(scans, files=files)
    if constant is None and not any(source in names for names in columns):
        if scans:  # the validator names the missing column, the file and a hint
            try:
                first = scans[0].head(1).collect()
            except (pl.exceptions.PolarsError, OSError, ValueError) as exc:  # (not UTF-8)
                raise read_failure(exc, files[:1], f"{file_format(files[0])} file") from None
            validate(first, table, config)
        raise SchemaError(
            f"{table} have no column {source!r} to bucket by",
            file=str(files[0]) if files else None,
            column=source,
            hint=f'map your id column in the config: [columns.{table}] {source} = "your_column"',
        )
    # a float id as validation reads it (1.0 is "1", as the deals' "1" or 1): the raw value's
    # text would put a customer's touches in another bucket than its deals (any other type
    # is hashed as its text, stripped, as the deals' validated ids are)
    if constant is not None:
        entity = constant
    elif (dtype := lazy.collect_schema()[source]).is_float():
        entity = parse_id(source, dtype)[0]
    else:
        entity = pl.col(source)
    try:
        lazy.with_columns(bucket_of(entity, k).alias(_BUCKET)).sink_parquet(
            pl.PartitionBy(folder, key=_BUCKET), mkdir=True
        )
    except BaseException as exc:
        _await_stray_writes(folder)
        if isinstance(exc, pl.exceptions.ComputeError):  # a malformed file (a ragged CSV row)
            raise read_failure(exc, files, table) from None
        if isinstance(exc, OSError) and exc.errno is None:
            # a file cut short (a truncated .gz: "unexpected end of file") is an input error,
            # as in memory; the scratch's own write errors carry an errno (ENOSPC)
            raise read_failure(exc, files, table) from None
        raise
    return [sorted((folder / f"{_BUCKET}={b}").glob("*.parquet")) for b in range(k)]


def _await_stray_writes(folder: Path, quiet: float = 0.1, limit: float = 5.0) -> None:
    """Wait until ``folder`` stops changing (``quiet`` seconds without a change, at most
    ``limit``): when a partitioned sink fails, Polars' writers of other buckets may still
    create and close their files, after the run's clean-up had removed the scratch folder
    (1 run in 20 of a ragged CSV left a bucket file behind in the temp folder)."""

    def files() -> list[tuple[str, int]] | None:
        try:
            return sorted((str(p), p.stat().st_size) for p in folder.rglob("*"))
        except OSError:  # (a file that went away while listed: still changing)
            return None

    last, deadline = files(), time.monotonic() + limit
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = files()
        if now is not None and now == last:
            return
        last = now


def validate_buckets(
    raw_buckets: list[list[Path]],
    table: str,
    folder: Path,
    inputs: Inputs,
    prepare: Callable[[Validated], tuple[pl.DataFrame, pl.DataFrame]],
    seen: Callable[[pl.DataFrame], None],
) -> list[Path]:
    """Validate and write a partitioned table bucket by bucket; returns each bucket's file
    (absent for an empty bucket).

    ``prepare`` turns a bucket's ``Validated`` into (rows, rejects); ``seen`` gets each
    bucket's valid rows (to keep the little the run needs of the whole table). Fills
    ``inputs`` with the rows read and the quarantine. Only the columns the run uses are
    validated (``inputs.used_columns``).
    """
    projection = used_columns(table, inputs.config)
    folder.mkdir(parents=True, exist_ok=True)
    files = [p for paths in raw_buckets for p in paths]
    # timezone mixing is a fact of the whole table, not of a bucket
    mixed = mixing_facts(pl.scan_parquet(files), table, inputs.config) if files else None
    targets, rejected, rows = [], [], 0
    for b, paths in enumerate(raw_buckets):
        raw = _read_bucket(paths)
        if projection is not None and raw.height:  # text inputs were partitioned whole
            raw = projection.apply(raw)
        rows += raw.height
        target = folder / f"{b}.parquet"
        if raw.height:
            frame, bad = prepare(validate(raw, table, inputs.config, mixed=mixed))
            rejected.append(bad)
            seen(frame)
            frame.write_parquet(target)
        targets.append(target)
    inputs.rows_read[table] = rows
    if not rejected:  # no row at all: an empty quarantine, as in memory (rejected: 0)
        lazy = stack_parts([scan_file(Path(f), projection) for f in inputs.files[table]])
        empty = lazy.head(0).collect().drop(_BUCKET, strict=False)
        if projection is not None:
            empty = projection.apply(empty)
        rejected.append(prepare(validate(empty, table, inputs.config))[1])
    if rejected:
        inputs.quarantine[table] = pl.concat(rejected, how="diagonal_relaxed").sort("file", "row")
    return targets


def _read_bucket(paths: list[Path]) -> pl.DataFrame:
    if not paths:
        return pl.DataFrame()
    frame = pl.concat([pl.read_parquet(p) for p in paths], how="diagonal_relaxed")
    return frame.drop(_BUCKET, strict=False)


@dataclass
class _Buckets:
    """The run's tables after partitioning and validation, read back one bucket at a time:
    validated touch (and, at customer level, stage) bucket files, the deals (and stages read
    whole) with their bucket, the shared dictionaries, and the data's time bounds."""

    cfg: RunConfig
    touches: list[Path]
    stages: list[Path] | None
    deals: pl.DataFrame
    whole_stages: pl.DataFrame | None
    dicts: Dictionaries
    touch_bounds: pl.DataFrame | None
    stage_bounds: pl.DataFrame | None
    #: the touches no rule matched, by source/medium (``unassigned_sources``), with rules
    unassigned: pl.DataFrame | None = None

    def _stages_of(self, b: int) -> pl.DataFrame | None:
        if self.stages is not None:
            path = self.stages[b]
            return pl.read_parquet(path) if path.exists() else None
        if self.whole_stages is not None:
            return self.whole_stages.filter(pl.col(_BUCKET) == b).drop(_BUCKET)
        return None

    def batches(self) -> Iterator[tuple[Journeys, pl.DataFrame, pl.DataFrame | None]]:
        """Each non-empty bucket's journeys, deals and stages; with no row at all, one
        empty batch, as the in-memory engine has."""
        empty = True
        for b, path in enumerate(self.touches):
            touches = pl.read_parquet(path) if path.exists() else empty_touches()
            d = self.deals.filter(pl.col(_BUCKET) == b).drop(_BUCKET)
            s = self._stages_of(b)
            if touches.height == 0 and d.height == 0 and (s is None or s.height == 0):
                continue  # (stage rows alone still count in the funnel)
            empty = False
            yield build_journeys(touches, d, self.cfg, stages=s, dicts=self.dicts), d, s
        if empty:
            d = self.deals.drop(_BUCKET)
            yield build_journeys(empty_touches(), d, self.cfg, dicts=self.dicts), d, None


def _bucket_inputs(
    inputs: Inputs,
    cfg: RunConfig,
    k: int,
    scratch: Path,
    out: Path | None,
    reporter: Reporter,
) -> _Buckets:
    """Partition the streamed tables into ``k`` buckets and validate them bucket by bucket
    (quarantine written, ``--strict`` applied), then the run's shared dictionaries."""
    from attrib.metrics.bundle import detach_strings
    from attrib.outputs import write_quarantine

    with reporter.stage("partition touchpoints"):
        touch_files = [Path(p) for p in inputs.files["touchpoints"]]
        raw_touches = partition_table(touch_files, cfg, k, scratch / "raw")
    stage_files = [Path(p) for p in inputs.files.get("stages", [])]
    stage_buckets: list[Path] | None = None
    stage_bounds: list[pl.DataFrame] = []
    if inputs.stages is None and stage_files:  # customer level: stages streamed too
        with reporter.stage("partition and validate stages"):
            raw_stages = partition_table(stage_files, cfg, k, scratch / "raw_stages", "stages")
            stage_buckets = validate_buckets(
                raw_stages,
                "stages",
                scratch / "stages",
                inputs,
                lambda v: attach_entity(v, cfg, None),
                lambda f: stage_bounds.extend(  # each stage name's earliest and latest time
                    f.group_by(STAGE).agg(agg).with_columns(pl.lit("").alias(ENTITY_ID))
                    for agg in (pl.col(TS).min(), pl.col(TS).max())
                ),
            )
    pairs: list[pl.DataFrame] = []
    bounds: list[pl.DataFrame] = []
    touch_accounts: list[pl.DataFrame] = []
    unassigned: list[pl.DataFrame] = []

    def seen_touches(touches: pl.DataFrame) -> None:
        pairs.append(detach_strings(touches.select("channel", "campaign").unique()))
        if cfg.rules and (counts := unassigned_sources(touches)) is not None:
            unassigned.append(detach_strings(counts))
        bounds.extend(touches.select(agg) for agg in (pl.col(TS).min(), pl.col(TS).max()))
        if cfg.level == "account" and ACCOUNT_ID in touches.columns:
            touch_accounts.append(account_lookup(touches.select(CUSTOMER_ID, ACCOUNT_ID)))

    with reporter.stage("validate touchpoints"):
        prepared = validate_buckets(
            raw_touches,
            "touchpoints",
            scratch / "prep",
            inputs,
            lambda v: prepare_touches(v, cfg),
            seen_touches,
        )
    if cfg.level == "account":  # each customer's smallest account over every bucket
        attach_accounts(inputs, smallest_accounts(touch_accounts))
    if out is not None:
        write_quarantine(out, inputs.quarantine)
    check_rejections(
        inputs.rows_read, inputs.rejected, strict=cfg.strict, out=out, reporter=reporter
    )
    # no valid touch at all: every deal is zero-touch, as in memory (a warning said so)
    no_pairs = pl.DataFrame(schema={"channel": pl.String, "campaign": pl.String})
    return _Buckets(
        cfg=cfg,
        touches=prepared,
        stages=stage_buckets,
        deals=inputs.deals.with_columns(bucket_of(pl.col(ENTITY_ID), k).alias(_BUCKET)),
        whole_stages=(
            inputs.stages.with_columns(bucket_of(pl.col(ENTITY_ID), k).alias(_BUCKET))
            if inputs.stages is not None
            else None
        ),
        dicts=build_dictionaries(pl.concat([no_pairs, *pairs]).unique(), cfg),
        touch_bounds=pl.concat(bounds, how="vertical").drop_nulls() if bounds else None,
        stage_bounds=pl.concat(stage_bounds, how="vertical") if stage_bounds else None,
        unassigned=pl.concat(unassigned, how="vertical") if unassigned else None,
    )


@dataclass
class _Credited:
    """What the credit pass over every bucket gives: each model's summed credit state, the
    metrics' partial states, and the counts the manifest and the warnings need."""

    states: dict[str, State | None]
    metric_parts: list[MetricsPartial]
    n_journeys: int = 0
    n_touches: int = 0
    deal_counts: DealCounts = field(default_factory=DealCounts)
    n_credit_rows: int = 0


def _credit_buckets(
    data: _Buckets,
    chosen: list[AttributionModel],
    fitted: dict[str, Fitted],
    plan: MetricsPlan,
    journeys_target: Path,
    days_dir: Path,
    credits_out: Path | None,
) -> _Credited:
    """Phase 2 over every bucket: each model's credit state, the journeys table streamed to
    ``journeys_target`` (journey ids numbered across buckets), touch credits into
    ``credits_out`` when given, and the metrics mapped per bucket."""
    from attrib.metrics.bundle import map_metrics, spill_funnel_days
    from attrib.outputs import touch_credit_writer

    done = _Credited(states={m.name: None for m in chosen}, metric_parts=[])
    with (
        parquet_appender(journeys_target) as journey_rows,
        touch_credit_writer(credits_out, [(m, fitted[m.name]) for m in chosen])
        if credits_out is not None
        else nullcontext() as write_credits,
    ):
        for batch, bucket_deals, bucket_stages in data.batches():
            for m in chosen:
                done.states[m.name] = reduce_states(
                    done.states[m.name], credit_state(m, batch, fitted[m.name])
                )
            table = batch.table.with_columns(pl.col("journey_id") + done.n_journeys)
            journey_rows.write_table(table.to_arrow())
            if write_credits is not None:
                done.n_credit_rows += write_credits(replace(batch, table=table))
            part = map_metrics(
                plan, digest=batch.digest, deals=bucket_deals, stages=bucket_stages, journeys=table
            )
            done.metric_parts.append(spill_funnel_days(part, days_dir, str(len(done.metric_parts))))
            done.n_journeys += batch.n_journeys
            done.n_touches += batch.n_window_touches
            done.deal_counts += DealCounts.of(batch)
    return done


def _streamed_header_errors(
    data_dir: str | Path | None, streamed: dict[str, str | Path | None], cfg: RunConfig
) -> list[SchemaError]:
    """The missing columns of the streamed tables' files (touchpoints, stages), from their
    headers alone, before any is partitioned: the in-memory run names every table's in one
    error (a misspelt 'Channel' was told before a missing customer_id, the deals' error
    without the touches')."""
    from attrib.inputs import locate_inputs, with_misspelt
    from attrib.schema import header_error

    errors = []
    located = locate_inputs(data_dir, dict(streamed))
    for table in streamed:
        first = next(iter(located.get(table, [])), None)
        if first is None:
            continue
        try:
            names = scan_file(first).collect_schema().names()
        except (AttribError, pl.exceptions.PolarsError, OSError):
            continue  # (the file's own read error comes when it is partitioned)
        if (err := header_error(names, table, cfg, str(first))) is not None:
            errors += with_misspelt(err, [first], [names], table, cfg)
    return errors


def run_bucketed(
    data_dir: str | Path | None = None,
    *,
    out: str | Path | None = None,
    buckets: int | None = None,
    memory_limit: str | int | None = None,
    models: list[str] | str | None = None,
    touchpoints: str | Path | None = None,
    deals: TableSource = None,
    stages: TableSource = None,
    costs: TableSource = None,
    targets: TableSource = None,
    config: RunConfig | str | Path | None = None,
    lookback_days: int | None = None,
    level: str | None = None,
    strict: bool | None = None,
    reporter: Reporter | None = None,
    workdir: str | Path | None = None,
    metrics: dict[str, Any] | None = None,
    touch_credits: bool = False,
) -> RunResult:
    """Run the job bucket by bucket (``buckets``, or as many as ``memory_limit`` needs, e.g.
    "4GB"); same outputs as ``attrib.run.run``, peak memory bounded by one bucket.
    ``touch_credits``: also stream every touch's credit into ``touch_credits.parquet`` (as
    ``run``'s ``touch_credits``; needs ``out``). No bootstrap: its resamples draw from every
    journey at once."""
    from attrib.manifest import build_manifest, finish_manifest, input_section
    from attrib.metrics.bundle import finalize_metrics, metrics_plan
    from attrib.metrics.settings import MetricsSettings
    from attrib.outputs import check_out_folder, input_fingerprints, write_manifest, write_tables
    from attrib.run import (
        RunResult,
        check_argument_types,
        given_arguments,
        python_argument,
        refuse_ignored_pairs,
        refuse_touch_credits_without_out,
        requested_models,
        resolve_models,
        runnable_models,
        shared_argument_types,
    )

    check_argument_types(
        **shared_argument_types(out, models, metrics),
        buckets=(buckets, (Integral,), "a whole number"),
        memory_limit=(memory_limit, (str, Real), 'a size such as "4GB", or bytes'),
    )
    refuse_ignored_pairs(
        given_arguments(buckets=buckets, memory_limit=memory_limit), python_argument
    )
    refuse_touch_credits_without_out(touch_credits, out)
    if isinstance(memory_limit, Real) and not (
        math.isfinite(memory_limit) and memory_limit >= 1024**2
    ):
        # (a number is bytes: 4 read as "0 MiB", 0 as no limit at all)
        raise UsageError(
            f"memory_limit={memory_limit!r} is no memory a run fits in: a number is bytes",
            hint='give a size such as "4GB" (or 4 * 1024**3)',
        )
    # an unreadable limit or a bucket count out of range, before any input is read
    limit = parse_memory(memory_limit) if isinstance(memory_limit, str) else memory_limit
    if buckets is not None:
        check_bucket_count(buckets)
    reporter = reporter or Reporter()
    out_path = Path(out) if out is not None else None
    check_out_folder(out_path)  # (before any input is read, as in memory)
    if not (touchpoints is None or isinstance(touchpoints, (str, Path))):
        raise UsageError(
            "the bucketed engine streams touchpoints from files: pass a path, not a frame",
            hint="write the frame to Parquet (frame.write_parquet('touches.parquet')) and pass "
            "that, or run it in memory with attrib.api.run",
        )
    cfg = resolve_config(
        data_dir, config, lookback_days=lookback_days, level=level, strict=strict, metrics=metrics
    )
    # numba's one-time set-up and the chosen models' imports, while Polars reads (as run)
    wanted = requested_models(models, cfg)
    check_names(wanted)  # a misspelt model fails before any reading
    set_up = set_up_in_background(partial(import_models, wanted))
    streamed = ("touchpoints", "stages") if cfg.level == "customer" else ("touchpoints",)
    # the streamed tables' sources (a frame is no file to stream: not among them)
    sources = {
        t: s
        for t, s in (("touchpoints", touchpoints), ("stages", stages))
        if t in streamed and (s is None or isinstance(s, str | Path))
    }
    with reporter.stage("read and validate small tables"):
        try:
            inputs = load_inputs(
                data_dir,
                touchpoints=touchpoints,
                deals=deals,
                stages=stages,
                costs=costs,
                targets=targets,
                config=cfg,
                # stages are keyed by customer: streamed at customer level; at account level
                # their account may come from the touches' lookup, so they are read whole
                streamed=streamed,
                # at account level the deals' and stages' accounts are given once the touch
                # buckets are validated (``attach_accounts``): a rejected touch names none
                defer_accounts=True,
            )
        except SchemaError as err:  # the streamed tables' missing columns too, as in memory
            found = _streamed_header_errors(data_dir, sources, cfg)
            raise with_the_others([*found, err]) from None
        if found := _streamed_header_errors(data_dir, sources, cfg):
            raise with_the_others(found)
    if buckets is None:
        held = sum(f.estimated_size() for f in (inputs.deals, inputs.stages) if f is not None)
        touch_files = [Path(p) for p in inputs.files["touchpoints"]]
        buckets = buckets_for(touch_files, int(limit or 4 * 1024**3), int(HELD_FACTOR * held))
        check_bucket_count(buckets)
    reporter.note(f"out-of-core: {buckets} bucket(s)")
    chosen = resolve_models(models, cfg)
    scratch = Path(tempfile.mkdtemp(prefix="attrib-buckets-", dir=workdir))
    try:
        if (note := compile_note(set_up)) is not None:  # (before the first kernel: said first)
            reporter.note(note)
        data = _bucket_inputs(inputs, cfg, buckets, scratch, out_path, reporter)
        dicts = data.dicts
        chosen = runnable_models(chosen, dicts, models, cfg, reporter)
        with (
            reporter.stage("fit data-driven models")
            if any(m.needs_fit for m in chosen)
            else nullcontext()
        ):
            fitted = fit_models(chosen, (batch for batch, _, _ in data.batches()), dicts)
        plan = metrics_plan(
            MetricsSettings.from_mapping(cfg.metrics),  # --from etc.: merged into cfg
            inputs.deals,
            data.stage_bounds if data.stage_bounds is not None else inputs.stages,
            data.touch_bounds,
        )
        days_dir = scratch / "funnel_days"
        with reporter.stage("attribute buckets"):
            done = _credit_buckets(
                data,
                chosen,
                fitted,
                plan,
                journeys_target=(out_path or scratch) / "journeys.parquet",
                days_dir=days_dir,
                credits_out=out_path if touch_credits else None,
            )
        attribution = summarise(
            [model_credit(m, fitted[m.name], done.states[m.name], dicts) for m in chosen], dicts
        )
        with reporter.stage("metrics"):
            metric_tables = finalize_metrics(
                plan,
                done.metric_parts,
                deals=inputs.deals,
                costs=inputs.costs,
                targets=inputs.targets,
                channel_summary=attribution.channel_summary,
                campaign_summary=attribution.campaign_summary,
                spilled_days=days_dir,
                declared=cfg.declared_marketing(),
            )
        attribution.channel_summary = metric_tables["channel_summary"]
        attribution.campaign_summary = metric_tables["campaign_summary"]
        out_tables = {**metric_tables, **attribution.tables}
        for warning in deal_warnings(
            done.deal_counts, inputs.rows_read, inputs.rejected, cfg.level
        ):
            reporter.warn(warning)
        for warning in metric_warnings(
            inputs,
            metric_tables["kpis"],
            dicts.channels,
            plan,
            metric_tables["channel_summary"],
            attribution.tables,
            unassigned=data.unassigned,
        ):
            reporter.warn(warning)
        manifest = build_manifest(
            cfg,
            chosen,
            engine={"name": "local-bucketed", "buckets": buckets},
            inputs=input_section(inputs, input_fingerprints(inputs.files)),
            rows_read=inputs.rows_read,
            rejected=inputs.rejected,
            n_journeys=done.n_journeys,
            n_touches=done.n_touches,
            deals=done.deal_counts,
            warnings=reporter.warnings,
            window=plan.window,
            window_given=plan.settings.window_given(),
        )
        result = RunResult(inputs, None, attribution, out_tables, manifest, out_path)
        if out_path is not None:
            with reporter.stage("write outputs"):
                files = [*write_tables(out_path, out_tables), "journeys.parquet"]
                if touch_credits:
                    files.append("touch_credits.parquet")
                    manifest["row_counts"]["touch_credits"] = done.n_credit_rows
                files += [
                    f"quarantine/{t}.parquet" for t, q in inputs.quarantine.items() if q.height
                ]
            finish_manifest(manifest, files, reporter)
            write_manifest(out_path, manifest)
        return result
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
