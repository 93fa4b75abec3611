"""Channel assignment: ordered regex rules on source/medium/campaign, and channel flags."""

from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from attrib.columns import CAMPAIGN, CHANNEL, MEDIUM, SOURCE
from attrib.config import UNASSIGNED, RunConfig

if TYPE_CHECKING:
    from polars.expr.whenthen import ChainedThen, Then

__all__ = ["UNASSIGNED", "channel_expr", "pattern_error"]


def _regex(pattern: str) -> str:
    """A rule's pattern as matched: a case-insensitive search."""
    return f"(?i){pattern}"


def pattern_error(pattern: str) -> str | None:
    """Why Polars' regex engine (Rust's ``regex`` crate) refuses a rule's pattern, or None.

    The check runs the pattern exactly as ``channel_expr`` does: Python's ``re`` accepts
    patterns this engine refuses (look-around, back-references) and refuses ones it accepts
    (``\\p{L}``), so only the engine itself can say.
    """
    try:
        pl.Series([""]).str.contains(_regex(pattern))
    except pl.exceptions.ComputeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        said = [line.removeprefix("error:").strip() for line in lines if line.startswith("error:")]
        first = lines[0].removeprefix("regex error:").strip() if lines else type(exc).__name__
        return said[0] if said else first
    return None


def channel_expr(config: RunConfig, columns: set[str]) -> pl.Expr:
    """The channel of each touch: the ``channel`` column, else the first matching rule.

    A rule matches when every pattern it gives matches (case-insensitive regex search); a
    touch no rule matches is ``(unassigned)``, so it stays visible in the summaries.
    """
    if CHANNEL in columns:
        return pl.col(CHANNEL)
    if not config.rules:
        return pl.lit(UNASSIGNED)
    chain: Then | ChainedThen | None = None
    for rule in config.rules:
        conds = []
        for field, pattern in (
            (SOURCE, rule.source),
            (MEDIUM, rule.medium),
            (CAMPAIGN, rule.campaign),
        ):
            if pattern is None:
                continue
            column = pl.col(field) if field in columns else pl.lit(None, dtype=pl.String)
            conds.append(column.fill_null("").str.contains(_regex(pattern)))
        cond = pl.all_horizontal(conds) if conds else pl.lit(True)
        chain = (
            pl.when(cond).then(pl.lit(rule.channel))
            if chain is None
            else chain.when(cond).then(pl.lit(rule.channel))
        )
    expr = chain.otherwise(pl.lit(UNASSIGNED)) if chain is not None else pl.lit(UNASSIGNED)
    return expr
