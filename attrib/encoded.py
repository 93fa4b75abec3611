"""The encoded journeys every kernel reads: CSR arrays over touches, one slot per journey.

Polars builds this once (``attrib.journeys``); numba kernels and the Spark engine read only
these arrays. A batch is self-contained, and all batches of one run share the channel and
campaign dictionaries, so partial states computed on different batches can be summed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from attrib.columns import NONE_CHANNEL as NONE_CHANNEL  # (re-exported)

#: Journey outcome codes (``Journeys.status``).
STATUS_NONE = 0  # non-converting path: the customer's touches outside every deal window
STATUS_OPEN = 1
STATUS_WON = 2
STATUS_LOST = 3
STATUS_NAMES = {STATUS_NONE: "none", STATUS_OPEN: "open", STATUS_WON: "won", STATUS_LOST: "lost"}

#: ``Journeys.in_period`` bits: the deal's conversion (close, or creation when open), and its
#: creation, lie in the reporting window.
CONVERSION_IN_PERIOD = 1
CREATION_IN_PERIOD = 2

NONE_CAMPAIGN = "(none)"

#: microseconds in a day: timestamps are epoch microseconds everywhere after validation
US_PER_DAY = 86_400_000_000

#: Value columns of a journey; credit state arrays are laid out in this order.
METRICS = ("conversions", "revenue", "pipeline", "deals", "lost_deals")
#: Value columns credited over the pipeline window (touches up to ``created_at``).
CREATED_METRICS = ("deals_created", "pipeline_created")


def touched_in_a_window(starts: np.ndarray, ends: np.ndarray, n_created: np.ndarray) -> np.ndarray:
    """bool [J]: a touch in the revenue window (``starts:ends``) or the pipeline window (the
    first ``n_created``): what the zero-touch counts and warnings call touched."""
    return (ends > starts) | (n_created > 0)


def last_touches_of_closed(offsets: np.ndarray, status: np.ndarray) -> np.ndarray:
    """``Journeys.close_pos`` of journeys without touch times (path tables): a closed
    journey's last touch, -1 for the others and for empty journeys. (No model a path table
    runs reads it today: the anchored ones need stages and times; kept true all the same.)"""
    closed = ((status == STATUS_WON) | (status == STATUS_LOST)) & (np.diff(offsets) > 0)
    return np.where(closed, offsets[1:] - 1, -1).astype(np.int64)


@dataclass(frozen=True)
class Dictionaries:
    """Code -> name tables shared by all batches of a run.

    ``channels[0]`` is always ``(none)``. A campaign key is one (channel, campaign) pair:
    ``campaign_channel[k]`` is its channel code and ``campaign_names[k]`` its campaign text;
    key 0 is ((none), (none)).
    """

    channels: tuple[str, ...]
    is_marketing: np.ndarray  # bool, per channel code
    is_direct: np.ndarray  # bool, per channel code
    campaign_channel: np.ndarray  # int32, per campaign key: its channel code
    campaign_names: tuple[str, ...]  # per campaign key

    @property
    def n_channels(self) -> int:
        return len(self.channels)

    @property
    def n_campaigns(self) -> int:
        return len(self.campaign_names)


@dataclass(frozen=True)
class Journeys:
    """One batch of encoded journeys.

    Touches of journey ``j`` are ``offsets[j]:offsets[j+1]``, in time order (ties broken by
    channel, then campaign, so the order never depends on input row order): the touches of
    its two windows. The revenue window is ``starts[j]:ends[j]``, all but the first
    ``n_early[j]`` (older than the lookback counted from the window end); the pipeline window
    is the first ``n_created[j]`` (at or before ``created_at``, the lookback counted from it),
    ``created_starts[j]:created_ends[j]``. A touch may lie in one window, both, or neither (a
    long cycle: after the creation but older than the lookback from the close).

    Attributes:
        offsets: int64 [J+1] CSR offsets into the touch arrays.
        channel: int32 [T] channel code per touch (index into ``dicts.channels``).
        campaign: int32 [T] campaign key per touch (index into ``dicts.campaign_names``).
        ts: int64 [T] touch time, microseconds since the Unix epoch (UTC).
        status: int8 [J] one of the ``STATUS_*`` codes.
        weight: float64 [J] how many identical journeys this slot stands for (1 for journeys
            built from touches; path counts for ChannelAttribution-style input; bootstrap
            resampling multiplies it).
        amount: float64 [J] total deal amount of those journeys (0 for non-converting).
        end_ts: int64 [J] window end, inclusive (close for closed deals, created_at for open
            deals, last touch for non-converting paths; a time at midnight UTC exactly is a
            date: the last microsecond of its day, ``schema.through_its_day``).
        created_ts: int64 [J] deal created_at, read as ``end_ts`` is (end_ts for
            non-converting paths).
        n_created: int64 [J] touches at or before created_at (the pipeline window).
        lead_pos: int64 [J] absolute index of the lead-creation anchor touch, or -1.
        opp_pos: int64 [J] absolute index of the opportunity-creation anchor touch, or -1.
        close_pos: int64 [J] absolute index of a closed deal's close anchor touch (the last
            at or before its close), or -1.
        table: one row per journey (``journey_id, entity_id, deal_id, ...``), same order.
        dicts: the run's shared dictionaries.
        digest: the few input touches the ROI/KPI/funnel step reads (each entity's first
            touch, every touch tied with a won journey's first touch, and one touch at the
            latest ts, so that its ts range is all touches'), in journey order (entity key,
            ts, channel, campaign); None where journeys were not built from touches (path
            tables).
        in_period: uint8 [J] or None: which of a journey's events fall in the run's reporting
            window (``[metrics] period_from/period_to``): ``CONVERSION_IN_PERIOD`` (a closed
            deal's ``closed_at``, an open deal's ``created_at``) and ``CREATION_IN_PERIOD``
            (``created_at``). Only those are credited (``values``, ``created_values``), so the
            attribution columns count the same deals as the window's spend and KPIs. None:
            no window set, every journey counts.
        created_lead_pos: int64 [J] or None (``lead_pos``): the lead anchor of the pipeline
            window, -1 where the milestone came after the deal's creation (outside it).
        n_early: int64 [J] or None (all 0): the journey's first touches, before its revenue
            window: in the pipeline window (whose lookback counts from the earlier
            ``created_at``), or in neither (a long cycle's, after the creation).
        zero_touch_touched: how many zero-touch deals (those the reporting window counts,
            where one is set) have an entity with touches (each in another deal's window, a
            non-converting tail, or older than the lookback), as opposed to none at all (ids
            that match no touch).
    """

    offsets: np.ndarray
    channel: np.ndarray
    campaign: np.ndarray
    ts: np.ndarray
    status: np.ndarray
    weight: np.ndarray
    amount: np.ndarray
    end_ts: np.ndarray
    created_ts: np.ndarray
    n_created: np.ndarray
    lead_pos: np.ndarray
    opp_pos: np.ndarray
    close_pos: np.ndarray
    table: pl.DataFrame
    dicts: Dictionaries
    digest: pl.DataFrame | None = None
    in_period: np.ndarray | None = None
    zero_touch_touched: int = 0
    n_early: np.ndarray | None = None
    created_lead_pos: np.ndarray | None = None
    # per-batch derived arrays and work buffers (not an init field: ``dataclasses.replace``
    # starts afresh)
    _cache: dict[str, np.ndarray] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def n_journeys(self) -> int:
        return len(self.offsets) - 1

    @property
    def n_touches(self) -> int:
        return int(self.offsets[-1])

    @property
    def starts(self) -> np.ndarray:
        """Start of each journey's revenue window (made once per batch)."""
        early = self.n_early
        if early is None:
            return self.offsets[:-1]
        return self._derived("starts", lambda: self.offsets[:-1] + early)

    @property
    def ends(self) -> np.ndarray:
        """End (exclusive) of each journey's revenue window: the journey's end."""
        return self.offsets[1:]

    @property
    def created_starts(self) -> np.ndarray:
        """Start of each journey's pipeline window: the journey's start."""
        return self.offsets[:-1]

    @property
    def created_ends(self) -> np.ndarray:
        """End (exclusive) of each journey's pipeline window."""
        return self.offsets[:-1] + self.n_created

    @property
    def n_window_touches(self) -> int:
        """Touches in a window of their journey (``n_touches`` less a long cycle's touches
        between its pipeline and revenue windows): what a run reports as its journeys'."""
        if self.n_early is None:
            return self.n_touches
        pipeline_only = np.minimum(self.n_created, self.n_early)
        return int(self.touch_counts().sum() + pipeline_only.sum())

    def touch_journeys(self) -> np.ndarray:
        """int64 [T]: each touch's journey (made once per batch: touch credits and the
        bootstrap's matrices read it)."""
        return self._derived(
            "touch_journeys",
            lambda: np.repeat(np.arange(self.n_journeys, dtype=np.int64), np.diff(self.offsets)),
        )

    def touch_counts(self) -> np.ndarray:
        """int64 [J]: touches in each journey's revenue window (``journeys.parquet``'s
        ``n_touches``; 0: a zero-touch journey, whose value (none) takes)."""
        return self.ends - self.starts

    def window_starts(self, created: bool = False) -> np.ndarray:
        """Each journey's start in the revenue window (``starts``) or the pipeline window
        (``created_starts``)."""
        return self.created_starts if created else self.starts

    def _derived(self, name: str, make: Callable[[], np.ndarray]) -> np.ndarray:
        """``make()``, made once per batch and kept read-only (every model reads these)."""
        cached = self._cache.get(name)
        if cached is None:
            cached = make()
            cached.flags.writeable = False
            self._cache[name] = cached
        return cached

    def values(self) -> np.ndarray:
        """float64 [J, len(METRICS)]: what each journey is worth, by metric (read-only; made
        once per batch, as every model reads it)."""

        def make() -> np.ndarray:
            status = self._status_in_period(CONVERSION_IN_PERIOD)
            won = status == STATUS_WON
            out = np.zeros((self.n_journeys, len(METRICS)), dtype=np.float64)
            out[:, 0] = np.where(won, self.weight, 0.0)
            out[:, 1] = np.where(won, self.amount, 0.0)
            out[:, 2] = np.where(status == STATUS_OPEN, self.amount, 0.0)
            out[:, 3] = np.where(status != STATUS_NONE, self.weight, 0.0)
            out[:, 4] = np.where(status == STATUS_LOST, self.weight, 0.0)
            return out

        return self._derived("values", make)

    def _status_in_period(self, event: int) -> np.ndarray:
        """``status``, as ``STATUS_NONE`` (worth nothing) where ``event`` lies outside the
        reporting window (``in_period``)."""
        if self.in_period is None:
            return self.status
        return np.where((self.in_period & event) != 0, self.status, STATUS_NONE)

    def valued(self, created: bool = False) -> np.ndarray:
        """bool [J]: journeys worth something in the window (``values`` or, with
        ``created``, ``created_values`` not all 0): the only ones whose touches get credit."""
        values = self.created_values if created else self.values
        return self._derived(
            "valued_created" if created else "valued", lambda: np.any(values() != 0.0, axis=1)
        )

    def window_ends(self, created: bool = False) -> np.ndarray:
        """Each journey's end in the revenue window (``ends``) or the pipeline window
        (``created_ends``)."""
        return self.created_ends if created else self.ends

    def lead_positions(self, created: bool = False) -> np.ndarray:
        """``lead_pos`` in the revenue window; ``created_lead_pos`` in the pipeline window."""
        if created and self.created_lead_pos is not None:
            return self.created_lead_pos
        return self.lead_pos

    def close_positions(self, created: bool = False) -> np.ndarray:
        """``close_pos`` in the revenue window; none (-1) in the pipeline window, which ends
        at the deal's creation, before its close (made once per batch, as ``valued_ends``)."""
        if not created:
            return self.close_pos
        return self._derived("no_close", lambda: np.full_like(self.close_pos, -1))

    def valued_ends(self, created: bool = False) -> np.ndarray:
        """``window_ends``, with a journey worth nothing in the window (not ``valued``)
        ending where it starts: empty. Made once per batch and window (every rule-based model
        of a credit pass reads it)."""
        return self._derived(
            "valued_ends_created" if created else "valued_ends",
            lambda: np.where(
                self.valued(created), self.window_ends(created), self.window_starts(created)
            ),
        )

    def scratch(self, name: str) -> np.ndarray:
        """A float64 [T] work buffer kept with the batch under ``name`` (writable; its
        content is the last user's: callers overwrite it). Saves a fresh allocation, and the
        page faults that come with it, per model."""
        buffer = self._cache.get(f"scratch:{name}")
        if buffer is None:
            buffer = np.empty(self.n_touches, dtype=np.float64)
            self._cache[f"scratch:{name}"] = buffer
        return buffer

    def drop_scratch(self) -> None:
        """Free the work buffers (``scratch``) once the models are done with the batch."""
        for name in [k for k in self._cache if k.startswith("scratch:")]:
            del self._cache[name]

    def created_values(self) -> np.ndarray:
        """float64 [J, len(CREATED_METRICS)]: deals and amount created, per journey
        (read-only, made once per batch)."""

        def make() -> np.ndarray:
            is_deal = self._status_in_period(CREATION_IN_PERIOD) != STATUS_NONE
            out = np.zeros((self.n_journeys, len(CREATED_METRICS)), dtype=np.float64)
            out[:, 0] = np.where(is_deal, self.weight, 0.0)
            out[:, 1] = np.where(is_deal, self.amount, 0.0)
            return out

        return self._derived("created_values", make)
