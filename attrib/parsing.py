"""What one column's value means: the typed value of a raw input column and the reasons it
is invalid (``Reason``), as Polars expressions over whole columns. Timestamps (ISO 8601, the
timezone-mixing rule), numbers, ids, deal statuses and stage names; ``attrib.schema`` applies
them table by table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import polars as pl

from attrib.columns import CANONICAL_STAGES, STAGE, STATUS, TS_YEARS
from attrib.io import as_export_text

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

    from attrib.config import RunConfig

_STATUS_SYNONYMS = {
    "open": "open",
    "inprogress": "open",
    "pipeline": "open",
    # the open stages of the CRMs' default deal pipelines (HubSpot's internal names and
    # labels, Salesforce's opportunity stages): a deal in any of them is not closed yet
    **dict.fromkeys(
        (
            "appointmentscheduled",
            "qualifiedtobuy",
            "presentationscheduled",
            "decisionmakerboughtin",
            "contractsent",
            "prospecting",
            "qualification",
            "needsanalysis",
            "valueproposition",
            "iddecisionmakers",
            "perceptionanalysis",
            "proposalpricequote",
            "negotiationreview",
            "identifydecisionmakers",  # Zoho CRM's default stages (the rest are Salesforce's)
        ),
        "open",
    ),
    "won": "won",
    "closedwon": "won",
    "win": "won",
    "lost": "lost",
    "closedlost": "lost",
    "closedlosttocompetition": "lost",  # Zoho CRM's "Closed-Lost to Competition"
    "loss": "lost",
}
#: stage names CRMs export, by canonical stage (HubSpot's lifecycle stages, Salesforce's
#: "Closed Won" and "Proposal"); each is also matched with its words joined by nothing, "_"
#: or "-" (HubSpot's internal "marketingqualifiedlead"), in any case. ``[stages]`` comes first.
_STAGE_SYNONYMS = {
    "session": ("session", "visit"),
    "lead": ("lead", "new lead"),
    "mql": ("mql", "marketing qualified lead", "marketing qualified"),
    "sql": ("sql", "sales qualified lead", "sales qualified"),
    "opportunity": ("opportunity", "opp", "sales opportunity"),
    "offer": ("offer", "proposal", "quote"),
    "customer": ("customer", "closed won", "won"),
}
#: last words that are no noun, so take no plural ("Closed Won", "Marketing Qualified")
_NO_PLURAL = ("won", "qualified")


def _plural(name: str) -> str:
    """A stage name's plural as CRMs' reports head their columns ("Sales Opportunities")."""
    if name.endswith("y") and name[-2:-1] not in "aeiou":
        return name[:-1] + "ies"
    return name + "s"


def _with_plurals(names: tuple[str, ...]) -> tuple[str, ...]:
    plurals = (_plural(n) for n in names if n.split()[-1] not in _NO_PLURAL)
    return (*names, *plurals)


def stage_spellings(names: dict[str, str]) -> dict[str, str]:
    """Stage names (lower-cased) -> stage, each also with its words joined by nothing, "_"
    or "-": the built-in names and the config's ``[stages]`` keys are matched alike. A name
    as given wins over another's spelling (``closed_won`` over ``Closed Won``'s)."""
    spelled = {
        sep.join(name.split()): stage
        for name, stage in names.items()
        for sep in (" ", "", "_", "-")
    }
    return {**spelled, **names}


BUILTIN_STAGE_NAMES = stage_spellings(
    {name: stage for stage, names in _STAGE_SYNONYMS.items() for name in _with_plurals(names)}
)
#: the stage an unknown name's words suggest, for its rejection's [stages] line (first match
#: wins: "Marketing Qualified Prospect" is an mql, not a lead)
_STAGE_GUESSES = (
    ("market|mql", "mql"),
    ("sales.?qual|sql|accepted", "sql"),
    ("opp|deal|pipeline", "opportunity"),
    ("propos|quot|offer|negotiat|contract", "offer"),
    ("won|customer|client|closed|signed|paid", "customer"),
    ("visit|session|view|subscri|visitor", "session"),
)
# a UTC offset after the time of day: Z, UTC, ±hh, ±hhmm or ±hh:mm (ISO 8601), optionally spaced
OFFSET_PATTERN = r"(\d\d:\d\d(?::\d\d(?:\.\d+)?)?)\s*(Z|z|UTC|utc|[+-]\d\d(?::?\d\d)?)$"
_TS_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def _out_of_range(column: str, text: pl.Expr, value: pl.Expr) -> Reason:
    """Why a parsed timestamp (Datetime or Date; ``text``: as given) lies outside
    ``TS_YEARS``. (Compared with the bounds as times: a year per row costs 8x more.)"""
    first, last = TS_YEARS
    bounds = datetime(first, 1, 1), datetime(last + 1, 1, 1)
    return reason_if(
        ~value.is_between(*bounds, closed="left"),
        pl.format(
            "{} {} is outside the years {}-{} (a placeholder date? leave it empty or give "
            "the real one)",
            pl.lit(column),
            text.str.slice(0, 40),
            pl.lit(first),
            pl.lit(last),
        ),
    )


def _as_text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


@dataclass(frozen=True)
class Reason:
    """Why a value breaks a rule: (condition, message) cases, the first that holds wins.

    ``flag()`` (does any case hold) is cheap to evaluate over every row; ``message()`` builds
    the text, which ``validate`` only does for the rows a flag marked.
    """

    cases: tuple[tuple[pl.Expr, pl.Expr], ...] = ()

    def __add__(self, other: Reason) -> Reason:
        return Reason(self.cases + other.cases)

    def flag(self) -> pl.Expr:
        """True where a case holds (a null condition does not)."""
        if not self.cases:
            return pl.lit(False)
        return pl.any_horizontal([cond.fill_null(False) for cond, _ in self.cases])

    def message(self) -> pl.Expr:
        """The first holding case's message, else null."""
        if not self.cases:
            return pl.lit(None, dtype=pl.String)
        (cond, text), *rest = self.cases
        expr: Then | ChainedThen = pl.when(cond).then(text)
        for cond, text in rest:
            expr = expr.when(cond).then(text)
        return expr


