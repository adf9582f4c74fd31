"""One forward + backward pass of a scratch model, by hand: the scratch side of a Result."""
from __future__ import annotations

import numpy as np

from .losses import LOSSES


def make_step(model, inputs, target, upstream, loss: str, dtype: str):
    """A closure running one forward + backward pass on fixed data (weights already loaded).

    Returns (outputs, loss value, input grads); parameter grads are left in ``model.grads``.
    """
    loss_op = None if loss == "upstream" else LOSSES[loss]()

    def step():
        outputs = model.forward(**inputs)
        if loss_op is None:
            # L = sum_k <G_k, y_k>: a dot product each, with no (N, T, H) temporary
            value = np.asarray(sum(np.vdot(upstream[k], outputs[k]) for k in upstream),
                               dtype=dtype)
            grad_outputs = {k: upstream[k] if k in upstream else np.zeros_like(v)
                            for k, v in outputs.items()}
        else:
            (name, pred), = outputs.items()
            value = loss_op.forward(pred, target)
            grad_outputs = {name: loss_op.backward()}
        return outputs, value, model.backward(grad_outputs)

    return step


def run_step(model, weights, inputs, target, upstream, loss: str, dtype: str):
    """Return (outputs, loss, param grads, input grads), all NumPy, in scratch names."""
    model.load(weights)
    outputs, value, input_grads = make_step(model, inputs, target, upstream, loss, dtype)()
    return outputs, value, dict(model.grads), input_grads
