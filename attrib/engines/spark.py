"""The Spark engine (``attrib run --engine spark``): attrib's own kernels inside Spark.

Spark does the relational work: it reads the inputs (files, folders, globs, any Hadoop-style
URI, or a table), hashes each journey entity into one of ``buckets`` buckets and shuffles the
touches there. Each bucket is handed through Arrow to the same validation rules, journey
builder and numba kernels as the local engine and returns additive partial states, which the
driver sums and finalizes (map -> reduce -> finalize, see docs/ARCHITECTURE.md). pyspark is
imported only inside functions, so ``import attrib`` works without it. How it works:
``docs/SPARK.md``.

This module is the driver: ``run_spark`` and the job's steps, and Spark writing the large
outputs. Beside it: ``_spark_session`` (the session, Spark's failures as attrib's errors),
``_spark_read`` (the inputs read into Spark with the local reader's checks) and
``_spark_worker`` (what runs on the executors).
"""

from __future__ import annotations

import contextlib
import functools
import json
import operator
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl
import pyarrow as pa

from attrib.columns import DATE
from attrib.config import RunConfig
from attrib.credit import ModelCredit, credit_model, fit_models, model_credit, summarise
from attrib.data_checks import DealCounts, check_rejections, deal_warnings, metric_warnings
from attrib.encoded import Dictionaries
from attrib.engines import _spark_worker as w
from attrib.engines._spark_read import (
    _SIDE_TABLES,
    TABLE_PREFIX,
    _describe_source,
    _display,
    _locate,
    _number_collected,
    _read_raw,
    _wall_clock,
    check_parquet_types,
    map_in_arrow,
    mixed_columns,
)
from attrib.engines._spark_session import (
    _default_buckets,
    _master,
    _spark_call,
    spark_session,
    utc_session,
)
from attrib.errors import AttribError, SchemaError, UsageError
from attrib.inputs import Inputs, with_the_others
from attrib.io import FILE_COL, ROW_COL, is_csv_file, non_utf8_error
from attrib.manifest import result_line
from attrib.models.base import AttributionModel, Fitted
from attrib.parsing import DATE_CHARS, MIXED_NONE, OFFSET_PATTERN, mixing_code
from attrib.progress import Reporter

if TYPE_CHECKING:
    from pyspark.sql import DataFrame as SparkFrame
    from pyspark.sql import SparkSession

    from attrib.metrics.bundle import MetricsPlan
    from attrib.schema import Validated

#: Above this many rejected touches the quarantine is written by Spark as a folder
#: (``quarantine/touchpoints/``) instead of being collected into one file by the driver.
QUARANTINE_COLLECT_LIMIT = 1_000_000


@dataclass(repr=False)
class SparkRunResult:
    """What a Spark run produced: the driver-side tables (same as the local engine's) and
    where Spark wrote the large ones."""

    channel_summary: pl.DataFrame
    campaign_summary: pl.DataFrame
    tables: dict[str, pl.DataFrame]
    credits: list[ModelCredit]
    dicts: Dictionaries
    quarantine: dict[str, pl.DataFrame]
    manifest: dict[str, Any]
    out: Path | None = None
    journeys_path: str | None = None
    extra_outputs: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """What the run warned of, as ``RunResult.warnings``."""
        return list(self.manifest.get("warnings", []))

    def __repr__(self) -> str:
        """One short line, as a local run's result shows (the tables and manifest in full
        made a notebook cell ~50 kB)."""
        return result_line("SparkRunResult", self.out, self.manifest, self.tables)


