"""Image folders in the layout of `keras.utils.image_dataset_from_directory`, read in batches.

One sub-folder per class, sorted by name (the class index is the position: as the Keras utility
infers labels); inside each, PNG and JPEG files found by walking the sub-folder, sorted. Every
image is decoded and resized as the utility does: `tf.io.decode_image` with the model's number of
channels, then `tf.image.resize` to the model's height and width, bilinear, without antialiasing
and without keeping the aspect ratio; pixel values stay 0-255 as float32.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from auditor.errors import DataError

EXTENSIONS = (".png", ".jpg", ".jpeg")
RESIZE = "bilinear"  # keras.utils.image_dataset_from_directory's default interpolation
RESIZE_NOTE = (
    "decoded and resized to the model's input as keras.utils.image_dataset_from_directory does: "
    "tf.image.resize, bilinear, aspect ratio not kept, values 0-255"
)


def is_image_folder(path: Path) -> bool:
    """Whether PATH is a folder whose sub-folders hold PNG or JPEG files (not a Parquet dataset)."""
    if not path.is_dir():
        return False
    for sub in sorted(p for p in path.iterdir() if p.is_dir()):
        for _, _, files in os.walk(sub):
            if any(f.lower().endswith(EXTENSIONS) for f in files):
                return True
    return False


def _files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=True):
        dirs.sort()
        found.extend(Path(root) / f for f in sorted(files) if f.lower().endswith(EXTENSIONS))
    return found


class ImageFolderReader:
    """An image folder: its files and classes; images are decoded only when a shard is read.

    `target` (height, width, channels) is the model's input, set before `shards` is called.
    """

    format: ClassVar[str] = "image folder"
    separate_labels = True
    kind: ClassVar[str] = "image"

    def __init__(self, path: Path) -> None:
        self.path = path
        self.target: tuple[int, int, int] | None = None
        classes = sorted(p.name for p in path.iterdir() if p.is_dir())
        if not classes:
            raise DataError(
                f"{path}: an image folder needs one sub-folder per class holding PNG or JPEG "
                "files; it has no sub-folder"
            )
        files: list[Path] = []
        labels: list[int] = []
        for index, name in enumerate(classes):
            found = _files(path / name)
            if not found:
                raise DataError(
                    f"{path / name}: class folder '{name}' holds no PNG or JPEG file; "
                    "add its images or remove the folder"
                )
            files.extend(found)
            labels.extend([index] * len(found))
        self.classes = tuple(classes)
        self.files = tuple(files)
        self.labels = np.array(labels, dtype=np.int64)

    def columns(self) -> list[str]:
        """Return no columns: an image folder's labels are its class folders."""
        return []

    def describe(self) -> str:
        """Say how the split was read, for the report."""
        assert self.target is not None
        h, w, c = self.target
        return (
            f"image folder: {len(self.files):,} PNG/JPEG files in {len(self.classes)} class "
            f"folders, {RESIZE_NOTE.replace('the model', f'the model ({h} x {w} x {c})', 1)}"
        )

    def name(self, row: int) -> str:
        """Return the file of ROW relative to the folder (what evidence shows)."""
        return self.files[row].relative_to(self.path).as_posix()

    def image(self, row: int) -> np.ndarray:
        """Return the image of ROW as the model sees it (decoded and resized)."""
        return self.read(row)[0]

    def read(self, row: int) -> tuple[np.ndarray, tuple[int, int]]:
        """Decode and resize the image of ROW; also return its stored (height, width)."""
        import tensorflow as tf

        assert self.target is not None, "the model's input size is set before images are read"
        height, width, channels = self.target
        path = self.files[row]
        try:
            image = tf.io.decode_image(
                tf.io.read_file(str(path)), channels=channels, expand_animations=False
            )
        except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as exc:
            reason = str(getattr(exc, "message", exc)).strip().splitlines()[0][:120]
            raise DataError(
                f"{path}: not a readable PNG or JPEG image ({reason}); fix or remove the file"
            ) from None
        stored = (int(image.shape[0]), int(image.shape[1]))
        resized = tf.image.resize(image, (height, width), method=RESIZE)
        return np.asarray(resized, dtype=np.float32), stored

    def shards(
        self,
        features: Sequence[str],
        label: str,
        batch_rows: int,
        shard_rows: int,
        text: Sequence[str] = (),
    ) -> list[ImageShard]:
        """Cut the files into consecutive shards of SHARD_ROWS files (the last one shorter).

        Images have no text columns: TEXT is always empty here.
        """
        step = max(shard_rows, batch_rows, 1)
        return [
            ImageShard(self, first, min(len(self.files), first + step), batch_rows)
            for first in range(0, len(self.files), step)
        ]


@dataclass(frozen=True, eq=False)
class ImageShard:
    """Files START to STOP of an image folder, decoded in batches of BATCH_ROWS images."""

    folder: ImageFolderReader
    start: int
    stop: int
    batch_rows: int

    @property
    def first_row(self) -> int:
        """The row number of the shard's first image within the split."""
        return self.start

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """Yield (images, labels, stored sizes (n, 2)) of at most `batch_rows` images."""
        assert self.folder.target is not None
        height, width, channels = self.folder.target
        for first in range(self.start, self.stop, self.batch_rows):
            rows = range(first, min(self.stop, first + self.batch_rows))
            x = np.empty((len(rows), height, width, channels), np.float32)
            sizes = np.empty((len(rows), 2), np.int64)
            for i, row in enumerate(rows):
                x[i], sizes[i] = self.folder.read(row)
            yield x, self.folder.labels[first : rows.stop], sizes
