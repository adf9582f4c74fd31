"""The fully connected layer.

Shapes: N batch, D in features, U out units.  x: (N, D), W: (D, U), b: (U,), y: (N, U).
The canonical layout is Keras' (``kernel (in, out)``, ``y = x W + b``); PyTorch stores the
transpose (``weight (out, in)``, ``y = x W^T + b``) — the mapping declares it.
"""
from __future__ import annotations

import numpy as np

from .base import ParamOperation


class Dense(ParamOperation):
    """y = x W + b.

    Backward, with G = dL/dy (N, U):
        dL/dx = G W^T          (N, D)
        dL/dW = x^T G          (D, U)   — sums over the batch inside the product
        dL/db = sum_n G[n]     (U,)     — every sample adds to the bias gradient
    """

    def __init__(self, W: np.ndarray, b: np.ndarray | None = None) -> None:
        params = {"W": W} if b is None else {"W": W, "b": b}
        super().__init__(params)

    def _output(self, x):
        y = x @ self.params["W"]
        if "b" in self.params:
            y += self.params["b"]
        return y

    def _backward(self, G):
        x = self.inputs[0]
        self.grads["W"] = x.T @ G
        if "b" in self.params:
            self.grads["b"] = G.sum(axis=0)
        return G @ self.params["W"].T


# --- builders for the registered dense models (see crossframe.models.dense) -----------------
def _stack(sizes, activation, dtype, output, bias=True):
    from .activations import ACTIVATIONS
    from .model import Sequential

    layers = []
    n = len(sizes) - 1
    for i in range(1, n + 1):
        W = np.zeros((sizes[i - 1], sizes[i]), dtype=dtype)
        b = np.zeros(sizes[i], dtype=dtype) if bias else None
        layers.append((f"dense{i}", Dense(W, b)))
        if i < n and activation:
            layers.append((f"{activation}{i}", ACTIVATIONS[activation]()))
    return Sequential(layers, output_name=output)


def build_mlp(opts, dtype):
    return _stack(opts["sizes"], opts["activation"], dtype, "logits")


def build_linear(opts, dtype):
    return _stack([opts["features"], 1], None, dtype, "prediction")


def build_dense(opts, dtype):
    return _stack([opts["inputs"], opts["units"]], None, dtype, "output", opts["bias"])


def build_activation(opts, dtype):
    from .activations import ACTIVATIONS
    from .model import Sequential

    return Sequential([(opts["activation"], ACTIVATIONS[opts["activation"]]())])
