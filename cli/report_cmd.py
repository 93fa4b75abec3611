"""``attrib report OUT_DIR``: write the self-contained HTML report of a run's out folder.

Kept in its own module so ``cli.main`` registers it with ``cli.add_command(report)``; the
report package (polars, altair) is imported only when the command runs.
"""

from __future__ import annotations

from pathlib import Path

import click

from cli._errors import handle_errors
from cli._options import PathArg


def write_report(out_dir: Path, *, target: Path | None = None, quiet: bool = False) -> Path:
    """Build ``report.html`` for ``out_dir`` and say where it is (used by ``run --report``);
    what could not be read of the folder is a warning on stderr (with ``quiet`` too)."""
    from attrib.report import build_report

    problems: list[str] = []
    path = build_report(out_dir, target=target, problems=problems)
    for problem in problems:
        click.echo(f"warning: {problem} (the report leaves it out)", err=True)
    if not quiet:
        click.echo(f"report written to {path}")
    return path


@click.command(
    epilog="""\b
Examples:
  attrib run --out out/ && attrib report out/     # out/report.html
  attrib run --report                             # the same in one step
  attrib report out/ --output /tmp/q3-report.html
The page is one file with its charts, data and scripts inside: open it in any browser,
offline, or attach it to an e-mail.
"""
)
@click.argument("out_dir", type=PathArg(file_okay=False, path_type=Path), metavar="OUT_DIR")
@click.option(
    "--output",
    "-o",
    "target",
    default=None,
    type=PathArg(path_type=Path),
    help="Where to write the page [default: OUT_DIR/report.html].",
)
@click.option(
    "--quiet", "-q", is_flag=True, help="Print nothing on success but warnings (on stderr)."
)
def report(out_dir: Path, target: Path | None, quiet: bool) -> None:
    """Write report.html from the outputs of `attrib run` in OUT_DIR."""
    with handle_errors():
        write_report(out_dir, target=target, quiet=quiet)
