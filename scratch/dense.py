"""The fully connected layer.

Shapes: N batch, F in features, U out units.  x: (N, F), W: (F, U), b: (U,), y: (N, U).
On a sequence (N, T, F) or an image (N, H, W, F) the same W acts on the last axis.
The canonical layout is Keras' (``kernel (in, out)``, ``y = x W + b``); PyTorch stores the
transpose (``weight (out, in)``) — the mapping declares it (crossframe/layers/dense.py).
"""
from __future__ import annotations

from crossframe import layers as L

from .base import Layer


class Dense(Layer):
    """y = x W + b.

    Backward, with G = dL/dy (N, U):
        dL/dx = G W^T          (N, F)
        dL/dW = x^T G          (F, U)   — sums over the batch inside the product
        dL/db = sum_n G[n]     (U,)     — every sample adds to the bias gradient
    On more axes, x and G are first seen as (rows, F) and (rows, U): the sums run over the
    batch and every step or pixel."""

    declaration = L.Dense

    def forward(self, params, x):
        y = x @ params["W"]
        if "b" in params:
            y = y + params["b"]
        return y, x

    def backward(self, params, x, G):
        W = params["W"]
        x2, G2 = x.reshape(-1, W.shape[0]), G.reshape(-1, W.shape[1])
        grads = {"W": x2.T @ G2}
        if "b" in params:
            grads["b"] = G2.sum(axis=0)
        return grads, G @ W.T
