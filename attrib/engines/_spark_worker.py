"""Executor-side code of the Spark engine: pure functions from Arrow data to Arrow data.

Nothing here imports pyspark, so every function is unit-testable with plain pyarrow tables.
Spark calls them through ``mapInArrow`` (validation, state passes) and
``groupBy(bucket).cogroup(...).applyInArrow`` (journey building): each call sees one scan
partition or one hash bucket of entities, never one group per customer. Partial states travel
back to the driver as ``np.savez`` bytes, one binary cell per (bucket, model).
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, fields

import numpy as np
import polars as pl
import pyarrow as pa

from attrib.columns import TS
from attrib.config import RunConfig
from attrib.data_checks import DealCounts
from attrib.encoded import Dictionaries, Journeys
from attrib.io import FILE_COL, ROW_COL, as_export_text, is_csv_file, without_blank_rows
from attrib.models.base import AttributionModel, Fitted, State
from attrib.parsing import MIXED_NONE

#: Columns Spark adds to raw input rows so the worker can number them like the local reader.
URI_COL = "__uri"  # the file (``_metadata.file_path``)
BLOCK_COL = "__block"  # start of the file split (``_metadata.file_block_start``)
BUCKET_COL = "__bucket"
BAD_COL = "__bad"
SIDE_KIND = "__kind"
QUARANTINE_PREFIX = "q__"

#: Typed columns of a valid touch handed to the journey builder.
TOUCH_FIELDS = (
    ("entity_id", pa.string()),
    ("customer_id", pa.string()),
    ("account_id", pa.string()),
    ("ts", pa.timestamp("us")),
    ("channel", pa.string()),
    ("campaign", pa.string()),
)
#: Deals and stages travel together in one "side" table, cogrouped with touches by bucket.
SIDE_FIELDS = (
    (SIDE_KIND, pa.string()),
    ("deal_id", pa.string()),
    ("entity_id", pa.string()),
    ("created_at", pa.timestamp("us")),
    ("closed_at", pa.timestamp("us")),
    ("status", pa.string()),
    ("amount", pa.float64()),
    ("stage", pa.string()),
    ("ts", pa.timestamp("us")),
)
ENCODED_SCHEMA = pa.schema(
    [
        (BUCKET_COL, pa.int64()),
        ("n_journeys", pa.int64()),
        ("n_touches", pa.int64()),
        ("arrays", pa.binary()),
        ("table", pa.binary()),
        ("digest", pa.binary()),
        ("deal_journeys", pa.binary()),
        # the bucket's DealCounts (``attrib.data_checks``): the driver adds them up
        ("deals", pa.int64()),
        ("touched_deals", pa.int64()),
        ("deals_in_window", pa.int64()),
        ("zero_touch_touched", pa.int64()),
        ("placeholders", pa.string()),  # JSON: [[id, touches], ...]
        ("touched_in_window", pa.int64()),
    ]
)
STATE_SCHEMA = pa.schema([(BUCKET_COL, pa.int64()), ("model", pa.string()), ("state", pa.binary())])
_ARRAYS = (
    "offsets",
    "channel",
    "campaign",
    "ts",
    "status",
    "weight",
    "amount",
    "end_ts",
    "created_ts",
    "n_created",
    "lead_pos",
    "opp_pos",
    "close_pos",
)


# -- serialisation -----------------------------------------------------------------------------
def pack_state(state: State) -> bytes:
    """One partial state (dict of numpy arrays) as ``np.savez`` bytes."""
    buf = io.BytesIO()
    np.savez(buf, **state)  # type: ignore[arg-type]  # (no key is savez's allow_pickle)
    return buf.getvalue()


def unpack_state(blob: bytes) -> State:
    """Inverse of :func:`pack_state`."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


#: the arrays a batch may hold or leave None (``Journeys``' optional array fields: a field
#: added there travels to the driver without a change here)
_OPTIONAL_ARRAYS = tuple(
    f.name for f in fields(Journeys) if f.init and f.default is None and "np.ndarray" in str(f.type)
)


