# GlobalMaxPooling1D: y[n, c] = max over the L steps of x (N, L, C); tied maxima share the gradient.
import numpy as np


def forward(params, x):
    y = np.max(x, axis=1)                                  # (N, C)
    return y, (x, y)


def backward(params, cache, dy):
    x, y = cache
    is_max = (x == y[:, None, :])                      # every tied maximum
    m = np.sum(is_max, axis=1, keepdims=True)              # how many tie, (N, 1, C)
    return {}, is_max * (dy[:, None, :] / m)
