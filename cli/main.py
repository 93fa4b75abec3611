"""The ``attrib`` command line: run, validate, generate, plan, report, models, explain.

Heavy libraries (polars, numba, pyspark) are imported inside the commands, so ``attrib
--help`` stays fast.
"""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attrib._threads import join_background
from cli._errors import exit_broken_pipe, handle_errors

if TYPE_CHECKING:  # (the heavy modules are imported inside the commands)
    import polars as pl

    from attrib.engines.spark import SparkRunResult
    from attrib.inputs import Inputs
    from attrib.run import RunResult
from cli._malloc import keep_freed_memory, small_pages_for_numpy

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}
DEFAULT_OUT = "attrib-out"
#: key of the click context's ``obj``: set when the CLI runs in a process of its own
OWN_PROCESS = "own_process"


@contextmanager
def gc_paused() -> Iterator[None]:
    """Python's cyclic GC off for the command being run, back as it was after (also after an
    error).

    Importing polars and numba and numba's first kernel call make ~1M long-lived objects
    that the GC would scan ~300 times (~0.12 s, 6% of a sample run); a job makes almost no
    cyclic garbage (a cold numba compile's, ~0.1 GB, at most). The survivors then join the
    oldest generation unscanned (``freeze`` and ``unfreeze`` move lists, they scan nothing),
    so the first collection after the command does not pay for them either. A process that
    calls the CLI (a notebook, CliRunner) still collects its own garbage afterwards.
    """
    enabled, frozen = gc.isenabled(), gc.get_freeze_count()
    gc.disable()
    try:
        yield
    finally:
        if not frozen:  # a caller's own frozen objects stay frozen
            gc.freeze()
            gc.unfreeze()
        if enabled:
            gc.enable()


class _DataDir(click.Path):
    """DATA_DIR: a folder. A file given there (``attrib run exports/deals.csv``) is told how
    to name one table's file, not only click's "Directory ... is a file"."""

    def __init__(self) -> None:
        super().__init__(file_okay=False, path_type=Path)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str | Path) and Path(value).is_file():
            self.fail(
                f"{str(value)!r} is a file, not a data folder: give the folder that holds "
                "touchpoints.*, deals.*, ..., or name each table's file with --touchpoints "
                "FILE, --deals FILE, ... (see --help)",
                param,
                ctx,
            )
        return super().convert(value, param, ctx)


def _fraction_of(percent: str) -> str:
    """``"50"`` -> ``"0.5"``: a percentage's text as the fraction a --rate takes (the
    percentage itself, with a %, when it is no number)."""
    try:
        return f"{float(percent) / 100:g}"
    except ValueError:
        return f"{percent}%/100"


def _given(options: dict[str, object]) -> list[str]:
    """The names of the options that were given (not None, not a false flag)."""
    return [n for n, value in options.items() if value is not None and value is not False]


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
    options: dict[str, object],
) -> None:
    """Arguments of ``attrib run`` that contradict each other or that no run can use (exit
    2, before any work). ``options``: every option's value (None when not given), of which
    ``--paths`` refuses ``_NOT_FOR_PATHS``."""
    import math

    from attrib.columns import outside_years
    from attrib.errors import UsageError

    for name, day in (("--from", period_from), ("--to", period_to)):
        # the window's months are its periods: from year 1 (or to 9999) a run took minutes
        if day is not None and (why := outside_years(day.year)) is not None:
            raise UsageError(
                f"{name} {day.date().isoformat()} {why}",
                hint=f"leave {name} out for a window open at that end (the data's span)",
            )
    margin = options["--gross-margin"]
    if isinstance(margin, float) and math.isnan(margin):  # (click's range lets NaN through)
        raise UsageError("--gross-margin nan is not a number", hint="e.g. --gross-margin 0.7")
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