# -- the job ------------------------------------------------------------------------------------
def run_spark(
    data_dir: str | Path | None = None,
    *,
    out: str | Path | None,
    models: list[str] | str | None = None,
    touchpoints: Any = None,
    deals: Any = None,
    stages: Any = None,
    costs: Any = None,
    targets: Any = None,
    config: RunConfig | str | Path | None = None,
    spark: SparkSession | None = None,
    master: str | None = None,
    buckets: int | None = None,
    lookback_days: int | None = None,
    level: str | None = None,
    strict: bool | None = None,
    write_journeys: bool = True,
    touch_credits: bool = False,
    metrics: dict[str, Any] | None = None,
    reporter: Reporter | None = None,
) -> SparkRunResult:
    """Run the whole job on Spark; same summaries as ``attrib.run.run``, same output names.

    Inputs are local paths, folders, globs, Hadoop-style URIs, ``"table:db.name"`` or Spark
    DataFrames. ``buckets`` is how many hash buckets of entities the work is split into
    (default: the session's default parallelism). Summaries, quarantine and manifest are
    written by the driver into ``out``; the journey table by Spark into ``out/journeys/``.
    ``metrics`` overrides ``[metrics]`` settings as in ``attrib.run.run``; ``touch_credits``
    has Spark write every touch's credit to ``out/touch_credits/`` (partitioned by model).
    """
    from attrib.inputs import resolve_config
    from attrib.outputs import check_out_folder
    from attrib.run import resolve_models

    reporter = reporter or Reporter()
    out_path = Path(out) if out is not None else None
    check_out_folder(out_path)
    if buckets is not None and (not isinstance(buckets, int) or buckets < 1):
        raise UsageError(f"buckets must be a positive integer, got {buckets!r}", hint="--buckets 8")
    cfg = resolve_config(
        data_dir, config, lookback_days=lookback_days, level=level, strict=strict, metrics=metrics
    )
    chosen = resolve_models(models, cfg)
    sources = _locate(
        data_dir,
        {
            "touchpoints": touchpoints,
            "deals": deals,
            "stages": stages,
            "costs": costs,
            "targets": targets,
        },
    )
    session = spark_session(spark, master)
    n_buckets = buckets or _default_buckets(session)
    job = _Job(session, cfg, n_buckets, reporter)
    with utc_session(session):
        try:
            return job.run(
                sources,
                chosen,
                out_path,
                write_journeys=write_journeys,
                touch_credits=touch_credits,
                names=models,
            )
        finally:
            job.release()


def _blank_row(frame: SparkFrame) -> Any:
    """1 for a row with no value (``io.blank_line`` as a Spark expression over ``frame``'s
    columns), else 0: what the workers drop from a CSV file's rows once numbered."""
    from pyspark.sql import functions as sf
    from pyspark.sql.types import StringType

    tests = []
    for column in frame.schema.fields:
        if column.name in (w.URI_COL, w.BLOCK_COL):
            continue
        value = _column(column.name)
        test = value.isNull()
        if isinstance(column.dataType, StringType):
            # (the characters of ``io._TRIMMED``, as a Java regex class)
            only_blanks = sf.regexp_replace(value, "[\\x00-\\x20]", "") == ""
            # (the comparison first: a value that sorts from ``!`` on skips the regex)
            test = test | ((value < sf.lit("!")) & (sf.length(value) > 0) & only_blanks)
        tests.append(test)
    if not tests:
        return sf.lit(0)
    return sf.when(functools.reduce(operator.and_, tests), 1).otherwise(0)