def reason_if(cond: pl.Expr, message: pl.Expr | str) -> Reason:
    return Reason(((cond, pl.lit(message) if isinstance(message, str) else message),))


#: why a column's value is invalid, from its raw and its parsed value (column expressions)
Why = Callable[[pl.Expr, pl.Expr], Reason]


def _never(raw: pl.Expr, value: pl.Expr) -> Reason:
    return Reason()


def _offset(text: pl.Expr) -> pl.Expr:
    return text.str.extract(OFFSET_PATTERN, 2)


#: timezone-mixing codes (``mixing_code``): which rows of a column that mixes timezone-aware
#: and naive text are rejected (the less common kind, so one stray row cannot reject a whole
#: export)
MIXED_NONE, MIXED_REJECT_NAIVE, MIXED_REJECT_AWARE = 0, 1, 2


def mixing_code(n_aware: int, n_naive: int) -> int:
    """The mixing code of a column with these counts of aware and naive values: the rule,
    for every engine (the less common kind is rejected, the naive rows on a tie)."""
    if not (n_aware and n_naive):
        return MIXED_NONE
    return MIXED_REJECT_AWARE if n_aware < n_naive else MIXED_REJECT_NAIVE


def mixing_counts(column: str) -> tuple[pl.Expr, pl.Expr]:
    """How many of a text timestamp column's values carry an offset (aware) and how many do
    not (naive; a blank is a missing value, neither; so is a date, which has no time of day
    for a zone to apply to)."""
    text = pl.col(column).str.strip_chars()
    aware = _offset(text).is_not_null()
    return aware.sum().alias(f"{column}:aware"), _naive(text).sum().alias(f"{column}:naive")


#: the length of a date written YYYY-MM-DD
DATE_CHARS = 10


def _is_date(text: pl.Expr) -> pl.Expr:
    """Stripped timestamp text that is a day without a time (``YYYY-MM-DD``)."""
    return text.str.len_chars() == DATE_CHARS


def _naive(text: pl.Expr) -> pl.Expr:
    """Stripped timestamp text of the naive kind for the mixing rule: no offset, not blank,
    not a date (a date has no time of day for a zone to apply to)."""
    return _offset(text).is_null() & (text != "") & ~_is_date(text)


#: what an unparsed timestamp text looks like (regex, words): a hint for the message only
_UNPARSED_KINDS = (
    (
        r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}\b",
        "a day-first or US date (attrib does not guess which order a file uses)",
    ),
    (r"^\d{8}$", "a date without separators, YYYYMMDD as GA4's event_date"),
    (
        r"^\d{9,10}(\.\d+)?$|^\d{12,13}$|^\d{15,16}$|^\d{18,19}$",
        "an epoch number? seconds, ms or µs since 1970, as GA4's event_timestamp: convert it "
        "in the export, in BigQuery with TIMESTAMP_MICROS(event_timestamp)",
    ),
    (
        r"^\d{5}(\.\d+)?$",
        "an Excel serial day number? format the cells as yyyy-mm-dd hh:mm:ss before saving",
    ),
    (r"^\d{4}-\d{1,2}$", "a month? write its first day, 2025-01-01"),
)


