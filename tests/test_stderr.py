"""stderr holds auditor's own lines only: TensorFlow's start-up banners are held back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from test_cli import audit_args

ROOT = Path(__file__).resolve().parent.parent


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "auditor", *args], capture_output=True, text=True, cwd=ROOT
    )


def test_banners_are_held_back_and_anything_else_is_replayed() -> None:
    code = (
        "import os\n"
        "from auditor.loading.keras_env import _banners_held\n"
        "with _banners_held():\n"
        "    os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are '\n"
        "                b'written to STDERR\\n')\n"
        "    os.write(2, b'I0000 00:00:1796179728.209052     746 port.cc:153] oneDNN custom '\n"
        "                b'operations are on.\\n')\n"
        "    os.write(2, b'E0000 00:00:1.5     746 cuda.cc:9] a real problem\\n')\n"
        "os.write(2, b'after\\n')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "E0000 00:00:1.5     746 cuda.cc:9] a real problem\nafter\n"


@pytest.mark.slow
def test_an_input_error_after_tensorflow_is_imported_is_one_line(
    tiny_binary: Any, tmp_path: Path
) -> None:
    # An NPZ split is checked when it is read, after the model (and TensorFlow) has loaded.
    bad = tmp_path / "train.npz"
    bad.write_bytes(b"not an archive")
    args = audit_args(tiny_binary, tmp_path / "out")
    args[args.index("--train") + 1] = str(bad)
    done = _run(*args)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), done.stderr
    assert "train.npz: the NPZ" in lines[0]


@pytest.mark.slow
def test_an_audit_that_passes_writes_nothing_on_stderr(tiny_binary: Any, tmp_path: Path) -> None:
    args = audit_args(tiny_binary, tmp_path / "out", "--format", "json", "--fail-on", "never", "-q")
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


@pytest.mark.slow
def test_keras_warnings_on_load_stay_off_stderr(tiny_binary: Any, tmp_path: Path) -> None:
    """A model compiled and saved before any training makes Keras warn, on load, that it skips
    the optimizer's variables: that is Keras talking to itself, not a line for the gate's log."""
    import keras

    untrained = keras.models.clone_model(tiny_binary.model)
    untrained.compile(optimizer="adam", loss="binary_crossentropy")
    path = tmp_path / "untrained.keras"
    untrained.save(path)
    args = audit_args(tiny_binary, tmp_path / "out", "--format", "json", "--fail-on", "never", "-q")
    args[1] = str(path)
    code = "import warnings, keras; warnings.simplefilter('default'); " + (
        f"keras.saving.load_model({str(path)!r})"
    )
    keras_alone = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "Skipping variable loading for optimizer" in keras_alone.stderr  # the case is real
    done = _run(*args)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
