"""One rule for numbers in every report: three significant digits; settings as written."""

from __future__ import annotations

import numpy as np
import pytest

from auditor.numbers import number, setting, significant


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.723, "0.723"),
        (1.0, "1.00"),  # "drops from 1.00 on train", not "from 1"
        (0.011, "0.0110"),
        (7.42e-05, "7.42e-05"),
        (-5.14e-05, "-5.14e-05"),
        (20826.133, "20,826"),
        (999.7, "1,000"),  # rounds up to four digits: a whole number, not 1.00e+03
        (999.4, "999"),
        (12.34, "12.3"),
        (0.0, "0"),
        (float("inf"), "inf"),
    ],
)
def test_significant_digits(value: float, text: str) -> None:
    assert significant(value) == text


def test_cells_count_and_measure_alike() -> None:
    assert number(None) == "—"
    assert number(float("nan")) == "—"
    assert number(True) == "True"
    assert number(1234567) == "1,234,567"
    assert number(np.int64(5000)) == "5,000"
    assert number(np.float32(0.5)) == "0.500"
    assert number(1.5449, 4) == "1.545"


def test_settings_show_as_a_rule_set_writes_them() -> None:
    assert setting(0.15) == "0.15"
    assert setting(1e-3) == "0.001"
    assert setting(0.0) == "0"
    assert setting(3) == "3"