def _unparsed_kind(text: pl.Expr) -> pl.Expr:
    """': what ``text`` looks like ' for an unparsed timestamp text of a known kind, else
    ' ' (message text only: computed for rejected rows)."""
    expr: Then | ChainedThen = pl.when(pl.lit(False)).then(pl.lit(" "))
    for pattern, words in _UNPARSED_KINDS:
        expr = expr.when(text.str.contains(pattern)).then(pl.lit(f": {words} "))
    return expr.otherwise(pl.lit(" "))


def parse_timestamp(
    column: str,
    dtype: pl.DataType,
    *,
    mixed: pl.Expr | None = None,
    required: bool = True,
    local: bool = False,
) -> tuple[pl.Expr, Why]:
    """(UTC-naive Datetime[us] value, why-invalid) for a timestamp column of any dtype.

    ``mixed``: the whole column's ``mixing_code`` (``mixing_facts``); none given: no mixing
    rule. Blank text is "empty" when ``required``, else a missing value. ``local``: the
    wall-clock time as written, its offset or zone dropped instead of applied (a cost row's
    day is the calendar day its export names, not that day's midnight moved to UTC); zoned
    and naive values may then mix.
    """
    col = pl.col(column)

    def in_range(raw: pl.Expr, value: pl.Expr) -> Reason:  # a typed column's one rule
        text = raw.dt.to_string("%Y-%m-%d %H:%M:%S") if dtype != pl.Date else _as_text(raw)
        return _out_of_range(column, text, value)

    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone:
            to_utc = col if local else col.dt.convert_time_zone("UTC")
            value = to_utc.dt.replace_time_zone(None)
        else:
            value = col
        return value.dt.cast_time_unit("us"), in_range
    if dtype == pl.Date:
        return col.cast(pl.Datetime("us")), in_range
    if dtype != pl.String:

        def not_a_timestamp(raw: pl.Expr, value: pl.Expr) -> Reason:
            hint = (
                " (epoch seconds, ms or µs? convert them to a timestamp type in the export,"
                " e.g. BigQuery TIMESTAMP_MICROS(event_timestamp) or Polars pl.from_epoch)"
                if dtype.is_integer() or dtype.is_float()
                else ""
            )
            bad = pl.format(
                "{} is a {} value, not a timestamp{}",
                pl.lit(column),
                pl.lit(str(dtype)),
                pl.lit(hint),
            )
            return reason_if(raw.is_not_null(), bad)

        return pl.lit(None, dtype=pl.Datetime("us")), not_a_timestamp
    text = col.str.strip_chars()
    naive_text = text.str.replace(OFFSET_PATTERN, "${1}").str.replace("T", " ")
    parsed = pl.coalesce(
        [
            naive_text.str.strptime(pl.Datetime("us"), f, strict=False, exact=True)
            for f in _TS_FORMATS
        ]
    )
    offset = _offset(text)
    digits = offset.str.replace(":", "")  # "+0530" or "+02"
    minutes = pl.when(offset.str.to_uppercase().is_in(["Z", "UTC"])).then(0).otherwise(
        digits.str.slice(1, 2).cast(pl.Int64, strict=False) * 60
        + digits.str.slice(3, 2).cast(pl.Int64, strict=False).fill_null(0)
    ) * pl.when(offset.str.starts_with("-")).then(-1).otherwise(1)
    # null exactly where parsed is
    value = parsed if local else parsed - pl.duration(minutes=minutes.fill_null(0))
    # local: the offset is dropped, so mixing zoned and naive values changes nothing
    code = mixed if mixed is not None and not local else pl.lit(MIXED_NONE)
    fix = pl.lit(
        "mixed naive and timezone-aware timestamps; write all with an offset, or none: "
        "naive is read as UTC"
    )

    def why(raw: pl.Expr, value: pl.Expr) -> Reason:
        text = raw.str.strip_chars()
        zoned = _offset(text).is_not_null()
        unparsed = (
            pl.when(text == "")
            .then(pl.lit(f"{column} is empty"))
            .otherwise(
                pl.format(
                    "{} {} is not a timestamp{}(write ISO 8601: 2025-01-31 14:05:00, with an "
                    "optional T, fraction of a second and Z, UTC or +01:00)",
                    pl.lit(column),
                    text.str.slice(0, 40),
                    _unparsed_kind(text),
                )
            )
        )
        failed = raw.is_not_null() & value.is_null()
        if not required:  # blank is missing, as a null is
            failed = failed & (text != "")
        naive_msg = pl.format(
            "{} {} has no timezone while as many rows or more do ({})", pl.lit(column), text, fix
        )
        aware_msg = pl.format(
            "{} {} has a timezone while most rows do not ({})", pl.lit(column), text, fix
        )
        return (
            reason_if(failed, unparsed)
            + _out_of_range(column, text, value)
            + reason_if((code == MIXED_REJECT_NAIVE) & _naive(text), naive_msg)
            + reason_if((code == MIXED_REJECT_AWARE) & zoned, aware_msg)
        )

    return value, why


