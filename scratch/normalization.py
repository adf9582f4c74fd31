"""Layer normalization, by hand.

Shapes: N batch, F features (the last axis); any axes between are more rows: x (N, F),
(N, T, F) or (N, H, W, F); gamma, beta (F,); y the shape of x. Rows are everything but the
last axis; each row is normalized on its own.

Ba, Kiros & Hinton, "Layer Normalization" (2016), eq. (4) — over the features, with the biased
variance, as keras/src/layers/normalization/layer_normalization.py and torch.nn.LayerNorm
compute it.
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L

from .base import Layer


class LayerNormalization(Layer):
    """mu = mean_f x, var = mean_f (x - mu)^2, xhat = (x - mu) / sqrt(var + epsilon),
    y = gamma * xhat + beta.

    Backward, with G = dL/dy (the shape of x), sums "over rows" running over every axis but
    the last:
        dL/dgamma = sum over rows of G * xhat                          (F,)
        dL/dbeta  = sum over rows of G                                 (F,)
        dxhat = G * gamma
        dL/dx = (dxhat - mean_f dxhat - xhat * mean_f(dxhat * xhat)) / sqrt(var + epsilon)
    The last line is dxhat pushed through the mean and the variance of its own row: the
    two means are what makes every feature's gradient depend on the whole row."""

    declaration = L.LayerNormalization

    def __init__(self, epsilon: float = 1e-3, **options):
        self.epsilon = epsilon

    def forward(self, params, x):
        mu = x.mean(axis=-1, keepdims=True)
        var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        xhat = (x - mu) * inv_std
        y = params["gamma"] * xhat + params["beta"]
        return y, (xhat, inv_std)

    def backward(self, params, cache, G):
        xhat, inv_std = cache
        F = xhat.shape[-1]
        grads = {"gamma": (G * xhat).reshape(-1, F).sum(axis=0),
                 "beta": G.reshape(-1, F).sum(axis=0)}
        dxhat = G * params["gamma"]
        dx = inv_std * (dxhat - dxhat.mean(axis=-1, keepdims=True)
                        - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))
        return grads, dx


class BatchNormalization(Layer):
    """Training (batch statistics): mu = mean over rows, var = mean over rows (x - mu)^2,
    xhat = (x - mu) / sqrt(var + epsilon), y = gamma * xhat + beta; the running statistics
    move towards mu and var. Inference: xhat from moving_mean and moving_variance; no update.

    Shapes: rows are every axis but the last (M = N, or N*H*W on an NHWC image, N*T on a
    sequence); x (N, ..., C); gamma, beta, moving_mean, moving_variance (C,).

    Backward, with G = dL/dy and dxhat = G * gamma:
        dL/dgamma = sum over rows of G * xhat      dL/dbeta = sum over rows of G      (C,)
        training:  dL/dx = (dxhat - mean_rows dxhat - xhat * mean_rows(dxhat * xhat))
                           / sqrt(var + epsilon)       (mu and var depend on every row)
        inference: dL/dx = dxhat / sqrt(moving_variance + epsilon)     (constants)
    Ioffe & Szegedy (2015), Algorithm 1 and its backward in section 3."""

    declaration = L.BatchNormalization

    def __init__(self, momentum: float = 0.99, epsilon: float = 1e-3, **options):
        self.momentum, self.epsilon = momentum, epsilon

    def forward(self, params, x, training=True):
        C = x.shape[-1]
        rows = x.reshape(-1, C)
        if training:
            mu = rows.mean(axis=0)
            var = ((rows - mu) ** 2).mean(axis=0)             # biased: divided by M
        else:
            mu, var = params["moving_mean"], params["moving_variance"]
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        xhat = (x - mu) * inv_std
        y = xhat
        if "gamma" in params:
            y = params["gamma"] * xhat + params["beta"]
        return y, (xhat, inv_std, mu, var, rows.shape[0], training)

    def updated_state(self, params, cache, training=True, unbiased_variance=False):
        """The running statistics after this pass: Keras' rule (the biased batch variance);
        ``unbiased_variance`` gives torch's (var * M / (M - 1))."""
        _, _, mu, var, M, _ = cache
        if not training:
            return {"moving_mean": params["moving_mean"],
                    "moving_variance": params["moving_variance"]}
        if unbiased_variance:
            var = var * M / (M - 1)
        m = self.momentum
        return {"moving_mean": m * params["moving_mean"] + (1 - m) * mu,
                "moving_variance": m * params["moving_variance"] + (1 - m) * var}

    def backward(self, params, cache, G):
        xhat, inv_std, _, _, _, training = cache
        C = xhat.shape[-1]
        grads = {}
        dxhat = G
        if "gamma" in params:
            grads = {"gamma": (G * xhat).reshape(-1, C).sum(axis=0),
                     "beta": G.reshape(-1, C).sum(axis=0)}
            dxhat = G * params["gamma"]
        if not training:
            return grads, dxhat * inv_std
        d2, x2 = dxhat.reshape(-1, C), xhat.reshape(-1, C)
        dx = inv_std * (d2 - d2.mean(axis=0) - x2 * (d2 * x2).mean(axis=0))
        return grads, dx.reshape(xhat.shape)
