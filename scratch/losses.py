"""Losses: a scalar from predictions and targets, and its gradient w.r.t. the predictions.

Reductions are explicit and match both libraries' defaults:
- MSE: the mean over *all* elements (torch ``mse_loss(reduction="mean")``; Keras
  ``MeanSquaredError`` = mean over the last axis, then ``sum_over_batch_size`` = the same).
- Softmax cross-entropy from logits, mean over the batch (torch ``cross_entropy``; Keras
  ``SparseCategoricalCrossentropy(from_logits=True)``).
- Upstream: L = sum(G * y) for a given G, so dL/dy = G — how a lone layer is checked.
"""
from __future__ import annotations

import numpy as np


class Loss:
    """forward(pred, target) -> 0-d array (cached); backward() -> dL/d(pred), pred's shape."""

    def forward(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        self.pred, self.target = pred, target
        self.value = np.asarray(self._output(pred, target), dtype=pred.dtype)
        return self.value

    def backward(self) -> np.ndarray:
        grad = self._backward()
        assert grad.shape == self.pred.shape and grad.dtype == self.pred.dtype, (
            f"{type(self).__name__}: gradient {grad.shape} {grad.dtype}, "
            f"prediction {self.pred.shape} {self.pred.dtype}")
        return grad


class MSE(Loss):
    """L = mean((pred - target)^2) over all M elements;  dL/dpred = 2 (pred - target) / M.

    pred, target: same shape, e.g. (N, 1) for regression or (N, T, U) per time step.
    """

    def _output(self, pred, target):
        diff = pred - target.astype(pred.dtype)
        self.diff = diff
        return np.mean(diff * diff)

    def _backward(self):
        return self.diff * self.pred.dtype.type(2.0 / self.diff.size)


class SoftmaxCrossEntropy(Loss):
    """Softmax cross-entropy from logits, mean over the batch.

    logits: (N, K), target: (N,) integer labels.
        log p = z - max(z) - log(sum(exp(z - max(z))))     (stable: no exp overflow)
        L = -mean_n log p[n, y_n]
        dL/dz = (softmax(z) - onehot(y)) / N
    """

    def _output(self, logits, labels):
        shifted = logits - logits.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
        self.log_p = log_p
        return -np.mean(log_p[np.arange(len(labels)), labels])

    def _backward(self):
        n = len(self.target)
        grad = np.exp(self.log_p)
        grad[np.arange(n), self.target] -= 1
        return grad / self.pred.dtype.type(n)


LOSSES = {"mse": MSE, "softmax_ce": SoftmaxCrossEntropy}
