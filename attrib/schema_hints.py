"""What a table-level schema error says: for a missing column, a close name, the name a common
export gives it, a header read as one column or a report title, a wide spend table to melt;
nested traffic fields to unnest; a column no value of which can be read."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import polars as pl

from attrib.columns import (
    CHANNEL,
    MEDIUM,
    SOURCE,
    TABLE_COLUMNS,
)
from attrib.errors import InputError, SchemaError
from attrib.io import (
    TITLE_LINES,
    file_format,
    is_csv_file,
    loose_name,
    parquet_schema,
    textless_values,
)

#: how common exports name a required column (HubSpot, Salesforce, GA4/BigQuery, ad platforms'
#: cost reports), by (table, canonical column): offered as a did-you-mean when the file has
#: one of them, never mapped without the config saying so
EXPORT_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("touchpoints", "customer_id"): ("Contact ID", "Record ID", "Lead ID", "user_id"),
    ("touchpoints", "ts"): (
        "Timestamp",
        "event_time",
        "Create Date",
        "Created Date",
        "First Responded Date",
        "Activity Date",
    ),
    # HubSpot's and Salesforce's lead source, GA4's channel group, Olist's MQL origin
    ("touchpoints", "channel"): (
        "Original Source",
        "Lead Source",
        "LeadSource",
        "Default channel group",
        "origin",
    ),
    ("deals", "deal_id"): ("Opportunity ID", "Record ID", "Deal ID", "Id"),
    ("deals", "customer_id"): ("Associated Contact IDs", "Contact ID", "ContactId"),
    ("deals", "created_at"): ("Create Date", "Created Date", "CreatedDate"),
    ("deals", "closed_at"): ("Close Date", "CloseDate"),
    ("deals", "status"): ("Deal Stage", "Stage", "StageName", "dealstage"),
    ("stages", "customer_id"): ("Contact ID", "Record ID", "Lead ID"),
    ("stages", "stage"): ("Lifecycle Stage", "lifecyclestage", "Lead Status"),
    ("stages", "ts"): ("Timestamp", "Date", "Changed Date", "Created Date"),
    ("costs", "date"): ("Day", "Date", "Start Date (in UTC)", "Reporting starts", "Cost Month"),
    ("costs", "spend"): (
        "Cost",
        "Spend",
        "Total Spent",
        "Amount spent",
        "Amount spent (USD)",
        "Amount spent (EUR)",
        "Period Cost",
    ),
    ("costs", "channel"): ("Channel", "Source", "Platform"),
}


def _export_name(table: str, column: str, available: list[str]) -> str | None:
    """The first of ``available`` that a common export gives ``column`` (``EXPORT_NAMES``)."""
    known = {loose_name(n) for n in EXPORT_NAMES.get((table, column), ())}
    return next((c for c in available if loose_name(c) in known), None)


def nested_traffic_fields(schema: Mapping[str, pl.DataType], depth: int = 3) -> list[str]:
    """Dotted paths of struct fields named like a touch's channel, source or medium (GA4's
    ``traffic_source.source``, Segment's ``context.campaign.source``, ``utm_medium``)."""
    found: list[str] = []

    def walk(prefix: str, dtype: object, level: int) -> None:
        if not isinstance(dtype, pl.Struct) or level > depth:
            return
        for field in dtype.fields:
            path = f"{prefix}.{field.name}"
            if any(word in loose_name(field.name) for word in (CHANNEL, SOURCE, MEDIUM)):
                found.append(path)
            walk(path, field.dtype, level + 1)

    for name, dtype in schema.items():
        walk(name, dtype, 1)
    return found


def file_schema(file: str | None, read: pl.Schema) -> Mapping[str, pl.DataType]:
    """A Parquet or NDJSON file's whole schema (the run keeps only the columns it uses:
    ``read``), for an error's hint; ``read`` for a CSV (no nested columns) or a frame."""
    if file is None:
        return read
    try:
        kind = file_format(Path(file))
        if kind == "parquet":
            return parquet_schema(Path(file))
        if kind == "ndjson":
            return pl.scan_ndjson(file, infer_schema_length=100).collect_schema()
    except (InputError, OSError, pl.exceptions.PolarsError):
        pass
    return read


