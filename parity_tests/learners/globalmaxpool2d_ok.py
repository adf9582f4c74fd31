# GlobalMaxPooling2D: y[n, c] = max of x (N, H, W, C) over the H*W positions; ties split dy.
import numpy as np


def forward(params, x):
    y = np.max(x, axis=(1, 2))                             # (N, C)
    return y, (x, y)


def backward(params, cache, dy):
    x, y = cache
    is_max = (x == y[:, None, None, :])                # every tied maximum
    m = np.sum(is_max, axis=(1, 2), keepdims=True)         # how many tie, (N, 1, 1, C)
    return {}, is_max * (dy[:, None, None, :] / m)
