"""One way to write a number for a reader: three significant digits, the same in every report."""

from __future__ import annotations

import math
from numbers import Integral, Real

SIGNIFICANT = 3


def significant(value: float, digits: int = SIGNIFICANT) -> str:
    """Write VALUE with DIGITS significant digits: 0.723, 1.00, 0.0110, 7.42e-05, 20,827, 0.

    Trailing zeros stay, so that a column reads at one precision ("1.00" beside "0.723"); values
    below 0.001 are written in scientific notation and values from 1,000 on as whole numbers with
    thousands separators.
    """
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    size = abs(value)
    if size == 0:
        return "0"  # exact: no precision to show
    if size < 1e-3:
        return f"{value:.{digits - 1}e}"
    text = f"{value:#.{digits}g}"
    if "e" in text:  # 1,000 or more, once rounded
        return f"{value:,.0f}"
    return text.rstrip(".")


def number(value: object, digits: int = SIGNIFICANT, missing: str = "—") -> str:
    """Write any value of a report cell: counts with separators, reals by `significant`."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return missing
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return f"{int(value):,}"
    if isinstance(value, Real):
        return significant(float(value), digits)
    return str(value)


def setting(value: object) -> str:
    """Write a setting (a threshold, a coefficient) as a rule set writes it: 0.15, 1e-3."""
    if isinstance(value, float):
        return f"{value:g}"
    return number(value)
