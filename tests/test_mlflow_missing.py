"""Without the mlflow extra, an MLflow URI or --mlflow is one line saying how to install it."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from auditor.cli import main

INSTALL = "pip install 'keras-auditor[mlflow]'"


@pytest.fixture
def no_mlflow(monkeypatch):
    monkeypatch.setitem(sys.modules, "mlflow", None)  # `import mlflow` raises ImportError


@pytest.mark.parametrize(
    ("model", "extra", "needs"),
    [
        ("models:/fraud/3", (), "models:/fraud/3"),
        ("models:/fraud@champion", (), "models:/fraud@champion"),
        ("runs:/0123abc/model", (), "runs:/0123abc/model"),
        ("model.keras", ("--mlflow",), "--mlflow"),
    ],
)
def test_one_error_line_names_the_extra(no_mlflow, tmp_path, model, extra, needs):
    for split in ("train", "val"):
        (tmp_path / f"{split}.csv").write_text("a,label\n1,0\n2,1\n")
    result = CliRunner().invoke(
        main,
        ["audit", model, "--train", str(tmp_path / "train.csv"), "--val", str(tmp_path / "val.csv"),
         "--out", str(tmp_path / "r"), *extra],
    )  # fmt: skip
    assert result.exit_code == 2
    assert result.output == f"Error: {needs} needs MLflow, which is not installed: {INSTALL}\n"
    assert not (tmp_path / "r").exists()
