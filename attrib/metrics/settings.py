"""Settings of the ROI, KPI, funnel and plan metrics (the ``[metrics]`` table of the run config).

One frozen dataclass, built from defaults < config file < CLI flags by the caller; every
definition that depends on a setting is written down in ``docs/METRICS.md``.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import date, datetime
from types import MappingProxyType, SimpleNamespace
from typing import Any

from attrib.columns import outside_years
from attrib.errors import ConfigError

#: The canonical funnel stages, in order. ``session`` comes from touches, the rest from
#: the stages table (``opportunity`` and ``customer`` also from deals, see docs/METRICS.md).
STAGE_ORDER: tuple[str, ...] = (
    "session",
    "lead",
    "mql",
    "sql",
    "opportunity",
    "offer",
    "customer",
)

#: a period label as the funnel and KPIs write them: all, YYYY-MM, YYYY-Qn
PERIOD_LABEL = re.compile(r"^(all|\d{4}-(0[1-9]|1[0-2])|\d{4}-Q[1-4])$")


def _empty_mapping() -> Mapping[str, str]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True, kw_only=True)
class MetricsSettings:
    """Parameters of the metrics; see ``docs/METRICS.md`` for where each one enters.

    Attributes
    ----------
    gross_margin : float, default 1.0
        Share of revenue kept as gross profit, in (0, 1]; used by ROMI, LTV and CAC payback.
    sales_cost : float or None
        Total sales cost of the reporting window (added to marketing spend for ``cac_total``).
        When None, every cost row that is not marketing spend is used instead: rows whose
        channel is in ``sales_cost_channels`` and rows of non-marketing channels. When set, it
        replaces all of those rows (docs/METRICS.md, ``cac_total``).
    sales_cost_channels : tuple of str, default ("sales",)
        Cost-row channels (compared case-insensitively) that hold sales cost, not marketing spend.
    expected_purchases_per_customer : float, default 1.0
        Purchases a customer makes over its lifetime (LTV multiplier).
    revenue_months_per_deal : float, default 12.0
        Months over which one deal's amount is earned (12 for an annual contract); CAC payback
        divides by the monthly gross profit ``avg_deal_size × gross_margin / this``.
    period_from, period_to : date or None
        The reporting window (inclusive days). None: the data's span.
    baseline_period : str or None
        A period label ("all", "2026-01", "2026-Q1") that ``index_vs_baseline`` compares with.
    stage_names : mapping of str to str
        Raw stage name → canonical stage name (applied case-insensitively before the funnel).
    wide_interval_threshold : float, default 0.5
        A plan rate is flagged ``wide_interval`` when (hi − lo) / rate exceeds this.
    alpha : float, default 0.05
        1 − confidence level of every Wilson interval.
    plan_period : str or None
        The history period whose rates ``plan_from_history`` uses when none is given ("all").
    """

    gross_margin: float = 1.0
    sales_cost: float | None = None
    sales_cost_channels: tuple[str, ...] = ("sales",)
    expected_purchases_per_customer: float = 1.0
    revenue_months_per_deal: float = 12.0
    period_from: date | None = None
    period_to: date | None = None
    baseline_period: str | None = None
    stage_names: Mapping[str, str] = field(default_factory=_empty_mapping)
    wide_interval_threshold: float = 0.5
    alpha: float = 0.05
    plan_period: str | None = None

    def __post_init__(self) -> None:
        problems = _check({f.name: getattr(self, f.name) for f in fields(self)})
        if problems:
            raise ConfigError(
                "invalid [metrics] settings: " + "; ".join(problems),
                hint="see docs/METRICS.md, section 'Settings', for every key and its range",
            )

    def window_given(self) -> tuple[bool, bool]:
        """Whether the reporting window's start and end were set (else the data's span)."""
        return self.period_from is not None, self.period_to is not None

    def window(self) -> tuple[date, date] | None:
        """The reporting window's inclusive days, an open end as ``date.min``/``date.max``;
        None when neither bound is set (the data's own span is the window)."""
        if self.period_from is None and self.period_to is None:
            return None
        return (self.period_from or date.min, self.period_to or date.max)

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any] | None) -> MetricsSettings:
        """Build settings from a ``[metrics]`` TOML table; unknown keys or bad values raise."""
        if d is None:
            return cls()
        if not isinstance(d, Mapping):
            raise ConfigError(
                f"[metrics] must be a table, got {type(d).__name__}",
                column="metrics",
                hint="write it as a TOML table: [metrics] followed by key = value lines",
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known, key=str)
        problems: list[str] = []
        if unknown:  # every problem at once: fixing a config should not take a run per key
            named = ", ".join(_with_guess(key, known) for key in unknown)
            problems.append(f"unknown key(s) {named} (known keys are {sorted(known)})")
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            if key in known:
                try:
                    kwargs[key] = _coerce(key, value)
                except (TypeError, ValueError) as e:
                    problems.append(f"{key}: {e}")
        defaults = cls()
        problems += _check(
            {f.name: kwargs.get(f.name, getattr(defaults, f.name)) for f in fields(cls)}
        )
        if problems:
            raise ConfigError(
                "invalid [metrics] settings: " + "; ".join(problems),
                column=str(unknown[0]) if unknown else _field_of(problems[0]),
                hint="see docs/METRICS.md, section 'Settings', for every key, its type and range",
            )
        return cls(**kwargs)


