"""The main job: load -> validate -> build journeys -> attribute -> summarise -> write.

``run`` is what ``attrib run`` calls; each step is also public so a notebook can stop at any
point (``load_inputs``, ``build_journeys``, ``attribute``) with Polars frames in and out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from numbers import Integral
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import polars as pl

from attrib._numba import compile_note, set_up_in_background
from attrib.config import RunConfig, load_config, parse_model_list
from attrib.credit import Attribution, credit_model, fit_model, summarise
from attrib.data_checks import (
    DealCounts,
    check_rejections,
    deal_warnings,
    event_log_rejected_rows,
    metric_warnings,
    path_warnings,
)
from attrib.encoded import Dictionaries, Journeys
from attrib.errors import ConfigError, UsageError
from attrib.inputs import Inputs, TableSource, load_inputs, resolve_config
from attrib.journeys import build_journeys
from attrib.manifest import build_manifest, finish_manifest, input_section, result_line
from attrib.models import check_names, get_model, import_models, model_names
from attrib.models.base import AttributionModel
from attrib.outputs import (
    StagedTables,
    check_out_folder,
    fingerprint,
    fingerprints_in_background,
    write_manifest,
    write_quarantine,
    write_tables,
    write_touch_credits,
)
from attrib.progress import Reporter

T = TypeVar("T")

if TYPE_CHECKING:  # at run time the metrics modules are imported where used
    from attrib.metrics.bundle import MetricsPartial, MetricsPlan


@dataclass(repr=False)
class RunResult:
    """What a run produced (frames in memory; files too when ``out`` was given)."""

    inputs: Inputs | None
    journeys: Journeys | None  # None for the bucketed engine (journeys stay on disk)
    attribution: Attribution
    tables: dict[str, pl.DataFrame]
    manifest: dict[str, Any]
    out: Path | None = None

    @property
    def channel_summary(self) -> pl.DataFrame:
        return self.attribution.channel_summary

    @property
    def warnings(self) -> list[str]:
        """What the run warned of (rejected rows, unmatched spend, ...), as the terminal and
        ``manifest.json`` say it: a run with warnings is valid but probably not what you meant."""
        return list(self.manifest.get("warnings", []))

    def __repr__(self) -> str:
        """One short line: a notebook cell ending in ``at.run(...)`` showed every table and
        the whole manifest (~50 kB)."""
        return result_line("RunResult", self.out, self.manifest, self.tables)


def requested_models(
    names: list[str] | tuple[str, ...] | str | None, config: RunConfig
) -> list[str]:
    """The model names a run asks for: a comma list or a list, else the config's, else all."""
    chosen = parse_model_list(names) if names is not None else ()
    return list(chosen or config.models or model_names())


def models_named(names: list[str] | tuple[str, ...] | str | None, config: RunConfig) -> bool:
    """Whether a run names its models (``--models``, or the config's ``[options] models``)
    rather than running them all."""
    return bool((parse_model_list(names) if names is not None else ()) or config.models)


def runnable_models(
    chosen: list[AttributionModel],
    dicts: Dictionaries,
    names: list[str] | tuple[str, ...] | str | None,
    config: RunConfig,
    reporter: Reporter,
) -> list[AttributionModel]:
    """``chosen`` without the models the data cannot feed (Shapley beyond 63 channels) when
    the run named none (``names``, the config's ``[options] models``), each left out with a
    warning: running every model is a convenience, and one that did not fit the data stopped
    them all (exit 3, after the whole read). A model named is kept, to fail with its own
    error."""
    if models_named(names, config):
        return chosen
    kept = []
    for model in chosen:
        if (why := model.unfit_reason(dicts)) is None:
            kept.append(model)
        else:
            reporter.warn(
                f"{model.name}: left out of this run, which named no models: {why}; group rare"
                " channels together to run it, or name the models (--models)"
            )
    return kept


