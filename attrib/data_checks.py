"""Facts about a run's data that deserve a warning: the run is valid, but its numbers are
probably not what the user meant (ids that match nothing, a window that holds no deal)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from attrib.encoded import CONVERSION_IN_PERIOD, CREATION_IN_PERIOD, STATUS_NONE, Journeys


def rejected_rows(rejected: dict[str, int], out: Path | None) -> str | None:
    """Rows quarantined: how many, per table, and where to read why."""
    total = sum(rejected.values())
    if not total:
        return None
    detail = ", ".join(f"{table}: {n:,}" for table, n in rejected.items() if n)
    where = f"{out / 'quarantine'}/" if out is not None else "RunResult.inputs.quarantine"
    return f"{total:,} input row(s) rejected ({detail}); each row's reason is in {where}"


def unmatched_deals(journeys: Journeys, n_touches_read: int) -> str | None:
    """Every deal zero-touch while touches exist: almost always ids that do not match."""
    is_deal = journeys.status != STATUS_NONE
    n_deals = int(np.count_nonzero(is_deal))
    if not n_deals:
        return None
    touched = np.diff(journeys.offsets)[is_deal] > 0
    if touched.any():
        return None
    if not n_touches_read:
        return f"no touchpoints were read: all {n_deals:,} deals are credited to (none)"
    return (
        f"none of the {n_deals:,} deals' customers has a touch in its window: every deal is "
        "credited to (none). Check that touchpoints and deals use the same customer ids "
        "(same column, same format) and the --lookback-days"
    )


def empty_window(journeys: Journeys) -> str | None:
    """A reporting window that no deal's close or creation falls in."""
    if journeys.in_period is None or not np.any(journeys.status != STATUS_NONE):
        return None
    if np.any(journeys.in_period & (CONVERSION_IN_PERIOD | CREATION_IN_PERIOD)):
        return None
    return (
        "no deal was closed or created in the reporting window (--from/--to): every "
        "attribution column is 0"
    )
