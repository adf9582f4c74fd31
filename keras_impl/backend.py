"""Import Keras once, on the TensorFlow backend, quietly.

``import tensorflow`` costs seconds, so nothing in crossframe imports it at module level
outside keras_impl, and keras_impl modules are only imported when a Keras model is run.
Keras 3 keeps float64 exactly on the TensorFlow backend (DESIGN.md); every layer here is given
its dtype explicitly rather than relying on ``keras.config.floatx()`` (float32 by default).
"""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
# TensorFlow's oneDNN kernels (on by default) are switched off: in float32 they computed a
# wrong Conv2D here (max_rel 1.0 for a 1-channel 5x5 input, 1x5 kernel, stride (1, 2), valid —
# the fixed example in parity_tests/test_conv.py), while the reference kernels match scratch
# and torch. The variable only works if set before TensorFlow is first imported, so every
# module and test imports TensorFlow through this module.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

if keras.backend.backend() != "tensorflow":  # pragma: no cover - environment guard
    raise RuntimeError(f"crossframe runs Keras on TensorFlow; KERAS_BACKEND is "
                       f"{keras.backend.backend()!r}")

__all__ = ["keras", "tf"]
