"""Losses: a scalar from predictions and targets, and its gradient w.r.t. the predictions.

Reductions are explicit and match both libraries' defaults:
- MSE: the mean over *all* elements (torch ``mse_loss(reduction="mean")``; Keras
  ``MeanSquaredError`` = mean over the last axis, then ``sum_over_batch_size`` = the same).
- MAE: the mean of |pred - target| over all elements (torch ``l1_loss``; Keras
  ``MeanAbsoluteError``, the same two-stage mean as MSE).
- Softmax cross-entropy from logits, mean over the batch (torch ``cross_entropy``; Keras
  ``SparseCategoricalCrossentropy(from_logits=True)``).
- Binary cross-entropy from logits, mean over all elements (torch
  ``binary_cross_entropy_with_logits``; Keras ``BinaryCrossentropy(from_logits=True)``).
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


class MAE(Loss):
    """L = mean(|pred - target|) over all M elements;  dL/dpred = sign(pred - target) / M.

    pred, target: same shape. At a tie (pred == target) the derivative is taken as 0, as torch
    (``sign`` in ``l1_loss``'s backward) and TensorFlow (``Abs``' gradient is ``sign``) do.
    """

    def _output(self, pred, target):
        diff = pred - target.astype(pred.dtype)
        self.diff = diff
        return np.mean(np.abs(diff))

    def _backward(self):
        return np.sign(self.diff) * self.pred.dtype.type(1.0 / self.diff.size)


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


class BinaryCrossEntropy(Loss):
    """Binary cross-entropy from logits, mean over all M elements.

    logits z, target y: same shape, y in [0, 1] (0/1 labels, or soft targets).
        L = mean( max(z, 0) - z y + log(1 + exp(-|z|)) )   (= -y log s(z) - (1-y) log(1-s(z)),
                                                             written so that exp cannot overflow)
        dL/dz = (sigmoid(z) - y) / M
    The sigmoid is 0.5 (1 + tanh(z / 2)): the same function, exact 0 / 1 in the tails.
    """

    def _output(self, logits, target):
        y = target.astype(logits.dtype)
        self.y = y
        return np.mean(np.maximum(logits, 0) - logits * y + np.log1p(np.exp(-np.abs(logits))))

    def _backward(self):
        z = self.pred
        sigmoid = 0.5 * (1 + np.tanh(0.5 * z))
        return (sigmoid - self.y) * z.dtype.type(1.0 / z.size)


LOSSES = {"mse": MSE, "mae": MAE, "softmax_ce": SoftmaxCrossEntropy,
          "binary_ce": BinaryCrossEntropy}