def resolve_models(
    names: list[str] | tuple[str, ...] | str | None,
    config: RunConfig,
    *,
    paths_only: bool = False,
) -> list[AttributionModel]:
    """Model instances for a comma list (default: the config's ``[options] models``, else every
    registered model), config params applied."""
    if isinstance(names, str) and not names.strip(" ,"):
        raise UsageError(
            "--models (models=) names no model", hint=f"choose from: {', '.join(model_names())}"
        )
    chosen = requested_models(names, config)
    if not chosen:
        raise UsageError("no model selected", hint=f"choose from: {', '.join(model_names())}")
    seen: set[str] = set()
    models = []
    for name in chosen:
        if name in seen:
            continue
        seen.add(name)
        model = configured_model(name, config)
        if paths_only and not model.paths_ok:
            if names:
                raise UsageError(
                    f"model {name!r} needs timestamps and stages, which a path table lacks",
                    hint="drop it from --models (models=) when using --paths (run_paths)",
                )
            continue
        models.append(model)
    return models


def configured_model(name: str, config: RunConfig) -> AttributionModel:
    """The model ``name`` with its ``[models.<name>]`` parameters; a bad one is a
    ConfigError naming the table and the config file."""
    try:
        return get_model(name, **config.model_params.get(name, {}))
    except ConfigError as exc:  # a [models.<name>] table's parameter: say where it is
        raise ConfigError(
            exc.message, file=exc.file or config.source, column=f"models.{name}", hint=exc.hint
        ) from None


def check_model_tables(config: RunConfig) -> None:
    """Check every ``[models.<name>]`` table of the config, chosen for a run or not (``attrib
    validate``, a pre-flight check, said nothing of a parameter ``attrib run`` refused)."""
    for name in config.model_params:
        configured_model(name, config)


def attribute(
    journeys: Journeys | list[Journeys],
    models: list[AttributionModel] | list[str] | str | None = None,
    *,
    config: RunConfig | None = None,
    reporter: Reporter | None = None,
) -> Attribution:
    """Run every model over the journeys (one batch or many) and build the summaries.
    ``models``: instances, names or a comma list; none (None or empty): the config's
    ``[options] models``, else every registered model, as ``run`` reads them."""
    batches = journeys if isinstance(journeys, list) else [journeys]
    if not batches or not all(isinstance(b, Journeys) for b in batches):
        wrong = next((type(b).__name__ for b in batches if not isinstance(b, Journeys)), "[]")
        raise UsageError(
            f"journeys= must be Journeys (or a list of them), got {wrong}",
            hint="build them first: at.build_journeys(inputs.touches, inputs.deals,"
            " inputs.config, stages=inputs.stages)",
        )
    if config is not None and not isinstance(config, RunConfig):
        raise UsageError(
            f"config= must be a RunConfig, got {type(config).__name__}",
            hint="pass load_inputs(...).config, or attrib.config.load_config(PATH)",
        )
    config = config or RunConfig()
    if models is None or isinstance(models, str):
        chosen = resolve_models(models, config)
    else:
        names = [m for m in models if isinstance(m, str)]
        given = [m for m in models if not isinstance(m, str)]
        if names and given:  # a model instance read as a name failed with an AttributeError
            raise UsageError(
                "models= takes model names or model instances, not both",
                hint='e.g. ["linear", "markov"], or get_model("markov", ...) for every model',
            )
        chosen = given or resolve_models(names, config)  # none: the config's, else all
    reporter = reporter or Reporter()
    dicts = batches[0].dicts
    credits = []
    for model in chosen:
        with reporter.stage(f"model {model.name}"):
            credits.append(credit_model(model, batches, fit_model(model, batches, dicts)))
    for batch in batches:
        batch.drop_scratch()
    return summarise(credits, dicts)


def shared_argument_types(
    out: object, models: object, metrics: object
) -> dict[str, tuple[Any, tuple[type, ...], str]]:
    """The ``check_argument_types`` entries of the arguments every ``run*`` takes."""
    return {
        "out": (out, (str, Path), "a folder path"),
        "models": (models, (str, list, tuple), "a comma list or a list of model names"),
        "metrics": (
            metrics,
            (dict,),
            'a dict of [metrics] settings, e.g. {"gross_margin": 0.7}',
        ),
    }


