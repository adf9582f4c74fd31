# Conv1D, NLC, kernel (k, C_in/groups, C_out), cross-correlation; Keras "valid"/"same"/"causal"
# padding, dilation_rate, groups.
import numpy as np


def _geometry(n, k, s, d, padding):
    """(pad_before, pad_after, out) along the length; d: dilation (span (k-1)*d + 1)."""
    span = (k - 1) * d + 1
    if padding == "valid":
        return 0, 0, (n - span) // s + 1
    out = -(-n // s)
    if padding == "causal":
        return span - 1, 0, out
    total = max((out - 1) * s + span - n, 0)
    return total // 2, total - total // 2, out


def forward(params, x, strides=1, padding="valid", dilation_rate=1, groups=1):
    W = params["W"]
    k, c_g, c_out = W.shape
    o_g = c_out // groups
    left, right, lo = _geometry(x.shape[1], k, strides, dilation_rate, padding)
    xp = np.pad(x, ((0, 0), (left, right), (0, 0)))
    y = np.zeros((x.shape[0], lo, c_out), dtype=x.dtype)
    for t in range(k):
        start = t * dilation_rate
        patch = xp[:, start:start + strides * (lo - 1) + 1:strides, :]
        for g in range(groups):
            y[..., g * o_g:(g + 1) * o_g] += patch[..., g * c_g:(g + 1) * c_g] @ \
                W[t][:, g * o_g:(g + 1) * o_g]
    if "b" in params:
        y += params["b"]
    return y, (xp, left, x.shape)


def backward(params, cache, dy, strides=1, padding="valid", dilation_rate=1, groups=1):
    W = params["W"]
    xp, left, shape = cache
    k, c_g, c_out = W.shape
    o_g = c_out // groups
    lo = dy.shape[1]
    dW = np.zeros_like(W)
    dxp = np.zeros_like(xp)
    for t in range(k):
        start = t * dilation_rate
        rows = slice(start, start + strides * (lo - 1) + 1, strides)
        for g in range(groups):
            ins, outs = slice(g * c_g, (g + 1) * c_g), slice(g * o_g, (g + 1) * o_g)
            dW[t][:, outs] = np.tensordot(xp[:, rows, ins], dy[..., outs], axes=([0, 1], [0, 1]))
            dxp[:, rows, ins] += dy[..., outs] @ W[t][:, outs].T
    grads = {"W": dW}
    if "b" in params:
        grads["b"] = dy.sum(axis=(0, 1))
    return grads, dxp[:, left:left + shape[1], :].copy()
