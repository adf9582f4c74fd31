"""The losses in Keras, reductions and dtype explicit.

A Keras ``Loss`` computes in its own dtype — ``keras.config.floatx()``, float32 unless told —
and casts the predictions to it: a float64 model would get a float32 loss without a word. So
every loss here is built with ``dtype=`` the model's dtype.

Reductions (crossframe/losses.py): "mean" is Keras' ``sum_over_batch_size`` (the mean of the
per-sample losses, each a mean over the last axis: torch's mean over every element). "sum" is
torch's sum over every element; Keras' ``reduction="sum"`` sums the per-sample losses, each a
*mean* over the last axis, so for the element-wise losses it is multiplied back by that axis'
size here (a declared difference; 1 for a regression head).
"""
from __future__ import annotations

from .backend import keras

CLASSES = {"mse": "MeanSquaredError", "mae": "MeanAbsoluteError",
           "softmax_ce": "SparseCategoricalCrossentropy", "binary_ce": "BinaryCrossentropy"}


def compute(loss, outputs: dict, target, upstream: dict, dtype: str):
    if loss.upstream:
        terms = [keras.ops.sum(upstream[k] * outputs[k]) for k in upstream]
        return terms[0] if len(terms) == 1 else keras.ops.sum(keras.ops.stack(terms))
    (pred,) = outputs.values()
    kwargs = {"reduction": "sum_over_batch_size" if loss.reduction == "mean" else "sum",
              "dtype": dtype}
    if loss.name in ("softmax_ce", "binary_ce"):
        kwargs["from_logits"] = loss.from_logits
    value = getattr(keras.losses, CLASSES[loss.name])(**kwargs)(target, pred)
    if loss.reduction == "sum" and loss.name != "softmax_ce":
        value = value * pred.shape[-1]     # Keras' sum of per-sample means -> torch's sum
    return value
