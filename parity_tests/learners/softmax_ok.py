# Softmax over the last axis.
import numpy as np


def forward(params, x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    p = e / e.sum(axis=-1, keepdims=True)
    return p, p


def backward(params, cache, dy):
    p = cache
    dx = p * (dy - (dy * p).sum(axis=-1, keepdims=True))
    return {}, dx
