# AveragePooling1D over the length axis of x (N, L, C): each window's mean over its REAL elements.
import numpy as np


def _pads(L, k, s, padding):
    """(before, after) padding along L: none for 'valid', Keras' rule for 'same'."""
    if padding == "valid":
        return 0, 0
    out = -(-L // s)                                  # ceil(L / s)
    total = max((out - 1) * s + k - L, 0)
    return total // 2, total - total // 2             # the odd extra one goes after


def _taps(Lp, k, s):
    """Yield a window-offset slice for each position d < k inside the window."""
    out = (Lp - k) // s + 1
    for d in range(k):
        yield slice(d, d + s * (out - 1) + 1, s)


def _count(L, k, s, before, after):
    """count[i]: how many real (not padded) elements window i holds, shape (1, Lo, 1)."""
    real = np.pad(np.ones(L), (before, after))
    return sum(real[win] for win in _taps(L + before + after, k, s))[None, :, None]


def forward(params, x, pool_size=2, strides=None, padding="valid"):
    k, s = pool_size, strides or pool_size
    before, after = _pads(x.shape[1], k, s, padding)
    xp = np.pad(x, ((0, 0), (before, after), (0, 0)))          # zeros add nothing
    total = sum(xp[:, win, :] for win in _taps(xp.shape[1], k, s))
    count = _count(x.shape[1], k, s, before, after)
    return total / count, (x.shape, before, after, count)


def backward(params, cache, dy, pool_size=2, strides=None, padding="valid"):
    shape, before, after, count = cache
    k, s = pool_size, strides or pool_size
    dxp = np.zeros((shape[0], shape[1] + before + after, shape[2]), dtype=dy.dtype)
    share = dy / count
    for win in _taps(dxp.shape[1], k, s):
        dxp[:, win, :] += share                        # overlapping windows add up
    return {}, dxp[:, before:before + shape[1], :]     # what lands on a pad is dropped
