"""``attrib validate [DATA_DIR]``: check the input files against the data contract.

polars and the readers are imported only when the command runs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from cli._errors import handle_errors
from cli._options import (
    PathArg,
    _check_option_pairs,
    _data_or_sample,
    _DataDir,
    event_log_option,
    output_format,
    strict_option,
    table_options,
)

if TYPE_CHECKING:  # (the heavy modules are imported inside the command)
    import polars as pl

    from attrib.inputs import Inputs


@click.command(
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
    "--out", default=None, type=PathArg(path_type=Path), help="Also write quarantine files here."
)
@strict_option
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
        from attrib.run import check_model_tables

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
        data_dir = _data_or_sample(data_dir, *tables)
        config = resolve_config(data_dir, config_path, level=level, strict=strict)
        check_model_tables(config)  # as a run would refuse them, before any reading
        warnings: list[str] = []
        frames = None
        if event_log is not None:
            from attrib.adapters import event_log_config, event_log_frames

            config = event_log_config(config, warnings)
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
            for table, info in report.items():
                info.update(_rejection_summary(inputs.quarantine.get(table)))
            if not failed:  # else the error is the one JSON document on stdout, with them
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
                        more = (
                            f"all in {out / 'quarantine'}"
                            if out is not None
                            else "write them all with --out DIR"
                        )
                        click.echo(f"    ... {q.height - 5} more ({more})")
        if failed:
            from attrib.data_checks import STRICT_OFF, event_log_rejected_rows, rejected_count

            where = (
                f"see each row's reason in {out / 'quarantine'}"
                if out is not None
                else "write them with --out DIR"
                if fmt == "json"
                else "fix the rows listed above"
            )
            # an event log's conversion row is a touch and a deal: each row counted once
            count = (
                rejected_count(inputs.rejected, event_log_rejected_rows(inputs.quarantine))
                if event_log is not None
                else f"{sum(inputs.rejected.values())} row(s) rejected"
            )
            raise ChecksFailedError(
                f"{count} and strict is on",
                details={"tables": report, "warnings": warnings},
                hint=f"{where}, or {STRICT_OFF}",
            )


def _input_warnings(inputs: Inputs) -> list[str]:
    """What a run would warn of that the validated inputs alone tell (spend on a channel no
    touch has, channels written two ways, a campaign column named otherwise, ...)."""
    from attrib.columns import ENTITY_ID
    from attrib.data_checks import (
        DealCounts,
        input_warnings,
        placeholder_journeys,
        placeholder_touches,
        unmatched_targets,
    )
    from attrib.metrics.settings import MetricsSettings

    channels = inputs.touches.get_column("channel").unique().drop_nulls().sort().to_list()
    sales = MetricsSettings.from_mapping(inputs.config.metrics).sales_cost_channels
    # (a run tells it of its journeys; here, of the touch rows' journey entity: the customer,
    # or at account level the account)
    ids = placeholder_touches(inputs.touches.get_column(ENTITY_ID))
    own = placeholder_journeys(DealCounts(placeholders=ids), inputs.config.level, "touch row(s)")
    # target rows no run could fill (a KPI it does not make, a malformed period); a run tells
    # them against the KPIs it made
    targets = unmatched_targets(inputs.targets, None)
    found = input_warnings(inputs, channels, sales) + ([targets] if targets else [])
    return ([own] if own else []) + found


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
