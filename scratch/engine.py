"""One forward + backward pass of a scratch model, by hand: the scratch side of a Result."""
from __future__ import annotations

import numpy as np

from .losses import LOSSES


def run_step(model, weights, inputs, target, upstream, loss: str, dtype: str):
    """Return (outputs, loss, param grads, input grads), all NumPy, in scratch names."""
    model.load(weights)
    outputs = model.forward(**inputs)
    if loss == "upstream":
        value = np.asarray(sum(np.sum(upstream[k] * outputs[k]) for k in upstream), dtype=dtype)
        grad_outputs = {k: upstream.get(k, np.zeros_like(v)) for k, v in outputs.items()}
    else:
        (name, pred), = outputs.items()
        op = LOSSES[loss]()
        value = op.forward(pred, target)
        grad_outputs = {name: op.backward()}
    input_grads = model.backward(grad_outputs)
    return outputs, value, dict(model.grads), input_grads