def _check_option_pairs(options: dict[str, object]) -> None:
    """Options that would be ignored beside another (exit 2): ``options`` maps every option
    to its value, None when not given."""
    from attrib.errors import UsageError

    given = set(_given(options))
    for first, second, why in (
        ("--buckets", "--memory-limit", "--buckets sets the bucket count itself"),
        ("--event-log", "--touchpoints", "the event log gives the touchpoints"),
        ("--event-log", "--deals", "the event log gives the deals"),
        ("--event-log", "--level", "an event log has no accounts: its journeys are by cookie"),
    ):
        if first in given and second in given:
            raise UsageError(f"{first} and {second} together: {why}", hint=f"drop {second}")
    if "--seed" in given and "--bootstrap" not in given:
        raise UsageError("--seed without --bootstrap does nothing", hint="add --bootstrap N")


def _check_engine_options(engine: str, options: dict[str, object]) -> None:
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


def output_format(what: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """The ``--format table|json`` option of a command whose stdout shows ``what``."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(["table", "json"]),
        default="table",
        show_default=True,
        help=f"{what} on stdout: human table or JSON.",
    )


def table_options(command: Callable[..., None]) -> Callable[..., None]:
    """The options that name a run's input files one by one (``run``, ``validate``, ``plan``)."""
    for option in reversed(
        (
            click.option(
                "--touchpoints",
                default=None,
                help="Touchpoints file, folder or glob (overrides DATA_DIR).",
            ),
            click.option("--deals", default=None, help="Deals file, folder or glob."),
            click.option("--costs", default=None, help="Costs file, folder or glob."),
            click.option("--stages", default=None, help="Stages file, folder or glob."),
            click.option(
                "--targets",
                default=None,
                help="Targets file, folder or glob (kpi, period, target).",
            ),
            click.option(
                "--config",
                "config_path",
                default=None,
                type=click.Path(dir_okay=False, path_type=Path),
                help="Run config TOML (default: DATA_DIR/channels.toml).",
            ),
        )
    ):
        command = option(command)
    return command


def _sample_dir() -> Path:
    """The shipped sample data: ``data_samples/`` beside the package (source checkout)."""
    here = Path(__file__).resolve().parent.parent / "data_samples"
    return here if here.is_dir() else Path.cwd() / "data_samples"


event_log_option = click.option(
    "--event-log",
    "event_log",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Single B2C event log (cookie, time, channel, conversion, conversion_value).",
)


def _data_or_sample(data_dir: Path | None, *given: object, quiet: bool) -> Path | None:
    """DATA_DIR, or the shipped sample when neither it nor any input option is given (said on
    stderr unless ``quiet``, so that nobody mistakes the sample's numbers for their own). A
    costs, stages, targets or config file alone is not mixed into the sample: the run then
    asks for the touches and deals."""
    if data_dir is not None or any(g is not None and g != () for g in given):
        return data_dir
    sample = _sample_dir()
    if not quiet:
        click.echo(f"no DATA_DIR given: using the shipped sample data in {sample}/", err=True)
    return sample


class Group(click.Group):
    """The ``attrib`` group: click's own output (``--help``, ``--version``) into a closed pipe
    exits 141 like the commands' (click's ``main`` would exit 1, the code of ``--strict``)."""

    def make_context(self, *args: Any, **kwargs: Any) -> click.Context:
        try:  # attrib --help, attrib --version
            return super().make_context(*args, **kwargs)
        except BrokenPipeError:
            exit_broken_pipe()

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta[_RAW_ARGS] = list(args)  # the command line as given, for ``invoke``
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:  # attrib run --help (the commands' own output goes through handle_errors)
            return super().invoke(ctx)
        except BrokenPipeError:
            exit_broken_pipe()
        except click.UsageError as exc:  # click's own (--lookback-days -1): JSON if asked
            command = exc.ctx.info_name if exc.ctx is not None else None
            if command in _JSON_COMMANDS and _asks_json(ctx.meta.get(_RAW_ARGS, [])):
                from attrib.errors import UsageError

                hint = f"see '{exc.ctx.command_path} --help'" if exc.ctx is not None else None
                click.echo(
                    json.dumps(
                        {"ok": False, **UsageError(exc.format_message(), hint=hint).to_dict()}
                    )
                )
            raise


_RAW_ARGS = "attrib.raw_args"
#: the commands whose ``--format json`` writes a JSON document (generate's --format is a file's)
_JSON_COMMANDS = ("run", "validate", "plan")


def _asks_json(args: list[str]) -> bool:
    """Whether a command line asks for ``--format json`` (read before click could parse it)."""
    pairs = zip(args, [*args[1:], ""], strict=True)
    return any(a == "--format=json" or (a == "--format" and b == "json") for a, b in pairs)


@click.group(
    cls=Group,
    context_settings=CONTEXT,
    epilog="""\b
Examples:
  attrib run                              # the shipped sample data -> ./attrib-out
  attrib run exports/ --out out/ --models first_touch,linear,markov
  attrib validate exports/
  attrib generate demo/ --customers 5000 --seed 1
  attrib models
Docs: README.md. Exit codes: 0 ok, 1 checks failed (--strict), 2 usage/input/config error,
3 computation error, 4 output error, 5 internal error, 130 interrupted, 141 output pipe closed.""",
)
@click.version_option(package_name="attrib")
def cli() -> None:
    """attrib: multichannel attribution and ROI analytics for B2B marketing."""
    click.get_current_context().with_resource(gc_paused())  # for the command, not after


@cli.command(
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
    type=click.Path(path_type=Path),
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
    type=click.Path(dir_okay=False, path_type=Path),
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
@click.option(
    "--strict",
    is_flag=True,
    default=None,
    help="Exit 1 if any input row was rejected [default: the config's [options] strict, else off].",
)
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
    help="Out-of-core: hash-partition journeys into N buckets processed one at a time"
    " (with --engine spark: Spark's bucket count).",
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
    help="Journey-level bootstrap resamples for 95% intervals: 0 (off) or at least 2, e.g. 200.",
)
@click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=None,
    help="Seed for --bootstrap (only with it), 0 or more [default: 0].",
)
@click.option(
    "--gross-margin",
    type=click.FloatRange(min=0, max=1, min_open=True),
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

        reporter = TerminalReporter(quiet=quiet or fmt == "json", verbose=verbose)
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
        if paths_file is not None:
            from attrib.run import run_paths

            result = run_paths(
                paths_file,
                out=out,
                models=models,
                config=config_path,
                bootstrap=bootstrap,
                seed=seed or 0,
                reporter=reporter,
            )
        else:
            tables = (touchpoints, deals, costs, stages, targets, config_path, event_log)
            data_dir = _data_or_sample(data_dir, *tables, quiet=quiet or fmt == "json")
            common = {
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
                from attrib.engines.spark import run_spark

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
                    seed=seed or 0,
                    **common,
                )
        if make_report:
            from cli.report_cmd import write_report

            with reporter.stage("report"):
                write_report(out, quiet=quiet or fmt == "json")
        if fmt == "json":
            click.echo(json.dumps(_json_summary(result), default=str))
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


@cli.command(
    epilog="""\b
Examples:
  attrib validate exports/
  attrib validate exports/ --out checks/ --strict
  attrib validate --touchpoints 'logs/*.parquet' --deals crm/deals.csv --config channels.toml
  attrib validate --event-log events.csv --out checks/
"""
)
@click.argument("data_dir", required=False, type=_DataDir())
@table_options
@click.option(
    "--out", default=None, type=click.Path(path_type=Path), help="Also write quarantine files here."
)
@click.option(
    "--strict",
    is_flag=True,
    default=None,
    help="Exit 1 if any row is rejected [default: the config's [options] strict, else off].",
)
@click.option(
    "--level",
    type=click.Choice(["customer", "account"]),
    default=None,
    help="Journey entity: at account level every touch needs an account_id [default: the"
    " config's [options] level, else customer].",
)
@event_log_option
@output_format("Result")
def validate(
    data_dir: Path | None,
    touchpoints: str | None,
    deals: str | None,
    costs: str | None,
    stages: str | None,
    targets: str | None,
    config_path: Path | None,
    out: Path | None,
    strict: bool | None,
    level: str | None,
    event_log: Path | None,
    fmt: str,
) -> None:
    """Check the input files against the data contract without running any model."""
    with handle_errors(json_output=fmt == "json"):
        from attrib.errors import ChecksFailedError
        from attrib.inputs import load_inputs, resolve_config
        from attrib.outputs import check_out_folder, write_quarantine

        check_out_folder(out)
        _check_option_pairs(
            {
                "--event-log": event_log,
                "--touchpoints": touchpoints,
                "--deals": deals,
                "--level": level,
            }
        )
        tables = (touchpoints, deals, costs, stages, targets, config_path, event_log)
        data_dir = _data_or_sample(data_dir, *tables, quiet=fmt == "json")
        config = resolve_config(data_dir, config_path, level=level, strict=strict)
        warnings: list[str] = []
        frames = None
        if event_log is not None:
            from attrib.adapters import event_log_frames

            frames = event_log_frames(event_log, warnings, config.event_log)
        inputs = load_inputs(
            data_dir,
            touchpoints=touchpoints,
            deals=deals,
            costs=costs,
            stages=stages,
            targets=targets,
            config=config,
            frames=frames,
        )
        warnings += _input_warnings(inputs)
        if out is not None:
            write_quarantine(out, inputs.quarantine)
        report = {
            t: {"rows": n, "rejected": inputs.rejected.get(t, 0)}
            for t, n in inputs.rows_read.items()
        }
        failed = config.strict and sum(inputs.rejected.values()) > 0
        if fmt == "json":
            if not failed:  # else the error is the one JSON document on stdout
                for table, info in report.items():
                    info.update(_rejection_summary(inputs.quarantine.get(table)))
                payload = {"ok": True, "tables": report, "warnings": warnings}
                click.echo(json.dumps(payload, default=str))
        else:
            for warning in warnings:  # the event log's (what it reads otherwise), the data's
                click.secho(f"warning: {warning}", fg="yellow", err=True)
            for table, info in report.items():
                click.echo(f"{table:12s} {info['rows']:>10,} rows  {info['rejected']:>8,} rejected")
                q = inputs.quarantine.get(table)
                if q is not None and q.height:
                    for row in q.head(5).iter_rows(named=True):
                        click.echo(
                            f"    {row['file']} row {row['row']} "
                            f"column {row['column']!r}: {row['reason']}"
                        )
                    if q.height > 5:
                        click.echo(f"    ... {q.height - 5} more (write them all with --out DIR)")
        if failed:
            from attrib.data_checks import event_log_rejected_rows, rejected_count

            where = "write them with --out DIR" if fmt == "json" else "fix the rows listed above"
            # an event log's conversion row is a touch and a deal: each row counted once
            count = (
                rejected_count(inputs.rejected, event_log_rejected_rows(inputs.quarantine))
                if event_log is not None
                else f"{sum(inputs.rejected.values())} row(s) rejected"
            )
            raise ChecksFailedError(
                f"{count} and --strict is set",
                hint=f"{where}, or drop --strict",
            )


def _input_warnings(inputs: Inputs) -> list[str]:
    """What a run would warn of that the validated inputs alone tell (spend on a channel no
    touch has, channels written two ways, a campaign column named otherwise, ...)."""
    from attrib.data_checks import input_warnings
    from attrib.metrics.settings import MetricsSettings

    channels = inputs.touches.get_column("channel").unique().drop_nulls().sort().to_list()
    sales = MetricsSettings.from_mapping(inputs.config.metrics).sales_cost_channels
    return input_warnings(inputs, channels, sales)


def _rejection_summary(quarantine: pl.DataFrame | None, examples: int = 5) -> dict:
    """``attrib validate --format json``'s why for one table: per column, its rejected rows
    and the first of their reasons (reasons name values, so they are not grouped), most rows
    first; and the first rejected rows (file, row, column, reason), as the text form lists."""
    import polars as pl

    if quarantine is None or quarantine.height == 0:
        return {"reasons": [], "examples": []}
    reasons = (
        quarantine.group_by("column", maintain_order=True)
        .agg(pl.len().alias("rows"), pl.col("reason").first().alias("first_reason"))
        .sort(["rows", "column"], descending=[True, False], maintain_order=True)
    )
    shown = quarantine.head(examples).select("file", "row", "column", "reason")
    return {"reasons": reasons.to_dicts(), "examples": shown.to_dicts()}


@cli.command()
def models() -> None:
    """List the attribution models and their parameters."""
    with handle_errors():
        from attrib.models import model_class, model_names

        for name in model_names():
            cls = model_class(name)
            params = ", ".join(f"{p.name}={p.default!r}" for p in cls.params_doc)
            click.echo(f"{name:16s} {cls.summary}" + (f"  [{params}]" if params else ""))


@cli.command(epilog="Example:\n  attrib explain time_decay")
@click.argument("model")
def explain(model: str) -> None:
    """Print a model's exact definition and parameters."""
    with handle_errors():
        from attrib.models import model_class

        cls = model_class(model)
        click.echo(f"{cls.title} ({cls.name})\n\n{cls.summary}\n\nDefinition:\n  {cls.definition}")
        if cls.params_doc:
            click.echo("\nParameters (set in the config as [models." + cls.name + "]):")
            for p in cls.params_doc:
                click.echo(f"  {p.name} = {p.default!r}    {p.doc}")


@cli.command(
    epilog="""\b
Examples:
  attrib generate demo/
  attrib generate big/ --customers 1000000 --seed 3 --format parquet
"""
)
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--customers",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Customers (contacts) to simulate; ~5.6 touchpoints each.",
)
@click.option(
    "--seed", default=7, show_default=True, type=int, help="Random seed: same seed, same files."
)
@click.option(
    "--months",
    default=12,
    show_default=True,
    type=click.IntRange(min=1),
    help="Months of history (touches, deals and monthly costs).",
)
@click.option(
    "--start",
    default="2025-01-01",
    show_default=True,
    help="First day of the history (YYYY-MM-DD), e.g. to line touches up with real spend data.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "parquet"]),
    default="csv",
    show_default=True,
    help="File format of the tables.",
)
def generate(out_dir: Path, customers: int, seed: int, months: int, start: str, fmt: str) -> None:
    """Write a realistic synthetic B2B export (touches, deals, stages, costs, channels.toml)."""
    with handle_errors():
        from attrib.synth import generate as synth

        counts = synth(out_dir, customers=customers, seed=seed, fmt=fmt, start=start, months=months)
        for table, n in counts.items():
            click.echo(f"{table:12s} {n:>12,} rows")
        click.echo(f"written to {out_dir}/ — try: attrib run {out_dir}")


