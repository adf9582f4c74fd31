"""The transposed convolution from scratch, as a textbook writes it: Conv2DTranspose.

Shape legend
    N       batch size
    H, W    input height and width (the code says W_in for the width: W names the kernel)
    Hf, Wf  the full (uncropped) output: Hf = (H - 1)*sh + kh, Wf = (W - 1)*sw + kw
    Ho, Wo  output height and width (Keras' rule, crossframe/layers/conv_transpose.py)
    C_in    input channels;  F  filters, the output channels
    kh, kw  kernel height and width;  sh, sw  strides (the upsampling factors)

Canonical layout, Keras': images NHWC ``(N, H, W, C)``, kernel ``W (kh, kw, F, C_in)`` (the
output channels before the input ones, the reverse of Conv2D's kernel).

A Conv2D maps a big image to a small one: output pixel (i, j) reads the window of input pixels
at ``(i*sh + di, j*sw + dj)``. Its *transpose* (the adjoint: what Conv2D's backward does to the
gradient) runs the arrows the other way: input pixel (i, j) *writes* ``W[di, dj] @ x[i, j]``
into output pixel ``(i*sh + di, j*sw + dj)`` of a big image, for every kernel tap (di, dj), and
where two writes land on one pixel they add up. That scatter is the whole layer; nothing is
flipped. Keras then crops the full result to its output size (``padding``, ``output_padding``:
the crop (top, bottom), (left, right) comes from the declaration, one definition of the rule).

Written as a loop over the kh * kw taps: tap (di, dj) touches the strided view
``full[:, di : di + sh*H : sh, dj : dj + sw*W_in : sw]`` of shape (N, H, W_in, F) -- the same
view through which Conv2D's tap (di, dj) reads. Forward adds ``x @ W[di, dj]^T`` into it;
backward reads the gradient back out of it (a strided Conv2D of the gradient).
"""
from __future__ import annotations

import numpy as np

from crossframe import layers as L
from crossframe.layers.conv_transpose import crop

from .base import Layer


class Conv2DTranspose(Layer):
    """2-D transposed convolution, NHWC (keras.layers.Conv2DTranspose).

        x (N, H, W, C_in),  W (kh, kw, F, C_in),  b (F,)  ->  y (N, Ho, Wo, F)

    Forward:   full = zeros (N, Hf, Wf, F)
               full[n, i*sh + di, j*sw + dj] += W[di, dj] @ x[n, i, j]      every tap (di, dj)
               y[n, o, p] = full[n, top + o, left + p] + b   (Keras' crop; past the end of
                                                              full: 0, so y = b there)
    Backward (G = dL/dy (N, Ho, Wo, F)):
               Gf = zeros (N, Hf, Wf, F);  Gf[n, top + o, left + p] = G[n, o, p]  (inside full)
               dx[n, i, j] = sum_{di, dj} W[di, dj]^T @ Gf[n, i*sh + di, j*sw + dj]
               dW[di, dj]  = sum_{n, i, j} Gf[n, i*sh + di, j*sw + dj] x[n, i, j]^T
               db          = sum_{n, o, p} G[n, o, p]
    Options: ``strides`` (sh, sw), ``padding`` "valid" or "same", ``output_padding`` None or
    (oph, opw). Source of the rule: keras/src/backend/common/backend_utils.py
    (``_get_output_shape_given_tf_padding``) and TensorFlow's conv2d_backprop_input."""

    declaration = L.Conv2DTranspose
    strides = (1, 1)
    padding = "valid"
    output_padding = None

    def _crops(self, x_shape, kernel_shape):
        """((top, bottom), (left, right)); a negative bottom/right: zero rows appended."""
        (_, H, W_in, _), (kh, kw) = x_shape, kernel_shape[:2]
        (sh, sw), ops = self.strides, self.output_padding or (None, None)
        return (crop(H, kh, sh, self.padding, ops[0]), crop(W_in, kw, sw, self.padding, ops[1]))

    def forward(self, params, x):
        W = params["W"]
        kh, kw, F, C_in = W.shape
        N, H, W_in, _ = x.shape
        sh, sw = self.strides
        full = np.zeros((N, (H - 1) * sh + kh, (W_in - 1) * sw + kw, F), dtype=x.dtype)
        for di in range(kh):
            for dj in range(kw):
                full[:, di:di + sh * H:sh, dj:dj + sw * W_in:sw] += x @ W[di, dj].T
        y = cut(full, self._crops(x.shape, W.shape))
        if "b" in params:
            y += params["b"]
        return y, x

    def backward(self, params, x, G):
        W = params["W"]
        kh, kw, F, C_in = W.shape
        N, H, W_in, _ = x.shape
        sh, sw = self.strides
        Gf = uncut(G, self._crops(x.shape, W.shape))                    # (N, Hf, Wf, F)
        dx = np.zeros_like(x)
        dW = np.zeros_like(W)
        x_rows = x.reshape(-1, C_in)                                    # (N*H*W_in, C_in)
        for di in range(kh):
            for dj in range(kw):
                tap = Gf[:, di:di + sh * H:sh, dj:dj + sw * W_in:sw]    # (N, H, W_in, F)
                dx += tap @ W[di, dj]
                dW[di, dj] = tap.reshape(-1, F).T @ x_rows
        grads = {"W": dW}
        if "b" in params:
            grads["b"] = G.reshape(-1, F).sum(axis=0)
        return grads, dx


def cut(full, crops):
    """``full`` (N, Hf, Wf, F) cropped by ((top, bottom), (left, right)); a negative bottom or
    right appends that many zero rows or columns (a fresh array either way)."""
    (top, bottom), (left, right) = crops
    N, Hf, Wf, F = full.shape
    Ho, Wo = Hf - top - bottom, Wf - left - right
    y = np.zeros((N, Ho, Wo, F), dtype=full.dtype)
    h, w = min(Ho, Hf - top), min(Wo, Wf - left)                     # what full covers
    y[:, :h, :w] = full[:, top:top + h, left:left + w]
    return y


def uncut(G, crops):
    """The adjoint of ``cut``: G (N, Ho, Wo, F) put back where it was cropped from, zeros in
    the cropped border; rows past the end of the full output (appended zeros) are dropped."""
    (top, bottom), (left, right) = crops
    N, Ho, Wo, F = G.shape
    Hf, Wf = Ho + top + bottom, Wo + left + right
    Gf = np.zeros((N, Hf, Wf, F), dtype=G.dtype)
    h, w = min(Ho, Hf - top), min(Wo, Wf - left)
    Gf[:, top:top + h, left:left + w] = G[:, :h, :w]
    return Gf