#: arguments a run would ignore beside another: (first, second, why); the CLI's options
#: are the same names spelt ``--first`` (``cli._options``)
IGNORED_PAIRS = (
    ("buckets", "memory_limit", "{buckets} sets the bucket count itself"),
    ("event_log", "touchpoints", "the event log gives the touchpoints"),
    ("event_log", "deals", "the event log gives the deals"),
    ("event_log", "level", "an event log has no accounts: its journeys are by cookie"),
)


def refuse_ignored_pairs(given: Collection[str], spell: Callable[[str], str]) -> None:
    """UsageError for two ``given`` arguments one of which the run would ignore beside the
    other (``IGNORED_PAIRS``); ``spell`` names an argument as the caller knows it
    (``--memory-limit`` on the command line, ``memory_limit=`` in Python)."""
    for first, second, why in IGNORED_PAIRS:
        if first in given and second in given:
            reason = why.format(**{first: spell(first)})
            raise UsageError(
                f"{spell(first)} and {spell(second)} together: {reason}",
                hint=f"drop {spell(second)}",
            )


def given_arguments(**values: object) -> list[str]:
    """The names of the arguments given (not None)."""
    return [name for name, value in values.items() if value is not None]


def python_argument(name: str) -> str:
    """An argument as a Python call names it: ``memory_limit=``."""
    return f"{name}="


def refuse_touch_credits_without_out(touch_credits: bool, out: object) -> None:
    """Touch credits are streamed to ``out/touch_credits.parquet``: without ``out`` they
    were silently not made. (True or False: "no" was true.)"""
    if not isinstance(touch_credits, bool | np.bool_):
        raise UsageError(
            f"touch_credits= must be True or False, got {shown_value(touch_credits)}",
            hint="e.g. touch_credits=True",
        )
    if touch_credits and out is None:
        raise UsageError(
            "touch_credits=True needs out=: every touch's credit is streamed to"
            " OUT/touch_credits.parquet, not held in memory",
            hint='pass out="some-folder/", or drop touch_credits',
        )


def check_argument_types(**given: tuple[Any, tuple[type, ...], str]) -> None:
    """UsageError for a ``run*`` argument of the wrong type (None is "not given"), before
    anything is read: a Python API call otherwise failed deep inside with a raw TypeError."""
    for name, (value, types, what) in given.items():
        if value is not None and (not isinstance(value, types) or isinstance(value, bool)):
            raise UsageError(f"{name}= must be {what}, got {shown_value(value)}")


def check_seed(seed: int | None, bootstrap: int) -> int:
    """The bootstrap's seed, 0 when not given; a UsageError for a negative seed (numpy's
    generator takes 0 or more: its own ValueError came from deep inside the bootstrap), and
    for one given without ``bootstrap``, where it does nothing (as the CLI's ``--seed``)."""
    if seed is None:
        return 0
    if seed < 0:
        raise UsageError(f"seed= must be 0 or more, got {seed}", hint="e.g. seed=1")
    if not bootstrap:
        raise UsageError(
            "seed= without bootstrap= does nothing",
            hint="add bootstrap=N (e.g. 200), or drop seed=",
        )
    return seed


def shown_value(value: object) -> str:
    """An argument as an error shows it: its repr, or for a frame (whose repr is the whole
    table) its type and shape."""
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, (str, bytes)):
        return f"a {type(value).__module__.split('.')[0]} {type(value).__name__} of shape {shape}"
    return repr(value)


