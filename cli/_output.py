"""Terminal output: a rich progress display on a TTY, plain log lines otherwise, and tables."""

from __future__ import annotations

import errno
import math
import sys
import time
from functools import cache
from typing import TYPE_CHECKING, Any

import click
import polars as pl

from attrib.progress import Reporter
from cli._errors import say_while_failing

if TYPE_CHECKING:
    from rich.console import Console
    from rich.status import Status


def console(**options: Any) -> Console:
    """A rich ``Console(**options)`` for attrib's output.

    Its output pipe closed by the reader (``attrib run | head -1``) raises BrokenPipeError,
    which ``handle_errors`` turns into exit 141, quietly; rich's own ``on_broken_pipe`` would
    exit 1, the code of ``--strict``'s rejected rows."""
    return _console_class()(**options)


@cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True  # (as rich's: nothing more to write)
            raise BrokenPipeError(errno.EPIPE, "output closed by its reader")

    return PipeConsole


class TerminalReporter(Reporter):
    """Shows each stage as it runs: a spinner on a terminal, timestamped lines in logs.
    ``quiet`` shows no stage or note, but still each warning on stderr (a scheduled ``-q``
    run must not publish the zeros of a table whose rows were all rejected without a word)
    unless ``warnings`` is off (``--format json`` carries them on stdout)."""

    def __init__(
        self, *, quiet: bool = False, verbose: bool = False, warnings: bool = True
    ) -> None:
        super().__init__()
        self.quiet = quiet
        self.show_warnings = warnings
        self.verbose = verbose
        self.tty = sys.stderr is not None and sys.stderr.isatty()  # (None: 2>&- closed it)
        self._status: Status | None = None
        self._t0 = time.perf_counter()
        if self.tty and not quiet:
            self.console = console(stderr=True)

    def _log(self, message: str) -> None:
        if self.quiet:
            return
        if self.tty:
            self.console.log(message)
        else:
            _to_stderr(f"[{time.perf_counter() - self._t0:7.2f}s] {message}")

    def started(self, name: str, detail: str) -> None:
        if self.quiet:
            return
        if self.tty:
            self._status = self.console.status(f"{name} {detail}".strip())
            self._status.start()
        elif self.verbose:
            self._log(f"{name} ...")

    def finished(self, name: str, seconds: float, *, failed: bool = False) -> None:
        if self._status is not None:
            self._status.stop()
            self._status = None
        if not failed:  # (a failure's message follows)
            self._log(f"{name}: done in {seconds:.2f}s")

    def note(self, message: str) -> None:
        self._log(message)

    def warn(self, message: str) -> None:
        super().warn(message)
        if not self.show_warnings:
            return
        if self.tty and not self.quiet:
            self.console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)
        else:
            _to_stderr(f"warning: {message}")


def _to_stderr(text: str) -> None:
    """A line of progress or a warning on stderr; a stderr that takes nothing more (a full
    disk, ``2>/dev/full``) loses it, and the run goes on: its outputs, and the manifest's
    warnings, are what it is for."""
    say_while_failing(text, err=True)


def _fmt(value: float | None) -> str:
    """A table cell: whole numbers (counts, and amounts of 1,000 or more) without decimals."""
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    if abs(value) >= 1000 or value == int(value):
        return f"{value:,.0f}"
    return f"{value:,.2f}"


HEADLINE_KPIS = (
    ("revenue", "Revenue"),
    ("pipeline_open", "Open pipeline (period end)"),  # a snapshot, as the report says
    ("won_deals", "Won deals"),
    ("win_rate", "Win rate"),
    ("avg_deal_size", "Avg deal size"),
    ("marketing_spend", "Marketing spend"),
    ("mer", "MER"),
    ("marketing_sourced_revenue_share", "Marketing-sourced revenue"),
    ("cac_marketing", "CAC (marketing)"),
    ("days_to_deal_median", "Days to deal (median)"),
)


