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
