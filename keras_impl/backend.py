"""Import Keras once, on the backend chosen, quietly; and the one place that knows backends.

Keras 3 runs the same model code on TensorFlow, JAX or PyTorch and fixes its backend when it is
first imported (``KERAS_BACKEND``, default ``tensorflow``). crossframe honours a user's
``KERAS_BACKEND`` for its ``keras`` column, and runs the named columns ``keras-tensorflow``,
``keras-jax`` and ``keras-torch`` in processes of their own where the backend differs
(crossframe.keras_backends).

Set here before Keras is imported, each only where the user did not set it:

- ``JAX_ENABLE_X64=1``: JAX otherwise makes every float64 array float32 without a word;
- ``JAX_PLATFORMS=cpu``: the suite runs on the CPU; no search for accelerators;
- ``TF_ENABLE_ONEDNN_OPTS=0``: TensorFlow's oneDNN kernels computed a wrong float32 Conv2D
  here (max_rel 1.0 for a 1-channel 5x5 input, 1x5 kernel, stride (1, 2), valid — the fixed
  example in parity_tests/test_conv.py), while the reference kernels match scratch and torch.

``import tensorflow`` costs seconds, so nothing in crossframe imports it at module level outside
keras_impl, keras_impl modules are only imported when a Keras model is run, and ``tf`` here is
imported on first use (never by a JAX or torch worker that does not ask for it). Keras 3 keeps
float64 exactly on the TensorFlow backend (DESIGN.md); every layer here is given its dtype
explicitly rather than relying on ``keras.config.floatx()`` (float32 by default).
"""
from __future__ import annotations

import os

from crossframe.environment import keras_backend_error

_wrong_backend = keras_backend_error()
if _wrong_backend is not None:      # one line for the user, before Keras picks another backend
    raise _wrong_backend
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")
os.environ.setdefault("JAX_ENABLE_X64", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

from crossframe.keras_backends import cannot_start  # noqa: E402

try:
    import keras  # noqa: E402
except ImportError as _err:
    raise cannot_start(os.environ["KERAS_BACKEND"], _err) from None

BACKEND = keras.backend.backend()
if BACKEND not in ("tensorflow", "jax", "torch"):  # pragma: no cover - a keras.json elsewhere
    from crossframe.errors import InputError

    raise InputError(f"Keras chose the {BACKEND!r} backend: crossframe runs Keras on "
                     "tensorflow, jax or torch", "set KERAS_BACKEND to one of those")
# Keras' type promotion (keras/src/backend/common/dtypes.py, ``_lattice_result_type``) ends by
# mapping every 64-bit result to 32 bits on every backend but TensorFlow
# (``BIT64_TO_BIT32_DTYPE``, "to be aligned with JAX's default behavior"), so any op that asks
# ``result_type`` computes a float64 input in float32 and casts back: ``ops.tanh`` and
# ``ops.var`` on JAX, ``ops.matmul`` (every Dense) and ``ops.var`` on torch, and more
# (parity_tests/test_keras_backends.py lists them, measured on a Keras without this line; the
# upstream bug class is keras-team/keras#23223). A user's own one-line fix, applied here: keep
# float64 a float64 result. Nothing else changes (int64 still promotes to int32 as upstream).
from keras.src.backend.common import dtypes as _dtypes  # noqa: E402

UPSTREAM_FLOAT64_RESULT = _dtypes.BIT64_TO_BIT32_DTYPE.get("float64", "float64")
_dtypes.BIT64_TO_BIT32_DTYPE["float64"] = "float64"

if BACKEND == "jax":
    import jax

    if not jax.config.jax_enable_x64:   # pragma: no cover - JAX imported before us without x64
        jax.config.update("jax_enable_x64", True)


def __getattr__(name: str):
    """``tf``: TensorFlow, imported on first use."""
    if name == "tf":
        import tensorflow

        return tensorflow
    raise AttributeError(name)


def to_numpy(value):
    """A backend tensor (or variable) as a NumPy array, detached from any graph. A variable on
    TensorFlow is read with its own ``numpy()`` (``convert_to_numpy`` of it warns under
    NumPy 2 at every read)."""
    if isinstance(value, keras.Variable):
        return value.numpy() if BACKEND == "tensorflow" else \
            keras.ops.convert_to_numpy(value.value)
    return keras.ops.convert_to_numpy(value)


try:                                   # the backend initialises its device on first use
    to_numpy(keras.ops.add(keras.ops.ones((1,)), 1.0))
except Exception as _err:              # noqa: BLE001 - whatever stops the backend is said
    raise cannot_start(BACKEND, _err) from None

__all__ = ["keras", "BACKEND", "to_numpy"]
