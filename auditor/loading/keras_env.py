"""Imports TensorFlow and Keras quietly, once, for the modules that need them."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator
from types import ModuleType

# Set by the command (`auditor.cli.run`), which owns its process: after importing TensorFlow,
# freeze every live object out of the garbage collector. A library must not do that to its host,
# whose own reference cycles would then never be collected.
FREEZE_AFTER_IMPORT = False


# What TensorFlow's C++ runtime prints on stderr at import, whatever TF_CPP_MIN_LOG_LEVEL says
# (since 2.21): absl's pre-initialization notice, the oneDNN notice and the CPU-feature notice
# with its continuation line. Nothing else printed during the import is held back.
BANNERS = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IW]\d{4} [\d:. ]+\d+ (port\.cc|cpu_feature_guard\.cc):\d+\] "
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler"
)


@contextlib.contextmanager
def _banners_held() -> Iterator[None]:
    """Hold the process's stderr (file descriptor 2) aside; then replay all but the banners.

    The banners come from C++, below Python's `sys.stderr`, so only the descriptor can catch
    them. oneDNN stays on: only its notice goes.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):  # no descriptor 2 (embedded, closed): as is
        yield
        return
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            held.seek(0)
            text = held.read().decode("utf-8", errors="replace")
            kept = [line for line in text.splitlines(keepends=True) if not BANNERS.match(line)]
            if kept:
                os.write(2, "".join(kept).encode("utf-8", errors="replace"))


def import_keras() -> tuple[ModuleType, ModuleType]:
    """Return (tensorflow, keras) with TensorFlow's start-up log noise turned down."""
    # Level 2 hides TensorFlow's INFO and WARNING banners (CPU features, oneDNN notices) without
    # turning off oneDNN or XLA, which stay on and keep prediction fast.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    first = "keras" not in sys.modules
    # Importing TensorFlow creates millions of objects that live as long as the process. Left to
    # the collector, they are swept again and again as they pile up (a second or more), and then
    # by every full collection of the audit: import without collecting and, in the command, move
    # everything alive into the permanent generation (`gc.freeze`).
    collecting = first and gc.isenabled()
    if collecting:
        if FREEZE_AFTER_IMPORT:
            gc.collect()  # cheap before the import; leaves only live objects to freeze
        gc.disable()
    try:
        with warnings.catch_warnings(), _banners_held() if first else contextlib.nullcontext():
            warnings.simplefilter("ignore")
            import keras
            import tensorflow as tf
    finally:
        if collecting:
            if FREEZE_AFTER_IMPORT:
                gc.freeze()
            gc.enable()
    logging.getLogger("absl").setLevel(logging.ERROR)
    tf.get_logger().setLevel(logging.ERROR)
    return tf, keras
