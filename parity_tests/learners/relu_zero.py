# MISTAKE: the derivative at exactly x == 0 is taken as 1 (x >= 0).
import numpy as np


def forward(params, x):
    return np.maximum(x, 0.0), x


def backward(params, cache, dy):
    x = cache
    return {}, dy * (x >= 0)