def pack_journeys(batch: Journeys) -> tuple[bytes, bytes]:
    """(CSR arrays as npz bytes, journey table as Arrow IPC bytes) of one encoded batch."""
    parts = {name: getattr(batch, name) for name in _ARRAYS}
    for optional in _OPTIONAL_ARRAYS:
        if getattr(batch, optional) is not None:
            parts[optional] = getattr(batch, optional)
    arrays = pack_state(parts)
    return arrays, frame_bytes(batch.table)


def frame_bytes(frame: pl.DataFrame) -> bytes:
    """A Polars frame as Arrow IPC bytes (one binary cell)."""
    buf = io.BytesIO()
    frame.write_ipc(buf)
    return buf.getvalue()


def frame_from_bytes(blob: bytes) -> pl.DataFrame:
    """Inverse of :func:`frame_bytes`."""
    return pl.read_ipc(io.BytesIO(blob))


def unpack_journeys(arrays: bytes, table: bytes, dicts: Dictionaries) -> Journeys:
    """Inverse of :func:`pack_journeys`; the dictionaries are the run's broadcast ones."""
    parts = unpack_state(arrays)  # only the array fields, as pack_journeys wrote them
    return Journeys(**parts, table=frame_from_bytes(table), dicts=dicts)  # type: ignore[arg-type]


def to_polars(data: pa.Table | pa.RecordBatch) -> pl.DataFrame:
    """Arrow from Spark as Polars, timestamps made UTC-naive microseconds (Spark's TIMESTAMP
    arrives zoned in the session time zone; attrib works in naive UTC)."""
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    fixes = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Datetime) and (dtype.time_zone or dtype.time_unit != "us"):
            col = pl.col(name)
            if dtype.time_zone:
                col = col.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
            fixes.append(col.dt.cast_time_unit("us").alias(name))
    return frame.with_columns(fixes) if fixes else frame


@dataclass
class WithNames:
    """A ``mapInArrow`` function handed its rows under plain column names (``_c0``, ...)
    given back the input's own (``_spark_read.map_in_arrow``): Spark resolves a name with a
    dot (``page.url``) as a path into a struct, and the run failed."""

    fn: Callable[[Iterable[pa.RecordBatch]], Iterator[pa.RecordBatch]]
    names: tuple[str, ...]

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        return self.fn(batch.rename_columns(list(self.names)) for batch in batches)


@dataclass
class ExportText:
    """``mapInArrow`` function over the rows of a table's Parquet files whose column
    ``types`` (name -> the files' Polars type) differ in the table's other files: those
    columns become the text a CSV export of them holds (``io.as_export_text``), as
    ``io.stack_parts`` makes them locally, so that Spark can stack the files. ``wall_clock``:
    the columns whose zoned values keep their own clock (a cost date). Other columns pass
    through untouched."""

    types: dict[str, pl.DataType]
    wall_clock: tuple[str, ...] = ()

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield self.convert(batch)

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        frame = to_polars(batch.select(list(self.types)))
        zoned = [  # Spark keeps a zoned timestamp's instant only (here naive UTC)
            pl.col(name).dt.replace_time_zone("UTC").dt.convert_time_zone(dtype.time_zone)
            for name, dtype in self.types.items()
            if isinstance(dtype, pl.Datetime) and dtype.time_zone
        ]
        text = frame.with_columns(zoned).select(
            as_export_text(name, dtype, wall_clock=name in self.wall_clock).alias(name)
            for name, dtype in self.types.items()
        )
        for name in self.types:
            at = batch.schema.get_field_index(name)
            values = text.get_column(name).to_arrow().cast(pa.string())
            batch = batch.set_column(at, pa.field(name, pa.string()), values)
        return batch


def without_blank_csv_rows(frame: pl.DataFrame) -> pl.DataFrame:
    """A numbered frame without the rows of its CSV files that hold no value at all (a line
    of separators only, as spreadsheets write below a table, or of separators and spaces):
    the local reader drops them (``io.blank_line``) and the other rows keep their numbers,
    as they do here. Parquet and NDJSON rows are kept, as locally."""
    csv = [f for f in frame.get_column(FILE_COL).unique().to_list() if is_csv_file(f)]
    return without_blank_rows(frame, pl.col(FILE_COL).is_in(csv)) if csv else frame


