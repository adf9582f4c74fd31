# MaxPool2D, NHWC, "valid" windows; a tied window sends its gradient to its FIRST maximum.
import numpy as np


def _taps(shape, pool_size, strides):
    """Yield (k, rows, cols) for each window offset k in row-major order."""
    ph, pw = pool_size
    sh, sw = strides if strides is not None else pool_size
    _, H, W, _ = shape
    oh, ow = (H - ph) // sh + 1, (W - pw) // sw + 1
    for k in range(ph * pw):
        di, dj = divmod(k, pw)
        yield k, slice(di, di + sh * (oh - 1) + 1, sh), slice(dj, dj + sw * (ow - 1) + 1, sw)


def forward(params, x, pool_size=(2, 2), strides=None):
    y, arg = None, None
    for k, rows, cols in _taps(x.shape, pool_size, strides):
        tap = x[:, rows, cols, :]
        if y is None:
            y, arg = tap.copy(), np.zeros(tap.shape, dtype=np.int64)
            continue
        better = tap > y
        y = np.where(better, tap, y)
        arg = np.where(better, k, arg)
    return y, (x.shape, arg)


def backward(params, cache, dy, pool_size=(2, 2), strides=None):
    shape, arg = cache
    dx = np.zeros(shape, dtype=dy.dtype)
    for k, rows, cols in _taps(shape, pool_size, strides):
        dx[:, rows, cols, :] += dy * (arg == k)
    return {}, dx
