"""Peak memory of auditing an image folder (streamed) against the same images held in memory.

Usage: python benchmarks/images.py [--images 60000] [--size 32] [--out benchmarks/build/images]

Writes (once) N small RGB PNGs, 80% under train/ and 20% under val/, one sub-folder per class
(10 classes: scikit-learn's digits, upscaled to SIZE x SIZE, coloured, shifted and noised so that
no two images are alike), and an untrained CNN on (SIZE, SIZE, 3). Then, as fresh processes:

1. `auditor audit` on the two folders (JSON report only);
2. the same audit from Python, with the images read into uint8 arrays first (`(x, y)` splits).

Each prints its wall time and the process's peak resident set (ru_maxrss of the child).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
CLASSES = 10


def write_folders(out: Path, n: int, size: int) -> None:
    """Write N distinct SIZE x SIZE RGB PNGs into OUT/train and OUT/val (once)."""
    from PIL import Image
    from sklearn.datasets import load_digits

    done = out / ".done"
    if done.exists() and done.read_text() == f"{n} {size}":
        return
    digits = load_digits()
    rng = np.random.default_rng(0)
    scale = size // 8
    for i in range(n):
        k = i % len(digits.images)
        base = np.kron(digits.images[k] / 16.0, np.ones((scale, scale)))
        base = np.roll(base, rng.integers(-2, 3, size=2), axis=(0, 1))
        colour = rng.uniform(0.3, 1.0, size=3)
        image = base[:, :, None] * colour * 200 + rng.normal(0, 12, (size, size, 3)) + 20
        split = "train" if i % 5 else "val"
        folder = out / split / str(int(digits.target[k]))
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.clip(image, 0, 255).astype(np.uint8), mode="RGB").save(
            folder / f"{i:06d}.png"
        )
    done.write_text(f"{n} {size}")


def write_model(out: Path, size: int) -> Path:
    """Save (once) an untrained CNN on (SIZE, SIZE, 3): memory does not depend on its skill."""
    path = out / "cnn.keras"
    if path.exists():
        return path
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((size, size, 3))
    h = keras.layers.Rescaling(1 / 255)(inputs)
    h = keras.layers.Conv2D(16, 3, activation="relu")(h)
    h = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.Conv2D(32, 3, activation="relu")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(CLASSES, activation="softmax")(h))
    model.compile(loss="sparse_categorical_crossentropy")
    model.save(path)
    return path


IN_MEMORY = """
import sys, numpy as np
from pathlib import Path
from PIL import Image
from auditor.api import audit
out = Path(sys.argv[1])
def load(split):
    files = sorted((out / split).glob("*/*.png"))
    x = np.stack([np.asarray(Image.open(f)) for f in files])  # uint8 (n, size, size, 3)
    y = np.array([int(f.parent.name) for f in files])
    return x, y
report = audit(out / "cnn.keras", train=load("train"), val=load("val"))
print(report.verdict, report.evaluation.splits["val"].n_rows)
"""


def _run(command: list[str]) -> tuple[float, float, str]:
    """Run COMMAND as a child; return its wall seconds, peak resident MB and output's last line."""
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0 and os.waitstatus_to_exitcode(status) not in (0, 1):
        raise SystemExit(f"{' '.join(command)} failed:\n{output[-2000:]}")
    last = output.strip().splitlines()[-1] if output.strip() else ""
    return seconds, usage.ru_maxrss / 1024, last


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=60_000)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--out", type=Path, default=HERE / "build" / "images")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    write_folders(args.out, args.images, args.size)
    model = write_model(args.out, args.size)
    print(
        f"inputs ready in {time.perf_counter() - started:.0f} s: {args.images:,} PNGs", flush=True
    )
    auditor = str(Path(sys.executable).with_name("auditor"))
    folder = _run(
        [
            auditor,
            "audit",
            str(model),
            "--train",
            str(args.out / "train"),
            "--val",
            str(args.out / "val"),
            "--out",
            str(args.out / "report"),
            "--format",
            "json",
            "--no-progress",
        ]
    )
    memory = _run([sys.executable, "-c", IN_MEMORY, str(args.out)])
    raw = args.images * args.size * args.size * 3
    print(
        f"images: {args.images:,} of {args.size} x {args.size} x 3 ({raw / 2**20:.0f} MB as uint8)"
    )
    print(f"| image folder, streamed | {folder[0]:.0f} s | {folder[1]:,.0f} MB |")
    print(f"| the same images in memory (uint8) | {memory[0]:.0f} s | {memory[1]:,.0f} MB |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