class _Job:
    """One Spark run's state: the session, config, persisted frames to release at the end."""

    def __init__(self, spark: SparkSession, cfg: RunConfig, buckets: int, reporter: Reporter):
        self.spark = spark
        self.cfg = cfg
        self.buckets = buckets
        self.reporter = reporter
        #: the local files each table was read from (``Inputs.files``: the warnings that read
        #: a file's header), as the reads listed them
        self.files: dict[str, list[str]] = {}
        #: the tables read from no local file (a URI, a catalog table, a DataFrame), as the
        #: driver holds them (``Inputs.frames``: the same warnings read their columns): the
        #: side tables' rows, the touchpoints' first row (their columns)
        self.frames: dict[str, pl.DataFrame] = {}
        self.persisted: list[SparkFrame] = []

    def release(self) -> None:
        for frame in self.persisted:
            with contextlib.suppress(Exception):  # best effort when the session is gone
                frame.unpersist()

    def _persist(self, frame: SparkFrame) -> SparkFrame:
        from pyspark import StorageLevel

        frame = frame.persist(StorageLevel.MEMORY_AND_DISK)
        self.persisted.append(frame)
        return frame

    def _bucket(self, frame: SparkFrame) -> SparkFrame:
        from pyspark.sql import functions as sf

        return frame.withColumn(
            w.BUCKET_COL, sf.pmod(sf.xxhash64(sf.col("entity_id")), sf.lit(self.buckets))
        )

    # ---------------------------------------------------------------------------------------
    def run(
        self,
        sources: dict[str, Any],
        models: list[AttributionModel],
        out: Path | None,
        *,
        write_journeys: bool,
        touch_credits: bool = False,
        names: list[str] | tuple[str, ...] | str | None = None,
    ) -> SparkRunResult:
        from attrib.inputs import empty_touches
        from attrib.journey_codes import build_dictionaries
        from attrib.journeys import build_journeys
        from attrib.manifest import finish_manifest
        from attrib.outputs import write_manifest, write_quarantine, write_tables
        from attrib.run import finish_metrics, map_run_metrics, runnable_models

        rep = self.reporter
        with rep.stage("read and validate"):
            try:
                validator, validated, rows_read = self.validate_touches(sources["touchpoints"])
            except SchemaError as error:  # the small tables' missing columns named too
                try:
                    others = self.validate_sides(sources)[2]
                except AttribError:  # (another problem of theirs: said in its turn)
                    others = []
                raise with_the_others([error, *others]) from None
            quarantine, touch_q_path = self.touch_quarantine(validator, validated, out)
            with rep.stage("read small tables"):
                side, inputs = self.side_tables(sources, validated)
            quarantine.update(inputs.quarantine)
            rows_read.update(inputs.rows_read)
        good = validated.filter(~validated[w.BAD_COL]).select(*[n for n, _ in w.TOUCH_FIELDS])
        with rep.stage("dictionaries"):
            pairs = _spark_call(
                "collecting channels", good.select("channel", "campaign").distinct().toArrow
            )
            channel_pairs = pl.from_arrow(pairs)
            assert isinstance(channel_pairs, pl.DataFrame)  # (an Arrow table gives a frame)
            # (before anything is written: locally such a file is refused as it is read)
            _refuse_replaced_text(channel_pairs, "touchpoints", self.files["touchpoints"])
            # no valid touch at all: every deal is zero-touch, as locally (a warning said so)
            dicts = build_dictionaries(channel_pairs, self.cfg)
        models = runnable_models(models, dicts, names, self.cfg, rep)
        rejected = {t: q.height for t, q in quarantine.items()}
        if touch_q_path is not None:
            rejected["touchpoints"] = self.n_touch_rejected
        if out is not None:
            write_quarantine(out, quarantine)
        check_rejections(rows_read, rejected, strict=bool(self.cfg.strict), out=out, reporter=rep)
        with rep.stage("build journeys"):
            encoded = self.encode(good, side, dicts)
            parts = _spark_call(
                "building journeys",
                encoded.select(
                    w.BUCKET_COL,
                    "n_journeys",
                    "n_touches",
                    "digest",
                    "deal_journeys",
                    "deals",
                    "touched_deals",
                    "deals_in_window",
                    "zero_touch_touched",
                    "placeholders",
                    "touched_in_window",
                ).toArrow,
            )
        per_bucket = sorted(zip(*parts.to_pydict().values(), strict=True))
        n_journeys = sum(p[1] for p in per_bucket)
        n_touches = sum(p[2] for p in per_bucket)
        deal_counts = sum(
            (
                DealCounts(
                    deals=p[5],
                    touched=p[6],
                    in_window=p[7],
                    zero_touch_touched=p[8],
                    placeholders=tuple((name, n) for name, n in json.loads(p[9])),
                    touched_in_window=p[10],
                )
                for p in per_bucket
            ),
            DealCounts(),
        )
        rep.note(f"journeys: {n_journeys:,} over {n_touches:,} touches in {self.buckets} buckets")
        for warning in deal_warnings(deal_counts, rows_read, rejected, self.cfg.level):
            rep.warn(warning)
        if per_bucket:
            fitted = self.fit(encoded, models, dicts)
            with rep.stage("credit"):
                attribution = summarise(self.credit(encoded, models, fitted, dicts), dicts)
        else:  # no row in any table: one empty batch on the driver, as the local engines
            batch = build_journeys(empty_touches(), inputs.deals, self.cfg, dicts=dicts)
            fitted = fit_models(models, [batch], dicts)
            credits = [credit_model(m, [batch], fitted[m.name]) for m in models]
            attribution = summarise(credits, dicts)
        tables = attribution.tables
        with rep.stage("metrics"):
            offset, deal_parts = 0, []
            for _, n_j, _, _, deal_blob, *_ in per_bucket:
                deal_parts.append(
                    w.frame_from_bytes(deal_blob).with_columns(pl.col("journey_id") + offset)
                )
                offset += n_j
            if per_bucket:
                deals_of_journeys = pl.concat(deal_parts)
                digest = pl.concat(
                    [w.frame_from_bytes(p[3]) for p in per_bucket], how="diagonal_relaxed"
                )
            else:
                deals_of_journeys = batch.table.filter(pl.col("deal_id").is_not_null())
                assert batch.digest is not None  # build_journeys always picks one
                digest = batch.digest
            mapped = map_run_metrics(inputs, deals_of_journeys, digest)
            metric_tables = finish_metrics(inputs, attribution, mapped)
        for warning in metric_warnings(
            inputs,
            metric_tables["kpis"],
            dicts.channels,
            mapped[0],
            metric_tables["channel_summary"],
            tables,
        ):
            rep.warn(warning)
        channel = metric_tables["channel_summary"]
        campaign = metric_tables["campaign_summary"]
        out_tables = {**metric_tables, **tables}
        journeys_path = None
        files: list[str] = []
        if out is not None:
            with rep.stage("write outputs"):
                files = write_tables(out, out_tables) + write_quarantine(out, quarantine)
                if touch_q_path is not None:
                    files.append("quarantine/touchpoints/")
                if write_journeys:
                    journeys_path = self.write_journeys(encoded, dicts, out)
                    files.append("journeys/")
                if touch_credits:
                    shipped = [(c.model, _slim(c.fitted)) for c in attribution.credits]
                    rows = encoded.mapInArrow(
                        w.TouchCreditRows(shipped, dicts), _ddl(w.touch_credit_schema())
                    )
                    _write_folder(rows, out / "touch_credits", partition_by="model")
                    files.append("touch_credits/")
        manifest = self.manifest(
            models, sources, rows_read, rejected, n_journeys, n_touches, deal_counts, mapped[0]
        )
        if out is not None and touch_credits:  # the parts' row counts, from their footers
            parts = sorted((out / "touch_credits").rglob("*.parquet"))  # none: no credit row
            counted = pl.scan_parquet(parts).select(pl.len()).collect().item() if parts else 0
            manifest["row_counts"]["touch_credits"] = counted
        finish_manifest(manifest, files, rep)
        if out is not None:
            write_manifest(out, manifest)
        return SparkRunResult(
            channel_summary=channel,
            campaign_summary=campaign,
            tables=out_tables,
            credits=attribution.credits,
            dicts=dicts,
            quarantine=quarantine,
            manifest=manifest,
            out=out,
            journeys_path=journeys_path,
            extra_outputs=[p for p in (touch_q_path,) if p],
        )

    # -- touches ------------------------------------------------------------------------------
    def validate_touches(self, spec: Any) -> tuple[w.TouchValidator, SparkFrame, dict[str, int]]:
        """Number and validate touches in Spark; schema errors surface on the driver first."""
        from pyspark.sql import functions as sf

        from attrib.columns import TS
        from attrib.schema import map_columns, typed_timestamp_files, unused_columns, validate

        raw = _read_raw(self.spark, spec, "touchpoints", self.cfg)
        self.files["touchpoints"] = list(raw.names.values())
        frame = raw.frame
        if not raw.located:
            frame = frame.select(
                "*",
                sf.lit(f"{TABLE_PREFIX}touchpoints").alias(w.URI_COL),
                sf.lit(0).cast("long").alias(w.BLOCK_COL),
            )
        sample = w.to_polars(_spark_call("reading touchpoints", frame.limit(1).toArrow))
        name = _display(sample[w.URI_COL][0], raw.names) if sample.height else "(empty input)"
        sample = sample.drop(w.URI_COL, w.BLOCK_COL).with_columns(
            pl.lit(name).alias(FILE_COL), pl.lit(1, dtype=pl.Int64).alias(ROW_COL)
        )
        try:
            validate(sample, "touchpoints", self.cfg)  # raises SchemaError like the local engine
        except SchemaError as error:
            files = sorted(set(raw.names.values()))
            if error.file is None and len(files) == 1:  # (no row named it: a header-only file)
                error.file = files[0]
            raise
        if not raw.names and sample.height:
            self.frames["touchpoints"] = sample
        unused = unused_columns("touchpoints", self.cfg)  # as the local engines: not kept
        qcols = tuple(
            c
            for c in map_columns(sample, "touchpoints", self.cfg).columns
            if c not in (FILE_COL, ROW_COL) and c not in unused
        )
        ts_source = self.cfg.source_column("touchpoints", TS)
        string_ts = ts_source in frame.columns and dict(frame.dtypes).get(ts_source) == "string"
        aggs = [sf.count(sf.lit(1)).alias("n"), sf.sum(_blank_row(frame)).alias("blank")]
        if string_ts:
            # as Polars' strip_chars and Rust's regex: Unicode whitespace and digits (Java's
            # trim takes spaces only, its \s and \d are ASCII but with (?U)): a tab after a
            # date, a no-break space before an offset, counted otherwise, rejected other rows
            text = sf.regexp_replace(_column(ts_source), r"(?U)^\s+|\s+$", "")
            aware = text.rlike("(?U)" + OFFSET_PATTERN)  # the local validator's pattern
            aggs += [
                sf.sum(sf.when(aware, 1).otherwise(0)).alias("aware"),
                # (a date is neither: ``parsing.mixing_counts``)
                sf.sum(
                    sf.when((text != "") & ~aware & (sf.length(text) != DATE_CHARS), 1).otherwise(0)
                ).alias("naive"),
            ]
        with self.reporter.stage("count file splits"):
            stats = _spark_call(
                "counting touchpoints",
                frame.groupBy(w.URI_COL, w.BLOCK_COL).agg(*aggs).toArrow,
            )
        st = pl.from_arrow(stats)
        assert isinstance(st, pl.DataFrame)  # (an Arrow table gives a frame)
        st = st.sort(w.URI_COL, w.BLOCK_COL)
        splits: dict[tuple[str, int], tuple[int, str]] = {}
        before: dict[str, int] = {}
        for row in st.iter_rows(named=True):
            uri, block = row[w.URI_COL], int(row[w.BLOCK_COL])
            splits[(uri, block)] = (before.get(uri, 0), _display(uri, raw.names))
            before[uri] = before.get(uri, 0) + int(row["n"])
        shown = {uri: _display(uri, raw.names) for uri in before}  # each file's path
        mixed = MIXED_NONE
        if string_ts and st.height:
            # a typed file's timestamps (stacked as text beside text files) do not vote
            typed = set(typed_timestamp_files(shown.values(), "touchpoints", TS, self.cfg))
            voters = st.filter(
                ~pl.col(w.URI_COL).is_in([u for u, f in shown.items() if f in typed])
            )
            mixed = mixing_code(int(voters["aware"].sum()), int(voters["naive"].sum()))
        validator = w.TouchValidator(
            config=self.cfg,
            splits=splits,
            quarantine_columns=qcols,
            ts_source=ts_source if string_ts else None,
            mixed_ts=mixed,
        )
        schema = _ddl(w.validated_schema(qcols))
        validated = self._persist(map_in_arrow(frame, validator, schema))
        # a CSV file's blank rows are numbered (the row numbers count them) but not read
        csv = [u for u, f in shown.items() if is_csv_file(f)]
        blank = st.filter(pl.col(w.URI_COL).is_in(csv)).get_column("blank").sum()
        read = int(sum(before.values())) - int(blank or 0)
        return validator, validated, {"touchpoints": read}

    def touch_quarantine(
        self, validator: w.TouchValidator, validated: SparkFrame, out: Path | None
    ) -> tuple[dict[str, pl.DataFrame], str | None]:
        """Rejected touches: collected into the local layout, or (when very many) written by
        Spark as ``quarantine/touchpoints/`` Parquet."""
        bad = validated.filter(validated[w.BAD_COL])
        with self.reporter.stage("validate touchpoints"):
            got = _spark_call(
                "validating touchpoints", bad.limit(QUARANTINE_COLLECT_LIMIT + 1).toArrow
            )
        if got.num_rows <= QUARANTINE_COLLECT_LIMIT or out is None:
            self.n_touch_rejected = got.num_rows
            return {"touchpoints": validator.quarantine_frame(w.to_polars(got))}, None
        self.n_touch_rejected = _spark_call("counting rejected touchpoints", bad.count)
        target = out / "quarantine" / "touchpoints"
        cols = ["file", "row", "column", "reason"]
        renamed = bad.select(
            *cols,
            *[bad[w.QUARANTINE_PREFIX + c].alias(c) for c in validator.quarantine_columns],
        )
        _write_folder(renamed.sortWithinPartitions("file", "row"), target, partition_by=None)
        return {}, str(target)

    # -- deals, stages, costs, targets ---------------------------------------------------------
    def validate_side(self, source: Any, table: str) -> tuple[int, Validated]:
        """One small table collected to the driver and validated: its rows read, and the
        local engine's ``Validated``."""
        from attrib.schema import validate

        located = _read_raw(self.spark, source, table, self.cfg)
        self.files[table] = list(located.names.values())
        raw = _number_collected(located, table)
        _refuse_replaced_text(raw, table, self.files[table])
        if table == "costs":  # a cost row's day is the one its export names
            raw = _wall_clock(raw, located, self.cfg.source_column(table, DATE))
        if not located.names:
            self.frames[table] = raw
        return raw.height, validate(raw, table, self.cfg)

    def validate_sides(
        self, sources: dict[str, Any]
    ) -> tuple[dict[str, int], dict[str, Validated], list[SchemaError]]:
        """Every small table ``validate_side``: rows read and ``Validated`` per table, and the
        schema errors (missing columns) of those that have one, to be named all at once, as
        locally (``with_the_others``)."""
        rows: dict[str, int] = {}
        valid: dict[str, Validated] = {}
        errors: list[SchemaError] = []
        for table in _SIDE_TABLES:
            if table in sources:
                try:
                    rows[table], valid[table] = self.validate_side(sources[table], table)
                except SchemaError as error:
                    errors.append(error)
        return rows, valid, errors

    def side_tables(
        self, sources: dict[str, Any], validated: SparkFrame
    ) -> tuple[pl.DataFrame, Inputs]:
        """Deals and stages (and costs, targets) are small: collected and validated on the
        driver with the local engine's Polars code (so duplicate deal ids are found across the
        whole table), then shipped back to Spark to be cogrouped with the touches by bucket."""
        from pyspark.sql import functions as sf

        from attrib.inputs import attach_entity, with_deal_accounts

        quarantine: dict[str, pl.DataFrame] = {}
        rows, valid, errors = self.validate_sides(sources)
        if errors:
            raise with_the_others(errors)
        lookup = None
        if self.cfg.level == "account":
            acc = validated.filter(~validated[w.BAD_COL] & validated["account_id"].isNotNull())
            got = _spark_call(
                "collecting accounts",
                acc.groupBy("customer_id").agg(sf.min("account_id").alias("__account")).toArrow,
            )
            lookup = with_deal_accounts(w.to_polars(got), valid["deals"].frame)
        dv = valid["deals"]
        deals, quarantine["deals"] = attach_entity(dv, self.cfg, lookup)
        parts = [_side(deals, "deal")]
        stage_frame = None
        if "stages" in valid:
            sv = valid["stages"]
            stage_frame, quarantine["stages"] = attach_entity(sv, self.cfg, lookup)
            parts.append(_side(stage_frame, "stage"))
        for table in ("costs", "targets"):
            if table in valid:
                quarantine[table] = valid[table].rejected
        inputs = Inputs(
            config=self.cfg,
            touches=pl.DataFrame(),
            deals=deals,
            stages=stage_frame,
            costs=valid["costs"].frame if "costs" in valid else None,
            targets=valid["targets"].frame if "targets" in valid else None,
            quarantine=quarantine,
            rows_read=rows,
            files=self.files,
            frames=self.frames,
        )
        return pl.concat(parts, how="vertical"), inputs

    # -- journeys, fit, credit -------------------------------------------------------------------
    def encode(self, good: SparkFrame, side: pl.DataFrame, dicts: Dictionaries) -> SparkFrame:
        """Shuffle touches and deals/stages by entity bucket; encode each bucket's journeys."""
        arrow = side.to_arrow().cast(pa.schema(list(w.SIDE_FIELDS)))
        side_frame = self._bucket(
            _spark_call("shipping deals", lambda: self.spark.createDataFrame(arrow))
        )
        touches = self._bucket(good)
        cfg = self.cfg

        def build(left: pa.Table, right: pa.Table) -> pa.Table:
            return w.build_bucket(left, right, cfg, dicts)

        encoded = (
            touches.groupBy(w.BUCKET_COL)
            .cogroup(side_frame.groupBy(w.BUCKET_COL))
            .applyInArrow(build, _ddl(w.ENCODED_SCHEMA))
        )
        return self._persist(encoded)

    def fit(
        self, encoded: SparkFrame, models: list[AttributionModel], dicts: Dictionaries
    ) -> dict[str, Fitted]:
        """Phase 1 of data-driven models: states per bucket, summed and finalized here."""
        fitted = {m.name: Fitted() for m in models if not m.needs_fit}
        need = [m for m in models if m.needs_fit]
        if not need:
            return fitted
        with self.reporter.stage("fit"):
            states = self._states(encoded, w.FitMapper(need, dicts), "fitting models")
            reduced = w.reduce_rows(states, need, fit=True)
            for m in need:
                fitted[m.name] = m.fit_finalize(reduced.get(m.name, {}), dicts)
        return fitted

    def credit(
        self,
        encoded: SparkFrame,
        models: list[AttributionModel],
        fitted: dict[str, Fitted],
        dicts: Dictionaries,
    ) -> list[ModelCredit]:
        """Phase 2: credit states per bucket with the fitted models broadcast, summed here."""
        shipped = [(m, _slim(fitted[m.name])) for m in models]
        states = self._states(encoded, w.CreditMapper(shipped, dicts), "crediting")
        reduced = w.reduce_rows(states, models, fit=False)
        return [model_credit(m, fitted[m.name], reduced.get(m.name), dicts) for m in models]

    def _states(
        self, encoded: SparkFrame, fn: Callable[..., Any], what: str
    ) -> list[tuple[int, str, bytes]]:
        got = _spark_call(what, encoded.mapInArrow(fn, _ddl(w.STATE_SCHEMA)).toArrow)
        cols = got.to_pydict()
        return list(zip(cols[w.BUCKET_COL], cols["model"], cols["state"], strict=True))

    def write_journeys(self, encoded: SparkFrame, dicts: Dictionaries, out: Path) -> str:
        """The journey table, written by Spark as Parquet partitioned by bucket."""
        schema = w.journey_schema()
        rows = encoded.mapInArrow(w.JourneyRows(dicts, schema), _ddl(schema))
        target = out / "journeys"
        _write_folder(rows, target, partition_by="bucket")
        return str(target)

    def manifest(
        self,
        models: list[AttributionModel],
        sources: dict[str, Any],
        rows_read: dict[str, int],
        rejected: dict[str, int],
        n_journeys: int,
        n_touches: int,
        deals: DealCounts,
        plan: MetricsPlan,
    ) -> dict[str, Any]:
        from attrib.manifest import build_manifest

        return build_manifest(
            self.cfg,
            models,
            engine={
                "name": "spark",
                "spark_version": self.spark.version,
                "master": _master(self.spark),
                "buckets": self.buckets,
            },
            inputs={t: _describe_source(s) for t, s in sorted(sources.items())},
            rows_read=rows_read,
            rejected=rejected,
            n_journeys=n_journeys,
            n_touches=n_touches,
            deals=deals,
            warnings=self.reporter.warnings,
            window=plan.window,
            window_given=plan.settings.window_given(),
        )


