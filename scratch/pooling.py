"""The pooling layers from scratch, as a textbook writes them: MaxPool2D, AveragePooling2D.

Shape legend
    N       batch size
    H, W    input height and width;  Ho, Wo  output height and width
    C       channels
    ph, pw  pool window height and width;  sh, sw  strides along height and width

Canonical layout, Keras': images NHWC ``(N, H, W, C)``. A pool is a loop over the window's
ph * pw offsets: offset (di, dj) sees every output position's input pixel through one strided
view, ``x[:, di : di + sh*Ho : sh, dj : dj + sw*Wo : sw]`` of shape (N, Ho, Wo, C).
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L
from crossframe.geometry import output_size

from .base import Layer


class MaxPool2D(Layer):
    """Max pooling over (ph, pw) windows, NHWC, floor semantics (what does not fill a window is
    dropped, as torch's ceil_mode=False and Keras' padding="valid").

        x (N, H, W, C)  ->  y (N, Ho, Wo, C),   Ho = floor((H - ph) / sh) + 1

    Forward:   y[n, i, j, c] = max over the window of x[n, i*sh + di, j*sw + dj, c]
    Backward:  the whole G[n, i, j, c] goes to that window's FIRST maximum in row-major
               window order (ties are common after a ReLU), and adds up where windows overlap.
    torch and TensorFlow break ties the same way."""

    declaration = L.MaxPool2D
    pool_size = (2, 2)
    strides = None

    def forward(self, params, x):
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        N, H, W, C = x.shape
        Ho, Wo = output_size(H, ph, sh, "valid"), output_size(W, pw, sw, "valid")
        best = np.full((N, Ho, Wo, C), -np.inf, dtype=x.dtype)
        where = np.zeros((N, Ho, Wo, C), dtype=np.int64)      # window offset k = di*pw + dj
        for k in range(ph * pw):                              # row-major: the first max wins
            di, dj = divmod(k, pw)
            tap = x[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :]
            better = tap > best                               # strictly: ties keep the first
            best = np.where(better, tap, best)
            where = np.where(better, k, where)
        return best, (x.shape, where)

    def backward(self, params, cache, G):
        shape, where = cache
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        _, Ho, Wo, _ = G.shape
        dx = np.zeros(shape, dtype=G.dtype)
        for k in range(ph * pw):
            di, dj = divmod(k, pw)
            dx[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :] += G * (where == k)
        return {}, dx


class AveragePooling2D(Layer):
    """Average pooling over (ph, pw) windows, NHWC, floor semantics (as MaxPool2D).

        x (N, H, W, C)  ->  y (N, Ho, Wo, C),   Ho = floor((H - ph) / sh) + 1

    Forward:   y[n, i, j, c] = mean over the window of x[n, i*sh + di, j*sw + dj, c]
    Backward:  every element of a window gets G[n, i, j, c] / (ph * pw), added up where
               windows overlap."""

    declaration = L.AveragePooling2D
    pool_size = (2, 2)
    strides = None

    def forward(self, params, x):
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        N, H, W, C = x.shape
        Ho, Wo = output_size(H, ph, sh, "valid"), output_size(W, pw, sw, "valid")
        y = np.zeros((N, Ho, Wo, C), dtype=x.dtype)
        for di in range(ph):
            for dj in range(pw):
                y += x[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :]
        return y / (ph * pw), x.shape

    def backward(self, params, shape, G):
        (ph, pw), (sh, sw) = self.pool_size, self.strides or self.pool_size
        _, Ho, Wo, _ = G.shape
        dx = np.zeros(shape, dtype=G.dtype)
        share = G / (ph * pw)
        for di in range(ph):
            for dj in range(pw):
                dx[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :] += share
        return {}, dx
