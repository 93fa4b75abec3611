"""``attrib plan``: the reverse funnel to a revenue target, from the inputs or a finished
run's outputs (the metrics package is imported only when the command runs).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import click

from cli._errors import handle_errors
from cli._options import (
    DEFAULT_OUT,
    FiniteFloatRange,
    PathArg,
    _data_or_sample,
    _DataDir,
    _given,
    output_format,
    strict_option,
    table_options,
)


def _fraction_of(percent: str) -> str:
    """``"50"`` -> ``"0.5"``: a percentage's text as the fraction a --rate takes (the
    percentage itself, with a %, when it is no number)."""
    try:
        return f"{float(percent) / 100:g}"
    except ValueError:
        return f"{percent}%/100"


def _holds_a_run(folder: Path) -> bool:
    """Whether a DATA_DIR is a run's --out folder and no data folder (it has no touches)."""
    from attrib.io import find_table, holds_run_outputs

    return holds_run_outputs(folder) and not find_table(folder, "touchpoints")


@click.command(
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
    type=FiniteFloatRange(min=0, min_open=True),
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
    type=PathArg(file_okay=False, path_type=Path),
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
    type=PathArg(path_type=Path),
    help=f"Folder for plan.parquet [default: the --run folder, else {DEFAULT_OUT}].",
)
@strict_option
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
    strict: bool | None,
    quiet: bool,
    fmt: str,
) -> None:
    """Reverse funnel: customers, offers, opportunities, SQLs, MQLs, leads, sessions and budget
    needed to reach a revenue target at historical rates (writes plan.parquet)."""
    with handle_errors(json_output=fmt == "json"):
        from attrib.data_checks import STRICT_OFF
        from attrib.errors import ChecksFailedError, UsageError
        from attrib.metrics.plan import plan_from_inputs, plan_from_run

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
        from attrib.outputs import check_out_folder

        check_out_folder(out or run_dir or Path(DEFAULT_OUT))  # before any work, as a run
        inputs = {
            "DATA_DIR": data_dir,
            "--touchpoints": touchpoints,
            "--deals": deals,
            "--costs": costs,
            "--stages": stages,
            "--targets": targets,
            "--config": config_path,
            "--strict/--no-strict": strict is not None or None,
        }
        if run_dir is not None:
            if ignored := _given(inputs):
                raise UsageError(
                    f"--run plans from a finished run's outputs: {', '.join(ignored)} "
                    "would be ignored",
                    hint="drop them, or drop --run to read the inputs again",
                )
            planned = plan_from_run(target_revenue, run_dir, period, overrides or None)
        else:
            if data_dir is not None and touchpoints is None and _holds_a_run(data_dir):
                # `attrib plan out/`, where --run was meant: the inputs' error did not say so
                raise UsageError(
                    f"{data_dir} holds the outputs of `attrib run` (manifest.json), not its inputs",
                    hint=f"plan from those outputs: attrib plan --run {data_dir} "
                    f"--target-revenue {target_revenue:.15g}",
                )
            tables = (touchpoints, deals, costs, stages, targets, config_path)
            data = _data_or_sample(data_dir, *tables)
            try:
                planned = plan_from_inputs(
                    target_revenue,
                    data,
                    period=period,
                    rates_override=overrides or None,
                    config=config_path,
                    touchpoints=touchpoints,
                    deals=deals,
                    costs=costs,
                    stages=stages,
                    targets=targets,
                    strict=strict,
                )
            except ChecksFailedError as error:  # the hint named the Python API's .quarantine
                validate = (
                    f"attrib validate {shlex.quote(str(data))} --out checks/"
                    if data is not None
                    else "attrib validate with the same input options and --out checks/"
                )
                error.hint = (
                    f"see each rejected row's reason: {validate}; fix the data, or {STRICT_OFF}"
                )
                raise
        # the run's warnings (spend, rejected rows) bear on the rates and the CPL
        table, warnings = planned.table, planned.warnings
        if fmt != "json":
            for warning in warnings:
                click.secho(f"warning: {warning}", fg="yellow", err=True)
        # beside the run it plans from, where `attrib report` finds it (the report tells a
        # plan of another run or other data by the digest the file keeps)
        out = out or run_dir or Path(DEFAULT_OUT)
        planned.write(out)
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
