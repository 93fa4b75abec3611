"""Write a run's outputs: Parquet tables, quarantine files and the manifest (all atomic)."""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Protocol

import numpy as np
import polars as pl
import pyarrow as pa

from attrib.columns import TABLES
from attrib.encoded import Journeys
from attrib.errors import OutputError
from attrib.models.base import AttributionModel, Fitted
from attrib.writers import (
    parquet_appender,
    parquet_on_success,
    write_json,
    write_parquet,
)

TOUCH_CREDIT_SCHEMA = pa.schema(
    [
        ("model", pa.string()),
        ("journey_id", pa.int64()),
        ("touch_index", pa.int64()),
        ("ts", pa.timestamp("us")),
        ("channel", pa.string()),
        ("campaign", pa.string()),
        ("weight", pa.float64()),
        ("conversions", pa.float64()),
        ("revenue", pa.float64()),
        ("pipeline", pa.float64()),
        ("pipeline_created", pa.float64()),
    ]
)


def fingerprint(path: str | Path) -> dict[str, object]:
    """Size and SHA-256 of an input file (manifest: which exact data a run read)."""
    digest = hashlib.sha256()
    p = Path(path)
    with p.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return {"path": str(p), "bytes": p.stat().st_size, "sha256": digest.hexdigest()}


def input_fingerprints(files: dict[str, list[str]]) -> dict[str, list[dict[str, object]]]:
    """``fingerprint`` of every input file, per table (the manifest's ``inputs``)."""
    return {table: [fingerprint(p) for p in paths] for table, paths in files.items()}


def fingerprints_in_background(
    files: dict[str, list[str]],
) -> Future[dict[str, list[dict[str, object]]]]:
    """``input_fingerprints`` in a worker thread (SHA-256 releases the GIL: ~0.2 s for 10M
    touches that overlap the journey build instead of following it). An error reading a
    file is raised by ``result()``."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="attrib-fingerprints")
    future = pool.submit(input_fingerprints, files)
    pool.shutdown(wait=False)  # its one thread ends with the task
    return future


def write_tables(out: Path, tables: dict[str, pl.DataFrame], skip: Iterable[str] = ()) -> list[str]:
    """Write each frame to ``<out>/<name>.parquet`` but those named in ``skip`` (written
    ahead: ``StagedTables``); returns the file names written."""
    written = []
    for name, frame in tables.items():
        if name not in skip:
            write_parquet(frame, out / f"{name}.parquet")
            written.append(f"{name}.parquet")
    return written


class StagedTables:
    """Output tables written ahead of the others, under temporary names in ``out``.

    A run writes a finished table while its main thread would otherwise wait (the journeys
    table, ~0.7 s at 10M touches, while the metrics finish). ``commit`` moves them onto
    their names once the other outputs are written (just before the manifest); leaving the
    ``with`` block on an error first deletes them, so a run that fails before writing its
    outputs leaves an earlier run's tables as they were (leaving it without an error
    commits them).
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.names: list[str] = []
        self._files = ExitStack()

    def write(self, name: str, frame: pl.DataFrame) -> None:
        """Write ``<out>/<name>.parquet`` now, under a temporary name."""
        self._files.enter_context(parquet_on_success(frame, self.out / f"{name}.parquet"))
        self.names.append(name)

    def commit(self) -> list[str]:
        """Move every staged table onto its name; returns their file names."""
        self._files.close()
        return [f"{name}.parquet" for name in self.names]

    def __enter__(self) -> StagedTables:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # an error deletes the temporary files, else commits
        self._files.__exit__(exc_type, exc, tb)


def write_quarantine(out: Path, quarantine: dict[str, pl.DataFrame]) -> list[str]:
    """``<out>/quarantine/<table>.parquet`` for every table with rejected rows.

    A quarantine file left by an earlier run for a table with no rejection now is removed,
    so the folder never shows rows that this run did not reject.
    """
    written = []
    for table, frame in sorted(quarantine.items()):
        if frame.height:
            write_parquet(frame, out / "quarantine" / f"{table}.parquet")
            written.append(f"quarantine/{table}.parquet")
    for table in TABLES:
        if f"quarantine/{table}.parquet" not in written:
            _remove_earlier(out / "quarantine" / f"{table}.parquet")
    return written


def check_out_folder(out: Path | None, option: str = "--out") -> None:
    """Fail early, before any work, when ``out`` exists and is not a folder, lies under a
    file (no folder can be made there), or its nearest existing folder is not writable (a
    read-only mount was found only after the whole job, when the first table was written).
    ``option``: how the hint names the argument that gave ``out``."""
    if out is None:
        return
    for folder in (out, *out.parents):  # the nearest one that exists must be a folder
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise OutputError(
                "the output folder is a file"
                if folder == out
                else f"the output folder lies under {folder}, which is a file",
                file=str(out),
                hint=f"pass {option} a folder (it is created if missing)",
            )
        try:  # (a real write: permission bits do not bind root, a read-only mount does)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            raise OutputError(
                f"the output folder is not writable: {exc.strerror or exc}"
                if folder == out
                else f"the output folder cannot be made in {folder}: {exc.strerror or exc}",
                file=str(out),
                hint=f"pass {option} a folder you can write to",
            ) from None
        return


def _remove_earlier(path: Path) -> None:
    """Delete a file an earlier run left (if any) that this run did not write."""
    try:
        path.unlink(missing_ok=True)
    except OSError as exc:
        raise OutputError(
            f"cannot remove an earlier run's {path.name}: {exc.strerror or exc}",
            file=str(path),
            hint="check that --out names a writable folder (not a file)",
        ) from None