#: a column of a wide spend table, one per channel: ``tv_spend``, ``Channel0_spend``,
#: ``search cost``; Robyn's demo data marks spend with an ``_S`` suffix (``tv_S``, ``search_S``)
_PER_CHANNEL_SPEND = re.compile(r"(?i:.+[_ ](?:spend|cost|costs))$|.+_S$")


#: one spend column (Google Ads' ``Cost``, ``spend`` itself): the table is long, not wide
_ONE_SPEND = {"spend", "cost", "costs", "amountspent", "budget"}


#: the date column of a wide spend table, for the melt the hint shows
_DATE_WORDS = ("date", "week", "time", "day", "month", "period", "ds")


def _wide_spend_hint(available: list[str]) -> str | None:
    """How to melt a cost file that holds one spend column per channel (marketing-mix data:
    ``date, tv_S, search_S, ...``) and no ``channel`` or spend column, else None: there is
    no column to map, so the mapping hint would send the user the wrong way."""
    loose = [loose_name(c) for c in available]
    if CHANNEL in loose or _ONE_SPEND & set(loose):
        return None
    spend = [c for c in available if _PER_CHANNEL_SPEND.fullmatch(c)]
    if len(spend) < 2:
        return None
    date = next((c for c, n in zip(available, loose, strict=True) if n in _DATE_WORDS), None)
    index = f'"{date}"' if date is not None else "<the date column>"
    shown = ", ".join(spend[:3]) + (f", ... ({len(spend)} columns)" if len(spend) > 3 else "")
    return (
        f"this looks like a wide spend table, one column per channel ({shown}): melt it into "
        f"date, channel, spend rows first, e.g. pl.read_csv(FILE).unpivot(index={index}, "
        'on=[the spend columns], variable_name="channel", value_name="spend"), then name '
        "each channel as the touches do (README, Wide spend tables)"
    )


