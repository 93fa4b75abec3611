"""Readers for CSV, Parquet and NDJSON inputs, and what explains a file they cannot read.

Readers return every column as it is in the file (or those a ``Projection`` names) plus
``__file`` and ``__row`` (1-based data row within that file, header excluded) so validation can
say exactly where a bad value is.
CSV is read as text (types are parsed and checked by ``attrib.schema``); Parquet keeps its types.
(The atomic writers of the outputs are in ``attrib.writers``.)
"""

from __future__ import annotations

import csv
import functools
import glob
import gzip
import io
import json
import mmap
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import numpy as np
import polars as pl

from attrib.columns import FILE_COL, RESERVED_COLUMNS, ROW_COL
from attrib.errors import InputError, SchemaError

#: the hint for a CSV whose header is one column: a report's title above the column names
TITLE_LINES = (
    "if the export begins with a report title or date range, delete the lines above the"
    " column names"
)
#: the CSV reader names a header's second, third ... column of one name ``name`` + this + 0, 1
REPEATED_SUFFIX = "_duplicated_"
#: an eager or a lazy frame (``stack_parts`` stacks either)
FrameT = TypeVar("FrameT", pl.DataFrame, pl.LazyFrame)
SUFFIXES = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
}


#: what to do with a file of a suffix attrib does not read, by that suffix
UNREAD_SUFFIXES = {
    **dict.fromkeys(
        (".tsv", ".tab", ".txt"),
        "a separated text file: rename it to .csv (the separator, tab included, is read"
        " from its header)",
    ),
    **dict.fromkeys(
        (".xlsx", ".xlsm", ".xls", ".ods"),
        "a spreadsheet: save each table as CSV UTF-8 (Excel: File > Save As > CSV UTF-8)",
    ),
    ".json": "JSON: one object per line (Amplitude's, Segment's and BigQuery's exports) is"
    " read as .ndjson: rename it; a JSON array ([...]) must be written one object per line"
    " first (jq -c '.[]' file.json > file.ndjson)",
    **dict.fromkeys(
        (".zip", ".bz2", ".xz", ".7z", ".tar"),
        "an archive: extract its files (gzip, .csv.gz or .ndjson.gz, is read as it is)",
    ),
}


def _type_suffix(path: Path) -> str | None:
    """A file's type: its last suffix, or the one before ``.gz`` (``.csv.gz`` is CSV), in
    lower case; None without one. Only the last counts: ``a.csv.bak`` is a backup, not CSV."""
    suffixes = [s.lower() for s in path.suffixes]
    last = suffixes[-2:-1] if suffixes[-1:] == [".gz"] else suffixes[-1:]
    return last[0] if last else None


def _unread_hint(path: Path) -> str | None:
    """What to do with a file of a type attrib does not read but an export may be
    (``UNREAD_SUFFIXES``; ``.json.gz`` by its ``.json``); None for any other file."""
    suffix = _type_suffix(path)
    return UNREAD_SUFFIXES.get(suffix) if suffix is not None else None


def file_format(path: Path) -> str:
    """The reader to use for a file, by its type suffix (``_type_suffix``)."""
    if (hint := _unread_hint(path)) is not None:
        raise InputError("unsupported file type", file=str(path), hint=hint)
    suffix = _type_suffix(path)
    if suffix in SUFFIXES:
        return SUFFIXES[suffix]
    hint = f"use one of {', '.join(sorted(SUFFIXES))}"
    if inner := [s for s in path.suffixes[:-1] if s.lower() in SUFFIXES]:
        hint = (
            f"a file's type is its last suffix ({path.suffixes[-1]}: a backup or a copy?);"
            f" to read it, name it to end in {inner[-1]}; else {hint}"
        )
    raise InputError("unsupported file type", file=str(path), hint=hint)


def resolve_files(spec: str | Path) -> list[Path]:
    """Expand a file, a folder of files, or a glob pattern into a sorted list of files."""
    text = str(spec)
    if any(ch in text for ch in "*?["):
        files = sorted(Path(p) for p in glob.glob(text, recursive=True) if Path(p).is_file())
        if not files:
            raise InputError("no file matches this pattern", file=text, hint="check the glob")
        return files
    path = Path(text)
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.is_file() and not _hidden(p, path))
        files = [p for p in found if _is_data_file(p)]
        _refuse_unread(found, files)
        if not files:
            raise InputError(
                "folder holds no csv/parquet/ndjson file",
                file=text,
                hint="point at the files or a folder of them",
            )
        return files
    if not path.exists():
        raise InputError("file not found", file=text, hint="check the path")
    return [path]


def _hidden(path: Path, folder: Path) -> bool:
    """Whether a file of a folder is hidden as Spark and Hadoop hide it: a name, its own or
    a subfolder's, that starts with "." or "_" (``.DS_Store``, ``_SUCCESS``, a Delta table's
    ``_delta_log/*.json`` and checkpoint Parquet files, Spark's ``_temporary/``)."""
    return any(part.startswith((".", "_")) for part in path.relative_to(folder).parts)


#: the readable format a file of an unread type beside it is likely more of
_KIN = {".json": "ndjson", ".tsv": "csv", ".tab": "csv"}


def _refuse_unread(paths: Sequence[Path], readable: Sequence[Path] = ()) -> None:
    """A file among a table's files of a type attrib does not read but an export may be
    (Amplitude's ``.json.gz`` parts beside ``.ndjson.gz`` ones, a ``.tsv``, a workbook):
    skipped, its rows were lost without a word. Beside ``readable`` files it is refused only
    when it looks like more of them (a ``.json`` beside NDJSON, a ``.tsv`` beside CSV; not a
    ``schema.json`` beside Parquet parts); a note (``.txt``) is skipped."""
    for path in paths:
        if path.suffix.lower() == ".txt" or (hint := _unread_hint(path)) is None:
            continue
        if not readable or _kin_of(path, readable):
            raise InputError("attrib does not read files of this type", file=str(path), hint=hint)


def _kin_of(path: Path, readable: Sequence[Path]) -> bool:
    """Whether an unread file looks like more of the ``readable`` ones (``_KIN``)."""
    kin = _KIN.get(_type_suffix(path) or "")
    return kin is not None and kin in {file_format(p) for p in readable}


def _is_data_file(path: Path) -> bool:
    """A file attrib reads (by its type suffix; hidden files are not)."""
    return _type_suffix(path) in SUFFIXES and not path.name.startswith(".")


