# ELU with alpha = 1: y = x (x > 0), exp(x) - 1 (x <= 0); dy/dx = 1, exp(x).
import numpy as np


def forward(params, x):
    y = np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))
    return y, x


def backward(params, x, dy):
    return {}, dy * np.where(x > 0, 1.0, np.exp(np.minimum(x, 0.0)))
