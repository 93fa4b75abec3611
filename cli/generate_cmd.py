"""``attrib generate OUT_DIR``: write a synthetic B2B export (the generator is imported only
when the command runs).
"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from cli._errors import handle_errors
from cli._options import PathArg


def _out_is_the_argument(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    """``--out DIR``, as ``attrib run`` takes it: say that generate's folder is its argument
    (click suggested --format or --months)."""
    if value is not None:
        raise click.BadOptionUsage(
            "--out",
            f"generate takes its folder as an argument, not --out: attrib generate "
            f"{shlex.quote(value)}",
            ctx,
        )


@click.command(
    epilog="""\b
Examples:
  attrib generate demo/
  attrib generate big/ --customers 1000000 --seed 3 --format parquet
"""
)
@click.option("--out", hidden=True, expose_value=False, callback=_out_is_the_argument)
@click.argument("out_dir", type=PathArg(path_type=Path))
@click.option(
    "--customers",
    default=2000,
    show_default=True,
    type=click.IntRange(min=1),
    help="Customers (contacts) to simulate, at most 10^12; ~5.6 touchpoints each.",
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
            click.echo(f"{table:12s} {n:>12,} {'row' if n == 1 else 'rows'}")
        # (quoted where a shell needs it: a folder named with spaces pastes as one argument)
        click.echo(f"written to {out_dir}/ — try: attrib run {shlex.quote(str(out_dir))}")
