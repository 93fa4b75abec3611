"""``attrib run [DATA_DIR]``: build journeys, attribute, and write the Parquet outputs.

polars, numba and the engines are imported only when the command runs.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from cli._errors import handle_errors
from cli._malloc import keep_freed_memory, small_pages_for_numpy
from cli._options import (
    DEFAULT_OUT,
    OWN_PROCESS,
    FiniteFloatRange,
    PathArg,
    _check_option_pairs,
    _data_or_sample,
    _DataDir,
    _given,
    event_log_option,
    output_format,
    strict_option,
    table_options,
)

if TYPE_CHECKING:  # (the heavy modules are imported inside the command)
    from attrib.engines.spark import SparkRunResult
    from attrib.run import RunResult


#: ``attrib run``'s options a path-table run (``--paths``) cannot use
_NOT_FOR_PATHS = (
    "DATA_DIR",
    "--touchpoints",
    "--deals",
    "--costs",
    "--stages",
    "--targets",
    "--event-log",
    "--lookback-days",
    "--level",
    "--from",
    "--to",
    "--gross-margin",
    "--touch-credits",
    "--buckets",
    "--memory-limit",
    "--engine spark",
    "--spark-master",
    "--strict",
)


def _check_run_arguments(
    period_from: datetime | None,
    period_to: datetime | None,
    paths_file: Path | None,
    options: Mapping[str, object],
) -> None:
    """Arguments of ``attrib run`` that contradict each other or that no run can use (exit
    2, before any work). ``options``: every option's value (None when not given), of which
    ``--paths`` refuses ``_NOT_FOR_PATHS``."""
    from attrib.columns import outside_years
    from attrib.errors import UsageError

    for name, day in (("--from", period_from), ("--to", period_to)):
        # the window's months are its periods: from year 1 (or to 9999) a run took minutes
        if day is not None and (why := outside_years(day.year)) is not None:
            raise UsageError(
                f"{name} {day.date().isoformat()} {why}",
                hint=f"leave {name} out for a window open at that end (the data's span)",
            )
    if period_from is not None and period_to is not None and period_from > period_to:
        raise UsageError(
            f"--from {period_from:%Y-%m-%d} is after --to {period_to:%Y-%m-%d}",
            hint="the reporting window runs from --from to --to, both days included",
        )
    given = _given({k: options[k] for k in _NOT_FOR_PATHS})
    if paths_file is not None and given:
        raise UsageError(
            f"--paths reads an aggregated path table (no times, stages or costs): "
            f"{', '.join(given)} would be ignored",
            hint="run either `attrib run --paths FILE [--models ...]` or `attrib run DATA_DIR`",
        )


def _check_engine_options(engine: str, options: Mapping[str, object]) -> None:
    """Options that only some engines take (``--buckets``, ``--memory-limit``,
    ``--spark-master``, ``--bootstrap``, ``--event-log``; ``options`` maps every option to its
    value, None when not given) refused where the chosen engine would ignore them (exit 2)."""
    from attrib.errors import UsageError

    if engine == "spark":
        refused = _given({k: options[k] for k in ("--memory-limit", "--bootstrap", "--event-log")})
        if refused:
            raise UsageError(
                f"{', '.join(refused)}: not available with --engine spark",
                hint="Spark sizes its own partitions (set their number with --buckets); "
                "run --bootstrap and --event-log with the local engine",
            )
        return
    if options["--spark-master"] is not None:
        raise UsageError(
            "--spark-master is for --engine spark", hint="add --engine spark, or drop it"
        )
    if _given({k: options[k] for k in ("--buckets", "--memory-limit")}):
        refused = _given({k: options[k] for k in ("--bootstrap", "--event-log")})
        why = {
            "--bootstrap": "the bootstrap resamples every journey at once",
            "--event-log": "an event log is read whole",
        }
        if refused:
            raise UsageError(
                f"{', '.join(refused)}: not available with --buckets/--memory-limit",
                hint=f"{' and '.join(why[k] for k in refused)}: run without buckets (the "
                "in-memory engine)",
            )


@click.command(
    epilog="""\b
