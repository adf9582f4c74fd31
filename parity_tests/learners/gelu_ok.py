# GELU, exact form: y = x Phi(x), dy/dx = Phi(x) + x phi(x) (Hendrycks & Gimpel 2016).
import math

import numpy as np
from scipy.special import erf


def forward(params, x):
    y = 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    return y, x


def backward(params, x, dy):
    Phi = 0.5 * (1.0 + erf(x / math.sqrt(2.0)))
    phi = np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    return {}, dy * (Phi + x * phi)