def missing_input_hint(data_dir: str | Path | None, table: str, what: str = "FILE") -> str:
    """The hint of "no TABLE input found": where to put the table, led by what the folder
    is when it is a run's --out folder (``attrib run out/``: its manifest.json), in every
    engine."""
    hint = f"put a {table}.csv/.parquet/.ndjson in the data folder or pass --{table} {what}"
    notes = _table_entries(Path(data_dir), table)[1] if data_dir is not None else []
    if text := [p for p in notes if p.suffix.lower() == ".txt"]:  # (skipped as a note)
        hint = (
            f"{text[0].name} is not read (.txt): if it holds comma-separated rows, rename it"
            f" {table}.csv; else {hint}"
        )
    if data_dir is not None and holds_run_outputs(data_dir):
        hint = (
            f"{data_dir} holds the outputs of `attrib run` (manifest.json), not its "
            f"inputs: give the folder of the exports (touchpoints.*, deals.*); {hint}"
        )
    return hint


def holds_run_outputs(folder: str | Path) -> bool:
    """Whether ``folder`` is the --out folder of a run (its manifest.json): given where the
    exports were meant, every engine and `attrib plan` say so."""
    return (Path(folder) / "manifest.json").is_file()


def _entries(data_dir: Path) -> list[Path]:
    """A data folder's entries, sorted; an unreadable folder is an input error."""
    if not data_dir.is_dir():
        return []
    try:
        return sorted(data_dir.iterdir())
    except OSError as exc:
        raise InputError(
            f"cannot list the data folder: {exc.strerror or exc}",
            file=str(data_dir),
            hint="check the folder's permissions",
        ) from None


def _table_entries(data_dir: Path, table: str) -> tuple[Path | None, list[Path]]:
    """A data folder's ``table/`` folder and ``table.*`` files, named in any case
    (``Touchpoints/``, ``Deals.csv``), from one listing of the folder."""
    entries = _entries(data_dir)
    folders = [p for p in entries if p.name.lower() == table and p.is_dir()]
    files = [p for p in entries if p.name.lower().startswith(f"{table}.") and p.is_file()]
    return (folders[0] if folders else None), files


def table_folder(data_dir: Path, table: str) -> Path | None:
    """The ``table/`` folder of a data folder, named in any case (``Touchpoints/``)."""
    return _table_entries(data_dir, table)[0]


def find_table(data_dir: Path, table: str) -> list[Path] | None:
    """Files for ``table`` in a data folder: ``table.*`` or a ``table/`` folder, in any case
    (``Deals.csv``, ``DEALS.CSV``: a spreadsheet's export names); None if absent."""
    folder, named = _table_entries(data_dir, table)
    if folder is not None:
        return resolve_files(folder)
    matches = [p for p in named if _is_data_file(p)]
    if not matches:  # (touchpoints.tsv: "no touchpoints input found" said nothing of it)
        _refuse_unread(named)
    # a touchpoints.tsv beside touchpoints.csv is more of it (skipped, its rows were lost)
    kin = [p for p in named if p not in matches and _kin_of(p, matches)]
    if len(matches) + len(kin) > 1:
        hint = f"keep one {table}.* file or put them in a {table}/ folder"
        if kin:
            hint += f" ({kin[0].name}: {_unread_hint(kin[0])})"
        raise InputError(
            f"several files for table {table!r}: {', '.join(p.name for p in [*matches, *kin])}",
            file=str(data_dir),
            hint=hint,
        )
    return matches or None


@dataclass(frozen=True)
class Projection:
    """Which columns of a table's files to read: the ``wanted`` ones, once every
    ``required`` one is there and one of ``one_of`` if given (else all of them, so that the
    validator's missing-column error lists and suggests the file's columns). An ``unused``
    column of nested type (list, struct) is kept all the same: the validator refuses it, as
    without a projection."""

    wanted: frozenset[str]
    required: frozenset[str]
    unused: frozenset[str]
    one_of: frozenset[str] = frozenset()

    def of(self, schema: Mapping[str, pl.DataType]) -> list[str] | None:
        """The columns to keep of a file or frame with this schema, in its order (None: all)."""
        if not self.required <= schema.keys() or (self.one_of and not self.one_of & schema.keys()):
            return None
        loose = {loose_name(w) for w in self.wanted}
        return [
            c
            for c, dtype in schema.items()
            if c in self.wanted
            or (c in self.unused and dtype.is_nested())
            or c.rpartition(REPEATED_SUFFIX)[0] in self.wanted  # (validation refuses it)
            or (c not in self.unused and loose_name(c) in loose)  # ('Campaign': refused)
        ]

    def apply(self, frame: pl.DataFrame) -> pl.DataFrame:
        """``frame`` (with ``__row``/``__file``) without the columns ``of`` leaves out."""
        keep = self.of(frame.drop(ROW_COL, FILE_COL, strict=False).schema)
        if keep is None:
            return frame
        return frame.select(*[c for c in frame.columns if c in keep or c in (ROW_COL, FILE_COL)])


#: CSV field separators a header is sniffed for (the first is the default)
CSV_SEPARATORS = (",", ";", "\t", "|")


def _open_text(path: Path, newline: str = "") -> IO[str]:
    """A CSV file as text for a look at its lines (``.gz`` decompressed; bytes that are not
    UTF-8 replaced: the reader itself reports them). ``newline``: as ``open``'s (``""``:
    every line end kept, ``\\r`` alone one too; ``"\\n"``: lines end at ``\\n`` only)."""
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    return opener(path, "rt", encoding="utf-8", errors="replace", newline=newline)


def _open_bytes(path: Path) -> io.BufferedIOBase:
    """A file's bytes (``.gz`` decompressed), for the checks of its encoding."""
    return gzip.GzipFile(path, "rb") if path.suffix.lower() == ".gz" else open(path, "rb")


def _csv_head(path: Path) -> bytes:
    """A CSV file's first 64 KiB (decompressed for ``.gz``); b"" when it cannot be read
    (the reader then says what is wrong with the file)."""
    try:
        with _open_bytes(path) as fh:
            return fh.read(1 << 16)
    except (OSError, EOFError):
        return b""


def line_end(head: bytes) -> str:
    """``"\r"`` for text whose lines end in a carriage return alone (classic Mac OS, some
    old exports), else ``"\n"`` (a ``\r\n`` line is read whole): Polars read such a file
    as its header alone, every row dropped without a word."""
    return "\r" if b"\r" in head and b"\n" not in head else "\n"


def _separator(head: bytes) -> str:
    """The separator the header line uses most (',' when none or on a tie): exports from
    spreadsheets in many locales separate fields by ';'."""
    header = re.split(rb"\r\n|\r|\n", head, maxsplit=1)[0]
    counts = [header.count(sep.encode()) for sep in CSV_SEPARATORS]
    return CSV_SEPARATORS[counts.index(max(counts))]


def csv_separator(path: Path) -> str:
    """The separator of a CSV file's header line (``_separator``)."""
    return _separator(_csv_head(path))


def csv_dialect(path: Path) -> tuple[str, str]:
    """A CSV file's separator and line end (``line_end``), from one read of its head."""
    head = _csv_head(path)
    return _separator(head), line_end(head)


