"""One forward + backward pass of a scratch model, by hand: the scratch side of a Result.

    build(sequential, dtype, classes)      the model (crossframe.scratch.model.Model)
    make_step(...)                         a closure doing one pass on fixed data
    run_step(...)                          load the weights, one pass, everything as NumPy
"""
from __future__ import annotations

import numpy as np

from .losses import make as make_loss
from .model import Model


def build(sequential, dtype: str, classes: dict) -> Model:
    return Model(sequential, dtype, classes)


def make_step(model, inputs, target, upstream, loss, dtype: str, mode: str = "train",
              backward: bool = True):
    """A closure running one forward (+ backward) pass on fixed data, weights already loaded.

    ``loss`` is a crossframe.losses.Loss. Returns (outputs, loss value, input grads or None);
    parameter grads are left in ``model.grads``."""
    loss_op = None if loss.upstream else make_loss(loss)
    model.training = mode == "train"

    def step():
        # an overflow (weights of 1e38 in float32) comes out as inf and is reported by the
        # comparison ("non-finite values"), as torch's and Keras' are, not as a warning
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return _step()

    def _step():
        outputs = model.forward(**inputs)
        if loss_op is None:
            # L = sum_k <G_k, y_k>: a dot product each, with no temporary of the outputs' size
            value = np.asarray(sum(np.vdot(upstream[k], outputs[k]) for k in upstream),
                               dtype=dtype)
            grad_outputs = {k: upstream[k] if k in upstream else np.zeros_like(v)
                            for k, v in outputs.items()}
        else:
            (name, pred), = outputs.items()
            value = loss_op.forward(pred, target)
            grad_outputs = {name: loss_op.backward()} if backward else None
        return outputs, value, (model.backward(grad_outputs) if backward else None)

    return step


def run_step(model, weights, inputs, target, upstream, loss, dtype: str, mode: str = "train",
             backward: bool = True):
    """Return (outputs, loss, param grads, input grads, state), NumPy, in scratch names."""
    model.load(weights)
    outputs, value, input_grads = make_step(model, inputs, target, upstream, loss, dtype, mode,
                                            backward)()
    return (outputs, value, dict(model.grads) if backward else {}, input_grads or {},
            dict(model.state))