def run(
    data_dir: str | Path | None = None,
    *,
    out: str | Path | None = None,
    models: list[str] | str | None = None,
    touchpoints: TableSource = None,
    deals: TableSource = None,
    stages: TableSource = None,
    costs: TableSource = None,
    targets: TableSource = None,
    config: RunConfig | str | Path | None = None,
    lookback_days: int | None = None,
    level: str | None = None,
    strict: bool | None = None,
    touch_credits: bool = False,
    event_log: str | Path | None = None,
    metrics: dict[str, Any] | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
    reporter: Reporter | None = None,
) -> RunResult:
    """Run the whole job on a data folder (and/or explicit files); write outputs to ``out``
    when given (with ``out=None`` nothing is written: the result holds every table).

    ``metrics`` overrides ``[metrics]`` settings (e.g. ``{"gross_margin": 0.7}``).
    ``bootstrap`` > 0 adds 95% intervals (``revenue_lo``, ``revenue_hi``, ...) to the channel
    summary from that many seeded journey-level resamples.

    Each table may be a path (file, folder, glob) or a polars DataFrame.
    ``event_log`` reads a single B2C-style log (``cookie, time, channel, conversion,
    conversion_value``) through ``attrib.adapters.event_log_tables`` instead of touches/deals.
    """
    check_argument_types(
        **shared_argument_types(out, models, metrics),
        event_log=(event_log, (str, Path), "a file path"),
        seed=(seed, (Integral,), "a whole number"),  # (numpy's too)
        bootstrap=(bootstrap, (Integral,), "a whole number of resamples"),
    )
    seed = check_seed(seed, bootstrap)
    refuse_ignored_pairs(
        given_arguments(event_log=event_log, touchpoints=touchpoints, deals=deals, level=level),
        python_argument,
    )
    refuse_touch_credits_without_out(touch_credits, out)
    reporter = reporter or Reporter()
    if bootstrap:  # before any input is read
        from attrib.bootstrap import check_resamples

        check_resamples(bootstrap)
    out_path = Path(out) if out is not None else None
    check_out_folder(out_path)
    with reporter.stage("read and validate"):
        # overrides before validation: --level decides each row's entity while loading
        cfg = resolve_config(
            data_dir,
            config,
            lookback_days=lookback_days,
            level=level,
            strict=strict,
            metrics=metrics,
        )
        wanted = requested_models(models, cfg)
        check_names(wanted)  # a misspelt model fails before any reading
        # numba's one-time set-up and the chosen models' imports, while Polars reads
        set_up = set_up_in_background(partial(import_models, wanted))
        frames = None
        log_warnings: list[str] = []
        if event_log is not None:
            from attrib.adapters import event_log_config, event_log_frames

            cfg = event_log_config(cfg, log_warnings)
            frames = event_log_frames(event_log, log_warnings, cfg.event_log)
        inputs = load_inputs(
            data_dir,
            touchpoints=touchpoints,
            deals=deals,
            stages=stages,
            costs=costs,
            targets=targets,
            config=cfg,
            frames=frames,
            used_only=True,
        )
    for warning in log_warnings:
        reporter.warn(warning)
    sources = {**inputs.files, **({"event_log": [str(event_log)]} if event_log else {})}
    fingerprints = fingerprints_in_background(sources)
    chosen = resolve_models(models, cfg)
    if out_path is not None:
        write_quarantine(out_path, inputs.quarantine)
    check_rejections(
        inputs.rows_read,
        inputs.rejected,
        strict=cfg.strict,
        out=out_path,
        reporter=reporter,
        log_rows=event_log_rejected_rows(inputs.quarantine) if event_log is not None else None,
        quarantine=inputs.quarantine,
    )
    if (note := compile_note(set_up)) is not None:  # (before the first kernel: said first)
        reporter.note(note)
    with reporter.stage("build journeys"):
        journeys = build_journeys(inputs.touches, inputs.deals, cfg, stages=inputs.stages)
    chosen = runnable_models(chosen, journeys.dicts, models, cfg, reporter)
    reporter.note(f"journeys: {journeys.n_journeys:,} over {journeys.n_window_touches:,} touches")
    deal_counts = DealCounts.of(journeys)
    for warning in deal_warnings(
        deal_counts, inputs.rows_read, inputs.rejected, cfg.level, event_log is not None
    ):
        reporter.warn(warning)
    staged = StagedTables(out_path) if out_path is not None else None
    # the metrics' map step and the funnel need no credit: they run (Polars, GIL released)
    # beside the models (numba, GIL released), so the two share the machine's cores
    with (
        ThreadPoolExecutor(max_workers=1) as pool,
        staged if staged is not None else nullcontext(),
    ):
        mapped = pool.submit(
            _timed,
            reporter,
            "metrics (beside the models)",
            map_run_metrics,
            inputs,
            journeys.table,
            journeys.digest,
        )
        attribution = attribute(journeys, chosen, config=cfg, reporter=reporter)
        if bootstrap:
            with reporter.stage(f"bootstrap x{bootstrap}"):
                add_intervals(attribution, chosen, journeys, bootstrap, seed)
        if staged is not None and not mapped.done():
            # rather than wait for the metrics, write the (final) journeys table meanwhile
            with reporter.stage("write journeys (beside the metrics)"):
                staged.write("journeys", journeys.table)
        with reporter.stage("metrics (finish)"):
            tables_m = finish_metrics(inputs, attribution, mapped.result())
        plan = mapped.result()[0]
        for warning in metric_warnings(
            inputs,
            tables_m["kpis"],
            journeys.dicts.channels,
            plan,
            tables_m["channel_summary"],
            attribution.tables,
        ):
            reporter.warn(warning)
        attribution.channel_summary = tables_m["channel_summary"]
        attribution.campaign_summary = tables_m["campaign_summary"]
        tables = {
            **tables_m,
            "journeys": journeys.table,
            **attribution.tables,
        }
        manifest = build_manifest(
            cfg,
            chosen,
            engine={"name": "local"},  # in memory (bucketed: local-bucketed)
            inputs=input_section(inputs, fingerprints.result()),
            rows_read=inputs.rows_read,
            rejected=inputs.rejected,
            n_journeys=journeys.n_journeys,
            n_touches=journeys.n_window_touches,
            deals=deal_counts,
            warnings=reporter.warnings,
            window=plan.window,
            window_given=plan.settings.window_given(),
            bootstrap=(bootstrap, seed),
        )
        result = RunResult(inputs, journeys, attribution, tables, manifest, out_path)
        if out_path is not None:
            write_outputs(result, touch_credits=touch_credits, reporter=reporter, staged=staged)
    return result