@cli.command(
    epilog="""\b
Examples:
  attrib plan --target-revenue 2500000
  attrib plan exports/ --target-revenue 4e6 --period 2025-Q4 --out plan-out/
  attrib plan --target-revenue 1e6 --rate customer=0.3 --rate opportunity=0.5
  attrib plan --target-revenue 1e6 --run attrib-out/   # from a run's outputs, into its folder
"""
)
@click.argument("data_dir", required=False, type=_DataDir())
@table_options
@click.option(
    "--target-revenue",
    type=click.FloatRange(min=0, min_open=True),
    required=True,
    help="Revenue to plan for (won deal amounts), e.g. 2500000 or 2.5e6.",
)
@click.option(
    "--period",
    default=None,
    help="History period whose rates to use ('all', '2025-12', '2025-Q4')"
    " [default: [metrics] plan_period, else all].",
)
@click.option(
    "--run",
    "run_dir",
    default=None,
    type=click.Path(file_okay=False, path_type=Path),
    help="Plan from a finished run's outputs (its --out folder) instead of reading the inputs.",
)
@click.option(
    "--rate",
    "rates",
    multiple=True,
    help="Override a stage's conversion rate from the previous stage, e.g. customer=0.3.",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(path_type=Path),
    help=f"Folder for plan.parquet [default: the --run folder, else {DEFAULT_OUT}].",
)
@click.option("--quiet", "-q", is_flag=True, help="No plan table (warnings still on stderr).")
@output_format("Plan")
def plan(
    data_dir: Path | None,
    target_revenue: float,
    period: str | None,
    run_dir: Path | None,
    rates: tuple[str, ...],
    touchpoints: str | None,
    deals: str | None,
    costs: str | None,
    stages: str | None,
    targets: str | None,
    config_path: Path | None,
    out: Path | None,
    quiet: bool,
    fmt: str,
) -> None:
    """Reverse funnel: customers, offers, opportunities, SQLs, MQLs, leads, sessions and budget
    needed to reach a revenue target at historical rates (writes plan.parquet)."""
    with handle_errors(json_output=fmt == "json"):
        from attrib.errors import UsageError
        from attrib.io import write_parquet
        from attrib.metrics.plan import plan_from_inputs, plan_from_run, read_run

        overrides = {}
        for item in rates:
            stage, _, value = item.partition("=")
            name = stage.strip().lower()  # stage names match in any case, as in the data
            if name in overrides:
                raise UsageError(f"--rate gives {name!r} twice", hint="give each stage's rate once")
            if value.strip().endswith("%"):
                raise UsageError(
                    f"--rate {item!r} is a percentage",
                    hint=f"give the rate as a fraction of 1: {stage.strip()}="
                    f"{_fraction_of(value.strip().removesuffix('%'))}",
                )
            try:
                overrides[name] = float(value)
            except ValueError:
                raise UsageError(
                    f"cannot read --rate {item!r}", hint="write it as STAGE=RATE, e.g. customer=0.3"
                ) from None
        inputs = {
            "DATA_DIR": data_dir,
            "--touchpoints": touchpoints,
            "--deals": deals,
            "--costs": costs,
            "--stages": stages,
            "--targets": targets,
            "--config": config_path,
        }
        if run_dir is not None:
            if ignored := _given(inputs):
                raise UsageError(
                    f"--run plans from a finished run's outputs: {', '.join(ignored)} "
                    "would be ignored",
                    hint="drop them, or drop --run to read the inputs again",
                )
            planned = plan_from_run(target_revenue, read_run(run_dir), period, overrides or None)
        else:
            tables = (touchpoints, deals, costs, stages, targets, config_path)
            planned = plan_from_inputs(
                target_revenue,
                _data_or_sample(data_dir, *tables, quiet=quiet or fmt == "json"),
                period=period,
                rates_override=overrides or None,
                config=config_path,
                touchpoints=touchpoints,
                deals=deals,
                costs=costs,
                stages=stages,
                targets=targets,
            )
        # the run's warnings (spend, rejected rows) bear on the rates and the CPL
        table, warnings = planned.table, planned.warnings
        if fmt != "json":
            for warning in warnings:
                click.secho(f"warning: {warning}", fg="yellow", err=True)
        # beside the run it plans from, where `attrib report` finds it
        out = out or run_dir or Path(DEFAULT_OUT)
        write_parquet(table, out / "plan.parquet")
        if fmt == "json":
            payload = {
                "ok": True,
                "period": planned.period,
                "plan": table.to_dicts(),
                "warnings": warnings,
            }
            click.echo(json.dumps(payload, default=str))
        elif not quiet:
            from cli._output import print_plan

            print_plan(table, planned.period)
            click.echo(f"written to {out}/plan.parquet")


from cli.report_cmd import report  # noqa: E402  (light: imports click only)

cli.add_command(report)


def main() -> None:  # pragma: no cover - console entry point
    """The ``attrib`` console script: the CLI in a process of its own, so an in-memory run may
    tune the process's allocator (``cli._malloc``) and the process may end without a final
    garbage collection.

    The interpreter's shutdown collects every tracked object more than once (the imports of
    polars and numba leave ~200k of them): 0.6-1.0 s at the end of every run, for memory the
    process is about to give back anyway. Frozen objects are not scanned, so freezing them
    first skips it. ``atexit`` handlers still run and non-cyclic objects are still freed;
    objects caught in reference cycles are not finalized (the outputs are closed and
    renamed by then).

    Every way out (success, an error's exit code, Ctrl-C) first waits for the threads the
    command started in the background (numba's set-up: an input error can end the command
    while it still imports numba, and an interpreter torn down under it can crash), then
    freezes, so that the objects of the thread's imports are frozen too.
    """
    try:
        cli(prog_name="attrib", obj={OWN_PROCESS: True})
    finally:
        join_background()
        gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
