# MISTAKE: backward gives each window element G, not G / (ph * pw).
import numpy as np


def _taps(shape, pool_size, strides):
    """Yield (rows, cols) slices for each window offset, row-major."""
    ph, pw = pool_size
    sh, sw = strides if strides is not None else pool_size
    _, H, W, _ = shape
    oh, ow = (H - ph) // sh + 1, (W - pw) // sw + 1
    for di in range(ph):
        for dj in range(pw):
            yield slice(di, di + sh * (oh - 1) + 1, sh), slice(dj, dj + sw * (ow - 1) + 1, sw)


def forward(params, x, pool_size=(2, 2), strides=None):
    total = None
    for rows, cols in _taps(x.shape, pool_size, strides):
        tap = x[:, rows, cols, :]
        total = tap.copy() if total is None else total + tap
    return total / float(pool_size[0] * pool_size[1]), x.shape


def backward(params, cache, dy, pool_size=(2, 2), strides=None):
    shape = cache
    dx = np.zeros(shape, dtype=dy.dtype)
    share = dy
    for rows, cols in _taps(shape, pool_size, strides):
        dx[:, rows, cols, :] += share
    return {}, dx
