"""Imports TensorFlow and Keras quietly, once, for the modules that need them."""

from __future__ import annotations

import logging
import os
import warnings
from types import ModuleType


def import_keras() -> tuple[ModuleType, ModuleType]:
    """Return (tensorflow, keras) with TensorFlow's start-up log noise turned down."""
    # Level 2 hides TensorFlow's INFO and WARNING banners (CPU features, oneDNN notices) without
    # turning off oneDNN or XLA, which stay on and keep prediction fast.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import keras
        import tensorflow as tf
    logging.getLogger("absl").setLevel(logging.ERROR)
    tf.get_logger().setLevel(logging.ERROR)
    return tf, keras
