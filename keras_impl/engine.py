"""One forward + backward pass of a Keras model under ``tf.GradientTape``: the Keras side of a
Result. Weights are assigned by variable path (``dense1/kernel``), names and shapes checked;
the mode is explicit (``training=True`` / ``False`` from ``mode``)."""
from __future__ import annotations

import numpy as np

from .backend import tf
from .losses import compute
from .model import build  # noqa: F401  (the engine's build, as in the other frameworks)


def variables(model) -> dict:
    return {v.path: v for v in model.weights}


def trainable(model) -> dict:
    return {v.path: v for v in model.trainable_weights}


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


def make_step(model, inputs, target, upstream, loss, dtype: str, mode: str = "train",
              compiled: bool = False, backward: bool = True):
    """A closure running one forward (+ backward) pass (eager, or a ``tf.function`` graph).

    Returns (outputs, loss, param grads, input grads) as tensors, params in ``trainable``
    order."""
    params = list(trainable(model).values())
    t_in = {k: tf.constant(v) for k, v in inputs.items()}
    t_up = {k: tf.constant(v) for k, v in upstream.items()}
    t_target = None if target is None else tf.constant(target)
    training = mode == "train"

    def step():
        floats = [t for t in t_in.values() if t.dtype.is_floating]   # ids have no gradient
        with tf.GradientTape() as tape:
            tape.watch(floats)
            outputs = model(t_in, training=training)
            value = compute(loss, outputs, t_target, t_up, dtype)
        if not backward:
            return outputs, value, [], []
        grads = tape.gradient(value, params + floats)
        return outputs, value, grads[: len(params)], grads[len(params):]

    return tf.function(step) if compiled else step


def dense(g) -> np.ndarray:
    """A gradient as one array: an embedding table's arrives as tf.IndexedSlices (the rows hit,
    with repeats), which convert_to_tensor sums into the (V, E) table."""
    if isinstance(g, tf.IndexedSlices):
        g = tf.convert_to_tensor(g)
    return np.asarray(g)


def run_step(model, weights, inputs, target, upstream, loss, dtype: str, mode: str = "train",
             backward: bool = True):
    """Return (outputs, loss, param grads, input grads, state), NumPy, in Keras names."""
    load_weights(model, weights)
    outputs, value, grads, input_grads = make_step(model, inputs, target, upstream, loss, dtype,
                                                   mode, backward=backward)()
    state = {p: v.numpy() for p, v in variables(model).items()
             if p not in trainable(model)}
    return ({k: np.asarray(v) for k, v in outputs.items()}, np.asarray(value),
            {n: dense(g) for n, g in zip(trainable(model), grads)},
            {k: np.asarray(g) for k, g in zip([k for k, v in inputs.items()
                                                 if v.dtype.kind == "f"], input_grads)}, state)
