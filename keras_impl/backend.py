"""Import Keras once, on the TensorFlow backend, quietly.

``import tensorflow`` costs seconds, so nothing in crossframe imports it at module level
outside keras_impl, and keras_impl modules are only imported when a Keras model is run.
Keras 3 keeps float64 exactly on the TensorFlow backend (DESIGN.md); every layer here is given
its dtype explicitly rather than relying on ``keras.config.floatx()`` (float32 by default).
"""
from __future__ import annotations

import os

from crossframe.environment import keras_backend_error

_wrong_backend = keras_backend_error()
if _wrong_backend is not None:      # one line for the user, before Keras picks another backend
    raise _wrong_backend
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

if keras.backend.backend() != "tensorflow":  # pragma: no cover - a keras.json elsewhere
    from crossframe.errors import InputError

    raise InputError(f"Keras chose the {keras.backend.backend()!r} backend: crossframe runs "
                     "Keras on TensorFlow", "set KERAS_BACKEND=tensorflow")

__all__ = ["keras", "tf"]