def _refuse_replaced_text(frame: pl.DataFrame, table: str, files: list[str]) -> None:
    """Refuse, as the local engine does, a text file that is not UTF-8: Spark's readers put
    U+FFFD for its bytes (a Latin-1 'é' made channel 'R\ufffdseaux'). Collected text holding
    one (a small table, the touches' channel and campaign names) sends the driver to look
    for the first such row in the local files; a literal U+FFFD in UTF-8 text is kept."""
    text = [c for c, dtype in frame.schema.items() if dtype == pl.String]
    if (
        not text
        or not frame.select(
            pl.any_horizontal(pl.col(text).str.contains("\ufffd", literal=True).any())
        ).item()
    ):
        return
    if (error := non_utf8_error(files, table)) is not None:
        raise error


def _slim(fitted: Fitted) -> Fitted:
    """What workers need of a fitted model: scores and info, not the output tables."""
    return Fitted(scores=fitted.scores, info=fitted.info)


def _side(frame: pl.DataFrame, kind: str) -> pl.DataFrame:
    """Deals or stages in the shared side-table layout (absent columns null)."""
    cols = []
    for name, dtype in w.SIDE_FIELDS:
        if name == w.SIDE_KIND:
            cols.append(pl.lit(kind, dtype=pl.String).alias(name))
        elif name in frame.columns and not (kind == "deal" and name in ("stage", "ts")):
            cols.append(pl.col(name).cast(pl.Series(pa.array([], dtype)).dtype).alias(name))
        else:
            cols.append(pl.lit(None).cast(pl.Series(pa.array([], dtype)).dtype).alias(name))
    return frame.select(cols)