@contextmanager
def touch_credit_writer(
    out: Path,
    models: list[tuple[AttributionModel, Fitted]],
    *,
    rows_per_group: int = 1_000_000,
) -> Iterator[Callable[[Journeys], int]]:
    """Open ``touch_credits.parquet`` (``writers.parquet_appender``: in place only if the block
    ends without error) and give a function that appends one batch's per-touch credit of
    every model and returns its rows. Batches come one at a time: the bucketed engine never
    holds them all."""
    with parquet_appender(out / "touch_credits.parquet", TOUCH_CREDIT_SCHEMA) as appender:
        yield lambda batch: write_credit_batch(appender, batch, models, rows_per_group)


def write_touch_credits(
    out: Path,
    batches: Iterable[Journeys],
    models: list[tuple[AttributionModel, Fitted]],
    *,
    rows_per_group: int = 1_000_000,
) -> int:
    """Stream per-touch credit of every model into ``touch_credits.parquet``; returns rows."""
    with touch_credit_writer(out, models, rows_per_group=rows_per_group) as write:
        return sum(write(batch) for batch in batches)


class TableSink(Protocol):
    """Anything that takes Arrow tables one after another (a Parquet appender or writer)."""

    def write_table(self, table: pa.Table) -> None: ...


def write_credit_batch(
    writer: TableSink,
    batch: Journeys,
    models: Sequence[tuple[AttributionModel, Fitted]],
    rows_per_group: int,
) -> int:
    """Write one batch's per-touch credit rows (every model) to ``writer``; returns the rows.

    Shared by the local writer and the Spark engine's ``touch_credits/`` task."""
    d = batch.dicts
    journey = batch.touch_journeys()
    # a touch's place in its revenue window (journeys.parquet's path); the pipeline window's
    # touches before it count back from -1, and a touch in neither window (a long cycle's,
    # between the two) is left out
    index = np.arange(batch.n_touches, dtype=np.int64) - batch.starts[journey]
    listed: np.ndarray | slice = slice(None)
    if batch.n_early is not None:
        at = np.arange(batch.n_touches, dtype=np.int64)
        listed = np.flatnonzero((index >= 0) | (at < batch.created_ends[journey]))
        journey, index = journey[listed], index[listed]
        # before the revenue window: -1 the latest of the pipeline window's own touches
        gap = np.maximum(batch.n_early - batch.n_created, 0)[journey]
        index = np.where(index < 0, index + gap, index)
    n_rows = len(journey)
    journey_ids = batch.table.get_column("journey_id").to_numpy()[journey]
    values = batch.values()[journey]
    created_vals = batch.created_values()[journey]
    channels = pa.array(np.asarray(d.channels, dtype=object)[batch.channel[listed]], pa.string())
    campaigns = pa.array(
        np.asarray(d.campaign_names, dtype=object)[batch.campaign[listed]], pa.string()
    )
    ts = pa.array(batch.ts[listed], pa.timestamp("us"))
    rows = 0
    for model, fitted in models:
        w = model.touch_weights(batch, fitted)[listed]
        wc = model.touch_weights(batch, fitted, created=True)[listed]
        table = pa.table(
            {
                "model": pa.array([model.name] * n_rows, pa.string()),
                "journey_id": journey_ids,
                "touch_index": index,
                "ts": ts,
                "channel": channels,
                "campaign": campaigns,
                "weight": w,
                "conversions": w * values[:, 0],
                "revenue": w * values[:, 1],
                "pipeline": w * values[:, 2],
                "pipeline_created": wc * created_vals[:, 1],
            },
            schema=TOUCH_CREDIT_SCHEMA,
        )
        for start in range(0, table.num_rows, rows_per_group):
            writer.write_table(table.slice(start, rows_per_group))
        rows += table.num_rows
    return rows


#: what a run may write in its out folder besides manifest.json and quarantine files: the
#: tables (files), and the folders the Spark engine writes instead of some of them
RUN_FILES = (
    "channel_summary.parquet",
    "campaign_summary.parquet",
    "journeys.parquet",
    "touch_credits.parquet",
    "kpis.parquet",
    "funnel.parquet",
    "markov_removal_effects.parquet",
    "markov_transitions.parquet",
    "shapley_values.parquet",
    "report.html",
)
RUN_FOLDERS = ("journeys/", "touch_credits/", "quarantine/touchpoints/")


def _remove_earlier_outputs(out: Path, written: set[str]) -> None:
    """Delete what the run that wrote ``out/manifest.json`` before listed as its outputs (and
    its report) and this run did not write again, so the folder holds one run's outputs and a
    report built from it shows no other run's tables. Without an earlier manifest nothing is
    deleted: the folder's files are not attrib's to remove."""
    try:
        listed = json.loads((out / "manifest.json").read_text(encoding="utf-8"))["outputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    if not isinstance(listed, list):
        return
    for name in sorted({*map(str, listed), "report.html"} - written):
        if name in RUN_FILES:
            _remove_earlier(out / name)
        elif name in RUN_FOLDERS and (out / name).is_dir():
            shutil.rmtree(out / name, ignore_errors=True)


def write_manifest(out: Path, manifest: dict[str, object]) -> None:
    """``manifest.json``: config, versions, input fingerprints, counts, rejections, outputs,
    timings; an earlier run's outputs that this run did not write again are deleted first
    (``_remove_earlier_outputs``)."""
    _remove_earlier_outputs(out, set(manifest.get("outputs", ())))  # type: ignore[call-overload]
    write_json(manifest, out / "manifest.json")
