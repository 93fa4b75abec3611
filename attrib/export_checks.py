"""Warnings read off the exports themselves: a column named otherwise, numbers written in
another locale, several currencies, ids written as a missing value, cost rows covering
several days, channels written two ways. Each reads the config, a file's header, one column
of the small deals and costs files or the touches' distinct channels, never the touch rows.
A table given as a frame (the Python API) is read as its file would be."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from attrib.columns import ACCOUNT_ID, CAMPAIGN, CHANNEL, CUSTOMER_ID, DEAL_ID
from attrib.errors import InputError
from attrib.io import FILE_COL, ROW_COL, file_columns, file_format, loose_name, scan_file

if TYPE_CHECKING:
    from attrib.config import RunConfig
    from attrib.inputs import Inputs


def quoted_names(values: list[str], limit: int = 5) -> str:
    """Up to ``limit`` values quoted and joined, then how many more."""
    shown = ", ".join(repr(v) for v in values[:limit])
    return shown + (f" and {len(values) - limit} more" if len(values) > limit else "")


def _source(config: RunConfig, table: str, column: str) -> str | None:
    """The file column a table's ``column`` is read from (None: a ``[constants]`` value)."""
    if column in config.constants.get(table, {}):
        return None
    return config.source_column(table, column)


@dataclass(frozen=True)
class _Export:
    """One export of a table: a file (whose columns these checks read again), or a frame
    given to the Python API (``Inputs.frames``), named as its quarantine rows name it."""

    name: str
    frame: pl.DataFrame | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        if self.frame is None:  # (a Spark engine's folder or URI: no columns, skipped)
            return file_columns(Path(self.name))
        return tuple(c for c in self.frame.columns if c not in (ROW_COL, FILE_COL))

    def is_text(self, column: str) -> bool:
        """Whether ``column`` holds numbers written as text: a CSV file's, a frame's strings
        (or categories of text, which are read as their text)."""
        if self.frame is None:
            return file_format(Path(self.name)) == "csv"
        dtype = self.frame.schema.get(column)
        return dtype == pl.String or isinstance(dtype, pl.Categorical | pl.Enum)

    def read(self, *exprs: pl.Expr) -> pl.DataFrame | None:
        """``exprs`` over the export's rows; None when it cannot be read (the reader said why)."""
        if self.frame is None:
            return _read_back(Path(self.name), *exprs)
        try:
            return self.frame.select(*exprs)
        except pl.exceptions.PolarsError:
            return None


def _exports(
    files: Mapping[str, list[str]], frames: Mapping[str, pl.DataFrame], table: str
) -> list[_Export]:
    """A table's exports: its files, or the frame it was given as (a Spark run's frame of a
    source's files, one export per file its rows name)."""
    from attrib.inputs import frame_label

    exports = [_Export(name) for name in files.get(table, [])]
    if (frame := frames.get(table)) is None:
        return exports
    if FILE_COL not in frame.columns or frame.height == 0:
        return [*exports, _Export(frame_label(table), frame)]
    parts = frame.partition_by(FILE_COL, as_dict=True, maintain_order=True)
    return exports + [_Export(str(name[0]), part) for name, part in parts.items()]


def campaign_lookalikes(
    files: Mapping[str, list[str]],
    config: RunConfig,
    frames: Mapping[str, pl.DataFrame] | None = None,
) -> list[str]:
    """A touch or cost file without the campaign column but with one named like it
    (``utm_campaign``, ``Campaign Name``): every campaign of it is then ``(none)``, and
    nothing else would say so. One warning per table, naming the first such file and
    offering a name column (``Campaign Name``) before an id (``Campaign ID``)."""
    found = []
    for table, rows in (("touchpoints", "touch"), ("costs", "cost row")):
        if (source := _source(config, table, CAMPAIGN)) is None:
            continue
        for export in _exports(files, frames or {}, table):
            columns = export.columns
            alike = [c for c in columns if CAMPAIGN in loose_name(c)]
            alike.sort(key=lambda c: loose_name(c).endswith("id"))  # a name before an id
            if source not in columns and alike:
                found.append(
                    f"{export.name}: no {source!r} column, so each {rows}'s campaign is (none);"
                    f" {alike[0]!r} is named like it: map it under [columns.{table}]"
                    f' (campaign = "{alike[0]}") if it holds the campaign'
                )
                break
    return found


