"""Reader for ChannelAttribution's aggregated path table (``attrib run --paths FILE``).

The table has one row per path (``a > b > c``) with ``total_conversions``, optional
``total_conversion_value`` (revenue) and optional ``total_null``. It becomes a Journeys batch
directly: per row one won journey (weight = conversions) and one non-converting journey
(weight = nulls), no timestamps, one campaign key per channel. Rows of one path are not
merged: the bootstrap resamples each row's journeys at its own value per conversion (merged,
they shared their average, and the revenue intervals came out too narrow).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import numpy as np
import polars as pl

from attrib.encoded import (
    NONE_CAMPAIGN,
    NONE_CHANNEL,
    STATUS_NAMES,
    STATUS_NONE,
    STATUS_WON,
    Dictionaries,
    Journeys,
    last_touches_of_closed,
)
from attrib.errors import InputError
from attrib.io import ROW_COL, blank_line, csv_dialect
from attrib.parsing import MAX_NUMBER

PATH, CONVERSIONS, VALUE, NULLS = (
    "path",
    "total_conversions",
    "total_conversion_value",
    "total_null",
)
_HINT = (
    "expected ChannelAttribution's path table: columns path (channels joined by '>'), "
    "total_conversions, optional total_conversion_value and total_null; ',' or ';' delimited"
)


#: the largest count a path table's cell may hold (whole numbers stay exact below 2^53), and
#: the largest value (a revenue in any currency; far from where sums overflow to infinity)
_LARGEST_COUNT = float(2**53)
_LARGEST_VALUE = MAX_NUMBER


def _numeric(
    df: pl.DataFrame,
    col: str,
    file: str,
    largest: float = _LARGEST_COUNT,
    *,
    required: bool = False,
) -> pl.Series:
    """Column ``col`` as Float64 (missing cells 0, unless ``required``: the conversions, of
    which an empty cell is no count); InputError naming the first bad row."""
    raw = df[col].str.strip_chars()
    num = raw.cast(pl.Float64, strict=False)
    bad = (num.is_null() & raw.is_not_null() & (raw != "")) | (num < 0) | ~num.is_finite()
    bad = bad.fill_null(False)
    huge = (num > largest).fill_null(False)  # sums of such would lose their units or overflow
    empty = (raw.is_null() | (raw == "")) if required else pl.repeat(False, df.height, eager=True)
    for rows, what, hint in (
        (empty, "is empty", "a count on every row (0 for a path without conversions)"),
        (
            bad,
            "is not a non-negative number",
            "counts/amounts >= 0 (data rows are numbered from 1)",
        ),
        (huge, f"is too large (at most {largest:.3g})", "counts/amounts, not a sentinel value"),
    ):
        if rows.any():
            i = int(rows.arg_true()[0])
            raise InputError(
                f"{col} {what}" if raw[i] is None or raw[i] == "" else f"{raw[i]!r} {what}",
                file=file,
                row=int(df[ROW_COL][i]),
                column=col,
                hint=f"{col} must hold {hint}",
            )
    return num.fill_null(0.0)


def _stem(name: str) -> str:
    """A path-table column name as its meaning: lower case, letters and digits only, without
    the ``total`` every ChannelAttribution column starts with or a plural ``s``
    (``Total_Nulls`` -> ``null``)."""
    stem = "".join(ch for ch in name.lower() if ch.isalnum()).removeprefix("total")
    return stem.removesuffix("s") if len(stem) > 1 else stem


def _named_like(col: str, unknown: list[str]) -> str | None:
    """The first of ``unknown`` named much like ``col``, else None: the same stem, one ending
    the other's (``total_value``, ``conversion_value``) or a typo of it; not just another
    total (``total_clicks``, ``total_cost``: the shared ``total_`` made them look close)."""
    want = _stem(col)
    for name in unknown:
        got = _stem(name)
        if got and (
            got == want
            or (len(got) >= 3 and want.endswith(got))
            or got.endswith(want)
            or difflib.SequenceMatcher(None, want, got).ratio() >= 0.8
        ):
            return name
    return None


def _check_columns(columns: list[str], file: str) -> None:
    """The required columns are present, and no optional one is absent while a column named
    much like it is there (``total_nulls``, ``Total_Conversion_Value``): read as absent, its
    paths would all convert or be worth 0, so the run stops with a did-you-mean."""
    unknown = [c for c in columns if c not in (PATH, CONVERSIONS, VALUE, NULLS)]
    for col in (PATH, CONVERSIONS, VALUE, NULLS):
        if col in columns:
            continue
        close = _named_like(col, unknown)
        if col in (PATH, CONVERSIONS):
            raise InputError(
                f"missing column {col!r} (found {columns})",
                file=file,
                column=col,
                # (no [columns] mapping reads a path table: the header is what to change)
                hint=(f"rename {close!r} to {col!r} in the header; " if close else "") + _HINT,
            )
        if close:
            raise InputError(
                f"no column {col!r}, but a column {close!r}: did you mean {col!r}?",
                file=file,
                column=close,
                hint=f"rename {close!r} to {col!r} in the header (read as absent, "
                + (
                    "every path's conversions would be worth 0"
                    if col == VALUE
                    else "no path would have a non-converting journey"
                )
                + "); "
                + _HINT,
            )


def read_paths(path: str | Path, *, sep: str | None = None) -> Journeys:
    """Read a ChannelAttribution path table into one Journeys batch (sorted by path)."""
    file = Path(path)
    fname = str(file)
    if not file.is_file():
        raise InputError("path table not found", file=fname, hint=_HINT)
    # the delimiter: ``sep`` if given, else ';' or ',' whichever the header uses (an
    # unreadable file: the reader says what is wrong)
    header_sep, eol = csv_dialect(file)
    delim = sep if sep is not None else (";" if header_sep == ";" else ",")
    try:
        df = pl.read_csv(
            file,
            separator=delim,
            eol_char=eol,
            infer_schema=False,
            encoding="utf8-lossy",
        )
    except (pl.exceptions.PolarsError, OSError) as e:
        raise InputError(f"cannot parse the path table: {e}", file=fname, hint=_HINT) from e
    # rows keep their numbers in the file; empty lines (or separators only) are not rows
    df = df.rename({c: c.strip() for c in df.columns})
    columns = df.columns
    df = df.with_row_index(ROW_COL, offset=1).with_columns(pl.col(ROW_COL).cast(pl.Int64))
    df = df.filter(~blank_line(df.schema))
    _check_columns(columns, fname)
    conv = _numeric(df, CONVERSIONS, fname, required=True)
    value = (
        _numeric(df, VALUE, fname, _LARGEST_VALUE)
        if VALUE in df.columns
        else pl.Series(np.zeros(df.height))
    )
    nulls = _numeric(df, NULLS, fname) if NULLS in df.columns else pl.Series(np.zeros(df.height))
    # normalise separators to " > " (channel names trimmed), then check for blank names
    norm = df[PATH].str.replace_all(r"\s*>\s*", " > ").str.strip_chars()
    empty = (norm.is_null() | (norm == "") | norm.str.contains(r"^>|>$|>\s*>")).fill_null(True)
    if empty.any():
        i = int(empty.arg_true()[0])
        raw = df[PATH][i]
        raise InputError(
            "empty path" if raw is None or not raw.strip() else f"empty channel name in {raw!r}",
            file=fname,
            row=int(df[ROW_COL][i]),
            column=PATH,
            hint="channels are separated by '>' and must not be blank",
        )
    rows = pl.DataFrame(
        {
            "row": df[ROW_COL],
            "path": norm,
            "conv": conv,
            "value": value,
            "nulls": nulls,
        }
    )
    # rows in an order of their own (not the file's): the sums' last bits then do not depend
    # on how the table's rows were ordered (rows that tie are alike)
    rows = rows.sort("path", "conv", "value", "nulls", "row").with_row_index("pid")
    agg = (
        rows.group_by("path", maintain_order=True)
        .agg(
            pl.col("conv").sum(), pl.col("value").sum(), pl.col("nulls").sum(), pl.col("row").min()
        )
        .sort("path")
    )
    bad = agg.filter((pl.col("conv") == 0) & (pl.col("value") > 0))
    if bad.height:
        raise InputError(
            f"path {bad['path'][0]!r} has a conversion value but no conversions",
            file=fname,
            row=int(bad["row"][0]),
            column=VALUE,
            hint="total_conversion_value is the revenue of the path's conversions",
        )
    # one won and one non-converting journey per row, each only if its count is positive
    won = rows.filter(pl.col("conv") > 0).select(
        "pid",
        "path",
        pl.lit(STATUS_WON, pl.Int8).alias("status"),
        pl.col("conv").alias("weight"),
        pl.col("value").alias("amount"),
    )
    lost = rows.filter(pl.col("nulls") > 0).select(
        "pid",
        "path",
        pl.lit(STATUS_NONE, pl.Int8).alias("status"),
        pl.col("nulls").alias("weight"),
        pl.lit(0.0).alias("amount"),
    )
    if won.height + lost.height == 0:
        raise InputError(
            "the path table has no path with conversions or nulls",
            file=fname,
            column=CONVERSIONS,
            hint=_HINT,
        )
    jr = (
        pl.concat([won, lost])
        .sort(["pid", "status"], descending=[False, True])  # by path, won first
        .with_row_index("journey_id")
    )
    parts = jr["path"].str.split(" > ")
    touch_names = parts.explode()
    names = sorted(touch_names.unique().to_list())
    if NONE_CHANNEL in names:
        at = parts.list.contains(NONE_CHANNEL).arg_true()[0]
        raise InputError(
            f"channel name {NONE_CHANNEL!r} is reserved for journeys without touches",
            file=fname,
            row=int(rows.filter(pl.col("pid") == jr["pid"][at])["row"][0]),
            column=PATH,
            hint="rename that channel in the path table",
        )
    channels = (NONE_CHANNEL, *names)
    # Enum physical codes follow ``names`` order; +1 skips (none)
    channel_codes = touch_names.cast(pl.Enum(names)).to_physical().to_numpy()
    lens = parts.list.len().to_numpy()
    n_j = jr.height
    offsets = np.zeros(n_j + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    channel = (channel_codes.astype(np.int64) + 1).astype(np.int32)
    n_c = len(channels)
    dicts = Dictionaries(
        channels=channels,
        is_marketing=np.ones(n_c, dtype=bool),
        is_direct=np.zeros(n_c, dtype=bool),
        campaign_channel=np.arange(n_c, dtype=np.int32),
        campaign_names=tuple(NONE_CAMPAIGN for _ in channels),
    )
    zeros_j = np.zeros(n_j, dtype=np.int64)
    table = jr.select(
        pl.col("journey_id").cast(pl.Int64),
        "path",
        pl.col("status").replace_strict(STATUS_NAMES, return_dtype=pl.String),
    )
    status = jr["status"].to_numpy().astype(np.int8)
    return Journeys(
        offsets=offsets,
        channel=channel,
        campaign=channel.copy(),
        ts=np.zeros(channel.size, dtype=np.int64),
        status=status,
        weight=jr["weight"].to_numpy().astype(np.float64),
        amount=jr["amount"].to_numpy().astype(np.float64),
        end_ts=zeros_j.copy(),
        created_ts=zeros_j.copy(),
        n_created=lens.astype(np.int64),
        lead_pos=np.full(n_j, -1, dtype=np.int64),
        opp_pos=np.full(n_j, -1, dtype=np.int64),
        close_pos=last_touches_of_closed(offsets, status),
        table=table,
        dicts=dicts,
    )
