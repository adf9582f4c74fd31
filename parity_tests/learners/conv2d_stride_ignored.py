# MISTAKE: backward treats strides as (1, 1) (contiguous windows); forward is correct.
import numpy as np


def _geometry(n, k, s, padding):
    """(pad_before, pad_after, out) along one axis."""
    if padding == "valid":
        return 0, 0, (n - k) // s + 1
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return total // 2, total - total // 2, out


def forward(params, x, strides=(1, 1), padding="valid"):
    W, b = params["W"], params["b"]
    kh, kw, _, c_out = W.shape
    sh, sw = strides
    N, H, Wd, _ = x.shape
    top, bottom, oh = _geometry(H, kh, sh, padding)
    left, right, ow = _geometry(Wd, kw, sw, padding)
    xp = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    y = np.zeros((N, oh, ow, c_out), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            patch = xp[:, i:i + sh * (oh - 1) + 1:sh, j:j + sw * (ow - 1) + 1:sw, :]
            y += patch @ W[i, j]
    y += b
    return y, (xp, top, left, x.shape)


def backward(params, cache, dy, strides=(1, 1), padding="valid"):
    W = params["W"]
    xp, top, left, shape = cache
    kh, kw = W.shape[:2]
    sh, sw = 1, 1
    _, oh, ow, _ = dy.shape
    dW = np.zeros_like(W)
    dxp = np.zeros_like(xp)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i, i + sh * (oh - 1) + 1, sh)
            cols = slice(j, j + sw * (ow - 1) + 1, sw)
            if xp[:, rows, cols, :].shape[1:3] != (oh, ow):   # window runs off the image
                continue
            dW[i, j] = np.tensordot(xp[:, rows, cols, :], dy, axes=([0, 1, 2], [0, 1, 2]))
            dxp[:, rows, cols, :] += dy @ W[i, j].T
    db = dy.sum(axis=(0, 1, 2))
    dx = dxp[:, top:top + shape[1], left:left + shape[2], :].copy()
    return {"W": dW, "b": db}, dx
