# MISTAKE: the Jacobian is taken as its diagonal alone: dz = dp * p * (1 - p).
import numpy as np


def forward(params, x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p, p


def backward(params, cache, dy):
    p = cache
    dx = dy * p * (1.0 - p)
    return {}, dx