def print_kpis(kpis: pl.DataFrame, window: str = "whole run") -> None:
    """The headline KPIs of the reporting window (period "all"), one line each."""
    from rich.table import Table

    values = dict(kpis.filter(pl.col("period") == "all").select("kpi", "value").iter_rows())
    title = f"headline KPIs ({window})"
    # as wide as its title: a window's dates wrapped it over two lines
    table = Table(title=title, title_justify="left", show_header=False, min_width=len(title))
    table.add_column("kpi")
    table.add_column("value", justify="right")
    for key, label in HEADLINE_KPIS:
        if key not in values:
            continue
        value = values[key]
        if value is not None and (key.endswith("share") or key == "win_rate"):
            text = f"{value:.1%}"
            if key == "win_rate" and value == 1.0:
                # an event log, or an export of won deals only: no lost deal to rate against
                text += " (no lost deal)"
        elif value is not None and key.startswith("days_"):
            text = f"{value:,.1f}"  # (one decimal whatever the value: 2 and 14.74 read oddly)
            measured, won = values.get("days_to_deal_won_deals"), values.get("won_deals")
            if measured is not None and won is not None and measured < won:
                text += f" (over {measured:,.0f} of {won:,.0f} won deals)"  # (others: no touch)
        else:
            text = _fmt(value)
        table.add_row(label, text)
    console().print(table)


def print_plan(plan: pl.DataFrame, period: str = "all") -> None:
    """The reverse-funnel plan as a table, titled with the history period it used."""
    from rich.table import Table

    history = "all history" if period == "all" else f"the history period {period}"
    title = f"plan (rates, deal size and lead mix of {history})"
    table = Table(title=title, title_justify="left", min_width=len(title))
    for col in ("kind", "name", "value", "rate or share", "wide_interval"):
        table.add_column(col, justify="right" if col in ("value", "rate or share") else "left")
    for row in plan.iter_rows(named=True):
        rate = row.get("rate")
        table.add_row(
            str(row.get("kind")),
            str(row.get("name")),
            _fmt(row.get("value")),
            "" if rate is None else f"{rate:.1%}",
            "wide" if row.get("wide_interval") else "",
        )
    console().print(table)
    total = plan.filter((pl.col("kind") == "budget") & (pl.col("name") == "(total)"))
    covered = total["rate"].item() if total.height else None
    if covered is not None and total["value"].item() is not None and covered < 1.0 - 1e-9:
        click.echo(
            f"the budget total buys {covered:.0%} of the leads: channels without spend (no "
            "cost per lead: organic, direct, referral) bring the rest and are not in it"
        )


def window_label(metrics: dict[str, Any]) -> str:
    """How the summary names the KPIs' period: the whole run, or the reporting window."""
    start, end = metrics.get("period_from"), metrics.get("period_to")
    if start is None and end is None:
        return "whole run"
    return f"{start or 'data start'} to {end or 'data end'}"


def print_summary(
    channel_summary: pl.DataFrame,
    *,
    metric: str = "revenue",
    kpis: pl.DataFrame | None = None,
    window: str = "whole run",
) -> None:
    """One compact table: channels down, models across, ``metric`` in the cells; above it the
    headline KPIs of ``window``."""
    if kpis is not None and kpis.height:
        print_kpis(kpis, window)
    if channel_summary.height == 0:
        click.echo("no credit to show")
        return
    wide = (
        channel_summary.select("model", "channel", metric)
        .pivot(on="model", index="channel", values=metric, maintain_order=True)
        .sort("channel")
    )
    models = [c for c in wide.columns if c != "channel"]
    totals = {m: float(wide.get_column(m).sum()) for m in models}
    from rich.table import Table

    title = f"{metric} by channel and model"
    table = Table(title=title, title_justify="left", min_width=len(title))
    table.add_column("channel", no_wrap=True)  # a wrapped name reads as two channels
    for m in models:
        table.add_column(m, justify="right")
    for row in wide.iter_rows(named=True):
        table.add_row(row["channel"], *[_fmt(row[m]) for m in models])
    table.add_section()
    table.add_row("total", *[_fmt(totals[m]) for m in models])
    longest = max([len(str(c)) for c in wide.get_column("channel").to_list()] + [7])
    console(width=max(120, 14 * len(models) + longest + 4)).print(table)