def _arrow(frame: pl.DataFrame, schema: pa.Schema) -> pa.Table:
    return frame.select([f.name for f in schema]).to_arrow().cast(schema)


# -- pass 0: validation of touches -------------------------------------------------------------
def validated_schema(quarantine_columns: Sequence[str]) -> pa.Schema:
    """Output of :class:`TouchValidator`: typed valid touches and quarantined rows, flagged."""
    return pa.schema(
        [
            (BAD_COL, pa.bool_()),
            *TOUCH_FIELDS,
            ("file", pa.string()),
            ("row", pa.int64()),
            ("column", pa.string()),
            ("reason", pa.string()),
            *[(QUARANTINE_PREFIX + c, pa.string()) for c in quarantine_columns],
        ]
    )


@dataclass
class TouchValidator:
    """``mapInArrow`` function: number raw rows like the local reader, then validate them with
    the local engine's own Polars rules (``attrib.schema.validate``).

    ``splits`` maps (file URI, split start) to (rows of the file before that split, the file
    name to report), computed on the driver from a count per split, so ``row`` is the 1-based
    data row within the file exactly as locally. ``mixed_ts`` is the whole input's timezone-
    mixing code for ``ts`` (``parsing.mixing_code`` of the aware and naive values counted on
    the driver: a column-wide rule), given to every partition's validation.
    """

    config: RunConfig
    splits: dict[tuple[str, int], tuple[int, str]]
    quarantine_columns: tuple[str, ...]
    ts_source: str | None = None
    mixed_ts: int = MIXED_NONE

    #: Rows validated per call: Spark's Arrow batches (10,000 rows) are gathered first, as
    #: the rules cost a fixed few milliseconds per call.
    chunk_rows: int = 200_000

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        seen: dict[tuple[str, int], int] = {}
        schema = validated_schema(self.quarantine_columns)
        pending: list[pa.RecordBatch] = []
        size = 0
        for batch in itertools.chain(batches, [None]):
            if batch is not None and batch.num_rows:
                pending.append(batch)
                size += batch.num_rows
            if pending and (batch is None or size >= self.chunk_rows):
                raw = self.number_rows(to_polars(pa.Table.from_batches(pending)), seen)
                raw = without_blank_csv_rows(raw)
                pending, size = [], 0
                yield from _arrow(self.validate(raw), schema).to_batches()

    def number_rows(self, raw: pl.DataFrame, seen: dict[tuple[str, int], int]) -> pl.DataFrame:
        """Add ``__file``/``__row``; ``seen`` carries rows already met per split (batches
        of one partition arrive in scan order)."""
        keys = raw.select(URI_COL, BLOCK_COL).unique(maintain_order=True).rows()
        base = pl.DataFrame(
            {
                URI_COL: [k[0] for k in keys],
                BLOCK_COL: [k[1] for k in keys],
                "__base": [self.splits[k][0] + seen.get(k, 0) for k in keys],
                FILE_COL: [self.splits[k][1] for k in keys],
            },
            schema={
                URI_COL: pl.String,
                BLOCK_COL: pl.Int64,
                "__base": pl.Int64,
                FILE_COL: pl.String,
            },
        )
        counts = raw.group_by(URI_COL, BLOCK_COL).len().rows()
        for uri, block, n in counts:
            seen[(uri, block)] = seen.get((uri, block), 0) + n
        return (
            raw.with_columns(pl.int_range(1, pl.len() + 1).over(URI_COL, BLOCK_COL).alias("__pos"))
            .join(base, on=[URI_COL, BLOCK_COL], how="left", maintain_order="left")
            .with_columns((pl.col("__base") + pl.col("__pos")).cast(pl.Int64).alias(ROW_COL))
            .drop(URI_COL, BLOCK_COL, "__base", "__pos")
        )

    def validate(self, raw: pl.DataFrame) -> pl.DataFrame:
        """Validated rows of one numbered raw frame in :func:`validated_schema` layout."""
        from attrib.inputs import prepare_touches
        from attrib.schema import validate

        mixed = {TS: self.mixed_ts} if self.ts_source is not None else None
        touches, rejected = prepare_touches(
            validate(raw, "touchpoints", self.config, mixed=mixed), self.config
        )
        good = touches.select(
            pl.lit(False).alias(BAD_COL),
            *[
                (pl.col(name) if name in touches.columns else pl.lit(None))
                .cast(_PL[name])
                .alias(name)
                for name, _ in TOUCH_FIELDS
            ],
        )
        bad = rejected.select(
            pl.lit(True).alias(BAD_COL),
            pl.col("file"),
            pl.col("row").cast(pl.Int64),
            pl.col("column"),
            pl.col("reason"),
            *[
                (pl.col(c) if c in rejected.columns else pl.lit(None, dtype=pl.String))
                .cast(pl.String)
                .alias(QUARANTINE_PREFIX + c)
                for c in self.quarantine_columns
            ],
        )
        return pl.concat([good, bad], how="diagonal_relaxed")

    def quarantine_frame(self, rows: pl.DataFrame) -> pl.DataFrame:
        """Rejected rows (``__bad``) back in the local quarantine layout, sorted as locally."""
        return (
            rows.select(
                "file",
                "row",
                "column",
                "reason",
                *[pl.col(QUARANTINE_PREFIX + c).alias(c) for c in self.quarantine_columns],
            )
            .with_columns(pl.col("row").cast(pl.Int64))
            .sort("file", "row")
        )


