"""Rule-based models: the credit split is fixed in advance by each touch's position or age."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from attrib.encoded import US_PER_DAY, Journeys
from attrib.models import _heuristic_kernels as k
from attrib.models.base import AttributionModel, Fitted, Param


class _RuleBased(AttributionModel):
    """Shared glue: pick the journey ranges (revenue or pipeline window) and run the kernel."""

    kernel: ClassVar[Callable[..., None]]

    def _param(self) -> float:
        return 0.0

    def touch_weights(
        self,
        batch: Journeys,
        fitted: Fitted,
        *,
        created: bool = False,
        out: np.ndarray | None = None,
        valued_only: bool = False,
    ) -> np.ndarray:
        starts = batch.window_starts(created)
        # a journey nobody reads is passed as empty: its touches are not written
        ends = batch.valued_ends(created) if valued_only else batch.window_ends(created)
        if out is None:
            out = np.zeros(batch.n_touches, dtype=np.float64)
        elif valued_only:  # the kernels write only credited touches: clear the rest read
            k.zero_ranges(starts, ends, out)
        else:
            out.fill(0.0)
        end_ts = batch.created_ts if created else batch.end_ts
        type(self).kernel(
            starts,
            ends,
            batch.ts,
            batch.channel,
            end_ts,
            batch.lead_positions(created),
            batch.opp_pos,
            batch.close_positions(created),
            batch.dicts.is_direct,
            self._param(),
            out,
        )
        return out


class FirstTouchAttribution(_RuleBased):
    name = "first_touch"
    title = "First touch"
    summary = "All credit to the first touch of the journey."
    definition = "Weight 1 on the earliest touch in the window (ties by channel, campaign name)."
    kernel = k._first_touch


class LastTouchAttribution(_RuleBased):
    name = "last_touch"
    title = "Last touch"
    summary = "All credit to the last touch before the conversion."
    definition = "Weight 1 on the latest touch at or before the window end."
    kernel = k._last_touch


class LastNonDirectAttribution(_RuleBased):
    name = "last_non_direct"
    title = "Last non-direct touch"
    summary = "All credit to the last touch whose channel is not marked direct."
    definition = (
        "Weight 1 on the latest touch whose channel is not `direct = true` in the config; "
        "a journey of only direct touches credits its last touch (as Google Analytics does)."
    )
    paths_ok = False  # a path table carries no direct flags
    kernel = k._last_non_direct


class LinearAttribution(_RuleBased):
    name = "linear"
    title = "Linear"
    summary = "Equal credit to every touch."
    definition = "Weight 1/n on each of the journey's n touches."
    kernel = k._linear


class TimeDecayAttribution(_RuleBased):
    name = "time_decay"
    title = "Time decay"
    summary = "More credit to touches closer to the conversion (exponential half-life)."
    definition = (
        "Weight ∝ 2^(−Δt/half_life) with Δt the time from the touch to the window end "
        "(close for revenue, deal creation for pipeline created), normalised to sum to 1."
    )
    params_doc = (Param("half_life_days", 7.0, "days after which a touch's weight halves"),)
    paths_ok = False  # needs timestamps
    kernel = k._time_decay

    def __init__(self, **params: Any) -> None:
        """Checked when made (the run names the config file then), not at the first batch."""
        super().__init__(**params)
        self._param()

    def _param(self) -> float:
        from attrib.errors import ConfigError

        given = self.params["half_life_days"]
        try:
            half_life = math.nan if isinstance(given, bool) else float(given)
        except (TypeError, ValueError):
            half_life = math.nan
        if not half_life > 0:
            raise ConfigError(
                f"time_decay half_life_days must be a number > 0, got {given!r}",
                hint="[models.time_decay] half_life_days = 7",
            )
        return half_life * US_PER_DAY


class PositionBasedAttribution(_RuleBased):
    name = "position_based"
    title = "Position based (U-shaped)"
    summary = "40% first touch, 40% last touch, 20% spread over the middle."
    definition = (
        "One touch: 100%. Two touches: 50/50. More: 40% first, 40% last, 20% shared "
        "equally by the touches between."
    )
    kernel = k._position_based


class WShapedAttribution(_RuleBased):
    name = "w_shaped"
    title = "W-shaped"
    summary = "30% each to first touch, lead creation and opportunity creation; 10% to the rest."
    definition = (
        "Anchors: the first touch; the last touch at or before the lead/MQL milestone "
        "(earliest `lead` or `mql` stage of the customer); the last touch at or before deal "
        "creation. Each found anchor role gets 30% (a touch filling two roles gets 60%); the "
        "other touches share 10% equally. Missing anchors (no stage data, milestone outside "
        "the window, no touch before creation) drop out and the found roles share the 90% "
        "equally; when every touch is an anchor they share 100%. One touch gets 100%. A "
        "milestone or creation at 00:00:00 UTC exactly is a date: its whole day (a date-only "
        "lead not past another timed milestone record that day; README, Dates without a "
        "time)."
    )
    paths_ok = False
    kernel = k._w_shaped


class FullPathAttribution(_RuleBased):
    name = "full_path"
    title = "Full path (Z-shaped)"
    summary = "22.5% each to first, lead, opportunity and close touches; 10% to the rest."
    definition = (
        "As W-shaped with a fourth anchor, the last touch at or before close (closed deals only): "
        "each found role gets 22.5%, the others share 10%; missing roles drop out and the "
        "found ones share the 90% equally; all-anchor journeys split 100% among the roles."
    )
    paths_ok = False
    kernel = k._full_path
