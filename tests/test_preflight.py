"""Input errors that need no model are reported before TensorFlow is imported (well under 1 s)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Runs the command in-process, then says whether TensorFlow was imported on the way to the error.
PROBE = """
import sys
from auditor.cli import main
try:
    main(sys.argv[1:])
except SystemExit as exc:
    print(exc.code, 'tensorflow' in sys.modules)
"""


@pytest.fixture()
def files(tmp_path: Path) -> dict[str, Path]:
    model = tmp_path / "model.keras"
    model.write_bytes(b"not read: every check below comes first")
    split = tmp_path / "split.csv"
    split.write_text("a,b,label\n1,2,0\n3,4,1\n")
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    rules = tmp_path / "rules.yaml"
    rules.write_text("name: team\nversion: '1'\nrules:\n  - id: TT01\n    kind: nope\n")
    return {"model": model, "split": split, "a_file": a_file, "rules": rules, "dir": tmp_path}


CASES = {
    "missing model": (["--model", "{dir}/absent.keras"], "absent.keras: model file not found"),
    "missing split": (["--train", "{dir}/absent.csv"], "absent.csv: train split not found"),
    "wrong label": (["--label", "y"], "label column 'y' not found"),
    "unknown ignored column": (["--ignore", "zz"], "--ignore names unknown column(s) zz"),
    "output is a file": (["--out", "{a_file}"], "cannot create the output folder (File exists)"),
    "bad rule set": (["--rules", "{rules}"], "rule TT01: unknown kind 'nope'"),
}


@pytest.mark.parametrize("case", CASES)
def test_input_errors_come_before_tensorflow(files: dict[str, Path], case: str) -> None:
    changes, message = CASES[case]
    settings = {
        "--model": str(files["model"]),
        "--train": str(files["split"]),
        "--val": str(files["split"]),
        "--out": str(files["dir"] / "out"),
    }
    extra = []
    for flag, value in zip(changes[::2], changes[1::2], strict=True):
        value = value.format(**{k: str(v) for k, v in files.items()})
        if flag in settings:
            settings[flag] = value
        else:
            extra += [flag, value]
    args = ["audit", settings.pop("--model"), *sum(settings.items(), ()), *extra]
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, cwd=ROOT
    )
    assert done.stdout.split() == ["2", "False"], (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: ") and message in lines[0], lines