_PL: dict[str, pl.DataType] = {
    "entity_id": pl.String(),
    "customer_id": pl.String(),
    "account_id": pl.String(),
    "ts": pl.Datetime("us"),
    "channel": pl.String(),
    "campaign": pl.String(),
}


# -- pass 1: journeys per bucket ---------------------------------------------------------------
def build_bucket(
    touches: pa.Table, side: pa.Table, config: RunConfig, dicts: Dictionaries
) -> pa.Table:
    """``cogroup.applyInArrow`` function: one bucket's touches and deals/stages -> one row
    holding its encoded journeys (attrib's own ``build_journeys``), plus what the driver's
    KPI/ROI step reads: the touch digest and the deals' journey rows (as the bucketed local
    engine does)."""
    from attrib.journeys import build_journeys

    t = to_polars(touches)
    s = to_polars(side)
    bucket = (t if t.height else s).get_column(BUCKET_COL)[0]
    deals = s.filter(pl.col(SIDE_KIND) == "deal").select(
        "deal_id", "entity_id", "created_at", "closed_at", "status", "amount"
    )
    stages = s.filter(pl.col(SIDE_KIND) == "stage").select("entity_id", "stage", "ts")
    touch_frame = t.select("entity_id", "ts", "channel", "campaign")
    batch = build_journeys(
        touch_frame,
        deals,
        config,
        stages=stages,
        dicts=dicts,
    )
    arrays, table = pack_journeys(batch)
    counts = DealCounts.of(batch)
    assert batch.digest is not None  # build_journeys always picks one
    return pa.table(
        {
            BUCKET_COL: [int(bucket)],
            "n_journeys": [batch.n_journeys],
            "n_touches": [batch.n_window_touches],
            "arrays": [arrays],
            "table": [table],
            "digest": [frame_bytes(batch.digest)],
            "deal_journeys": [
                frame_bytes(batch.table.filter(pl.col("deal_id").is_not_null()).drop("path"))
            ],
            "deals": [counts.deals],
            "touched_deals": [counts.touched],
            "deals_in_window": [counts.in_window],
            "zero_touch_touched": [counts.zero_touch_touched],
            "placeholders": [json.dumps(counts.placeholders)],
            "touched_in_window": [counts.touched_in_window],
        },
        schema=ENCODED_SCHEMA,
    )


def _encoded(
    batches: Iterable[pa.RecordBatch], dicts: Dictionaries
) -> Iterator[tuple[int, Journeys]]:
    for rb in batches:
        cols = rb.to_pydict()
        for bucket, arrays, table in zip(
            cols[BUCKET_COL], cols["arrays"], cols["table"], strict=True
        ):
            yield bucket, unpack_journeys(arrays, table, dicts)


def _state_batch(rows: list[tuple[int, str, bytes]]) -> pa.RecordBatch:
    return pa.RecordBatch.from_pydict(
        {
            BUCKET_COL: [r[0] for r in rows],
            "model": [r[1] for r in rows],
            "state": [r[2] for r in rows],
        },
        schema=STATE_SCHEMA,
    )