def replaced_columns(
    files: Mapping[str, list[str]],
    config: RunConfig,
    frames: Mapping[str, pl.DataFrame] | None = None,
) -> list[str]:
    """A ``[constants.<table>]`` value for a column the export has: the constant replaces
    every value of it (``status = "won"`` over a status column makes every deal won), though
    constants are meant for the columns an export lacks. One warning per constant, naming the
    first export that has the column (under its ``[columns]`` name, if mapped)."""
    found = []
    for table, constants in config.constants.items():
        for column, value in constants.items():
            source = config.source_column(table, column)
            for export in _exports(files, frames or {}, table):
                if source in export.columns:
                    found.append(
                        f"{export.name}: its own {source!r} column is not read: [constants."
                        f"{table}] {column} = {value!r} replaces every value of it (a constant"
                        " is for a column the export lacks); remove the constant to read the"
                        " column"
                    )
                    break
    return found


#: a number written with a point before a group of exactly three digits ("12.500", "1.250"):
#: a European-locale thousands separator, or a value with three decimals (two such points,
#: "1.250.000", make no number: the validator rejects it)
_DOTTED_THOUSANDS = r"^-?[1-9][0-9]{0,2}\.[0-9]{3}$"


#: a number whose point can only be a decimal point ("98.10", "0.5", "1234.5"), or one of
#: 1,000 or more written without a thousands point ("35100"): either says the file's points
#: are decimal points
_DECIMAL_POINT = (
    r"^-?[0-9]*\.([0-9]{1,2}|[0-9]{4,})$|^-?[0-9]{4,}\.[0-9]+$|^-?0\.[0-9]+$|^-?[1-9][0-9]{3,}$"
)


def _read_back(path: Path, *exprs: pl.Expr) -> pl.DataFrame | None:
    """``exprs`` over a (small) input file read again, for the warnings that look at one or
    two of its columns; None when it cannot be read (the reader has said why)."""
    try:
        return scan_file(path).select(*exprs).collect()
    except (pl.exceptions.PolarsError, OSError, InputError):
        return None


def _day_of(column: str) -> pl.Expr:
    """A date column's day, from its first ten characters (null where they are no ISO date)."""
    text = pl.col(column).cast(pl.String).str.strip_chars().str.slice(0, 10)
    return text.str.to_date("%Y-%m-%d", strict=False)


def dotted_thousands(
    files: Mapping[str, list[str]],
    config: RunConfig,
    frames: Mapping[str, pl.DataFrame] | None = None,
) -> list[str]:
    """A CSV amount or spend column whose values are written like ``12.500`` and none with a
    point that can only be a decimal one, nor a number of 1,000 or more without a point
    (``35100``: the file groups no thousands): a spreadsheet in a European locale writes 12,500
    so, and it is read as 12.5 without a word (values with a decimal comma are rejected,
    these are not). One warning per table, naming the first such file. Reads the one
    column of the deals' and costs' CSV files again (small tables; text only: a typed
    column holds numbers, not text)."""
    found = []
    for table, column in (("deals", "amount"), ("costs", "spend")):
        if (source := _source(config, table, column)) is None:
            continue
        for export in _exports(files, frames or {}, table):
            if source not in export.columns or not export.is_text(source):
                continue
            value = pl.col(source).cast(pl.String).str.strip_chars()
            dotted = value.str.contains(_DOTTED_THOUSANDS)
            read = export.read(
                dotted.sum().alias("dotted"),
                value.str.contains(_DECIMAL_POINT).sum().alias("decimal"),
                value.filter(dotted).first().alias("v"),
            )
            if read is None:
                continue
            counts = read.row(0, named=True)
            if counts["dotted"] and not counts["decimal"]:
                example = counts["v"]
                found.append(
                    f"{export.name}: {counts['dotted']} {column} value(s) written like"
                    f" {example!r}"
                    f" (a point before exactly three digits) and none that must be a decimal"
                    f" point (like '98.10'): they are read as"
                    f" {float(example):g}; if the point separates"
                    " thousands (a spreadsheet in a European locale), export the numbers"
                    f" without it ({example.replace('.', '')})"
                )
                break
    return found


