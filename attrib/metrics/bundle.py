"""All ROI, KPI and funnel tables of one run, as map -> reduce -> finalize over batches.

``metrics_plan`` fixes what every batch must agree on (reporting window, present funnel
stages); ``map_metrics`` reduces one batch of entities (its touch digest, deals, stages and
journeys) to additive partial states; ``finalize_metrics`` turns all partials into the
tables. The in-memory run is one batch (``attrib.run.map_run_metrics``); the bucketed
engine maps bucket by bucket and never holds every entity's facts at once. The Spark engine
maps on the driver, as one batch of its buckets' touch digests and deal journeys.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import polars as pl

from attrib._threads import side_by_side
from attrib.metrics.funnel import (
    FunnelPartial,
    first_touch_channel,
    funnel_finalize,
    funnel_map,
    present_stages,
    spill_days,
    stage_facts,
)
from attrib.metrics.kpis import JOURNEY_COLUMNS, compute_kpis
from attrib.metrics.periods import resolve_window
from attrib.metrics.roi import (
    SourcedCounts,
    channel_marketing_flags,
    reduce_sourced,
    sourced_customers,
    spend_metrics,
    stage_count_map,
)
from attrib.metrics.settings import MetricsSettings


@dataclass(frozen=True)
class MetricsPlan:
    """What every batch's metrics map must agree on before any batch is seen."""

    settings: MetricsSettings
    window: tuple[date, date] | None
    present: list[str]


@dataclass(frozen=True)
class MetricsPartial:
    """One batch's additive share of the metrics."""

    funnel: FunnelPartial
    sourced: SourcedCounts
    deal_journeys: pl.DataFrame
    flags: pl.DataFrame


def metrics_plan(
    settings: MetricsSettings,
    deals: pl.DataFrame | None,
    stages: pl.DataFrame | None,
    touch_times: pl.DataFrame | None,
) -> MetricsPlan:
    """Window and funnel stages of a run. ``touch_times`` needs a ``ts`` column whose min and
    max are the touches' (all touches, a digest, or one row of bounds per batch)."""
    has_touches = touch_times is not None and touch_times.height > 0
    return MetricsPlan(
        settings=settings,
        window=resolve_window(settings, touch_times, deals, stages),
        present=present_stages(stages, deals, settings, has_touches=has_touches),
    )


def map_metrics(
    plan: MetricsPlan,
    *,
    digest: pl.DataFrame | None,
    deals: pl.DataFrame | None,
    stages: pl.DataFrame | None,
    journeys: pl.DataFrame | None,
) -> MetricsPartial:
    """Reduce one batch of entities to its partial state (``MetricsPartial``)."""
    source = first_touch_channel(digest)

    def funnel_and_stage_counts() -> tuple[FunnelPartial, pl.DataFrame]:
        facts = stage_facts(
            stages, digest, deals, plan.settings, present=plan.present, source=source
        )
        return funnel_map(facts, plan.window), stage_count_map(facts, plan.window)

    # the stage facts (a numba sort and pass, Polars around it) beside the won deals'
    # sourcing (joins over the journeys) in a worker: neither keeps both cores busy alone
    (funnel, stage_counts), customers = side_by_side(
        funnel_and_stage_counts,
        lambda: sourced_customers(deals, digest, journeys, plan.window, source),
    )
    sourced = SourcedCounts(stages=stage_counts, customers=customers)
    deal_journeys = (
        journeys.filter(pl.col("deal_id").is_not_null()).select(JOURNEY_COLUMNS)
        if journeys is not None and journeys.height
        else None
    )
    return MetricsPartial(
        funnel=replace(
            funnel, counts=detach_strings(funnel.counts), channels=detach_strings(funnel.channels)
        ),
        sourced=SourcedCounts(
            stages=detach_strings(sourced.stages), customers=detach_strings(sourced.customers)
        ),
        deal_journeys=deal_journeys if deal_journeys is not None else pl.DataFrame(),
        flags=detach_strings(channel_marketing_flags(digest)),
    )