@dataclass
class FitMapper:
    """``mapInArrow`` function: each model's additive fit state (``fit_map``) per bucket."""

    models: list[AttributionModel]
    dicts: Dictionaries

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for bucket, batch in _encoded(batches, self.dicts):
            rows = [(bucket, m.name, pack_state(m.fit_map(batch))) for m in self.models]
            yield _state_batch(rows)


@dataclass
class CreditMapper:
    """``mapInArrow`` function: each model's additive credit state per bucket, with the
    fitted models the driver broadcast (scores only; output tables stay on the driver)."""

    models: list[tuple[AttributionModel, Fitted]]
    dicts: Dictionaries

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from attrib.credit import credit_state

        for bucket, batch in _encoded(batches, self.dicts):
            rows = [(bucket, m.name, pack_state(credit_state(m, batch, f))) for m, f in self.models]
            yield _state_batch(rows)


@dataclass
class JourneyRows:
    """``mapInArrow`` function: the journey table of each bucket (``journeys/`` output)."""

    dicts: Dictionaries
    schema: pa.Schema

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for bucket, batch in _encoded(batches, self.dicts):
            frame = batch.table.with_columns(pl.lit(bucket, dtype=pl.Int64).alias("bucket"))
            yield from _arrow(frame, self.schema).to_batches()


class _Sink:
    """Collects the tables ``attrib.outputs`` would write, to hand them to Spark instead."""

    def __init__(self) -> None:
        self.tables: list[pa.Table] = []

    def write_table(self, table: pa.Table) -> None:
        self.tables.append(table)


def touch_credit_schema() -> pa.Schema:
    """Arrow schema of the Spark ``touch_credits/`` rows: the local schema plus ``bucket``."""
    from attrib.outputs import TOUCH_CREDIT_SCHEMA

    return TOUCH_CREDIT_SCHEMA.append(pa.field("bucket", pa.int64()))


@dataclass
class TouchCreditRows:
    """``mapInArrow`` function: per-touch credit of every model (``touch_credits/``), made by
    the local engine's own writer code, with the bucket added."""

    models: list[tuple[AttributionModel, Fitted]]
    dicts: Dictionaries

    def __call__(self, batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        from attrib.outputs import write_credit_batch

        for bucket, batch in _encoded(batches, self.dicts):
            sink = _Sink()
            write_credit_batch(sink, batch, self.models, 1_000_000)
            for table in sink.tables:
                ids = pa.array(np.full(table.num_rows, bucket, dtype=np.int64))
                yield from table.append_column("bucket", ids).to_batches()


def journey_schema() -> pa.Schema:
    """Arrow schema of the Spark ``journeys/`` rows: the local journey table plus ``bucket``."""
    fields = [
        ("journey_id", pa.int64()),
        ("entity_id", pa.string()),
        ("deal_id", pa.string()),
        ("status", pa.string()),
        ("amount", pa.float64()),
        ("n_touches", pa.int64()),
        ("path", pa.string()),
        ("first_channel", pa.string()),
        ("last_channel", pa.string()),
        ("first_touch_at", pa.timestamp("us")),
        ("last_touch_at", pa.timestamp("us")),
        ("created_at", pa.timestamp("us")),
        ("closed_at", pa.timestamp("us")),
        ("days_to_close", pa.float64()),
        ("marketing_sourced", pa.bool_()),
        ("marketing_influenced", pa.bool_()),
        ("bucket", pa.int64()),
    ]
    return pa.schema(fields)


def reduce_rows(
    rows: Iterable[tuple[int, str, bytes]], models: Sequence[AttributionModel], *, fit: bool
) -> dict[str, State]:
    """Driver side: sum the states of every bucket per model, in bucket order (deterministic)."""
    from attrib.models.base import reduce_states

    by_name = {m.name: m for m in models}
    out: dict[str, State] = {}
    for _, name, blob in sorted(rows, key=lambda r: (r[1], r[0])):
        model = by_name[name]
        merge = model.merge_states if fit else reduce_states
        out[name] = merge(out.get(name), unpack_state(blob))
    return out
