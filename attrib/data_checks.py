"""Facts about a run's data that deserve a warning: the run is valid, but its numbers are
probably not what the user meant (ids that match nothing, a window that holds no deal)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from attrib.encoded import CONVERSION_IN_PERIOD, CREATION_IN_PERIOD, STATUS_NONE, Journeys
from attrib.errors import ChecksFailedError
from attrib.progress import Reporter


@dataclass(frozen=True)
class DealCounts:
    """A batch's deals: how many, how many have a touch, how many the reporting window
    counts (None: no window). Additive over batches."""

    deals: int = 0
    touched: int = 0
    in_window: int | None = None

    @classmethod
    def of(cls, journeys: Journeys) -> DealCounts:
        is_deal = journeys.status != STATUS_NONE
        touched = is_deal & (np.diff(journeys.offsets) > 0)
        in_window = None
        if journeys.in_period is not None:
            hit = (journeys.in_period & (CONVERSION_IN_PERIOD | CREATION_IN_PERIOD)) != 0
            in_window = int(np.count_nonzero(is_deal & hit))
        return cls(int(np.count_nonzero(is_deal)), int(np.count_nonzero(touched)), in_window)

    def __add__(self, other: DealCounts) -> DealCounts:
        window = (
            None
            if self.in_window is None and other.in_window is None
            else (self.in_window or 0) + (other.in_window or 0)
        )
        return DealCounts(self.deals + other.deals, self.touched + other.touched, window)

    @property
    def zero_touch(self) -> int:
        """Deals whose journey has no touch (credited to ``(none)``)."""
        return self.deals - self.touched


def _rejected_count(rejected: dict[str, int]) -> str:
    """'1,203 input row(s) rejected (touchpoints: 1,200, deals: 3)'."""
    detail = ", ".join(f"{table}: {n:,}" for table, n in rejected.items() if n)
    return f"{sum(rejected.values()):,} input row(s) rejected ({detail})"


def rejected_rows(rejected: dict[str, int], out: Path | None) -> str | None:
    """Rows quarantined: how many, per table, and where to read why."""
    if not sum(rejected.values()):
        return None
    where = f"{out / 'quarantine'}/" if out is not None else "RunResult.inputs.quarantine"
    return f"{_rejected_count(rejected)}; each row's reason is in {where}"


def check_rejections(
    rejected: dict[str, int], *, strict: bool, out: Path | None, reporter: Reporter
) -> None:
    """After the quarantine is written: ``--strict`` fails on any rejected row (exit 1),
    else the rejections are a warning (``rejected_rows``). Every engine calls this."""
    if strict and sum(rejected.values()):
        raise ChecksFailedError(
            f"{_rejected_count(rejected)} and --strict is set",
            file=str(out / "quarantine") if out else None,
            hint="see the quarantine files for each row's reason; fix the data or drop --strict",
        )
    if (warning := rejected_rows(rejected, out)) is not None:
        reporter.warn(warning)


def unmatched_deals(counts: DealCounts, n_touches_read: int) -> str | None:
    """Every deal zero-touch: almost always ids that do not match between the tables."""
    if not counts.deals or counts.touched:
        return None
    if not n_touches_read:
        return f"no touchpoints were read: all {counts.deals:,} deals are credited to (none)"
    return (
        f"none of the {counts.deals:,} deals' customers has a touch in its window: every deal "
        "is credited to (none). Check that touchpoints and deals use the same customer ids "
        "(same column, same format) and the --lookback-days"
    )


def empty_window(counts: DealCounts) -> str | None:
    """A reporting window that no deal's close or creation falls in."""
    if counts.in_window is None or not counts.deals or counts.in_window:
        return None
    return (
        "no deal was closed or created in the reporting window (--from/--to): every "
        "attribution column is 0"
    )


def deal_warnings(counts: DealCounts, n_touches_read: int) -> list[str]:
    """The deal-level warnings of a run (``unmatched_deals``, ``empty_window``)."""
    found = (unmatched_deals(counts, n_touches_read), empty_window(counts))
    return [w for w in found if w is not None]