def detach_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """A small frame whose text columns no longer share the big buffers they came from.

    Polars' string views let a 20-row ``unique()`` of a bucket's channel column keep that
    column's whole buffer alive; a batched engine that keeps such frames per bucket would grow
    by the input size. Going through the (global) categorical dictionary copies the values.
    Only for frames with few distinct strings (channel, campaign names).
    """
    text = [c for c, t in frame.schema.items() if t == pl.String]
    if not text:
        return frame
    return frame.with_columns(pl.col(c).cast(pl.Categorical).cast(pl.String) for c in text)


def spill_funnel_days(part: MetricsPartial, folder: Path, name: str) -> MetricsPartial:
    """Write a partial's funnel days rows under ``folder`` (``funnel.spill_days``) and drop
    them from memory: the bulk of a partial at scale, read back one slice at a time."""
    spill_days(part.funnel.days, folder, name)
    return replace(part, funnel=replace(part.funnel, days=part.funnel.days.clear()))


def finalize_metrics(
    plan: MetricsPlan,
    parts: list[MetricsPartial],
    *,
    deals: pl.DataFrame,
    costs: pl.DataFrame | None,
    targets: pl.DataFrame | None,
    channel_summary: pl.DataFrame,
    campaign_summary: pl.DataFrame,
    spilled_days: Path | None = None,
    funnel: pl.DataFrame | None = None,
    declared: Mapping[str, bool] | None = None,
) -> dict[str, pl.DataFrame]:
    """Summaries with spend columns, ``kpis`` and ``funnel`` (docs/METRICS.md).

    ``declared``: the config's ``[channels]`` marketing flags; they decide a channel with
    spend but no touch (TV, events), which would otherwise count as marketing.

    ``spilled_days``: the folder where an engine wrote the funnel's days-between-stages rows
    (``spill_funnel_days``) instead of keeping them in the partials. ``funnel``: the funnel
    table when the caller already finalized it (``finalize_funnel``; it needs no credit).
    """
    settings = plan.settings
    sourced = reduce_sourced([p.sourced for p in parts])
    declared_flags = pl.DataFrame(
        {"channel": list(declared or {}), "is_marketing": list((declared or {}).values())},
        schema={"channel": pl.String, "is_marketing": pl.Boolean},
    )
    touch_flags = channel_marketing_flags(
        pl.concat([*(p.flags for p in parts), declared_flags], how="vertical")
    )
    summary_flags = channel_summary.select("channel", "is_marketing").unique().sort("channel")
    journeys = [p.deal_journeys for p in parts if p.deal_journeys.height]
    deal_journeys = pl.concat(journeys, how="vertical") if journeys else None

    # the run's models, as requested: the campaign summary has no row of a model under which
    # no campaign holds credit (no deal in the window), yet its campaigns with spend or
    # sourced stages get rows, so that they add up to the channel rows
    models = channel_summary.get_column("model").unique(maintain_order=True).to_list()

    def spend(summary: pl.DataFrame, by_campaign: bool) -> pl.DataFrame:
        return spend_metrics(
            summary,
            costs,
            settings,
            plan.window,
            sourced,
            plan.present,
            by_campaign=by_campaign,
            flags=touch_flags,
            models=models,
        )

    return {
        "channel_summary": spend(channel_summary, False),
        "campaign_summary": spend(campaign_summary, True),
        "kpis": compute_kpis(
            deal_journeys,
            deals,
            costs,
            None,
            None,
            settings,
            targets,
            channel_flags=pl.concat([summary_flags, touch_flags], how="vertical"),
            window=plan.window,
        ),
        "funnel": funnel
        if funnel is not None
        else finalize_funnel(plan, parts, spilled_days=spilled_days),
    }


def finalize_funnel(
    plan: MetricsPlan, parts: list[MetricsPartial], *, spilled_days: Path | None = None
) -> pl.DataFrame:
    """The funnel table from every batch's partial (no model credit needed)."""
    return funnel_finalize(
        [p.funnel for p in parts],
        plan.present,
        plan.window,
        plan.settings,
        spilled_days=spilled_days,
    )
