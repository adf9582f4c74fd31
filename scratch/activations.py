"""Element-wise activations and Softmax, forward and backward side by side.

Shapes: any. The output and both gradients have the shape and dtype of the input ``x``.
Backward uses the cached *output* where the derivative is a function of it
(sigmoid' = y (1 - y), tanh' = 1 - y^2), so nothing is recomputed.
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L

from .base import Layer


def sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)), through e = exp(-|x|) <= 1, which never overflows:

        x >= 0:  1 / (1 + e)        x < 0:  e / (1 + e)

    Both branches are accurate to the last bits, including the tiny tail for x << 0 that the
    shortcut (1 + tanh(x/2)) / 2 rounds to 0. x = +-300 is fine, with no warning."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


class ReLU(Layer):
    """y = max(x, 0);  dL/dx = G [x > 0].

    At exactly x = 0 the derivative is taken as 0 (the strict inequality), which is what
    PyTorch (``threshold_backward``) and TensorFlow (``ReluGrad``: ``y > 0``) both do."""

    declaration = L.ReLU

    def forward(self, params, x):
        return np.maximum(x, 0, dtype=x.dtype), x

    def backward(self, params, x, dy):
        return {}, dy * (x > 0)


class Sigmoid(Layer):
    """y = 1 / (1 + exp(-x));  dL/dx = G y (1 - y)."""

    declaration = L.Sigmoid

    def forward(self, params, x):
        y = sigmoid(x)
        return y, y

    def backward(self, params, y, dy):
        return {}, dy * y * (1 - y)


class Tanh(Layer):
    """y = tanh(x);  dL/dx = G (1 - y^2)."""

    declaration = L.Tanh

    def forward(self, params, x):
        y = np.tanh(x)
        return y, y

    def backward(self, params, y, dy):
        return {}, dy * (1 - y * y)


class Softmax(Layer):
    """p = exp(z - max z) / sum exp(z - max z) over the last axis;
    dL/dz = p * (G - sum(G * p)) (the Jacobian diag(p) - p p^T applied to G)."""

    declaration = L.Softmax

    def forward(self, params, z):
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        p = e / e.sum(axis=-1, keepdims=True)
        return p, p

    def backward(self, params, p, dp):
        return {}, p * (dp - (dp * p).sum(axis=-1, keepdims=True))
