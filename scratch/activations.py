"""Element-wise activations, forward and backward side by side.

Shapes: any; the output and both gradients have the shape and dtype of the input.
Backward uses the cached *output* where the derivative is a function of it
(sigmoid' = s(1-s), tanh' = 1-t^2), so nothing is recomputed.
"""
from __future__ import annotations

import numpy as np

from .base import Operation


class ReLU(Operation):
    """y = max(x, 0);  dL/dx = dL/dy * [x > 0].

    At exactly x = 0 the derivative is taken as 0 (the strict inequality), which is what
    PyTorch (``threshold_backward``) and TensorFlow (``ReluGrad``: ``y > 0``) both do; the test
    ``test_relu_gradient_at_zero`` pins it against both.
    """

    def _output(self, x):
        return np.maximum(x, 0, dtype=x.dtype)

    def _backward(self, dy):
        return dy * (self.inputs[0] > 0)


class Sigmoid(Operation):
    """y = 1 / (1 + exp(-x));  dL/dx = dL/dy * y (1 - y).

    Evaluated through e = exp(-|x|) <= 1, which never overflows (x = ±300 is fine):
        x >= 0:  y = 1 / (1 + e)        x < 0:  y = e / (1 + e)
    Both branches are accurate to the last bits, including the tiny tail for x << 0 that
    the shortcut (1 + tanh(x/2)) / 2 rounds to 0 by cancellation.
    """

    def _output(self, x):
        e = np.exp(-np.abs(x))
        return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)

    def _backward(self, dy):
        y = self.output
        return dy * y * (1 - y)


class Tanh(Operation):
    """y = tanh(x);  dL/dx = dL/dy * (1 - y^2)."""

    def _output(self, x):
        return np.tanh(x)

    def _backward(self, dy):
        y = self.output
        return dy * (1 - y * y)


ACTIVATIONS = {"relu": ReLU, "sigmoid": Sigmoid, "tanh": Tanh}