def _words(name: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", name.casefold()))


def _guess(table: str, column: str, source: str, available: list[str]) -> str | None:
    """The file's column most likely meant for a missing ``source`` column: the same name
    spelt loosely, one whose words hold its name ('Amount (USD)' for amount), an export's own
    name for it, or a close one. Never a column the table reads under its own name
    ('account_id' is no amount)."""
    others = {c for c in (*TABLE_COLUMNS[table][0], *TABLE_COLUMNS[table][1]) if c != column}
    free = [c for c in available if c not in others]
    loose = [c for c in free if loose_name(c) == loose_name(source)]
    want = _words(source)
    holding = sorted((c for c in free if want <= _words(c)), key=lambda c: len(_words(c)))
    found = loose[:1] or holding[:1]
    if found:
        return found[0]
    return _export_name(table, column, free) or next(
        iter(difflib.get_close_matches(source, free, n=1)), None
    )


def confident_guess(table: str, column: str, available: list[str]) -> str | None:
    """A file's column that is surely ``column`` under another name (the same words, or an
    export's name for it; not merely a close spelling), for a hint to map it too."""
    guess = _guess(table, column, column, available)
    if guess is None or (
        loose_name(guess) != loose_name(column)
        and not _words(column) <= _words(guess)
        and guess != _export_name(table, column, available)
    ):
        return None
    return guess


def config_lines(table: str, lines: Sequence[str]) -> str:
    """The config a hint tells to write, after its "in the config:": one line inline
    (`` [columns.deals] amount = "Amount"``), several as a ``[table]`` block of a line each,
    which pastes into channels.toml as it is (lines joined with ";" are no TOML)."""
    if len(lines) == 1:
        return f" [{table}] {lines[0]}"
    return "".join(f"\n      {line}" for line in (f"[{table}]", *lines)) + "\n   "


def missing_column_error(
    table: str,
    column: str,
    source: str,
    available: list[str],
    file: str | None,
    also: Sequence[tuple[str, str]] = (),
    required: bool = True,
    maps_too: Sequence[tuple[str, str]] = (),
    alternative: str | None = None,
) -> SchemaError:
    """The canonical ``column``, read from the file's ``source`` column, is not in the file;
    ``also``: the table's other missing columns (column, source), named in the same message
    so that a user maps them all in one go instead of one per run. ``required``: whether all
    are required (else some are optional columns the config maps to a column not there).
    ``maps_too``: optional columns (column, the file's column for it) the hint maps as well
    ('Close Date' for closed_at, or every won deal is rejected after the fix).
    ``alternative``: another way to give the columns, said after the mapping."""
    if any("\x00" in c or "\ufffd" in c for c in available):  # UTF-16 read as UTF-8
        return SchemaError(
            f"required column {column!r} is missing: the header is not UTF-8 text",
            file=file,
            column=source,
            hint="save the file as UTF-8 (it looks like UTF-16: spreadsheet 'Unicode text')",
        )
    marked = [c.lstrip("\ufeff") for c in available if c.startswith("\ufeff")]
    if marked and marked[0] in {s for _, s in [(column, source), *also]}:
        return SchemaError(
            f"required column {marked[0]!r} is missing: the header starts with a second"
            " byte-order mark (U+FEFF), read as part of its first name",
            file=file,
            column=source,
            hint="remove the stray mark: save the file as UTF-8 once more (a tool that adds"
            " a mark to text that has one wrote it twice)",
        )
    pairs = [(column, source), *also]
    guesses = [_guess(table, c, s, available) for c, s in pairs]
    # a mapping from a missing column to one the file has under the canonical name is to
    # remove (mapped, the hint said amount = "amount"); the others to map
    removed = [s != c and c in available for c, s in pairs]
    guess = guesses[0]
    hint = f"did you mean {guess!r}? " if guess is not None and not removed[0] else ""
    if len(available) == 1 and any(sep in available[0] for sep in (";", "\t", "|")):
        hint = "the header was read as one column: is the file separated by ';', tab or '|'? "
    elif len(available) == 1 and guess is None and is_csv_file(file):  # (a title: text only)
        hint = f"the header is one column, {available[0][:60]!r}: {TITLE_LINES}; else "
    found = f"(columns found: {', '.join(available) or 'none'})"
    if table == "costs" and (wide := _wide_spend_hint(available)) is not None:
        hint = f"{wide} {found}"  # no column to map: the spend is one column per channel
    else:
        steps = zip(pairs, guesses, removed, strict=True)
        lines = [f'{c} = "{g or "<your column>"}"' for (c, _), g, r in steps if not r]
        lines += [f'{c} = "{g}"' for c, g in maps_too]
        remove = [
            f'{c} = "{s}" (the file has {c!r} itself)'
            for (c, s), r in zip(pairs, removed, strict=True)
            if r
        ]
        parts = [f"remove [columns.{table}] {'; '.join(remove)}"] if remove else []
        if lines:
            them = "them" if len(lines) > 1 else "it"
            parts.append(f"map {them} in the config:{config_lines(f'columns.{table}', lines)}")
        text = "; ".join(parts)
        if alternative:  # (after a config block, on a line of its own)
            text += f"{' ' if text.endswith(chr(10) + '   ') else '; '}{alternative}"
        hint += f"{text} {found}"
    named = [repr(c) if c == s else f"{s!r} (mapped to {c})" for c, s in pairs]
    plural = f"s {', '.join(named)} are" if also else f" {named[0]} is"
    what = "required column" if required else "column"
    return SchemaError(f"{what}{plural} missing", file=file, column=source, hint=hint)


def unreadable_column(
    frame: pl.LazyFrame, column: str, dtype: pl.DataType
) -> tuple[str, str] | None:
    """(what the column holds, how to export it) when no value of a column of this type can
    be read as text, a number or a timestamp; None when it can."""
    if (textless := textless_values(dtype)) is not None:
        return textless
    if dtype == pl.Binary and not _utf8(frame, column):  # text bytes are read as text
        return "bytes that are not UTF-8 text", "export the column as text (UTF-8)"
    return None


def unreadable_column_error(
    frame: pl.LazyFrame, column: str, dtype: pl.DataType, source: str, file: str | None
) -> SchemaError | None:
    """The error of a column (read from the file's ``source``) no value of which can be
    read (``unreadable_column``), naming the file and the column; None when it can be."""
    if (unreadable := unreadable_column(frame, column, dtype)) is None:
        return None
    what, hint = unreadable
    return SchemaError(f"column {source!r} holds {what}", file=file, column=source, hint=hint)


def _utf8(frame: pl.LazyFrame, column: str) -> bool:
    """Whether a Binary column's values are all UTF-8 text (only such columns pay the cast)."""
    try:
        frame.select(pl.col(column).cast(pl.String)).collect()
    except pl.exceptions.ComputeError:
        return False
    return True
