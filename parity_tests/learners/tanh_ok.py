# Tanh: derivative 1 - y^2.
import numpy as np


def forward(params, x):
    y = np.tanh(x)
    return y, y


def backward(params, cache, dy):
    y = cache
    return {}, dy * (1.0 - y * y)