def _timed(reporter: Reporter, name: str, fn: Callable[..., T], *args: Any) -> T:
    """Call ``fn(*args)`` and record its wall time under ``name`` (no progress display: it
    runs in a worker thread beside other stages)."""
    t0 = time.perf_counter()
    try:
        return fn(*args)
    finally:
        reporter.add_time(name, time.perf_counter() - t0)


def add_intervals(
    attribution: Attribution,
    models: list[AttributionModel],
    journeys: Journeys,
    n: int,
    seed: int,
) -> None:
    """Join bootstrap intervals onto the channel summary (``*_lo``/``*_hi`` columns)."""
    from attrib.bootstrap import bootstrap_intervals

    intervals = bootstrap_intervals(models, journeys, n, seed)
    attribution.channel_summary = attribution.channel_summary.join(
        intervals, on=["model", "channel"], how="left", maintain_order="left"
    )


def map_run_metrics(
    inputs: Inputs,
    journeys: pl.DataFrame,
    touches: pl.DataFrame | None,
) -> tuple[MetricsPlan, MetricsPartial, pl.DataFrame]:
    """Every metrics step that does not need the models' credit, over one in-memory batch:
    the plan, the partial state and the funnel table, so a run can compute them while the
    models run."""
    from attrib.metrics.bundle import finalize_funnel, map_metrics, metrics_plan
    from attrib.metrics.settings import MetricsSettings

    settings = MetricsSettings.from_mapping(inputs.config.metrics)
    plan = metrics_plan(settings, inputs.deals, inputs.stages, touches)
    part = map_metrics(
        plan, digest=touches, deals=inputs.deals, stages=inputs.stages, journeys=journeys
    )
    return plan, part, finalize_funnel(plan, [part])


def finish_metrics(
    inputs: Inputs,
    attribution: Attribution,
    mapped: tuple[MetricsPlan, MetricsPartial, pl.DataFrame],
) -> dict[str, pl.DataFrame]:
    """The metrics tables from ``map_run_metrics``' result and the models' summaries."""
    from attrib.metrics.bundle import finalize_metrics

    plan, part, funnel = mapped
    return finalize_metrics(
        plan,
        [part],
        deals=inputs.deals,
        costs=inputs.costs,
        targets=inputs.targets,
        channel_summary=attribution.channel_summary,
        campaign_summary=attribution.campaign_summary,
        funnel=funnel,
        declared=inputs.config.declared_marketing(),
    )


