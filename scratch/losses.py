"""Losses: a scalar from predictions and targets, and its gradient w.r.t. the predictions.

Every loss takes ``reduction`` "mean" or "sum" (crossframe/losses.py says exactly over what) and
the cross-entropies ``from_logits`` (False: the prediction is the model's softmax / sigmoid
output). Shapes: pred (N, ...) ; the gradient has pred's shape and dtype.

- MSE: reduce((pred - y)^2); torch ``mse_loss``; Keras ``MeanSquaredError``.
- MAE: reduce(|pred - y|); torch ``l1_loss``; Keras ``MeanAbsoluteError``.
- Softmax cross-entropy, integer labels (N,) or (N, T) for logits (N, K) or (N, T, K): torch
  ``cross_entropy``; Keras ``SparseCategoricalCrossentropy``.
- Binary cross-entropy, targets in [0, 1] of pred's shape: torch
  ``binary_cross_entropy_with_logits``; Keras ``BinaryCrossentropy``.
"""
from __future__ import annotations

import numpy as np


class Loss:
    """forward(pred, target) -> 0-d array (what backward needs is kept); backward() -> dL/dpred.

    ``count`` is what "mean" divides by: the number of elements (the number of labels for the
    softmax cross-entropy)."""

    def __init__(self, from_logits: bool = True, reduction: str = "mean") -> None:
        self.from_logits, self.reduction = from_logits, reduction

    def forward(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        self.pred, self.target = pred, target
        terms = self._terms(pred, target)
        self.count = terms.size
        total = terms.sum()
        value = total / self.count if self.reduction == "mean" else total
        self.value = np.asarray(value, dtype=pred.dtype)
        return self.value

    def backward(self) -> np.ndarray:
        scale = 1.0 / self.count if self.reduction == "mean" else 1.0
        grad = self._grad() * self.pred.dtype.type(scale)
        assert grad.shape == self.pred.shape and grad.dtype == self.pred.dtype, (
            f"{type(self).__name__}: gradient {grad.shape} {grad.dtype}, "
            f"prediction {self.pred.shape} {self.pred.dtype}")
        return grad


class MSE(Loss):
    """terms = (pred - y)^2;  d/dpred = 2 (pred - y), then the reduction's 1/M."""

    def _terms(self, pred, target):
        self.diff = pred - target.astype(pred.dtype)
        return self.diff * self.diff

    def _grad(self):
        return 2 * self.diff


class MAE(Loss):
    """terms = |pred - y|;  d/dpred = sign(pred - y), 0 at a tie (as torch and TensorFlow)."""

    def _terms(self, pred, target):
        self.diff = pred - target.astype(pred.dtype)
        return np.abs(self.diff)

    def _grad(self):
        return np.sign(self.diff)


class SoftmaxCrossEntropy(Loss):
    """terms[n] = -log p[n, y_n], one per label.

    From logits z (stable, no exp overflow):
        log p = z - max(z) - log(sum(exp(z - max(z))))
        d/dz  = softmax(z) - onehot(y)
    From probabilities p (the model ends in a softmax):
        d/dp  = -onehot(y) / p      (the softmax's backward then gives softmax(z) - onehot(y))
    """

    def _terms(self, pred, labels):
        self.onehot = np.eye(pred.shape[-1], dtype=pred.dtype)[labels]
        if self.from_logits:
            shifted = pred - pred.max(axis=-1, keepdims=True)
            self.log_p = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        else:
            self.log_p = np.log(pred)
        return -(self.log_p * self.onehot).sum(axis=-1)

    def _grad(self):
        if self.from_logits:
            return np.exp(self.log_p) - self.onehot
        return -self.onehot / self.pred


class BinaryCrossEntropy(Loss):
    """terms = -(y log s + (1 - y) log(1 - s)), s = sigmoid(z), for targets y in [0, 1].

    From logits z, written so that exp cannot overflow:
        terms = max(z, 0) - z y + log(1 + exp(-|z|));   d/dz = sigmoid(z) - y
    From probabilities p (the model ends in a sigmoid):
        d/dp = (p - y) / (p (1 - p))
    """

    def _terms(self, pred, target):
        y = target.astype(pred.dtype)
        self.y = y
        if self.from_logits:
            return np.maximum(pred, 0) - pred * y + np.log1p(np.exp(-np.abs(pred)))
        return -(y * np.log(pred) + (1 - y) * np.log1p(-pred))

    def _grad(self):
        p = self.pred
        if self.from_logits:
            e = np.exp(-np.abs(p))
            s = np.where(p >= 0, 1 / (1 + e), e / (1 + e)).astype(p.dtype, copy=False)
            return s - self.y
        return (p - self.y) / (p * (1 - p))


LOSSES = {"mse": MSE, "mae": MAE, "softmax_ce": SoftmaxCrossEntropy,
          "binary_ce": BinaryCrossEntropy}


def make(loss) -> Loss:
    """The scratch loss for a crossframe.losses.Loss."""
    return LOSSES[loss.name](loss.from_logits, loss.reduction)