def _with_guess(key: object, known: set[str]) -> str:
    """An unknown key, quoted, with the known key it was probably meant to be."""
    if not isinstance(key, str):  # (a Python caller's mapping: TOML keys are text)
        return repr(key)
    guess = difflib.get_close_matches(key, sorted(known), n=1)
    return f"{key!r} (did you mean {guess[0]!r}?)" if guess else repr(key)


def _field_of(problem: str) -> str:
    """The field a problem of ``_coerce`` ("key: ...") or ``_check`` ("key must ...") names."""
    found = re.match(r"\w+", problem)
    return found.group(0) if found else problem


def _coerce(key: str, value: Any) -> Any:
    """Turn one TOML value into the field's type, or raise TypeError/ValueError."""
    floats = {
        "gross_margin",
        "expected_purchases_per_customer",
        "revenue_months_per_deal",
        "wide_interval_threshold",
        "alpha",
    }
    if key in floats or key == "sales_cost":
        if value is None and key == "sales_cost":
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"must be a number, got {value!r}")
        return float(value)
    if key in ("period_from", "period_to"):
        if isinstance(value, datetime):  # a TOML datetime, a pandas Timestamp: its day
            return value.date()
        if value is None or isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"must be a date YYYY-MM-DD, got {value!r}") from None
        raise TypeError(f"must be a date YYYY-MM-DD, got {value!r}")
    if key in ("baseline_period", "plan_period"):
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"must be a period label like '2026-Q1', got {value!r}")
    if key == "sales_cost_channels":
        if isinstance(value, str):
            return (value,)
        if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise TypeError(f"must be a list of channel names, got {value!r}")
    if key == "stage_names":
        if isinstance(value, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()
        ):
            return MappingProxyType(dict(value))
        raise TypeError(f"must be a table of raw name = canonical name, got {value!r}")
    raise TypeError(f"unsupported key {key!r}")  # pragma: no cover - guarded by from_mapping


def _finite(x: float) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x)


def _check(values: Mapping[str, Any]) -> list[str]:
    """Every range problem of a settings object's values, by field name (empty when valid)."""
    s = SimpleNamespace(**values)
    p: list[str] = []
    if not _finite(s.gross_margin) or not 0.0 < s.gross_margin <= 1.0:
        p.append(f"gross_margin must be in (0, 1], got {s.gross_margin!r}")
    if s.sales_cost is not None and (not _finite(s.sales_cost) or s.sales_cost < 0):
        p.append(f"sales_cost must be a number >= 0, got {s.sales_cost!r}")
    if not _finite(s.expected_purchases_per_customer) or s.expected_purchases_per_customer <= 0:
        p.append(
            "expected_purchases_per_customer must be > 0, "
            f"got {s.expected_purchases_per_customer!r}"
        )
    if not _finite(s.revenue_months_per_deal) or s.revenue_months_per_deal <= 0:
        p.append(f"revenue_months_per_deal must be > 0, got {s.revenue_months_per_deal!r}")
    if not _finite(s.wide_interval_threshold) or s.wide_interval_threshold <= 0:
        p.append(f"wide_interval_threshold must be > 0, got {s.wide_interval_threshold!r}")
    if not _finite(s.alpha) or not 0.0 < s.alpha < 1.0:
        p.append(f"alpha must be in (0, 1), got {s.alpha!r}")
    for name in ("period_from", "period_to"):
        day = getattr(s, name)
        if day is not None and (why := outside_years(day.year)) is not None:
            p.append(f"{name} {day} {why}")
    if s.period_from is not None and s.period_to is not None and s.period_from > s.period_to:
        p.append(f"period_from {s.period_from} is after period_to {s.period_to}")
    for name in ("baseline_period", "plan_period"):
        v = getattr(s, name)
        if v is not None and not PERIOD_LABEL.match(v):
            p.append(f"{name} must be 'all', 'YYYY-MM' or 'YYYY-Qn', got {v!r}")
    bad = sorted(v for v in s.stage_names.values() if v.strip().lower() not in STAGE_ORDER)
    if bad:
        p.append(f"stage_names maps to unknown stage(s) {bad}; canonical: {list(STAGE_ORDER)}")
    return p
