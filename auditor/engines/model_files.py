"""A model as the bytes of one file, to send to an engine's workers (which may share no disk)."""

from __future__ import annotations

import io
import tarfile
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from auditor.errors import AuditorError

if TYPE_CHECKING:
    from auditor.loading.model import LoadedModel


def model_file(model: LoadedModel) -> tuple[bytes, str]:
    """Return the model as the bytes of one file and its suffix, to load on another machine.

    A .keras or .h5 file is sent as it is, a SavedModel folder as a tar archive, and an in-memory
    model is saved as a .keras file first.
    """
    path = Path(model.info.path)
    if model.info.format == "savedmodel" and path.is_dir():
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as archive:
            archive.add(path, arcname="model")
        return buffer.getvalue(), ".tar"
    if path.is_file():
        return path.read_bytes(), path.suffix
    if model.keras_model is None:
        raise AuditorError(f"{path}: the Ray engine needs the model as a file or a Keras model")
    with tempfile.TemporaryDirectory(prefix="auditor-model-") as folder:
        saved = Path(folder) / "model.keras"
        model.keras_model.save(saved)
        return saved.read_bytes(), ".keras"


def unpack(blob: bytes, suffix: str, folder: Path) -> Path:
    """Write the model's bytes (`model_file`) into FOLDER; return the path to load."""
    if suffix == ".tar":
        with tarfile.open(fileobj=io.BytesIO(blob)) as archive:
            if hasattr(tarfile, "data_filter"):  # Python 3.10.12+: no links or paths outside
                archive.extractall(folder, filter="data")
            else:  # the archive is the driver's own, written by model_file
                archive.extractall(folder)
        return folder / "model"
    path = folder / f"model{suffix}"
    path.write_bytes(blob)
    return path
