"""Per-image facts for image splits: pixel hashes, difference hashes, statistics, near matches.

Images are hashed as the model sees them (after reading and resizing), batch by batch:

- *exact* duplicates share a 64-bit BLAKE2b digest of every pixel value (as float32);
- *near* duplicates have difference hashes at most `NEAR_BITS` of 128 bits apart. An image's
  difference hash is computed on its grayscale (the mean of its channels) shrunk by area averaging
  to 9 x 9 cells: 64 bits say whether each cell is brighter than its left neighbour, 64 whether
  it is brighter than the one above, by more than `FLAT` of the image's range of cell values (so
  flat regions give steady zeros rather than noise). It ignores a uniform brightness or contrast
  change and moves a few bits under re-compression, slight noise or resizing; unrelated photos
  differ in about half the bits (low-resolution images of one kind, such as 8 x 8 digits of one
  class, in about 8 of 128);
- per-image statistics (mean intensity per channel; height, width and aspect ratio when read from
  files) form the table the drift checks compare across splits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import numpy as np

CELLS = 9  # the difference hash's grid: 8 x 8 comparisons in each direction
FLAT = 0.05  # neighbour differences below this share of the image's range count as equal
NEAR_BITS = 4  # difference hashes at most this many bits apart (of 128) are near duplicates
THUMBNAIL = 64  # the longest side of an evidence thumbnail, in pixels
CHUNK_PAIRS = 4_000_000  # hash pairs compared at once: bounds the temporaries to about 64 MB


def _area_weights(size: int, cells: int) -> np.ndarray:
    """Return the (cells, size) matrix that averages SIZE pixels into CELLS equal cells."""
    edges = np.linspace(0.0, size, cells + 1)
    start = np.arange(size, dtype=np.float64)
    overlap = np.clip(
        np.minimum(edges[1:, None], start[None, :] + 1) - np.maximum(edges[:-1, None], start),
        0.0,
        None,
    )
    return overlap / overlap.sum(axis=1, keepdims=True)


def as_images(x: np.ndarray) -> np.ndarray:
    """Return a batch of images as (n, height, width, channels) float32: a missing axis is 1."""
    images = np.asarray(x, dtype=np.float32)
    return images[..., None] if images.ndim == 3 else images


def difference_hashes(x: np.ndarray) -> np.ndarray:
    """Return the 128-bit difference hash of each image as two 64-bit words, (n, 2) uint64."""
    images = as_images(x)
    gray = images.mean(axis=3, dtype=np.float64)
    rows = _area_weights(gray.shape[1], CELLS)
    cols = _area_weights(gray.shape[2], CELLS)
    small = np.einsum("rh,nhw,cw->nrc", rows, gray, cols)
    spread = small.max(axis=(1, 2)) - small.min(axis=(1, 2))
    step = (FLAT * spread)[:, None, None]
    right = small[:, :-1, 1:] - small[:, :-1, :-1] > step
    down = small[:, 1:, :-1] - small[:, :-1, :-1] > step
    bits = np.concatenate([right.reshape(len(images), 64), down.reshape(len(images), 64)], axis=1)
    return np.packbits(bits, axis=1).view(">u8").astype(np.uint64)


def pixel_hashes(x: np.ndarray) -> np.ndarray:
    """Return a 64-bit digest of each image's pixel values: equal images, equal hashes."""
    # A new array (the batch is not touched): -0.0 + 0.0 == +0.0, equal values give equal bytes.
    images = np.asarray(x, dtype=np.float32) + np.float32(0.0)
    digests = b"".join(hashlib.blake2b(image.tobytes(), digest_size=8).digest() for image in images)
    return np.frombuffer(digests, dtype="<u8").astype(np.uint64)


def channel_means(x: np.ndarray) -> np.ndarray:
    """Return each image's mean intensity per channel, (n, channels), in the data's own units."""
    return as_images(x).mean(axis=(1, 2), dtype=np.float64)


def _popcount(words: np.ndarray) -> np.ndarray:
    if hasattr(np, "bitwise_count"):  # NumPy 2
        return np.bitwise_count(words)
    table = np.array([bin(i).count("1") for i in range(256)], np.uint8)
    return table[words.view(np.uint8).reshape(*words.shape, 8)].sum(axis=-1, dtype=np.uint8)


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the bit distances between the hashes A (n, w) and B (m, w) as an (n, m) array."""
    distance = np.zeros((len(a), len(b)), np.uint8)
    for word in range(a.shape[1]):
        distance += _popcount(a[:, None, word] ^ b[None, :, word]).astype(np.uint8)
    return distance


def _blocks(n: int, m: int) -> Iterator[tuple[int, int]]:
    step = max(1, CHUNK_PAIRS // max(m, 1))
    for start in range(0, n, step):
        yield start, min(n, start + step)


def nearest(needles: np.ndarray, haystack: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return, per needle hash, the index of the nearest HAYSTACK hash and its bit distance.

    Every pair is compared (n x m popcounts, in blocks): exact, and fast enough for splits of
    tens of thousands of images. An empty haystack gives index -1 at distance 129.
    """
    index = np.full(len(needles), -1, np.int64)
    distance = np.full(len(needles), 129, np.int64)
    if not len(haystack):
        return index, distance
    for start, stop in _blocks(len(needles), len(haystack)):
        d = hamming(needles[start:stop], haystack)
        index[start:stop] = d.argmin(axis=1)
        distance[start:stop] = d[np.arange(stop - start), index[start:stop]]
    return index, distance


def near_within(hashes: np.ndarray, exact: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per image: the index of the nearest *other* image of the same split, and its distance.

    EXACT are the pixel hashes: pairs that are exact copies are left out (the duplicates check
    counts those), so what is found is near and not identical.
    """
    index = np.full(len(hashes), -1, np.int64)
    distance = np.full(len(hashes), 129, np.int64)
    for start, stop in _blocks(len(hashes), len(hashes)):
        d = hamming(hashes[start:stop], hashes).astype(np.int64)
        d[exact[start:stop, None] == exact[None, :]] = 129  # not itself, nor its exact copies
        index[start:stop] = d.argmin(axis=1)
        distance[start:stop] = d[np.arange(stop - start), index[start:stop]]
    return index, distance


def thumbnail(image: np.ndarray) -> np.ndarray:
    """Return IMAGE as uint8 (h, w, 1 or 3) at most THUMBNAIL pixels a side, stretched to 0-255.

    Shrunk by whole-pixel striding (no smoothing: small images stay sharp), and grown by
    repetition when tiny, so an 8 x 8 digit shows as 64 x 64.
    """
    picture = as_images(image[None])[0].astype(np.float64)
    if picture.shape[2] not in (1, 3):
        picture = picture[:, :, :3] if picture.shape[2] > 3 else picture[:, :, :1]
    step = max(1, int(np.ceil(max(picture.shape[:2]) / THUMBNAIL)))
    picture = picture[::step, ::step]
    grow = max(1, THUMBNAIL // max(picture.shape[:2]))
    picture = np.repeat(np.repeat(picture, grow, axis=0), grow, axis=1)
    low, high = float(picture.min()), float(picture.max())
    scaled = (picture - low) / (high - low) * 255 if high > low else np.zeros_like(picture)
    return np.clip(np.round(scaled), 0, 255).astype(np.uint8)
