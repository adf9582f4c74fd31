# Keras 2's hard_sigmoid: clip(0.2 x + 0.5, 0, 1); slope 0.2 on [-2.5, 2.5].
import numpy as np


def forward(params, x):
    return np.clip(0.2 * x + 0.5, 0.0, 1.0), x


def backward(params, x, dy):
    u = 0.2 * x + 0.5
    return {}, dy * np.where((u >= 0.0) & (u <= 1.0), 0.2, 0.0)