Examples:
  attrib run                                   # data_samples/ -> ./attrib-out
  attrib run exports/ --out out/ --strict
  attrib run --touchpoints 'logs/*.parquet' --deals crm/deals.csv --config channels.toml
  attrib run exports/ --models markov,shapley --bootstrap 200
  attrib run --paths Data.csv --models first_touch,linear,markov
"""
)
@click.argument("data_dir", required=False, type=_DataDir())
@click.option(
    "--out",
    "out",
    default=DEFAULT_OUT,
    show_default=True,
    type=PathArg(path_type=Path),
    help="Output folder.",
)
@click.option(
    "--models",
    default=None,
    help="Comma list of models [default: the config's [options] models, else all]."
    " See `attrib models`.",
)
@table_options
@click.option(
    "--paths",
    "paths_file",
    default=None,
    type=PathArg(dir_okay=False, path_type=Path),
    help="ChannelAttribution-style aggregated path table instead of touches/deals.",
)
@event_log_option
@click.option(
    "--lookback-days",
    type=click.IntRange(min=1),
    default=None,
    help="Journey lookback window in days [default: the config's [options] lookback_days,"
    " else 365].",
)
@click.option(
    "--level",
    type=click.Choice(["customer", "account"]),
    default=None,
    help="Journey entity [default: the config's [options] level, else customer].",
)
@strict_option
@click.option(
    "--engine",
    type=click.Choice(["local", "spark"]),
    default="local",
    show_default=True,
    help="Execution engine.",
)
@click.option(
    "--buckets",
    type=click.IntRange(min=1),
    default=None,
    help="Out-of-core: hash-partition journeys into N buckets (at most 4,096) processed one at"
    " a time (with --engine spark: Spark's bucket count).",
)
@click.option(
    "--memory-limit",
    default=None,
    help="Out-of-core: pick the bucket count so one bucket fits, e.g. 4GB.",
)
@click.option(
    "--spark-master", default=None, help="Spark master URL for --engine spark, e.g. local[2]."
)
@click.option("--touch-credits", is_flag=True, help="Also write touch_credits.parquet (large).")
@click.option(
    "--bootstrap",
    type=click.IntRange(min=0),
    default=0,
    help="Journey-level bootstrap resamples for 95% intervals: 0 (off) or 2 to 1,000,000"
    " (e.g. 200).",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed for --bootstrap (only with it), 0 or more [default: 0].",
)
@click.option(
    "--gross-margin",
    type=FiniteFloatRange(min=0, max=1, min_open=True),
    default=None,
    help="Gross margin for ROMI and LTV [default: 1.0 or [metrics] gross_margin].",
)
@click.option(
    "--from",
    "period_from",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Reporting window start (spend is prorated to it) [default: data span].",
)
@click.option(
    "--to",
    "period_to",
    type=click.DateTime(["%Y-%m-%d"]),
    default=None,
    help="Reporting window end.",
)
@click.option("--report", "make_report", is_flag=True, help="Also write report.html.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary table.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Also log each stage's start (in logs without a terminal; ends are always logged).",
)
@output_format("Summary")
def run(
    data_dir: Path | None,
    out: Path,
    models: str | None,
    touchpoints: str | None,
    deals: str | None,
    costs: str | None,
    stages: str | None,
    targets: str | None,
    config_path: Path | None,
    paths_file: Path | None,
    event_log: Path | None,
    lookback_days: int | None,
    level: str | None,
    strict: bool | None,
    engine: str,
    buckets: int | None,
    memory_limit: str | None,
    spark_master: str | None,
    touch_credits: bool,
    bootstrap: int,
    seed: int | None,
    gross_margin: float | None,
    period_from: datetime | None,
    period_to: datetime | None,
    make_report: bool,
    quiet: bool,
    verbose: bool,
    fmt: str,
) -> None:
    """Build journeys, attribute revenue and pipeline, and write Parquet outputs."""
    with handle_errors(json_output=fmt == "json"):
        from cli._output import TerminalReporter, print_summary, window_label

        reporter = TerminalReporter(
            quiet=quiet or fmt == "json", verbose=verbose, warnings=fmt != "json"
        )
        in_memory = engine != "spark" and buckets is None and memory_limit is None
        if (click.get_current_context().obj or {}).get(OWN_PROCESS):
            small_pages_for_numpy()
            if in_memory:  # not for the bucketed engine: its point is a bounded peak
                keep_freed_memory()
        given = {  # each option's value, None (or False) when not given
            "DATA_DIR": data_dir,
            "--touchpoints": touchpoints,
            "--deals": deals,
            "--costs": costs,
            "--stages": stages,
            "--targets": targets,
            "--event-log": event_log,
            "--lookback-days": lookback_days,
            "--level": level,
            "--from": period_from,
            "--to": period_to,
            "--gross-margin": gross_margin,
            "--touch-credits": touch_credits,
            "--buckets": buckets,
            "--memory-limit": memory_limit,
            "--engine spark": engine == "spark",
            "--spark-master": spark_master,
            "--strict": strict,
            "--seed": seed,
            "--bootstrap": bootstrap or None,  # 0: off, as if not given
        }
        _check_run_arguments(period_from, period_to, paths_file, given)
        _check_option_pairs(given)
        _check_engine_options(engine, given)
        result: RunResult | SparkRunResult
        if paths_file is not None:
            from attrib.run import run_paths

            result = run_paths(
                paths_file,
                out=out,
                models=models,
                config=config_path,
                bootstrap=bootstrap,
                seed=seed,
                reporter=reporter,
            )
        else:
            tables = (touchpoints, deals, costs, stages, targets, config_path, event_log)
            data_dir = _data_or_sample(data_dir, *tables)
            common: dict[str, Any] = {
                "out": out,
                "models": models,
                "touchpoints": touchpoints,
                "deals": deals,
                "costs": costs,
                "stages": stages,
                "targets": targets,
                "config": config_path,
                "lookback_days": lookback_days,
                "level": level,
                "strict": strict,
                "reporter": reporter,
                "metrics": {
                    "gross_margin": gross_margin,
                    "period_from": period_from.date() if period_from else None,
                    "period_to": period_to.date() if period_to else None,
                },
            }
            if engine == "spark":
                import warnings

                from attrib.engines.spark import run_spark

                # pyspark's note on every Arrow call, of no use to attrib's user (its Arrow
                # UDFs need no pandas): not printed on the terminal
                warnings.filterwarnings(
                    "ignore", "PySpark does not yet fully support pandas", FutureWarning
                )
                result = run_spark(
                    data_dir,
                    master=spark_master,
                    buckets=buckets,
                    touch_credits=touch_credits,
                    **common,
                )
            elif buckets is not None or memory_limit is not None:
                from attrib.engines.local import run_bucketed

                result = run_bucketed(
                    data_dir,
                    buckets=buckets,
                    memory_limit=memory_limit,
                    touch_credits=touch_credits,
                    **common,
                )
            else:
                from attrib.run import run as run_job

                result = run_job(
                    data_dir,
                    touch_credits=touch_credits,
                    event_log=event_log,
                    bootstrap=bootstrap,
                    seed=seed,
                    **common,
                )
        report_path = None
        if make_report:
            from cli.report_cmd import write_report

            with reporter.stage("report"):
                report_path = write_report(out, quiet=quiet or fmt == "json")
        if fmt == "json":
            summary = _json_summary(result)
            if report_path is not None:
                summary["report"] = str(report_path)
            click.echo(json.dumps(summary, default=str))
        elif not quiet:
            metrics = result.manifest.get("config", {}).get("metrics", {})
            print_summary(
                result.channel_summary,
                kpis=result.tables.get("kpis"),
                window=window_label(metrics),
            )
            click.echo(f"outputs written to {out}/")


def _json_summary(result: RunResult | SparkRunResult) -> dict[str, object]:
    return {
        "ok": True,
        "out": str(result.out),
        "row_counts": result.manifest.get("row_counts", {}),
        "rejected": result.manifest.get("rejected", {}),
        "warnings": result.manifest.get("warnings", []),
        "channel_summary": result.channel_summary.to_dicts(),
        "kpis": (
            result.tables["kpis"].filter(period="all").select("kpi", "value").to_dicts()
            if "kpis" in result.tables
            else []
        ),
    }