#: the largest amount, spend or target a row may hold: 10^18 is no money in any currency (a
#: billion in micros is 10^15), and sums of such values stay finite; three rows of 1.5e308
#: summed to inf, and the run wrote inf and NaN revenue, ROAS and JSON
MAX_NUMBER = 1e18


def parse_number(column: str, dtype: pl.DataType) -> tuple[pl.Expr, Why]:
    col = pl.col(column)
    numeric = dtype.is_numeric()
    value = (
        col.cast(pl.Float64)
        if numeric
        else _as_text(col).str.strip_chars().cast(pl.Float64, strict=False)
    )

    def why(raw: pl.Expr, value: pl.Expr) -> Reason:
        reason = (
            reason_if(raw.is_null(), f"{column} is empty (write 0 for an unknown value)")
            + reason_if(value.is_nan() | value.is_infinite(), f"{column} is not a finite number")
            + reason_if(value < 0, pl.format("{} {} is negative", pl.lit(column), value))
            + reason_if(
                value.is_finite() & (value > MAX_NUMBER),
                pl.format(
                    "{} {} is above 1e18, more than any amount (check its unit or column)",
                    pl.lit(column),
                    value,
                ),
            )
        )
        if numeric:
            return reason
        text = _as_text(raw).str.strip_chars()
        # "1234,56" from a spreadsheet in a decimal-comma locale, or "1,234" with a
        # thousands separator: say which, so the fix does not turn 1,234 into 1.234
        decimal = text.str.contains(r"^-?[0-9.\s]*,([0-9]{1,2}|[0-9]{4,})$")
        thousands = text.str.contains(r"^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$")
        currency = text.str.contains(r"^-?\p{Sc}|\p{Sc}$")
        return reason + reason_if(
            raw.is_not_null() & value.is_null(),
            pl.when(text == "")  # a quoted empty field ("") is text, not null
            .then(pl.lit(f"{column} is empty (write 0 for an unknown value)"))
            .otherwise(
                pl.format(
                    "{} {} is not a number{}",
                    pl.lit(column),
                    text.str.slice(0, 40),
                    # the fix shown on the value itself ("1,200" -> 1200, "$300" -> 300)
                    pl.when(thousands)
                    .then(
                        pl.format(
                            " (a thousands separator? write it without: {})",
                            text.str.replace_all(",", "", literal=True),
                        )
                    )
                    .when(decimal)
                    .then(
                        pl.format(
                            " (a decimal comma? write it with a point: {})",
                            text.str.replace_all(r"[.\s]", "").str.replace(",", ".", literal=True),
                        )
                    )
                    .when(currency)
                    .then(
                        pl.format(
                            " (a currency sign? write the number alone: {})",
                            text.str.replace_all(r"\p{Sc}|\s", ""),
                        )
                    )
                    .otherwise(pl.lit("")),
                )
            ),
        )

    return value, why


def parse_id(
    column: str, dtype: pl.DataType, *, required: bool = True, empty: str | None = None
) -> tuple[pl.Expr, Why]:
    """An id (or name) column as text, empty as null; ``required``: an empty value is
    rejected, with the reason ``empty`` (default "COLUMN is empty")."""
    if dtype.is_float():
        # an integer id column with gaps comes as float from pandas (1.0): written "1" (as
        # a CSV export holds it), it matches the same id read as text or integer elsewhere;
        # a NaN is a missing id (as a CSV export holds it: empty), not the text "NaN"
        text = as_export_text(column, dtype)
        text = pl.when(pl.col(column).is_nan()).then(None).otherwise(text)
    else:
        text = _as_text(pl.col(column)).str.strip_chars()
    text = text.replace("", None)  # empty -> null (~40% cheaper than a when/then at 10M)

    def why(raw: pl.Expr, value: pl.Expr) -> Reason:
        return reason_if(value.is_null(), empty or f"{column} is empty")

    return text, why if required else _never


