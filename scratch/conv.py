"""The convolutions from scratch, as a textbook writes them: Conv2D, Conv1D, Flatten (pools:
pooling.py).

Shape legend
    N       batch size
    H, W    input height and width (Hp, Wp after zero padding; the code says W_in for the
            width wherever W names the kernel)
    L       input length of a 1-D map (Lp after padding)
    Ho, Wo  output height and width; Lo output length
    C       channels (C_in into a convolution, C_out out of it)
    G       groups; C_g = C_in / G input and O_g = C_out / G output channels per group
    kh, kw  kernel height and width; k a 1-D kernel's length
    sh, sw  strides along height and width; s a 1-D stride
    dh, dw  dilation along height and width; d a 1-D dilation

Canonical layout, Keras': images NHWC ``(N, H, W, C)``, 1-D maps ``(N, L, C)``, kernels
``(kh, kw, C_g, C_out)`` and ``(k, C_g, C_out)``. The output sizes and the pads follow Keras'
rule (``crossframe.geometry``): with ``padding="same"`` the odd extra row and column of zeros go
to the bottom and the right; ``padding="causal"`` (1-D) puts all ``(k-1)*d`` zeros on the left.

The convolution is written as a loop over the kernel's *taps*: tap (di, dj) multiplies every
output position's input pixel at offset (di*dh, dj*dw) — one strided view of the padded image,
``xp[:, di*dh : di*dh + sh*Ho : sh, dj*dw : dj*dw + sw*Wo : sw]`` of shape (N, Ho, Wo, C_in) —
by the (C_in, C_out) matrix ``W[di, dj]``. A dilation only moves where each tap's view starts.
With groups the channels split into G blocks and each tap is G products, block g of the view
times block g of the kernel into output block g (``group_blocks``). Forward sums the taps;
backward sends each tap's share back through the same view. The fast twin
(``crossframe.scratch.fast.conv``: im2col, one GEMM, kept work arrays) computes the same
numbers; a test pins them equal.
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L
from crossframe.geometry import output_size, pads

from .base import Layer


def group_blocks(C_in: int, C_out: int, G: int):
    """The (input channels, output channels) slices of each of the G groups, in order:
    group g reads input channels [g*C_g, (g+1)*C_g) and writes output channels
    [g*O_g, (g+1)*O_g). With G = 1: one block, every channel."""
    C_g, O_g = C_in // G, C_out // G
    return [(slice(g * C_g, (g + 1) * C_g), slice(g * O_g, (g + 1) * O_g)) for g in range(G)]


class Conv2D(Layer):
    """2-D convolution (cross-correlation, as in every framework), NHWC.

        x (N, H, W, C_in),  W (kh, kw, C_g, C_out),  b (C_out,)  ->  y (N, Ho, Wo, C_out)

    Forward:   xp = x with Keras' zero border
               y[n, i, j] = b + sum_{di, dj} xp[n, i*sh + di*dh, j*sw + dj*dw] @ W[di, dj]
                            (per group: input block g @ W[di, dj, :, block g] -> output block g)
    Backward (G = dL/dy):
               dW[di, dj] = sum_{n, i, j} xp[n, i*sh + di*dh, j*sw + dj*dw]^T G[n, i, j]
               db         = sum_{n, i, j} G[n, i, j]
               dxp[n, i*sh + di*dh, j*sw + dj*dw] += G[n, i, j] @ W[di, dj]^T,
               dx = dxp inside the border                          (each per group as above)
    Options: ``strides`` (sh, sw), ``padding`` "valid" or "same", ``dilation_rate`` (dh, dw),
    ``groups`` G. Source of the rules: TensorFlow's conv2d (Keras' Conv2D)."""

    declaration = L.Conv2D
    strides = (1, 1)
    padding = "valid"
    dilation_rate = (1, 1)
    groups = 1

    def _geometry(self, x_shape, kernel_shape):
        (_, H, W_in, _), (kh, kw) = x_shape, kernel_shape[:2]
        (sh, sw), (dh, dw) = self.strides, self.dilation_rate
        Ho = output_size(H, kh, sh, self.padding, dh)
        Wo = output_size(W_in, kw, sw, self.padding, dw)
        return Ho, Wo, pads(H, kh, sh, self.padding, dh), pads(W_in, kw, sw, self.padding, dw)

    def _view(self, di, dj, Ho, Wo):
        """Tap (di, dj)'s input pixels for every output position, as slices of xp."""
        (sh, sw), (dh, dw) = self.strides, self.dilation_rate
        return (slice(None), slice(di * dh, di * dh + sh * Ho, sh),
                slice(dj * dw, dj * dw + sw * Wo, sw))

    def forward(self, params, x):
        W = params["W"]
        kh, kw, C_g, C_out = W.shape
        Ho, Wo, (top, bottom), (left, right) = self._geometry(x.shape, W.shape)
        xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
        y = np.zeros((x.shape[0], Ho, Wo, C_out), dtype=x.dtype)
        blocks = group_blocks(x.shape[3], C_out, self.groups)
        for di in range(kh):
            for dj in range(kw):
                tap = xp[self._view(di, dj, Ho, Wo)]                   # (N, Ho, Wo, C_in)
                for ins, outs in blocks:
                    y[..., outs] += tap[..., ins] @ W[di, dj][:, outs]
        if "b" in params:
            y += params["b"]
        return y, (x.shape, xp)

    def backward(self, params, cache, G):
        (N, H, W_in, C_in), xp = cache
        W = params["W"]
        kh, kw, C_g, C_out = W.shape
        Ho, Wo, (top, _), (left, _) = self._geometry((N, H, W_in, C_in), W.shape)
        dW = np.zeros_like(W)
        dxp = np.zeros_like(xp)
        blocks = group_blocks(C_in, C_out, self.groups)
        for di in range(kh):
            for dj in range(kw):
                view = self._view(di, dj, Ho, Wo)
                tap = xp[view]
                for ins, outs in blocks:
                    dW[di, dj][:, outs] = (tap[..., ins].reshape(-1, C_g).T
                                           @ G[..., outs].reshape(-1, C_out // self.groups))
                    dxp[view + (ins,)] += G[..., outs] @ W[di, dj][:, outs].T
        grads = {"W": dW}
        if "b" in params:
            grads["b"] = G.reshape(-1, C_out).sum(axis=0)
        return grads, dxp[:, top:top + H, left:left + W_in, :].copy()


class Conv1D(Layer):
    """1-D convolution (cross-correlation) along the length of an (N, L, C) map or an
    (N, T, D) sequence (the same array: channels last).

        x (N, L, C_in),  W (k, C_g, C_out),  b (C_out,)  ->  y (N, Lo, C_out)

    Forward:   xp = x with zeros: "same" Keras' rule (odd one on the right), "causal"
                    (k-1)*d on the left only, so y[n, i] never sees a later input
               y[n, i] = b + sum_t xp[n, i*s + t*d] @ W[t]          (per group, as Conv2D)
    Backward (G = dL/dy):
               dW[t] = sum_{n, i} xp[n, i*s + t*d]^T G[n, i]
               db    = sum_{n, i} G[n, i]
               dxp[n, i*s + t*d] += G[n, i] @ W[t]^T,   dx = dxp without the zeros
    Options: ``strides`` s, ``padding`` "valid", "same" or "causal", ``dilation_rate`` d,
    ``groups`` G. Source: Keras' Conv1D (keras/src/layers/convolutional/conv1d.py pads the
    left for "causal" and then convolves "valid")."""

    declaration = L.Conv1D
    strides = 1
    padding = "valid"
    dilation_rate = 1
    groups = 1

    def _geometry(self, L_in: int, k: int):
        s, d = self.strides, self.dilation_rate
        return output_size(L_in, k, s, self.padding, d), pads(L_in, k, s, self.padding, d)

    def _view(self, t: int, Lo: int):
        """Tap t's input positions for every output position, as slices of xp."""
        s, d = self.strides, self.dilation_rate
        return (slice(None), slice(t * d, t * d + s * Lo, s))

    def forward(self, params, x):
        W = params["W"]
        k, C_g, C_out = W.shape
        Lo, (left, right) = self._geometry(x.shape[1], k)
        xp = np.pad(x, ((0, 0), (left, right), (0, 0)))
        y = np.zeros((x.shape[0], Lo, C_out), dtype=x.dtype)
        blocks = group_blocks(x.shape[2], C_out, self.groups)
        for t in range(k):
            tap = xp[self._view(t, Lo)]                                 # (N, Lo, C_in)
            for ins, outs in blocks:
                y[..., outs] += tap[..., ins] @ W[t][:, outs]
        if "b" in params:
            y += params["b"]
        return y, (x.shape, xp)

    def backward(self, params, cache, G):
        (N, L_in, C_in), xp = cache
        W = params["W"]
        k, C_g, C_out = W.shape
        Lo, (left, _) = self._geometry(L_in, k)
        dW = np.zeros_like(W)
        dxp = np.zeros_like(xp)
        for t in range(k):
            view = self._view(t, Lo)
            tap = xp[view]
            for ins, outs in group_blocks(C_in, C_out, self.groups):
                dW[t][:, outs] = (tap[..., ins].reshape(-1, C_g).T
                                  @ G[..., outs].reshape(-1, C_out // self.groups))
                dxp[view + (ins,)] += G[..., outs] @ W[t][:, outs].T
        grads = {"W": dW}
        if "b" in params:
            grads["b"] = G.reshape(-1, C_out).sum(axis=0)
        return grads, dxp[:, left:left + L_in, :].copy()


class Flatten(Layer):
    """(N, H, W, C) -> (N, H*W*C) in C order: feature (h*W + w)*C + c, Keras' NHWC order
    (a 1-D map (N, L, C): feature l*C + c).

    Forward: y = x.reshape(N, -1)                 Backward: dx = G.reshape(x.shape)

    torch flattens NCHW, feature (c*H + h)*W + w (NCL: c*L + l): the same numbers in another
    order, which the mapping of the Dense after it declares (crossframe/layers/dense.py)."""

    declaration = L.Flatten

    def forward(self, params, x):
        return x.reshape(x.shape[0], -1), x.shape

    def backward(self, params, shape, G):
        return {}, G.reshape(shape)