def spelling(name: str) -> str:
    """A name as its case and spacing aside: ``Paid  Search`` and ``paid search`` alike."""
    return " ".join(name.casefold().split())


def channel_variants(
    touch_channels: Sequence[str],
    fix: str = "write each channel one way in the export (or derive channels with [[rules]],"
    " which name them once)",
) -> str | None:
    """Touch channels whose names differ only in case or spacing ('Display', 'display'):
    credited apart, each with part of one channel's touches, and spend matches only one.
    ``fix``: what to do about it."""
    alike: dict[str, list[str]] = {}
    for name in touch_channels:
        alike.setdefault(spelling(name), []).append(name)
    groups = sorted(sorted(g) for g in alike.values() if len(g) > 1)
    if not groups:
        return None
    shown = "; ".join(" / ".join(repr(n) for n in g) for g in groups[:5])
    more = f" and {len(groups) - 5} more" if len(groups) > 5 else ""
    return (
        f"{len(groups)} channel(s) written more than one way (case or spaces), each way "
        f"credited as a channel of its own: {shown}{more}; {fix}"
    )


def config_channel_variants(declared: Sequence[str], touch_channels: Sequence[str]) -> str | None:
    """``[channels."..."]`` entries that name a touch channel in another case or spacing
    (``direct`` for the touches' ``Direct``): names match exactly, so their flags (``direct``,
    ``marketing``) apply to no touch, and last_non_direct or the sourced shares silently
    ignore them. An entry no touch has in any spelling (offline ``TV``) is fine."""
    exact = set(touch_channels)
    by_loose = {spelling(c): c for c in touch_channels}
    fixes = [
        f"{name!r} -> {by_loose[key]!r}"
        for name in declared
        if name not in exact and (key := spelling(name)) in by_loose
    ]
    if not fixes:
        return None
    return (
        f"{len(fixes)} [channels] entry(ies) of the config name a touch channel written "
        f"another way, so their flags apply to no touch: {', '.join(fixes[:5])}; names must "
        "match the touches' exactly (case included)"
    )


#: a value written as a currency: an ISO 4217 code (``EUR``) or a currency sign (``€``)
_CURRENCY = r"^([A-Z]{3}|\p{Sc})$"


def mixed_currencies(
    files: Mapping[str, list[str]], frames: Mapping[str, pl.DataFrame] | None = None
) -> list[str]:
    """A deals or costs export with a currency column (Salesforce's ``Amount Currency``, ad
    platforms' ``Currency code``) holding more than one currency: attrib adds the amounts as
    they are, so 12,500 EUR and 30,000 USD made 42,500. One warning per table. Reads that
    one column of the files again (small tables). Only values written as a currency count:
    HubSpot's ``Amount in company currency`` holds amounts, not currencies."""
    found = []
    for table in ("deals", "costs"):
        seen: dict[str, set[str]] = {}  # currency column -> its values, over the files
        for export in _exports(files, frames or {}, table):
            for column in (c for c in export.columns if "currency" in loose_name(c)):
                code = pl.col(column).cast(pl.String).str.strip_chars().str.to_uppercase()
                read = export.read(code.filter(code.str.contains(_CURRENCY)).unique())
                if read is not None:
                    seen.setdefault(column, set()).update(read.to_series().to_list())
        for column, currencies in seen.items():
            if len(currencies) > 1:
                shown = ", ".join(sorted(currencies)[:5])
                found.append(
                    f"{table}: column {column!r} holds {len(currencies)} currencies ({shown}):"
                    " their amounts are added as they are; convert them to one currency in"
                    " the export, or run each currency apart"
                )
                break
    return found


