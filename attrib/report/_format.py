"""Escaping and number formatting for the HTML report.

Every string that reaches the page goes through ``esc`` (HTML text and attributes) or
``json_for_script`` (data and chart specs inside ``<script>``): channel and campaign names come
from UTM parameters that anyone can set, so none is ever trusted.
"""

from __future__ import annotations

import html
import json
import math
from decimal import Decimal
from typing import Any

DASH = "—"


def esc(value: object) -> str:
    """HTML-escape any value for use in text or a double-quoted attribute."""
    return html.escape("" if value is None else str(value), quote=True)


def clean(value: Any) -> Any:
    """Recursively replace NaN/inf by None so the result is strict JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return clean(float(value))
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    return value


def json_for_script(value: Any) -> str:
    """Strict JSON that is safe inside an HTML ``<script>`` element.

    ``<``, ``>`` and ``&`` can only occur inside JSON strings, where their ``\\u`` escapes mean
    the same thing, so ``</script>`` or ``<!--`` in a channel name can never close or change the
    script element; ``ensure_ascii`` also escapes U+2028/U+2029.
    """
    text = json.dumps(
        clean(value), ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=str
    )
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _finite(value: object) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _whole(x: float) -> bool:
    """A whole number up to float noise (a sum of fractional credit: 92.99999999999997)."""
    return abs(x - round(x)) <= 1e-9 * max(1.0, abs(x))


def models_range(values: list[float]) -> float | None:
    """The range of the models' values for one channel, 0 where it is float noise (one
    channel's credit is the same sum under every model, added in other orders: 5.8e-9 apart
    at 1.78M)."""
    if not values:
        return None
    lo, hi = min(values), max(values)
    return 0.0 if hi - lo <= 1e-9 * max(1.0, abs(lo), abs(hi)) else hi - lo


def _unsigned_zero(text: str) -> str:
    """``text`` without the sign of a value that rounds to zero ("-0.00%" is "0.00%": a
    Shapley value of -0.000042 shown to two places)."""
    if text.startswith("-") and not any(c in "123456789" for c in text):
        return text[1:]
    return text


def _significant(x: float) -> float | Decimal:
    """``x`` for a format that writes every digit: beyond 10^15 a float's last digits are
    noise of its binary form (1.8884357e18 written whole ends in "...000,512"), so it is
    given as its 15 significant digits, the rest zeros."""
    return Decimal(f"{x:.15g}") if abs(x) >= 1e15 else x


def compact(value: object) -> str:
    """A short number for cards: 1.89M, 654k, 31, 0.26 (from 10^15 on: 1.89e+18)."""
    x = _finite(value)
    if x is None:
        return DASH
    if abs(x) >= 1e15:  # (past T: thousands of T read no better than an exponent)
        return f"{x:.2e}"
    return _unsigned_zero(_compact(x))


def _compact(x: float) -> str:
    units = ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, ""))
    for i, (limit, suffix) in enumerate(units):
        if abs(x) < limit and limit > 1.0:
            continue
        v = x / limit
        # three significant digits, judged after rounding (9,999 is 10.0k, not 10.00k)
        digits = 2 if abs(round(v, 2)) < 10 else 1 if abs(round(v, 1)) < 100 else 0
        if suffix == "" and (abs(v) >= 100 or _whole(x)):
            digits = 0
        if i > 0 and abs(round(v, digits)) >= 1000:  # 999,999 rounds into the next unit: 1.00M
            limit, suffix = units[i - 1]
            v, digits = x / limit, 2
        return f"{v:,.{digits}f}{suffix}"
    raise AssertionError("unreachable: the last unit takes every value")


def fmt(value: object, kind: str = "number") -> str:
    """Format one table cell (escaped text): money, count, pct, ratio, days, number or text."""
    if kind == "text":
        return DASH if value is None else esc(value)
    x = _finite(value)
    if x is None:
        return DASH
    return _unsigned_zero(_fmt(x, kind))


def _fmt(x: float, kind: str) -> str:
    shown = _significant(x)
    if kind == "money":
        # cents below 100: a path table's values (ChannelAttribution's are 0.24, 3.19, ...)
        # or a cost per lead of 31.25 would read as whole units (3, 31)
        return f"{shown:,.0f}" if abs(x) >= 100 or _whole(x) else f"{x:,.2f}"
    if kind == "compact":
        return compact(x)
    if kind == "count":
        # fractional credit sums to a whole number up to float noise (92.99999999999997 won
        # deals in a total): that is a whole count, not "93.0" beside the other models' "93"
        return f"{round(shown):,}" if _whole(x) else f"{x:,.1f}"  # (an int: no float digits)
    if kind == "pct":
        return f"{x * 100:,.1f}%"
    if kind == "pct2":
        return f"{x * 100:,.2f}%"
    if kind == "ratio":
        return f"{x:,.2f}×"
    if kind == "days":
        return f"{x:,.0f} d" if abs(x) >= 10 else f"{x:,.1f} d"
    if kind == "index":
        return f"{shown:,.0f}"
    if x == 0:  # not "0.0000": a zero (a CAC payback at no spend) is exact
        return "0"
    if abs(x) >= 1000:
        return f"{shown:,.0f}"
    if abs(x) >= 1:
        return f"{x:,.2f}"
    return f"{x:,.4f}"


def fmt_card(value: object, kind: str) -> str:
    """Format a headline value (compact money and counts)."""
    if kind in ("money", "count") and _finite(value) is not None:
        return compact(value)
    return fmt(value, kind)


def change(current: object, previous: object, kind: str) -> tuple[str, float | None]:
    """Period-over-period change as text and its signed size (pp for rates, % otherwise)."""
    c, p = _finite(current), _finite(previous)
    if c is None or p is None:
        return DASH, None
    if c == p:
        return "no change", 0.0
    if kind in ("pct", "pct2"):
        d = (c - p) * 100
        text = f"{d:+.1f} pp"
    elif p == 0:
        return "new", None
    else:
        d = (c - p) / abs(p) * 100
        text = f"{d:+.1f}%"
    # a change that rounds to nothing is shown as none (no arrow, no good or bad tone)
    return (text, d) if round(d, 1) != 0 else ("no change", 0.0)
