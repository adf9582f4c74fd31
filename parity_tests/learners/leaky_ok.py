# LeakyReLU with Keras' layer default slope 0.3: y = x (x > 0), 0.3 x (x <= 0).
import numpy as np


def forward(params, x):
    return np.where(x > 0, x, 0.3 * x), x


def backward(params, x, dy):
    return {}, dy * np.where(x > 0, 1.0, 0.3)
