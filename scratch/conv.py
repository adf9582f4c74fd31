"""The image layers from scratch, as a textbook writes them: Conv2D, Flatten (pools: pooling.py).

Shape legend
    N       batch size
    H, W    input height and width (Hp, Wp after zero padding; the code says W_in for the
            width wherever W names the kernel)
    Ho, Wo  output height and width
    C       channels (C_in into a convolution, C_out out of it)
    kh, kw  kernel (or pool window) height and width
    sh, sw  strides along height and width

Canonical layout, Keras': images NHWC ``(N, H, W, C)``, kernels ``(kh, kw, C_in, C_out)``. The
output sizes and the pads follow Keras' rule (``crossframe.geometry``): with ``padding="same"``
the odd extra row and column of zeros go to the bottom and the right.

The convolution is written as a loop over the kernel's kh * kw *taps*: tap (di, dj) multiplies
every output position's input pixel at offset (di, dj) — one strided view of the padded image,
``xp[:, di : di + sh*Ho : sh, dj : dj + sw*Wo : sw]`` of shape (N, Ho, Wo, C_in) — by the
(C_in, C_out) matrix ``W[di, dj]``. Forward sums the taps; backward sends each tap's share back
through the same view. The fast twin (``crossframe.scratch.fast.conv``: im2col, one GEMM, kept
work arrays) computes the same numbers; a test pins them equal.
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L
from crossframe.geometry import output_size, pads

from .base import Layer


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework), NHWC.

        x (N, H, W, C_in),  W (kh, kw, C_in, C_out),  b (C_out,)  ->  y (N, Ho, Wo, C_out)

    Forward:   xp = x with Keras' zero border
               y[n, i, j] = b + sum_{di, dj} xp[n, i*sh + di, j*sw + dj] @ W[di, dj]
    Backward (G = dL/dy):
               dW[di, dj] = sum_{n, i, j} xp[n, i*sh + di, j*sw + dj]^T G[n, i, j]
               db         = sum_{n, i, j} G[n, i, j]
               dxp[n, i*sh + di, j*sw + dj] += G[n, i, j] @ W[di, dj]^T,  dx = dxp inside
                                                                          the border
    Options: ``strides`` (sh, sw), ``padding`` "valid" or "same"."""

    declaration = L.Conv2D
    strides = (1, 1)
    padding = "valid"

    def _geometry(self, x_shape, kernel_shape):
        (_, H, W_in, _), (kh, kw) = x_shape, kernel_shape[:2]
        (sh, sw) = self.strides
        Ho, Wo = (output_size(H, kh, sh, self.padding), output_size(W_in, kw, sw, self.padding))
        return Ho, Wo, pads(H, kh, sh, self.padding), pads(W_in, kw, sw, self.padding)

    def forward(self, params, x):
        W = params["W"]
        kh, kw, C_in, C_out = W.shape
        sh, sw = self.strides
        Ho, Wo, (top, bottom), (left, right) = self._geometry(x.shape, W.shape)
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        y = np.zeros((x.shape[0], Ho, Wo, C_out), dtype=x.dtype)
        for di in range(kh):
            for dj in range(kw):
                tap = xp[:, di:di + sh * Ho:sh, dj:dj + sw * Wo:sw, :]   # (N, Ho, Wo, C_in)
                y += tap @ W[di, dj]
        if "b" in params:
            y += params["b"]
        return y, (x.shape, xp)

    def backward(self, params, cache, G):
        (N, H, W_in, C_in), xp = cache
        W = params["W"]
        kh, kw, _, C_out = W.shape
        sh, sw = self.strides
        Ho, Wo, (top, _), (left, _) = self._geometry((N, H, W_in, C_in), W.shape)
        dW = np.zeros_like(W)
        dxp = np.zeros_like(xp)
        G_rows = G.reshape(-1, C_out)                                     # (N*Ho*Wo, C_out)
        for di in range(kh):
            for dj in range(kw):
                view = (slice(None), slice(di, di + sh * Ho, sh), slice(dj, dj + sw * Wo, sw))
                dW[di, dj] = xp[view].reshape(-1, C_in).T @ G_rows
                dxp[view] += G @ W[di, dj].T
        grads = {"W": dW}
        if "b" in params:
            grads["b"] = G_rows.sum(axis=0)
        return grads, dxp[:, top:top + H, left:left + W_in, :].copy()


class Flatten(Layer):
    """(N, H, W, C) -> (N, H*W*C) in C order: feature (h*W + w)*C + c, Keras' NHWC order.

    Forward: y = x.reshape(N, -1)                 Backward: dx = G.reshape(x.shape)

    torch flattens NCHW, feature (c*H + h)*W + w: the same numbers in another order, which the
    mapping of the Dense after it declares (crossframe/layers/dense.py)."""

    declaration = L.Flatten

    def forward(self, params, x):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, params, shape, G):
        return {}, G.reshape(shape)
