"""The losses in Keras, reductions and dtype explicit.

A Keras ``Loss`` computes in its own dtype — ``keras.config.floatx()``, float32 unless told —
and casts the predictions to it: a float64 model would get a float32 loss without a word. So
every loss here is built with ``dtype=`` the model's dtype.

``from_logits=True`` on both cross-entropies: their default (False) expects probabilities.
``sum_over_batch_size`` averages the per-sample losses, each a mean over the last axis, which
is torch's ``reduction="mean"`` over all elements.
"""
from __future__ import annotations

from .backend import keras, tf


def compute(loss: str, outputs: dict, target, upstream: dict, dtype: str):
    if loss == "upstream":
        return tf.add_n([tf.reduce_sum(upstream[k] * outputs[k]) for k in upstream])
    (pred,) = outputs.values()
    if loss == "mse":
        fn = keras.losses.MeanSquaredError(reduction="sum_over_batch_size", dtype=dtype)
    elif loss == "mae":
        fn = keras.losses.MeanAbsoluteError(reduction="sum_over_batch_size", dtype=dtype)
    elif loss == "softmax_ce":
        fn = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, reduction="sum_over_batch_size", dtype=dtype)
    elif loss == "binary_ce":
        fn = keras.losses.BinaryCrossentropy(
            from_logits=True, reduction="sum_over_batch_size", dtype=dtype)
    else:
        raise ValueError(f"unknown loss {loss!r}")
    return fn(target, pred)