def several_customers_per_deal(inputs: Inputs) -> str | None:
    """Deals whose customer_id lists several contacts (HubSpot's ``Associated Contact IDs``:
    ``105;106``): such a deal matches no touch of either contact, and is credited to
    ``(none)`` with only the zero-touch count to show for it. (By the deals alone, which
    every engine holds: a ';' is no part of a CRM's ids.) Not at account level, where a deal
    joins its account's journey whatever its customer_id says."""
    if inputs.config.level == "account":
        return None
    if CUSTOMER_ID not in inputs.deals.columns or inputs.deals.schema[CUSTOMER_ID] != pl.String:
        return None
    ids = inputs.deals.get_column(CUSTOMER_ID)
    listed = ids.filter(ids.str.contains(";", literal=True)).unique(maintain_order=True)
    if listed.is_empty():
        return None
    return (
        f"{listed.len()} deal customer id(s) list several contacts"
        f" ({quoted_names(listed.to_list())}):"
        " such a deal matches the touches of no contact and is credited to (none); give each"
        " deal one customer_id in the export (e.g. its primary contact)"
    )


#: how exports write a missing value as text (SQL's NULL, Excel's #N/A, pandas' nan and
#: None, JavaScript's undefined, GA's (not set)): matched in any case, spaces aside
PLACEHOLDERS = frozenset(
    ("null", "nil", "none", "nan", "n/a", "#n/a", "-", "--", "(not set)", "not set", "(null)")
)
PLACEHOLDERS |= {"(blank)", "(empty)", "undefined"}


def _placeholders(values: pl.Series) -> list[str]:
    """The values of a (small) text column that are a missing value written as text."""
    if values.dtype != pl.String:
        return []
    found = values.filter(values.str.strip_chars().str.to_lowercase().is_in(PLACEHOLDERS))
    return sorted(found.unique().to_list())


#: what to do about a touch channel named as a missing value, in an export of touches
_NAME_THE_TRAFFIC = (
    "leave the channel empty in the export (the row is rejected), or name the traffic (with"
    " [[rules]], touches no rule matches are (unassigned))"
)


def placeholder_channels(touch_channels: Sequence[str], fix: str = _NAME_THE_TRAFFIC) -> str | None:
    """Touch channels named as a missing value in words (``NULL``, ``(not set)``): credited
    as a channel of their own; None without such a name. ``fix``: what to do about it."""
    channels = [c for c in touch_channels if spelling(c) in PLACEHOLDERS]
    if not channels:
        return None
    return (
        f"touch channel(s) {quoted_names(channels)} are a missing value written as text, and"
        f" are credited as channels of their own: {fix}"
    )


#: channel names that say the traffic's source is not known (Olist's ``unknown`` and
#: ``other`` origins, GA4's ``Unassigned`` group): marketing unless declared, as every unlisted
#: channel is, where attrib's own ``(unassigned)`` is not
UNCLASSIFIED = frozenset(
    ("unknown", "(unknown)", "other", "(other)", "others", "unassigned", "unclassified", "misc")
)


def unclassified_channels(touch_channels: Sequence[str], declared: Sequence[str]) -> str | None:
    """Touch channels named as traffic of no known source that ``[channels]`` does not
    declare: counted as marketing, they raise the marketing-sourced share (99% on Olist, a
    fifth of it ``unknown``) without a word; None without such a channel."""
    listed = {spelling(name) for name in declared}
    channels = [
        c for c in touch_channels if spelling(c) in UNCLASSIFIED and spelling(c) not in listed
    ]
    if not channels:
        return None
    return (
        f"touch channel(s) {quoted_names(channels)} name no known source and count as"
        " marketing, as does every channel that [channels] does not list: if that traffic is not"
        f' marketing, say so, e.g. [channels."{channels[0]}"] marketing = false'
    )


