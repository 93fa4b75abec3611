"""The data contract's vocabulary: canonical column names, each table's columns, the
canonical stages and deal statuses. A leaf module (it imports nothing of attrib's, nor
polars), so that the config and the command line's light paths can use it.
"""

from __future__ import annotations

CUSTOMER_ID = "customer_id"
ACCOUNT_ID = "account_id"
ENTITY_ID = "entity_id"
TS = "ts"
CHANNEL = "channel"
CAMPAIGN = "campaign"
SOURCE = "source"
MEDIUM = "medium"
TOUCH_TYPE = "touch_type"
DEAL_ID = "deal_id"
CREATED_AT = "created_at"
CLOSED_AT = "closed_at"
STATUS = "status"
AMOUNT = "amount"
STAGE = "stage"
DATE = "date"
SPEND = "spend"
REASON = "reason"
REASON_COLUMN = "column"
#: the columns the readers add to every input row (its file, its 1-based data row) so that
#: errors and quarantine rows can name them; a file's own columns of these names are dropped
FILE_COL = "__file"
ROW_COL = "__row"
RESERVED_COLUMNS = (FILE_COL, ROW_COL)

#: the channel credited with deals that have no touch (keeps totals conserved): reserved, no
#: touch may carry it
NONE_CHANNEL = "(none)"

#: table -> (required columns, optional columns)
TABLE_COLUMNS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "touchpoints": ((CUSTOMER_ID, TS), (ACCOUNT_ID, CHANNEL, SOURCE, MEDIUM, CAMPAIGN, TOUCH_TYPE)),
    "deals": ((DEAL_ID, CUSTOMER_ID, CREATED_AT, STATUS, AMOUNT), (ACCOUNT_ID, CLOSED_AT)),
    "stages": ((CUSTOMER_ID, STAGE, TS), (ACCOUNT_ID,)),
    "costs": ((DATE, CHANNEL, SPEND), (CAMPAIGN,)),
    "targets": (("kpi", "period", "target"), ()),
}

TABLES = tuple(TABLE_COLUMNS)
CANONICAL_STAGES = ("session", "lead", "mql", "sql", "opportunity", "offer", "customer")
DEAL_STATUSES = ("open", "won", "lost")
#: the statuses of a closed deal (its ``closed_at`` is its close)
CLOSED_STATUSES = ("won", "lost")
#: the years a timestamp or a reporting window's day may lie in (both included): outside
#: them a value is a placeholder (9999-12-31 for "never", 0001-01-01 for "unknown"), not a
#: time; read as one, it stretched the run's monthly periods over millennia (minutes,
#: millions of rows) or failed where a year is out of Python's range (year 0)
TS_YEARS = (1900, 2199)


def outside_years(year: int) -> str | None:
    """Why a day of this year is no time's (``TS_YEARS``: a placeholder), or None: the one
    wording of the config's and the command line's window checks."""
    first, last = TS_YEARS
    return None if first <= year <= last else f"is outside the years {first}-{last}"
