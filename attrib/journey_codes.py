"""Channel and campaign codes of a batch of touches: each touch's channel and campaign as
small integers, and the run's ``Dictionaries`` (code -> name, marketing and direct flags)
that every batch shares. Distinct names are found by hashing (``dense_values``), so only
they reach Python; (channel, campaign) pairs are numbered densely when they fit a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import polars as pl

from attrib._code_kernels import present_pairs, recode_pairs
from attrib._threads import side_by_side
from attrib.columns import CAMPAIGN, CHANNEL
from attrib.config import RunConfig
from attrib.encoded import NONE_CAMPAIGN, NONE_CHANNEL, Dictionaries
from attrib.entity_keys import dense_values

#: most (channel, campaign) combinations held in dense tables (a flag and a code per
#: combination: 20 MiB); beyond, present pairs are found by sorting and searching
_DENSE_PAIRS = 1 << 22


@dataclass(frozen=True)
class LocalCodes:
    """Channel and campaign per touch as dense local codes (numbered by hash,
    ``local_codes``, so only distinct names reach Python), and the (channel, campaign)
    pairs present."""

    channel: np.ndarray  # int32 [T] index into channel_names
    campaign: np.ndarray  # int32 [T] index into campaign_names
    channel_names: list[str]
    campaign_names: list[str]

    @classmethod
    def of(cls, touches: pl.DataFrame) -> LocalCodes:
        (channel, channel_names), (campaign, campaign_names) = side_by_side(
            lambda: local_codes(touches.get_column(CHANNEL), NONE_CHANNEL),
            lambda: local_codes(touches.get_column(CAMPAIGN), NONE_CAMPAIGN),
        )
        return cls(channel, campaign, channel_names, campaign_names)

    @property
    def n_campaigns(self) -> int:
        return max(len(self.campaign_names), 1)

    @property
    def dense(self) -> bool:
        """Whether every (channel, campaign) combination fits a dense table."""
        return len(self.channel_names) * self.n_campaigns <= _DENSE_PAIRS

    @cached_property
    def flat(self) -> np.ndarray:
        """int64 [T]: each touch's pair as ``channel * n_campaigns + campaign`` (only where
        the pairs do not fit a dense table: read by ``present`` and ``touch_codes``)."""
        return self.channel.astype(np.int64) * self.n_campaigns + self.campaign

    @cached_property
    def present(self) -> np.ndarray:
        """int64 [P]: the pairs present, as ``flat`` numbers, sorted."""
        if self.dense:
            n = len(self.channel_names)
            return np.flatnonzero(present_pairs(self.channel, self.campaign, n, self.n_campaigns))
        return np.unique(self.flat)

    @cached_property
    def pairs(self) -> np.ndarray:
        """int64 [P, 2]: the pairs present as (channel index, campaign index), sorted."""
        return np.stack([self.present // self.n_campaigns, self.present % self.n_campaigns], axis=1)


def local_codes(series: pl.Series, fill: str) -> tuple[np.ndarray, list[str]]:
    """int32 code per row (dense, in first-seen order) and the distinct names they index
    (``entity_keys.dense_values``; nulls as ``fill``).

    Nulls get their code like any value and are named ``fill`` afterwards: filling 10M
    touches' text first cost ~0.2-0.4 s (Polars rewrites every string). Only where ``fill``
    also occurs as text are they filled first, so that the two share one code.
    """
    codes, names = dense_values(series)
    if names.null_count() and fill in names:
        codes, names = dense_values(series.fill_null(fill))
    return codes, names.fill_null(fill).to_list()


def dictionaries_of(local: LocalCodes, config: RunConfig) -> Dictionaries:
    """Channel and (channel, campaign) code tables, sorted so codes never depend on row order."""
    pairs = sorted(
        (local.channel_names[c], local.campaign_names[k])
        for c, k in local.pairs.tolist()
        if local.channel_names[c] != NONE_CHANNEL
    )
    names = sorted({c for c, _ in pairs})
    channels = (NONE_CHANNEL, *names)
    code = {name: i for i, name in enumerate(channels)}
    return Dictionaries(
        channels=channels,
        is_marketing=np.array([False] + [config.flags(c).marketing for c in names], dtype=np.bool_),
        is_direct=np.array([False] + [config.flags(c).direct for c in names], dtype=np.bool_),
        campaign_channel=np.array([0, *[code[c] for c, _ in pairs]], dtype=np.int32),
        campaign_names=(NONE_CAMPAIGN, *[k for _, k in pairs]),
    )


def build_dictionaries(touches: pl.DataFrame, config: RunConfig) -> Dictionaries:
    """Channel and (channel, campaign) code tables of these touches (``channel, campaign``)."""
    return dictionaries_of(LocalCodes.of(touches), config)


def touch_codes(local: LocalCodes, dicts: Dictionaries) -> tuple[np.ndarray, np.ndarray]:
    """Channel code and campaign key per touch in the run's dictionaries (int32 each)."""
    code = {name: i for i, name in enumerate(dicts.channels)}
    channel_of = np.array([code[name] for name in local.channel_names], dtype=np.int32)
    key_of = {
        (int(c), name): key
        for key, (c, name) in enumerate(
            zip(dicts.campaign_channel.tolist(), dicts.campaign_names, strict=True)
        )
        if key
    }
    key_of_pair = np.array(
        [
            key_of.get((int(channel_of[c]), local.campaign_names[k]), 0)
            for c, k in local.pairs.tolist()
        ],
        dtype=np.int32,
    )
    n_camp, present = local.n_campaigns, local.present
    if local.dense:  # each combination's key in a dense table, read in one numba pass
        key_of_flat = np.zeros(len(local.channel_names) * n_camp, dtype=np.int32)
        key_of_flat[present] = key_of_pair
        return recode_pairs(local.channel, local.campaign, n_camp, channel_of, key_of_flat)
    return channel_of[local.channel], key_of_pair[np.searchsorted(present, local.flat)]