def _status_key(text: pl.Expr) -> pl.Expr:
    """What a deal status is matched by: its lower-case letters and digits, any script
    ("Closed - Won" -> "closedwon", "Stage 2" -> "stage2", "受注" stays)."""
    return text.str.to_lowercase().str.replace_all(r"[^\p{L}\p{N}]", "")


def status_key(text: str) -> str:
    """``_status_key`` of one text (a ``[statuses]`` key), computed the same way."""
    return pl.select(_status_key(pl.lit(text))).item()


def parse_status(config: RunConfig) -> tuple[pl.Expr, Why]:
    text = _as_text(pl.col(STATUS)).str.strip_chars()
    # the config's [statuses] first (a CRM's own names, digits count: "Stage 2"), then the
    # built-in names by their letters alone ("7 - Closed Won" is won, as it always was)
    own = {status_key(k): v for k, v in config.status_names.items()}
    builtin = text.str.to_lowercase().str.replace_all(r"[^\p{L}]", "")
    value = builtin.replace_strict(_STATUS_SYNONYMS, default=None, return_dtype=pl.String)
    if own:
        mapped = _status_key(text).replace_strict(own, default=None, return_dtype=pl.String)
        value = pl.coalesce(mapped, value)

    def why(raw: pl.Expr, value: pl.Expr) -> Reason:
        text = _as_text(raw).str.strip_chars()
        # the example names what the status's words say: "open" for "Closed-Lost to
        # Competition" or Pipedrive's "deleted" would count a dead deal as pipeline
        letters = text.str.to_lowercase()
        example = (  # (a win denied first: "Not won", "Did not win", "Won't proceed")
            pl.when(letters.str.contains(r"\b(?:not?|never)\b.*\bw(?:o?n|in)\b|\bwon'?t\b"))
            .then(pl.lit("lost"))
            .when(letters.str.contains(r"\bwo?n\b|\bwin"))
            .then(pl.lit("won"))
            .when(letters.str.contains(r"los[st]|abandon|cancel|delet|dead|disqualif|closed"))
            .then(pl.lit("lost"))
            .otherwise(pl.lit("open"))
        )
        bad = (
            pl.when(text.is_null() | (text == ""))
            .then(pl.lit("status is empty"))
            .when(text.str.contains(r"^[0-9]+$"))
            .then(
                pl.format(
                    "status {} is a code, not one of open, won, lost (map each code in"
                    ' [statuses]: Dynamics 365\'s statecode is "0" = "open", "1" = "won",'
                    ' "2" = "lost")',
                    text,
                )
            )
            .otherwise(
                pl.format(
                    'status {} is not one of open, won, lost (map it in [statuses], e.g. "{}" = '
                    '"{}"{})',
                    text,
                    text,
                    example,
                    pl.when(letters.str.contains("delet|archiv|duplicat|spam|junk"))
                    .then(pl.lit(", or drop such deals from the export"))
                    .otherwise(pl.lit("")),
                )
            )
        )
        return reason_if(value.is_null(), bad)

    return value, why


def parse_stage(config: RunConfig) -> tuple[pl.Expr, Why]:
    text = _as_text(pl.col(STAGE)).str.strip_chars().str.to_lowercase()
    value = text.replace({**BUILTIN_STAGE_NAMES, **stage_spellings(config.stage_mapping())})

    def why(raw: pl.Expr, value: pl.Expr) -> Reason:
        text = _as_text(raw).str.strip_chars().fill_null("")
        # the [stages] line to write, its key a TOML string (a '"' or '\\' escaped)
        key = text.str.replace_all("\\", "\\\\", literal=True).str.replace_all(
            '"', '\\"', literal=True
        )
        words = text.str.to_lowercase()
        guess: Then | ChainedThen = pl.when(pl.lit(False)).then(pl.lit("lead"))
        for pattern, stage in _STAGE_GUESSES:
            guess = guess.when(words.str.contains(pattern)).then(pl.lit(stage))
        bad = (
            pl.when(text == "")
            .then(pl.lit("stage is empty"))
            .otherwise(
                pl.format(
                    'stage {} is not a known stage (map it in [stages], e.g. "{}" = "{}"; the'
                    ' stages are {}, and "session" takes a name that is no funnel stage)',
                    text,
                    key,
                    guess.otherwise(pl.lit("lead")),
                    pl.lit(", ".join(CANONICAL_STAGES)),
                )
            )
        )
        return reason_if(~value.is_in(list(CANONICAL_STAGES)) | value.is_null(), bad)

    return value, why