def write_outputs(
    result: RunResult,
    *,
    touch_credits: bool = False,
    reporter: Reporter | None = None,
    staged: StagedTables | None = None,
) -> None:
    """Write every table, optional touch credits, and the manifest to ``result.out``
    (``staged``: tables already written under temporary names, moved into place here, last
    before the manifest)."""
    reporter = reporter or Reporter()
    out = result.out
    if out is None:
        raise UsageError("no output folder given", hint="pass out=... or --out DIR")
    with reporter.stage("write outputs"):
        files = write_tables(out, result.tables, skip=staged.names if staged is not None else ())
        if result.inputs is not None:
            files += write_quarantine(out, result.inputs.quarantine)
        if touch_credits:
            assert result.journeys is not None  # in memory (the bucketed engine streams its own)
            pairs = [(c.model, c.fitted) for c in result.attribution.credits]
            rows = write_touch_credits(out, [result.journeys], pairs)
            files.append("touch_credits.parquet")
            result.manifest["row_counts"]["touch_credits"] = rows
        if staged is not None:
            files += staged.commit()
    finish_manifest(result.manifest, files, reporter)
    write_manifest(out, result.manifest)


def run_paths(
    paths_file: str | Path,
    *,
    out: str | Path | None = None,
    models: list[str] | str | None = None,
    config: RunConfig | str | Path | None = None,
    bootstrap: int = 0,
    seed: int | None = None,
    reporter: Reporter | None = None,
) -> RunResult:
    """Run the path-defined models on a ChannelAttribution-style aggregated path table
    (``attrib run --paths FILE``): ``path``, ``total_conversions`` and optionally
    ``total_conversion_value`` and ``total_null``."""
    from attrib.paths import read_paths

    check_argument_types(
        **shared_argument_types(out, models, None),
        paths_file=(paths_file, (str, Path), "a file path"),
        seed=(seed, (Integral,), "a whole number"),
        bootstrap=(bootstrap, (Integral,), "a whole number of resamples"),
    )
    seed = check_seed(seed, bootstrap)
    reporter = reporter or Reporter()
    if bootstrap:  # before any input is read
        from attrib.bootstrap import check_resamples

        check_resamples(bootstrap)
    out_path = Path(out) if out is not None else None
    check_out_folder(out_path)
    set_up_in_background()
    cfg = config if isinstance(config, RunConfig) else load_config(config)
    # a model a path table cannot feed (w_shaped) is refused before the file is read
    chosen = resolve_models(models, cfg, paths_only=True)
    with reporter.stage("read paths"):
        journeys = read_paths(paths_file)
    chosen = runnable_models(chosen, journeys.dicts, models, cfg, reporter)
    # a path row stands for its count of journeys: count them, and their touches, so
    n_journeys = float(journeys.weight.sum())
    n_touches = float((journeys.weight * np.diff(journeys.offsets)).sum())
    reporter.note(
        f"paths: {n_journeys:,.0f} journeys over {n_touches:,.0f} touches "
        f"({journeys.n_journeys:,} distinct paths and outcomes)"
    )
    attribution = attribute(journeys, chosen, config=cfg, reporter=reporter)
    if bootstrap:
        with reporter.stage(f"bootstrap x{bootstrap}"):
            add_intervals(attribution, chosen, journeys, bootstrap, seed)
    for warning in path_warnings(journeys.dicts.channels, attribution.tables):
        reporter.warn(warning)
    tables = {
        "channel_summary": attribution.channel_summary,
        "campaign_summary": attribution.campaign_summary,
        **attribution.tables,
    }
    manifest = build_manifest(
        cfg,
        chosen,
        engine={"name": "local"},
        inputs={"paths": [fingerprint(paths_file)]},
        rows_read={},
        rejected={},
        n_journeys=round(n_journeys),
        n_touches=round(n_touches),
        deals=DealCounts.of(journeys),
        warnings=reporter.warnings,
        bootstrap=(bootstrap, seed),
    )
    # (a path's rows are journeys of their own: the bootstrap resamples each)
    manifest["row_counts"]["distinct_paths"] = journeys.table.select("path", "status").n_unique()
    result = RunResult(None, journeys, attribution, tables, manifest, out_path)
    if result.out is not None:
        write_outputs(result, reporter=reporter)
    return result