def _column(name: str) -> Any:
    """A column by its name as it stands, dots included (not a path into a struct)."""
    from pyspark.sql import functions as sf

    return sf.col("`" + name.replace("`", "``") + "`")


def _ddl(schema: pa.Schema) -> str:
    """Spark DDL string for an Arrow schema of the simple types used here."""
    names = {
        pa.int64(): "BIGINT",
        pa.string(): "STRING",
        pa.float64(): "DOUBLE",
        pa.bool_(): "BOOLEAN",
        pa.binary(): "BINARY",
        pa.timestamp("us"): "TIMESTAMP_NTZ",
    }
    return ", ".join(f"`{f.name}` {names[f.type]}" for f in schema)


def _write_folder(frame: SparkFrame, target: Path, *, partition_by: str | None) -> None:
    """Write Parquet with Spark into a temporary folder beside ``target``, then swap it in,
    so a failed run never leaves a half-written folder under the final name."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    shutil.rmtree(tmp)
    writer = frame.write.mode("overwrite").option("compression", "zstd")
    if partition_by:
        writer = writer.partitionBy(partition_by)
    try:
        _spark_call(f"writing {target.name}", lambda: writer.parquet(str(tmp)))
        old = target.with_name(f".{target.name}.old")
        if target.exists():
            shutil.rmtree(old, ignore_errors=True)
            target.rename(old)
        tmp.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


__all__ = [
    "QUARANTINE_COLLECT_LIMIT",
    "SparkRunResult",
    "check_parquet_types",
    "mixed_columns",
    "run_spark",
    "spark_session",
]
