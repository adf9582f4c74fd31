# MISTAKE: the derivative is computed as x(1-x) from the input x.
import numpy as np


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def forward(params, x):
    y = _sigmoid(x)
    return y, (x, y)


def backward(params, cache, dy):
    x, y = cache
    return {}, dy * x * (1.0 - x)
