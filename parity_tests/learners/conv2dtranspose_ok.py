# Conv2DTranspose, NHWC, Keras' output size and crop; kernel (kh, kw, F, C_in).
import numpy as np


def _crop(n, k, s, padding, op):
    """(before, after) cut off the full (n - 1) * s + k output; after < 0: zeros appended."""
    full = (n - 1) * s + k
    if padding == "valid":
        out = full + (max(k, s) - k if op is None else op)
    else:
        out = n * s if op is None else (n - 1) * s + k % 2 + op
    before = 0 if padding == "valid" else max(full - out, 0) // 2
    return before, full - before - out


def _crops(x_shape, W_shape, strides, padding, output_padding):
    ops = output_padding or (None, None)
    return [_crop(n, k, s, padding, op)
            for n, k, s, op in zip(x_shape[1:3], W_shape[:2], strides, ops)]


def forward(params, x, strides=(1, 1), padding="valid", output_padding=None):
    W = params["W"]
    kh, kw, F, _ = W.shape
    N, H, Wd, _ = x.shape
    sh, sw = strides
    full = np.zeros((N, (H - 1) * sh + kh, (Wd - 1) * sw + kw, F), dtype=x.dtype)
    for di in range(kh):
        for dj in range(kw):
            full[:, di:di + sh * H:sh, dj:dj + sw * Wd:sw] += x @ W[di, dj].T
    (top, bottom), (left, right) = _crops(x.shape, W.shape, strides, padding, output_padding)
    big = np.zeros((N, full.shape[1] + max(-bottom, 0), full.shape[2] + max(-right, 0), F),
                   dtype=x.dtype)
    big[:, :full.shape[1], :full.shape[2]] = full
    y = big[:, top:big.shape[1] - max(bottom, 0), left:big.shape[2] - max(right, 0)].copy()
    if "b" in params:
        y += params["b"]
    return y, x


def backward(params, cache, dy, strides=(1, 1), padding="valid", output_padding=None):
    x, W = cache, params["W"]
    kh, kw, F, C = W.shape
    N, H, Wd, _ = x.shape
    sh, sw = strides
    (top, bottom), (left, right) = _crops(x.shape, W.shape, strides, padding, output_padding)
    Hf, Wf = (H - 1) * sh + kh, (Wd - 1) * sw + kw
    big = np.zeros((N, Hf + max(-bottom, 0), Wf + max(-right, 0), F), dtype=dy.dtype)
    big[:, top:top + dy.shape[1], left:left + dy.shape[2]] = dy
    Gf = big[:, :Hf, :Wf]
    dx, dW = np.zeros_like(x), np.zeros_like(W)
    for di in range(kh):
        for dj in range(kw):
            tap = Gf[:, di:di + sh * H:sh, dj:dj + sw * Wd:sw]
            dx += tap @ W[di, dj]
            dW[di, dj] = tap.reshape(-1, F).T @ x.reshape(-1, C)
    grads = {"W": dW}
    if "b" in params:
        grads["b"] = dy.reshape(-1, F).sum(axis=0)
    return grads, dx
