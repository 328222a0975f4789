"""How a number reads on a page: the one home of every view's number formats and small pieces of
page text (p-values, intervals, suppressed counts, status classes).

Views format through here, never with helpers of their own, so a p-value, a money amount or a
small group reads the same in every report; so does an analysis that writes a sentence into the
metrics (a campaign's PDCA summary). Nothing here displays anything.
"""

from __future__ import annotations

import html
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

# the CSS class of a target status (report.css colours it); n/a has none
STATUS_CLASS = {
    "green": "ob-green",
    "amber": "ob-amber",
    "not_proven": "ob-amber",  # an estimate whose interval straddles its target
    "red": "ob-red",
    "n/a": None,
    None: None,
}


def finite(value: Any) -> float | None:
    """``value`` as a float, or None when missing or not finite."""
    if value is None or value is pd.NA:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


CURRENCY = {"symbol": ""}  # the configured currency symbol (``currency:`` in opsbook.yml)


def use_currency(symbol: str | None) -> None:
    """Show money with ``symbol`` ("¥", "$", "£", or "" for none) from now on in this process
    (a report's kernel, or the runner for the index): set from the config's ``currency``."""
    CURRENCY["symbol"] = str(symbol or "")


def fmt(value: Any, kind: str = "auto") -> str:
    """A number as a reader sees it: ``pct`` 12.3%, ``pct2`` 12.34%, ``signed_pct`` +12.3%,
    ``pp`` +1.2 pp, ``int`` 12,345, ``money`` ¥1,234.50 (the configured currency), ``dec1`` / ``dec2`` 1,234.5 / 1,234.56,
    ``float`` 3 decimals (none from 1,000); missing values as a dash."""
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return "—"
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, bool | np.bool_):
        return "✓" if value else "✗"
    if kind == "auto":
        kind = (
            "int"
            if isinstance(value, int | np.integer)
            else "float"
            if isinstance(value, float | np.floating)
            else "text"
        )
    if kind == "pct":
        return f"{value:.1%}"
    if kind == "pct2":
        return f"{value:.2%}"
    if kind == "pp":
        return f"{value * 100:+.1f} pp"
    if kind == "int":
        return f"{round(value):,}"
    if kind == "money":
        sign = "-" if value < 0 else ""
        return f"{sign}{CURRENCY['symbol']}{abs(value):,.2f}"
    if kind in ("dec1", "dec2"):
        return f"{value:,.{kind[-1]}f}"
    if kind == "float":
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    if kind == "signed_pct":
        return f"{value:+.1%}"
    return str(value)


def p_text(p: Any, digits: int = 3) -> str:
    """A p-value with ``digits`` decimals; below 10^-digits as "< 0.001" (digits=3)."""
    p = finite(p)
    if p is None:
        return "—"
    floor = 10.0**-digits
    return f"< {floor:.{digits}f}" if p < floor else f"{p:.{digits}f}"


def interval_text(low: Any, high: Any, kind: str = "signed_pct") -> str:
    """An interval as "[low, high]" in the format ``kind``."""
    return f"[{fmt(low, kind)}, {fmt(high, kind)}]"


def is_small(count: Any, min_cell: int) -> bool:
    """True for a group of 1 .. min_cell - 1 people: shown suppressed, never as a number."""
    return count is not None and not pd.isna(count) and 0 < count < min_cell


def count_text(count: Any, min_cell: int | None = None) -> str:
    """A head count as text: "<min_cell" for a small group, a dash when missing."""
    if count is None or pd.isna(count):
        return "—"
    if min_cell is not None and is_small(count, min_cell):
        return f"<{min_cell}"
    return fmt(int(count), "int")


def callout_html(text: str, status: str | None = None) -> str:
    """A highlighted sentence; ``status`` (green, amber, red) colours its edge."""
    css = f"ob-callout ob-{status}" if status else "ob-callout"
    return f'<div class="{css}">{html.escape(text)}</div>'
