"""One forward + backward pass of a Keras model: the Keras side of a Result, on whichever
backend Keras runs (the gradient by the backend's own mechanism: keras_impl/gradients.py).
Weights are assigned by variable path (``dense1/kernel``), names, shapes and dtypes checked;
the mode is explicit (``training=True`` / ``False`` from ``mode``)."""
from __future__ import annotations

import numpy as np

from .backend import BACKEND, keras, to_numpy
from .gradients import value_and_grad
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
        if tuple(var.shape) != value.shape or str(var.dtype) != str(value.dtype):
            raise ValueError(f"{name}: variable {tuple(var.shape)} {var.dtype}, "
                             f"weights {value.shape} {value.dtype}")
        var.assign(value)


def make_step(model, inputs, target, upstream, loss, dtype: str, mode: str = "train",
              compiled: bool | None = None, backward: bool = True):
    """A closure running one forward (+ backward) pass (eager, or compiled: ``tf.function``
    on TensorFlow, ``jax.jit`` on JAX, kept on the model for the next batch of the same
    shapes; torch runs eagerly). ``compiled=None``: the backend's own default, as Keras' ``fit``
    has it: compiled on JAX (an eager JAX pass retraces every op of a recurrent layer's
    ``lax.scan`` on each call: about 3 s for the lstm preset here), eager elsewhere.

    Returns (outputs, loss, param grads, input grads) as backend tensors, params in
    ``trainable`` order."""
    convert = keras.ops.convert_to_tensor
    t_in = {k: convert(v) for k, v in inputs.items()}
    t_up = {k: convert(v) for k, v in upstream.items()}
    t_target = None if target is None else convert(target)
    training = mode == "train"
    # ids have no gradient; a dtype read by Keras: a NumPy array's, or a tensor's in a trace
    watched = [k for k, v in inputs.items() if keras.backend.is_float_dtype(v.dtype)]

    def forward(x, target, upstream):
        outputs = model(x, training=training)
        return outputs, compute(loss, outputs, target, upstream, dtype)

    if compiled is None:
        compiled = BACKEND == "jax"
    key = (loss.text(), dtype, mode, backward, tuple(watched), tuple(t_in), target is None)
    return value_and_grad(model, forward, t_in, t_target, t_up, watched, compiled, backward,
                          key)


def dense(g) -> np.ndarray:
    """A gradient as one array: on TensorFlow an embedding table's arrives as tf.IndexedSlices
    (the rows hit, with repeats), which convert_to_tensor sums into the (V, E) table."""
    if BACKEND == "tensorflow":
        from .backend import tf

        if isinstance(g, tf.IndexedSlices):
            g = tf.convert_to_tensor(g)
    return to_numpy(g)


def run_step(model, weights, inputs, target, upstream, loss, dtype: str, mode: str = "train",
             backward: bool = True):
    """Return (outputs, loss, param grads, input grads, state), NumPy, in Keras names.

    On JAX the pass is ``jax.jit``-compiled, once per model and shapes (``make_step``'s
    default); TensorFlow and torch run eagerly."""
    load_weights(model, weights)
    outputs, value, grads, input_grads = make_step(model, inputs, target, upstream, loss, dtype,
                                                   mode, backward=backward)()
    state = {p: to_numpy(v) for p, v in variables(model).items()
             if p not in trainable(model)}
    return ({k: to_numpy(v) for k, v in outputs.items()}, to_numpy(value),
            {n: dense(g) for n, g in zip(trainable(model), grads)},
            {k: to_numpy(g) for k, g in zip([k for k, v in inputs.items()
                                               if v.dtype.kind == "f"], input_grads)}, state)
