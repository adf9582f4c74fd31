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
    """y = 1 / (1 + exp(-x)), written as (1 + tanh(x/2)) / 2 so that x = ±300 neither
    overflows nor warns;  dL/dx = dL/dy * y (1 - y)."""

    def _output(self, x):
        half = x.dtype.type(0.5)
        return half * (np.tanh(half * x) + x.dtype.type(1))

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