def csv_header(path: Path, separator: str) -> tuple[str, ...]:
    """A CSV file's column names as its header line gives them (() when it cannot be read):
    files of one table read together by Spark must share it, since Spark names every file's
    columns by one header, by position."""
    try:
        with _open_text(path) as fh:
            return tuple(next(csv.reader(fh, delimiter=separator), []))
    except (OSError, EOFError, csv.Error):
        return ()


def file_columns(path: Path) -> tuple[str, ...]:
    """A file's column names without reading its rows: a CSV header, a Parquet schema, an
    NDJSON file's first object's keys (() when it cannot be read, or is no local file).
    Kept per file version (path, modification time, size): the warnings that read a file's
    header each ask for the deals' and costs' files."""
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return ()
    return _file_columns(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _file_columns(path: Path, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    try:
        kind = file_format(path)
        if kind == "csv":
            names = csv_header(path, csv_separator(path))
            return tuple(n.removeprefix("\ufeff") if i == 0 else n for i, n in enumerate(names))
        if kind == "parquet":
            return tuple(parquet_schema(path))
        with _open_text(path) as fh:
            for line in fh:
                if line.strip():
                    first = json.loads(line.removeprefix("\ufeff"))
                    return tuple(first) if isinstance(first, dict) else ()
    except (OSError, EOFError, ValueError, pl.exceptions.PolarsError, InputError):
        pass
    return ()


def long_row_error(path: Path) -> InputError | None:
    """The error naming the first CSV row with more fields than the header, or None. Only
    on the error path: the reader refuses such a file without saying where, and this finds
    it with a Python loop over the file's rows (never run on a good file)."""
    if file_format(path) != "csv" or (long := _long_csv_row(path)) is None:
        return None
    row, n, width = long
    hint = "quote values that hold the separator, or remove the extra fields"
    if width == 1:  # a report title above the column names (ad platforms, CRM reports)
        title = csv_header(path, csv_separator(path))
        shown = repr(title[0][:60].removeprefix("\ufeff")) if title else "the first line"
        hint = (
            f"the first line, {shown}, was read as a header of one column: {TITLE_LINES};"
            f" else {hint}"
        )
    return InputError(
        f"row {row} has {n} fields, the header {width}",
        file=str(path),
        row=row,
        hint=hint,
    )


def _first_non_utf8_row(path: Path) -> int | None:
    """The data row (1-based, the header is row 0) of a text file's first line that is not
    UTF-8, or None (read on the error path only; a line break inside quotes is not
    followed, so the row may be a line number for such files)."""
    try:
        with _open_bytes(path) as fh:
            for number, line in enumerate(fh):
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError:
                    return number if file_format(path) == "csv" else number + 1
    except (OSError, EOFError, InputError):
        return None
    return None


NOT_UTF8_HINT = "save the file as UTF-8 text (in Excel: 'CSV UTF-8'); it holds other bytes"


def non_utf8_error(paths: Sequence[Path | str], what: str) -> InputError | None:
    """The error naming the first row of a text file among ``paths`` that is not UTF-8 (read
    on the error path only), or None where every local text file is UTF-8."""
    for path in map(Path, paths):
        if _binary_or_unknown(path):
            continue
        if (workbook := workbook_error(path, what)) is not None:
            return workbook
        if (row := _first_non_utf8_row(path)) is not None:
            header = row == 0 and file_format(path) == "csv"  # (data rows count from 1)
            return InputError(
                f"cannot read {what}: "
                + ("the header" if header else "this row")
                + " holds bytes that are not UTF-8 text",
                file=str(path),
                row=None if header else row,
                hint=f"{NOT_UTF8_HINT} (Excel's plain 'CSV' writes Windows-1252: 'é', '€')",
            )
    return None


#: the first bytes of a spreadsheet workbook saved under a text file's name
_WORKBOOK_MAGIC = (
    (b"PK\x03\x04", "a ZIP archive (an Excel .xlsx or OpenDocument .ods workbook is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an Excel 97-2003 (.xls) workbook"),
)


def workbook_error(path: Path, what: str) -> InputError | None:
    """The error of a text-named file that is a spreadsheet workbook (an .xlsx renamed
    .csv: read as text, its bytes read as a Windows-1252 CSV's or a UTF-16 header), or
    gzip data not named ``.gz`` (its header read as one column of compressed bytes), else
    None."""
    try:
        with path.open("rb") as fh:
            start = fh.read(8)
    except OSError:
        return None
    if (workbook := _workbook_kind(start)) is not None:
        return InputError(
            f"cannot read {what}: the file is {workbook}, not text",
            file=str(path),
            hint=UNREAD_SUFFIXES[".xlsx"],
        )
    if path.suffix.lower() != ".gz" and start.startswith(b"\x1f\x8b"):
        return InputError(
            f"cannot read {what}: the file is gzip-compressed data, not text",
            file=str(path),
            hint=f"name it {path.name}.gz (a gzipped file so named is read as it is)",
        )
    return None


def nul_byte_error(path: Path, what: str) -> InputError | None:
    """The error of an uncompressed text file that holds a NUL byte, naming its row, else
    None. No export writes one: a tail of NULs is a file cut short while it was written (a
    crash or a full disk leaves the space zero-filled), which the reader took for one blank
    row, the lost rows unsaid; a NUL inside a row is a damaged copy, read into a value (a
    channel "Email" and one "Email\\0" apart). One memchr over the mapped file (~0.04 s a
    GB); a gzipped file is not searched."""
    if path.suffix.lower() == ".gz":
        return None
    try:
        stat = path.stat()
    except (OSError, ValueError):
        return None
    found = _nul_bytes(path, stat.st_mtime_ns, stat.st_size)
    if found is None:
        return None
    if isinstance(found, str):  # ("utf-16")
        return _utf16_found(path, what)
    at, lines, tail, size = found
    csv_file = file_format(path) == "csv"
    row = lines if csv_file else lines + 1  # (CSV: 1 = the first row after the header)
    if tail:
        places = {
            -1: "inside its header",
            0: "after its header" if csv_file else "in its first row",
        }
        where = places.get(row - 1, f"after row {row - 1}")
        cut, lost = (
            (f"holds nothing but {size:,} NUL bytes", "no row of it was saved")
            if at == 0
            else (f"ends in {size:,} NUL bytes {where}", "the rows after that are missing")
        )
        return InputError(
            f"cannot read {what}: the file {cut}: it was cut short while being written (a crash"
            f" or a full disk leaves the space zero-filled), and {lost}",
            file=str(path),
            hint="export the table again, or copy the file again from its source",
        )
    return InputError(
        f"cannot read {what}: this row holds a NUL byte (\\0), which no text export writes:"
        " the file is damaged",
        file=str(path),
        row=row,
        hint="copy the file again from its source, or export the table again",
    )


@functools.lru_cache(maxsize=1024)
def _nul_bytes(path: Path, _mtime_ns: int, _size: int) -> tuple[int, int, bool, int] | str | None:
    """Where a file's first NUL byte lies (offset, lines before it, whether only NULs follow,
    how many bytes from it), "utf-16" for UTF-16 text, None for none: once per file version,
    as each reader of a file starts with ``nul_byte_error`` (the bucketed engine's header
    check and partition pass, the warnings' reads of small tables)."""
    try:
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            at = mm.find(b"\0")
            if at < 0:
                return None
            if _utf16_like(mm[:64]):
                return "utf-16"
            return at, mm[:at].count(b"\n"), not mm[at:].strip(b"\0"), len(mm) - at
    except (OSError, ValueError):  # (an empty file cannot be mapped: the reader tells it)
        return None


def _workbook_kind(start: bytes) -> str | None:
    """What a text-named file is when its first bytes (``start``) are a workbook's (an
    .xlsx renamed .csv), else None."""
    return next((kind for magic, kind in _WORKBOOK_MAGIC if start.startswith(magic)), None)


def _binary_or_unknown(path: Path) -> bool:
    """Whether a file is Parquet (binary: no text to check) or of no format attrib reads."""
    try:
        return file_format(path) == "parquet"
    except InputError:
        return True


def _json_array(path: Path) -> bool:
    """Whether an NDJSON-named file starts with ``[`` (a JSON array, as many APIs and
    ``json.dump`` write): the reader's own message names a list type, not the cause."""
    try:
        with _open_text(path) as fh:
            return fh.read(1 << 12).lstrip().startswith("[")
    except (OSError, EOFError, ValueError):
        return False


#: UTF-16's byte-order marks, little- and big-endian
_UTF16_MARKS = (b"\xff\xfe", b"\xfe\xff")


def utf16_text(path: Path) -> bool:
    """Whether a file starts with a UTF-16 byte-order mark (a spreadsheet's 'Unicode text',
    LinkedIn's and some ad platforms' CSV exports): read as UTF-8 its rows are garbled."""
    try:
        with _open_bytes(path) as fh:
            return fh.read(2) in _UTF16_MARKS
    except (OSError, EOFError):
        return False


def utf16_error(path: Path, what: str) -> InputError | None:
    """The error for a UTF-16 CSV file (``utf16_text``), else None."""
    if not utf16_text(path):
        return None
    return _utf16_found(path, what)


def _utf16_found(path: Path, what: str) -> InputError:
    return InputError(
        f"cannot read {what}: the file is UTF-16 text, not UTF-8",
        file=str(path),
        hint="save the file as UTF-8 text (in Excel: 'CSV UTF-8'); LinkedIn's and"
        " some ad platforms' exports are UTF-16: re-save them",
    )


def _utf16_like(head: bytes) -> bool:
    """Whether a file's first bytes are UTF-16's: a byte-order mark, or (none written) a
    NUL in every other byte of text."""
    if head[:2] in _UTF16_MARKS:
        return True
    halves = (head[0::2], head[1::2])
    return len(head) >= 4 and any(not h.strip(b"\0") for h in halves) and head.strip(b"\0") != b""


def _bare_carriage_return_row(path: Path) -> int | None:
    """The data row (1 = the first after the header) of a CSV file whose lines end in
    ``\\n`` where a line holds a carriage return alone (an old Mac line end inside a Unix
    file: the reader sees two rows as one, too long), or None. Only on the error path."""
    try:
        with _open_text(path, newline="\n") as fh:
            for number, line in enumerate(fh):
                if "\r" in line.removesuffix("\n").removesuffix("\r"):
                    return number if number else None  # (a header so split: not this rule)
    except (OSError, EOFError):
        return None
    return None


def _long_csv_row(path: Path) -> tuple[int, int, int] | None:
    """(data row, its field count, the header's) of the first row longer than the header."""
    try:
        with _open_text(path) as fh:
            rows = csv.reader(fh, delimiter=csv_separator(path))
            width = len(next(rows, []))
            for number, row in enumerate(rows, start=1):
                if len(row) > width:
                    return number, len(row), width
    except (OSError, EOFError, csv.Error):
        return None
    return None


def _open_quote_row(path: Path) -> int | None:
    """The data row (1 = the first after the header) of a CSV file's first quote that opens
    a value its line does not close, where that quote lies inside a value (``ab"cd``), or
    else where no later line closes it (``"abcd``); None if there is none. A value quoted
    from its start may hold line ends (a CRM note): its lines are one row. Only on the
    error path."""
    row, quoted, opened, stray = -1, False, 0, False  # row -1 + 1: the header
    try:
        with _open_text(path) as fh:
            sep = csv_separator(path)
            for line in fh:
                if not quoted:
                    row += 1
                if '"' not in line:
                    continue
                closed = -2  # where a quoted value closed on this line
                i = line.find('"')
                while i >= 0:
                    if quoted:
                        quoted, closed = False, i
                    else:
                        quoted = True
                        if closed != i - 1:  # (else a doubled quote inside the value)
                            opened, stray = row, i > 0 and line[i - 1] != sep
                    i = line.find('"', i + 1)
                if quoted and stray:
                    return opened or None
    except (OSError, EOFError):
        return None
    return (opened or None) if quoted else None


def _no_json_constant(name: str) -> None:
    """Refuse what Python's JSON reader takes but JSON (and the NDJSON reader) has not."""
    raise ValueError(f"{name} is no JSON value")


def bad_json_line(path: Path) -> InputError | None:
    """The first line of an NDJSON file that is not one JSON object, named by its row (the
    reader's numbering: objects, blank lines skipped) and line, with Python's reason; None
    when every line is one (the reader refused the file for another reason)."""
    try:
        with _open_text(path) as fh:
            row = 0
            for line_number, line in enumerate(fh, start=1):
                text = line.removeprefix("\ufeff") if line_number == 1 else line
                if not text.strip():
                    continue
                row += 1
                try:
                    value = json.loads(text, parse_constant=_no_json_constant)
                except json.JSONDecodeError as exc:
                    why = f"not JSON ({exc.msg}, character {exc.colno})"
                except ValueError as exc:
                    why = f"not JSON ({exc})"
                else:
                    if isinstance(value, dict):
                        continue
                    why = f"a JSON {type(value).__name__}, not an object"
                return InputError(
                    f"cannot read ndjson file: line {line_number} is {why}",
                    file=str(path),
                    row=row,
                    hint='write one JSON object per line ({"column": value, ...}); NaN and'
                    " Infinity are no JSON: write null",
                )
    except (OSError, EOFError, UnicodeDecodeError):
        return None
    return None


def _csv_row_error(
    paths: Sequence[Path], what: str, find: Callable[[Path], int | None], fault: str, fix: str
) -> InputError | None:
    """The error naming the first row ``find`` finds in the CSV files among ``paths``, which
    holds ``fault`` (``fix``: the hint), else None."""
    for path in (p for p in paths if file_format(p) == "csv"):
        if (row := find(path)) is not None:
            return InputError(f"cannot read {what}: {fault}", file=str(path), row=row, hint=fix)
    return None


def empty_text_error(path: Path, what: str) -> InputError | None:
    """The error of a CSV file without a header line, or an NDJSON file without a JSON line
    (0 bytes, or white space only), else None: it has no column, not even an empty table's
    (every engine says so; Polars' own words named its type inference)."""
    kind = file_format(path)
    if kind == "csv":
        empty = not csv_header(path, csv_separator(path))
    else:
        empty = kind == "ndjson" and _blank_text(path)
    if not empty:
        return None
    first = "header line" if kind == "csv" else "JSON line"
    return InputError(
        f"cannot read {what}: empty {kind.upper()} (no {first})",
        file=str(path),
        hint="check that the file is complete and in the format its suffix says",
    )


def _blank_text(path: Path, chunk: int = 1 << 16) -> bool:
    """Whether a file holds nothing but white space (read up to its first other byte)."""
    try:
        with _open_bytes(path) as f:
            while block := f.read(chunk):
                if block.strip():
                    return False
    except (OSError, EOFError):
        return False
    return True


def read_failure(exc: BaseException, paths: Sequence[Path], what: str) -> InputError:
    """The error for files a reader refused: the row of a CSV row with more fields than the
    header when there is one, else of a quote that does not close on its row, else the
    reader's first line, with a hint (UTF-8, format)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for path in (p for p in paths if file_format(p) != "parquet"):
        if (empty := empty_text_error(path, what)) is not None:
            return empty
    for path in (p for p in paths if file_format(p) == "csv"):
        if (utf16 := utf16_error(path, what)) is not None:
            return utf16
    for path in (p for p in paths if file_format(p) == "ndjson"):
        if _json_array(path):
            return InputError(
                f"cannot read {what}: the file is one JSON array ([...]), not one JSON object"
                " per line",
                file=str(path),
                hint="write one object per line first (jq -c '.[]' file.json > file.ndjson)",
            )
        if (bad := bad_json_line(path)) is not None:
            return bad
    if "precision" in first:  # (Polars reads decimals of up to 38 digits)
        for path in (p for p in paths if file_format(p) == "parquet"):
            if (wide := wide_decimal_error(path)) is not None:
                return wide
    if "more fields" in first:
        for path in paths:
            if (long := long_row_error(path)) is not None:
                return long
        mixed = _csv_row_error(
            paths,
            what,
            _bare_carriage_return_row,
            "a carriage return (\\r) alone ends a line inside this row: the file mixes line ends",
            "save the file with one kind of line end (\\n or \\r\\n)",
        )
        if mixed is not None:
            return mixed
    hint = "check that the file is complete and in the format its suffix says"
    if "utf-8" in first.lower() or "utf8" in first.lower():
        hint = NOT_UTF8_HINT
        if (not_utf8 := non_utf8_error(paths, what)) is not None:
            return not_utf8
    else:
        quote = _csv_row_error(
            paths,
            what,
            _open_quote_row,
            'a quote (") opens a value that does not close on this row',
            'quote the whole value and double a quote inside it ("a ""b"" c"), or remove the'
            " stray quote",
        )
        if quote is not None:
            return quote
    where = str(paths[0]) if len(paths) == 1 else str(paths[0].parent)
    return InputError(f"cannot read {what}: {first}", file=where, hint=hint)


#: what Java's ``String.trim`` drops (code points up to U+0020, U+0000 included): Spark's CSV
#: reader skips a line that is empty once trimmed, as a blank line
_TRIMMED = "".join(map(chr, range(33)))


def _no_value(name: str, dtype: pl.DataType) -> pl.Expr:
    """Whether a CSV value holds nothing: missing, or (text) only spaces, tabs or other
    characters up to U+0020. An empty quoted value (``""``) is empty text, a value."""
    value = pl.col(name)
    if dtype != pl.String:
        return value.is_null()
    # only a value that sorts below ``!`` is stripped (the others are null here): stripping
    # every value took 1.2 s over 10M rows of 3 columns, this 0.16 s
    maybe = pl.when(value.lt("!") & value.str.len_bytes().gt(0)).then(value)
    return value.is_null() | maybe.str.strip_chars(_TRIMMED).eq("").fill_null(False)


def _values(schema: Mapping[str, pl.DataType]) -> list[str]:
    return [c for c in schema if c not in (ROW_COL, FILE_COL)]


def blank_line(schema: Mapping[str, pl.DataType]) -> pl.Expr:
    """A CSV row with no value (a blank line, separators only, or separators with only spaces
    or tabs between them, as a line of only spaces and tabs reads) in a frame of this
    ``schema``: not data. Such rows are dropped as read; the other rows keep their numbers
    in the file."""
    values = _values(schema)
    if not values:
        return pl.lit(False)
    return pl.all_horizontal(_no_value(c, schema[c]) for c in values)


def _maybe_blank(schema: Mapping[str, pl.DataType], *, every: bool = False) -> pl.Expr:
    """A cheap superset of ``blank_line``: the first value (``every``: each value) is
    missing, or is text that sorts below ``!`` (empty, or starting with a space, a tab or
    another character up to U+0020)."""
    values = _values(schema)
    if not values:
        return pl.lit(False)

    def cheap(name: str) -> pl.Expr:
        value = pl.col(name)
        return value.is_null() | value.lt("!") if schema[name] == pl.String else value.is_null()

    return pl.all_horizontal(cheap(c) for c in values) if every else cheap(values[0])


def without_blank_rows(df: pl.DataFrame, where: pl.Expr | None = None) -> pl.DataFrame:
    """``df`` without its rows that hold no value (``blank_line``), of those ``where`` (a
    file's rows, say) selects; numbered rows keep their numbers. The full test runs only on
    the rows the cheap ``_maybe_blank`` finds: on the first value (10M rows: ~0.03 s, the
    full test ~0.15 s), then, where many rows pass that (a first column mostly empty), on
    every value, so that few rows are copied and stripped."""

    def maybe(every: bool) -> pl.Series:
        test = _maybe_blank(df.schema, every=every)
        return df.select(test if where is None else test & where).to_series()

    candidates = maybe(every=False)
    found = candidates.sum()
    if not found:
        return df
    if found * 64 > df.height:
        candidates = maybe(every=True)
        if not candidates.any():
            return df
    at = candidates.arg_true()
    blank = df[at].select(blank_line(df.schema)).to_series()
    if not blank.any():
        return df
    keep = np.ones(df.height, dtype=np.bool_)
    keep[at.filter(blank).to_numpy()] = False
    return df.filter(keep)  # (a mask first: filtering copies all)


def is_csv_file(name: str | Path | None) -> bool:
    """Whether ``name`` is a CSV file by its suffix (a frame's or a table's name is none)."""
    try:
        return name is not None and file_format(Path(name)) == "csv"
    except InputError:  # ("(touchpoints frame)", "table:NAME", a URI without a suffix)
        return False


def _readable_kind(path: Path) -> str:
    """``file_format``, a text-named workbook (an .xlsx renamed .csv) refused first: read as
    text, its bytes were told as a Windows-1252 CSV's or a UTF-16 header. (8 bytes read per
    text file, and one search for a NUL byte, ``nul_byte_error``; both readers,
    ``_read_one`` and ``scan_file``, start here.)"""
    kind = file_format(path)
    if kind != "parquet":
        if (workbook := workbook_error(path, f"{kind} file")) is not None:
            raise workbook
        if (nul := nul_byte_error(path, f"{kind} file")) is not None:
            raise nul
    return kind


def _read_one(path: Path, projection: Projection | None = None) -> pl.DataFrame:
    kind = _readable_kind(path)
    try:
        try:
            df = _read_rows(path, kind, projection, numbered=True)
        except pl.exceptions.DuplicateError:
            # the file has a column of the name the row numbers take: not one attrib reads
            # (the config refuses it), so it is dropped and the rows are numbered after
            df = _read_rows(path, kind, projection, numbered=False)
            df = df.drop(RESERVED_COLUMNS, strict=False).with_row_index(ROW_COL, offset=1)
        if kind == "csv":
            df = without_blank_rows(df)
    except (pl.exceptions.PolarsError, OSError, ValueError) as exc:
        raise read_failure(exc, [path], f"{kind} file") from None
    if kind == "ndjson":  # (the columns the run reads: the projection's, else all)
        check_repeated_key(path, (projection.of(df.schema) if projection else None) or df.columns)
    if kind == "parquet":
        check_timestamp_range(path, df)
    return df.with_columns(
        # categorical: one small code per row, not the path text repeated (~50 B a row)
        pl.lit(str(path)).cast(pl.Categorical).alias(FILE_COL),
        pl.col(ROW_COL).cast(pl.Int64),
    )


#: how far from 1970 a timestamp may lie, in seconds (200,000 years): Polars' calendar ends
#: near the year 262,000 either way, and turning a time beyond it into a date or text panics
#: (Parquet holds seconds as milliseconds: microseconds written as seconds reach 55M years)
_FARTHEST_S = 200_000 * 31_556_952
_PER_SECOND = {"ms": 1_000, "us": 1_000_000}  # (nanoseconds in an int64 never get so far)


def check_timestamp_range(path: Path, frame: pl.DataFrame | pl.LazyFrame) -> None:
    """Refuse a typed timestamp column (Parquet's) holding a time beyond any calendar year
    (epoch microseconds stored as seconds), naming its first such row: no rule can read it,
    and Polars panics when it is made text. ``frame`` has the ``__row`` column."""
    schema = frame.collect_schema()
    units = {
        c: _PER_SECOND[t.time_unit]
        for c, t in schema.items()
        if isinstance(t, pl.Datetime) and t.time_unit in _PER_SECOND
    }
    if isinstance(frame, pl.LazyFrame):  # a scan: read the footer, not every row, if it can
        units = {c: k for c, k in units.items() if c not in _bounded_by_statistics(path)}
    if not units:
        return
    far = {c: pl.col(c).to_physical().abs() > _FARTHEST_S * k for c, k in units.items()}
    found = frame.lazy().select(e.any().alias(c) for c, e in far.items()).collect().row(0)
    for column, hit in zip(far, found, strict=True):
        if hit:
            row = frame.lazy().filter(far[column]).select(ROW_COL).head(1).collect().item()
            raise InputError(
                f"column {column!r} holds a timestamp beyond any calendar year (more than"
                " 200,000 years from 1970)",
                file=str(path),
                row=row,
                column=column,
                hint="a wrong unit in the export (microseconds written as seconds?): write the"
                " column as a timestamp of its true unit, or as ISO 8601 text",
            )


def _bounded_by_statistics(path: Path) -> set[str]:
    """The timestamp columns of a Parquet file whose every row group's statistics keep them
    within ``_FARTHEST_S`` of 1970 (in the file's own unit): a scan then need not read them
    to know (a column without statistics is not among them)."""
    import pyarrow.parquet as pq

    per_second = {"milliseconds": 1_000, "microseconds": 1_000_000, "nanoseconds": 10**9}
    try:
        meta = pq.ParquetFile(path).metadata
    except (OSError, ValueError):  # (Arrow's errors: the reader names what is wrong)
        return set()
    bounded = set()
    for i in range(meta.num_columns):
        column = meta.schema.column(i)
        unit = json.loads(column.logical_type.to_json()).get("timeUnit")
        if unit not in per_second or "." in column.path:  # (no timestamp, or nested)
            continue
        limit = _FARTHEST_S * per_second[unit]
        stats = [meta.row_group(g).column(i).statistics for g in range(meta.num_row_groups)]
        if all(
            s is not None and s.has_min_max and abs(s.min_raw) <= limit >= abs(s.max_raw)
            for s in stats
        ):
            bounded.add(column.path)
    return bounded


def check_repeated_key(path: Path, read: Collection[str] | None = None) -> None:
    """Refuse an NDJSON file whose first object names a column the run reads (``read``;
    None: any key, as Spark's reader refuses any) twice."""
    if (key := _repeated_key(path)) is not None and (read is None or key in read):
        raise SchemaError(
            f"the first line's JSON names key {key!r} twice (in its object or one nested in"
            " it): the reader keeps the first"
            " value (other JSON readers the last)",
            file=str(path),
            row=1,
            column=key,
            hint="write each key once per object (an export that repeats a key does so on"
            " every line)",
        )


def _repeated_key(path: Path) -> str | None:
    """A key that an NDJSON file's first object names twice (``{"channel": "a", "channel":
    "b"}``): Polars keeps the first value without a word. An export that repeats a key does
    so on every line, so the first object tells (None: no repeat, or not readable)."""
    repeated: list[str] = []

    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        names = [name for name, _ in items]
        repeated.extend(name for i, name in enumerate(names) if name in names[:i])
        return dict(items)

    try:
        with _open_text(path) as fh:
            line = next((text for text in fh if text.strip()), "")
        if line:
            json.loads(line.removeprefix("\ufeff"), object_pairs_hook=pairs)
    except (OSError, EOFError, ValueError):
        return None
    return repeated[0] if repeated else None


#: a time zone written as a fixed offset ("+05:30", "-0800"), as pandas writes a column of
#: values parsed with their offsets: Polars knows only named zones, and panics on these
_FIXED_OFFSET = re.compile(r"^[+-]\d{2}:?\d{2}$")


def _arrow_schema(path: Path) -> Any:
    """A Parquet file's Arrow schema (metadata only), read once per file version: the
    zone fixes, the schema and the readers ask for it for every part of a folder; None when
    it cannot be read (the reader names what is wrong)."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return _arrow_schema_of(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4096)
def _arrow_schema_of(path: Path, _mtime_ns: int, _size: int) -> Any:
    import pyarrow.parquet as pq

    try:
        return pq.read_schema(path)
    except (OSError, ValueError):  # (Arrow's errors)
        return None


def _offset_zoned(path: Path) -> dict[str, Any]:
    """A Parquet file's timestamp columns zoned at a fixed offset, each with its type at
    UTC (the same instants: Parquet stores them at UTC); {} for none, or an unreadable file
    (the reader names what is wrong)."""
    import pyarrow as pa

    schema = _arrow_schema(path)
    if schema is None:
        return {}
    return {
        f.name: pa.timestamp(f.type.unit, "UTC")
        for f in schema
        if pa.types.is_timestamp(f.type) and f.type.tz and _FIXED_OFFSET.match(f.type.tz)
    }


def wide_decimal_error(path: Path) -> InputError | None:
    """The error of a Parquet file's decimal column wider than Polars reads (38 digits: its
    reader's error named no column), else None. Only on the error path: such a column the
    run does not read is no error."""
    import pyarrow as pa

    for f in _arrow_schema(path) or ():
        if pa.types.is_decimal(f.type) and f.type.precision > 38:
            return InputError(
                f"column {f.name!r} holds decimals of {f.type.precision} digits (at most 38"
                " are read)",
                file=str(path),
                column=f.name,
                hint="write the column as a float (double) or a decimal of 38 digits or fewer",
            )
    return None


def _at_utc(table: Any, zoned: dict[str, Any]) -> pl.DataFrame:
    """An Arrow table as a frame, its ``zoned`` columns (``_offset_zoned``) at UTC."""
    for name, utc in zoned.items():
        if name in table.column_names:
            at = table.column_names.index(name)
            table = table.set_column(at, name, table.column(name).cast(utc))
    return pl.DataFrame(pl.from_arrow(table))


def _read_offset_zoned(
    path: Path, zoned: dict[str, Any], columns: list[str] | None = None
) -> pl.DataFrame:
    """A Parquet file with fixed-offset timestamps (``_offset_zoned``) read through Arrow,
    those columns at UTC."""
    import pyarrow.parquet as pq

    return _at_utc(pq.read_table(path, columns=columns), zoned)


def parquet_schema(path: Path) -> pl.Schema:
    """A Parquet file's schema as attrib reads it (metadata only): a timestamp zoned at a
    fixed offset is read at UTC. Read once per file version (a copy of it is returned)."""
    stat = path.stat()
    return pl.Schema(_parquet_schema_of(path, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=4096)
def _parquet_schema_of(path: Path, _mtime_ns: int, _size: int) -> pl.Schema:
    if zoned := _offset_zoned(path):
        return pl.Schema(_at_utc(_arrow_schema(path).empty_table(), zoned).schema)
    return pl.Schema(pl.read_parquet_schema(path))


def _read_rows(
    path: Path, kind: str, projection: Projection | None, *, numbered: bool
) -> pl.DataFrame:
    """One file's rows, ``numbered`` with a 1-based ``__row`` column made by the reader
    itself: made afterwards it would be one chunk beside the data's many, and every later
    select would copy all columns to align them (~0.1 s per select at 10M rows)."""
    index: dict[str, Any] = {"row_index_name": ROW_COL, "row_index_offset": 1} if numbered else {}
    if kind == "parquet":  # columnar: a column not read costs nothing
        columns = projection.of(parquet_schema(path)) if projection else None
        if zoned := _offset_zoned(path):
            frame = _read_offset_zoned(path, zoned, columns)
            return frame.with_row_index(ROW_COL, offset=1) if numbered else frame
        return pl.read_parquet(path, columns=columns, **index)
    if kind == "csv":  # text is read whole: the reader checks every row's field count
        separator, eol = csv_dialect(path)
        return pl.read_csv(
            path,
            separator=separator,
            eol_char=eol,
            infer_schema=False,
            **index,
        )
    return pl.read_ndjson(_ndjson_source(path), infer_schema_length=None, **index)


def _ndjson_source(path: Path) -> Path | io.BytesIO:
    """An NDJSON file for its reader: the file, or, when it starts with a byte-order mark
    (as Windows tools write UTF-8), its bytes without it (the reader refuses the mark)."""
    with _open_bytes(path) as fh:
        if fh.read(3) != b"\xef\xbb\xbf":
            return path
        return io.BytesIO(fh.read())


def scan_file(path: Path, projection: Projection | None = None) -> pl.LazyFrame:
    """``_read_one`` as a lazy scan (the bucketed engine streams tables into buckets): the
    same formats, ``__row``/``__file`` columns and blank-line rule; read errors surface when
    the scan runs (``read_failure``)."""
    kind = _readable_kind(path)
    if kind == "csv":
        separator, eol = csv_dialect(path)
        lf = pl.scan_csv(path, separator=separator, eol_char=eol, infer_schema=False)
    elif kind == "parquet":
        zoned = _offset_zoned(path)  # (such a file is read whole: Polars cannot scan it)
        lf = _read_offset_zoned(path, zoned).lazy() if zoned else pl.scan_parquet(path)
    elif isinstance(source := _ndjson_source(path), io.BytesIO):  # (read whole: no scan)
        lf = pl.read_ndjson(source, infer_schema_length=None).lazy()
    else:
        lf = pl.scan_ndjson(path, infer_schema_length=None)
    # a text reader given fewer columns would stop checking every row's field count
    if projection is not None and kind == "parquet":
        keep = projection.of(lf.collect_schema())
        lf = lf.select(keep) if keep is not None else lf
    schema = lf.collect_schema()
    if any(name in RESERVED_COLUMNS for name in schema):
        lf = lf.drop(RESERVED_COLUMNS, strict=False)  # the file's own: see _read_one
    if kind == "ndjson":
        check_repeated_key(path, (projection.of(schema) if projection else None) or schema.names())
    lf = lf.with_row_index(ROW_COL, offset=1).with_columns(
        pl.col(ROW_COL).cast(pl.Int64), pl.lit(str(path)).cast(pl.Categorical).alias(FILE_COL)
    )
    if kind == "parquet":
        check_timestamp_range(path, lf)
    return lf.filter(~blank_line(lf.collect_schema())) if kind == "csv" else lf


def as_export_text(column: str, dtype: pl.DataType, *, wall_clock: bool = False) -> pl.Expr:
    """A column as the text a CSV export of it would hold, which validation parses like any
    CSV value: ISO 8601 timestamps, a zoned one at UTC (or, ``wall_clock``, at its own
    clock: a cost row's day), without an offset, as a naive file's are read; dates as
    ``YYYY-MM-DD``; whole floats without ".0"."""
    col = pl.col(column)
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            col = col if wall_clock else col.dt.convert_time_zone("UTC")
            col = col.dt.replace_time_zone(None)
        return col.dt.strftime("%Y-%m-%dT%H:%M:%S%.f")
    if dtype.is_float():
        whole = col.is_finite() & (col == col.round(0)) & (col.abs() < 2.0**53)
        return (
            pl.when(whole)
            .then(col.cast(pl.Int64, strict=False).cast(pl.String))
            .otherwise(col.cast(pl.String))
        )
    return col.cast(pl.String)


def nested_values(dtype: pl.DataType) -> tuple[str, str] | None:
    """(what a column of ``dtype`` holds, how to export it) when its values are no single
    values (List, Array, Struct, Parquet's Map, Object), else None."""
    if dtype.is_nested() or isinstance(dtype, pl.Object):
        return f"{dtype} values, not single values", (
            "export one plain value per cell (text, number or timestamp)"
        )
    return None


def textless_values(dtype: pl.DataType) -> tuple[str, str] | None:
    """(what a column of ``dtype`` holds, how to export it) when its values have no text a
    CSV export would hold, nor a number or timestamp: no single values (``nested_values``)
    or lengths of time (Duration); else None."""
    if (nested := nested_values(dtype)) is not None:  # (Parquet's map columns included)
        return nested
    if isinstance(dtype, pl.Duration):
        return f"{dtype} values (lengths of time), not text, a number or a timestamp", (
            "export the value the column stands for (a timestamp, a number)"
        )
    return None


def mixed_columns(schemas: Iterable[Mapping[str, pl.DataType]]) -> list[str]:
    """The columns of a table whose type differs between its files, in the order first seen:
    those ``stack_parts`` (and the Spark engine's reader) make the text a CSV export holds (a
    CSV file's columns are text)."""
    types: dict[str, set[pl.DataType]] = {}
    for schema in schemas:
        for name, dtype in schema.items():
            types.setdefault(name, set()).add(dtype)
    return [name for name, seen in types.items() if len(seen) > 1 and name != FILE_COL]


def stack_parts(
    frames: list[FrameT], wall_clock: Collection[str] = (), files: Sequence[Path | str] = ()
) -> FrameT:
    """Stack the files of one table (columns unioned; missing ones are null).

    A column whose type differs between files (zoned and naive timestamps, dates beside
    timestamps, epoch numbers beside timestamps, float ids beside integer or text ids)
    becomes, in every file, the text a CSV export of it would hold (``as_export_text``;
    ``wall_clock``: the columns whose zoned values keep their own clock, a cost date):
    validation then reads each value as that file alone would give it, instead of one
    file's values being cast to another's type, or the stacking failing. Such a column
    that holds lists, structs, maps or lengths of time in one file (``files``: each frame's,
    for the error) has no such text: an input error, as the validator gives for one file.
    """
    if len(frames) == 1:
        return frames[0]
    schemas = [f.collect_schema() for f in frames]
    mixed = set(mixed_columns(schemas))
    for i, schema in enumerate(schemas):
        for c in sorted(mixed & set(schema)):
            if (textless := textless_values(schema[c])) is not None:
                raise SchemaError(
                    f"column {c!r} holds {textless[0]}",
                    file=str(files[i]) if i < len(files) else None,
                    column=c,
                    hint=textless[1],
                )
    if mixed:
        frames = [
            f.with_columns(
                as_export_text(c, s[c], wall_clock=c in wall_clock).alias(c)
                for c in mixed
                if c in s
            )
            for f, s in zip(frames, schemas, strict=True)
        ]
    return pl.concat(frames, how="diagonal_relaxed")


def loose_name(name: str) -> str:
    """A column name without case, outer spaces and separators: ' Deal ID ' is deal_id."""
    return re.sub(r"[\s_\-.]+", "", name.casefold())


def check_shared_columns(
    files: Sequence[Path | str],
    columns: Sequence[Collection[str]],
    required: Collection[str],
    optional: Mapping[str, str] | Collection[str] = (),
    table: str | None = None,
) -> None:
    """A required column that some files of a table have and another lacks (a column renamed
    in one export): name that file, instead of rejecting each of its rows as empty. And an
    ``optional`` column the table reads that a file lacks but spells another way
    ('Campaign' for campaign): its values would be ignored, every campaign ``(none)``.
    ``optional`` may map each source column to its canonical name: with the ``table``, the
    hint then gives the config line."""
    for column in sorted(required):
        having = [column in names for names in columns]
        if any(having) and not all(having):
            lacking = files[having.index(False)]
            raise SchemaError(
                f"column {column!r} is missing from this file, while other files of the "
                "table have it",
                file=str(lacking),
                column=column,
                hint="give every file of a table the same column names (renamed in one export?)",
            )
    if (misspelt := misspelt_optional(files, columns, optional, table)) is not None:
        raise misspelt


def misspelt_optional(
    files: Sequence[Path | str],
    columns: Sequence[Collection[str]],
    optional: Mapping[str, str] | Collection[str] = (),
    table: str | None = None,
) -> SchemaError | None:
    """The error of an ``optional`` column a file lacks but spells another way ('Campaign'
    for campaign; ``check_shared_columns``), None when there is none."""
    loose = {loose_name(o): o for o in optional}
    for path, names in zip(files, columns, strict=True):
        for name in names:
            want = loose.get(loose_name(name))
            if want is not None and want not in names:
                canonical = optional.get(want) if isinstance(optional, Mapping) else None
                line = (
                    f'[columns.{table}] {canonical} = "{name}"'
                    if canonical is not None and table is not None
                    else "the config's [columns] table"
                )
                return SchemaError(
                    f"column {name!r} is not read: the column is named {want!r}",
                    file=str(path),
                    column=name,
                    hint=f"rename it {want!r} in the export, or map it: {line}",
                )
    return None


def read_files(
    files: list[Path],
    projection: Projection | None = None,
    *,
    required: Collection[str] = (),
    optional: Mapping[str, str] | Collection[str] = (),
    wall_clock: Collection[str] = (),
    table: str | None = None,
    misspelt: list[SchemaError] | None = None,
) -> pl.DataFrame:
    """Read and stack files of one table (``stack_parts``, ``wall_clock`` passed on).
    ``projection``: only the columns a job uses (``inputs.used_columns``); ``required``:
    source columns every file must have when any has them, ``optional``: the optional ones
    read, which no file may spell another way (``check_shared_columns``). ``misspelt``: a
    list that takes such a column's error instead of raising it, for a caller that reports
    it with the table's other schema errors."""
    frames = [_read_one(p, projection) for p in files]
    names = [f.columns for f in frames]
    check_shared_columns(files, names, required, () if misspelt is not None else optional, table)
    if misspelt is not None and (err := misspelt_optional(files, names, optional, table)):
        misspelt.append(err)
    frame = stack_parts(frames, wall_clock, files)
    # whatever each file gave, the same columns for all (a file read whole for lacking a
    # required column another file has must not add its unused ones)
    return projection.apply(frame) if projection is not None else frame
