"""One forward + backward pass of a Keras model under ``tf.GradientTape``: the Keras side of a
Result. Weights are assigned by variable path (``dense1/kernel``), names and shapes checked."""
from __future__ import annotations

import numpy as np

from .backend import tf
from .losses import compute


def variables(model) -> dict:
    return {v.path: v for v in model.weights}


def load_weights(model, weights: dict[str, np.ndarray]) -> None:
    own = variables(model)
    if set(own) != set(weights):
        raise KeyError(f"keras variables {sorted(own)} vs weights {sorted(weights)}")
    for name, value in weights.items():
        var = own[name]
        if tuple(var.shape) != value.shape or var.dtype != str(value.dtype):
            raise ValueError(f"{name}: variable {tuple(var.shape)} {var.dtype}, "
                             f"weights {value.shape} {value.dtype}")
        var.assign(value)


def run_step(model, weights, inputs, target, upstream, loss: str, dtype: str):
    """Return (outputs, loss, param grads, input grads), NumPy, in Keras names and layouts."""
    load_weights(model, weights)
    own = variables(model)
    names = list(own)
    t_in = {k: tf.constant(v) for k, v in inputs.items()}
    t_up = {k: tf.constant(v) for k, v in upstream.items()}
    t_target = None if target is None else tf.constant(target)
    with tf.GradientTape() as tape:
        tape.watch(list(t_in.values()))
        outputs = model(t_in, training=False)
        value = compute(loss, outputs, t_target, t_up, dtype)
    grads = tape.gradient(value, [own[n] for n in names] + list(t_in.values()))
    param_grads = {n: np.asarray(g) for n, g in zip(names, grads[: len(names)])}
    input_grads = {k: np.asarray(g) for k, g in zip(t_in, grads[len(names):])}
    return ({k: np.asarray(v) for k, v in outputs.items()}, np.asarray(value), param_grads,
            input_grads)
