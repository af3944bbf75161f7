"""Imports TensorFlow and Keras quietly, once, for the modules that need them."""

from __future__ import annotations

import gc
import logging
import os
import sys
import warnings
from types import ModuleType

# Set by the command (`auditor.cli.run`), which owns its process: after importing TensorFlow,
# freeze every live object out of the garbage collector. A library must not do that to its host,
# whose own reference cycles would then never be collected.
FREEZE_AFTER_IMPORT = False


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
        with warnings.catch_warnings():
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
