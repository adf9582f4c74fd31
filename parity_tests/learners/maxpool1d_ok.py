# MaxPooling1D along the length of x (N, L, C); a window's gradient goes to its FIRST maximum.
import numpy as np


def _pads(L, k, s, padding):
    """(before, after) padding along L: none for 'valid', Keras' rule for 'same'."""
    if padding == "valid":
        return 0, 0
    out = -(-L // s)                                  # ceil(L / s)
    total = max((out - 1) * s + k - L, 0)
    return total // 2, total - total // 2             # the odd extra one goes after


def _taps(Lp, k, s):
    """Yield (d, window-offset slice) for each position d < k inside the window."""
    out = (Lp - k) // s + 1
    for d in range(k):
        yield d, slice(d, d + s * (out - 1) + 1, s)


def forward(params, x, pool_size=2, strides=None, padding="valid"):
    k, s = pool_size, strides or pool_size
    before, after = _pads(x.shape[1], k, s, padding)
    xp = np.pad(x, ((0, 0), (before, after), (0, 0)), constant_values=-np.inf)
    y, arg = None, None
    for d, win in _taps(xp.shape[1], k, s):
        tap = xp[:, win, :]
        if y is None:
            y, arg = tap.copy(), np.zeros(tap.shape, dtype=np.int64)
            continue
        better = tap > y                              # strict: a tie keeps the first maximum
        y = np.where(better, tap, y)
        arg = np.where(better, d, arg)
    return y, (x.shape, xp.shape, before, arg)


def backward(params, cache, dy, pool_size=2, strides=None, padding="valid"):
    shape, padded, before, arg = cache
    k, s = pool_size, strides or pool_size
    dxp = np.zeros(padded, dtype=dy.dtype)
    for d, win in _taps(padded[1], k, s):
        dxp[:, win, :] += dy * (arg == d)             # overlapping windows add up
    return {}, dxp[:, before:before + shape[1], :]