def placeholder_values(inputs: Inputs, touch_channels: Sequence[str]) -> list[str]:
    """Ids and channels written as a missing value in words (``NULL``, ``N/A``, ``-``,
    ``(not set)``, ``undefined``): each is read as a real id or name, so the deals whose
    customer_id is ``NULL`` all share one customer (and take the touches of every visitor
    whose id is ``NULL``), and a ``N/A`` channel is credited as a channel. Only an empty
    value is missing. By the small tables (deals, costs) and the touches' distinct
    channels, which every engine holds; not the touch rows themselves."""
    channels = placeholder_channels(touch_channels)
    found = [channels] if channels is not None else []
    tables = (
        ("deals", inputs.deals, (DEAL_ID, CUSTOMER_ID, ACCOUNT_ID)),
        # (not the costs' campaign: GA writes "(not set)" in touches and cost imports alike,
        # and the two must match)
        ("costs", inputs.costs, (CHANNEL,)),
    )
    for table, frame, columns in tables:
        for column in columns:
            if frame is None or column not in frame.columns:
                continue
            if not (values := _placeholders(frame.get_column(column))):
                continue
            what = {
                DEAL_ID: "read as a real deal id",
                CUSTOMER_ID: "read as a real id: the deals written so are one customer's, and"
                " take the touches of every visitor whose id is written so",
                ACCOUNT_ID: "read as a real id: the deals written so are one account's",
            }.get(column, "read as a name of its own")
            found.append(
                f"{table}: {column} holds {quoted_names(values)}, a missing value written as text,"
                f" {what}; leave it empty in the export"
            )
    return found


#: a cost report's column for the last day each row covers (Meta's ``Reporting ends`` and
#: ``date_stop``, ``End Date``, ``Week ending``), by ``loose_name``'s start; not Meta's
#: ``Ends``, a campaign's scheduled end
_ROW_END_COLUMNS = ("reportingend", "enddate", "dateend", "datestop", "periodend", "weekending")


def multi_day_cost_rows(
    files: Mapping[str, list[str]],
    config: RunConfig,
    frames: Mapping[str, pl.DataFrame] | None = None,
) -> list[str]:
    """Cost rows that cover several days, as their file's end column says (an ad platform's
    report of a campaign's whole period: ``Reporting starts`` 2025-01-01, ``Reporting ends``
    2025-03-31): a row is counted on its date's day, or its month when dated on a 1st, so a
    quarter's spend all fell in January, and a window from February counted none of it.
    Rows whose end is their date, or the last day of their 1st's month, are what the run
    reads them as. Reads two columns of the cost files again (a small table)."""
    found: list[str] = []
    if (source := _source(config, "costs", "date")) is None:
        return found
    for export in _exports(files, frames or {}, "costs"):
        columns = export.columns
        ends = [c for c in columns if c != source and loose_name(c).startswith(_ROW_END_COLUMNS)]
        if source not in columns or not ends:
            continue
        start, end = _day_of(source), _day_of(ends[0])
        covered = (end <= start) | ((start.dt.day() == 1) & (end <= start.dt.month_end()))
        spans = export.read(start.filter(~covered), end.filter(~covered))
        if spans is not None and spans.height:
            spans.columns = ["start", "end"]
            first = spans.row(0, named=True)
            found.append(
                f"{export.name}: {spans.height} cost row(s) cover more than the day (or, dated on a"
                f" 1st, the month) they are counted in, as column {ends[0]!r} says (e.g."
                f" {first['start']} to {first['end']}): each row's spend is counted on its"
                f" {source!r} alone, so a window or month after it gets none of it; export"
                " one row per day or month (ad platforms: a breakdown by day)"
            )
    return found


def micro_units(config: RunConfig) -> list[str]:
    """Spend or amounts mapped from a column in millionths (the Google Ads API's
    ``metrics.cost_micros``): read as they are, they are a million times too large."""
    return [
        f"[columns.{table}] {column} = {source!r}: a column in micros holds millionths of the"
        " currency, so every value is read a million times too large; divide it by 1,000,000"
        " in the export"
        for table, column in (("costs", "spend"), ("deals", "amount"))
        if (source := _source(config, table, column)) is not None and "micros" in loose_name(source)
    ]
