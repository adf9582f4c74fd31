# LayerNormalization over the last axis, the chain rule step by step (through var, then mu).
import numpy as np

EPSILON = 1e-3   # Keras' default, which verify uses unless --epsilon is given


def forward(params, x, epsilon=EPSILON):
    mu = np.mean(x, axis=-1, keepdims=True)
    xc = x - mu
    var = np.mean(xc * xc, axis=-1, keepdims=True)
    inv = (var + epsilon) ** -0.5
    xhat = xc * inv
    return params["gamma"] * xhat + params["beta"], (xc, inv, xhat)


def backward(params, cache, dy):
    xc, inv, xhat = cache
    F = xc.shape[-1]
    rows = tuple(range(dy.ndim - 1))
    dgamma = np.sum(dy * xhat, axis=rows)
    dbeta = np.sum(dy, axis=rows)
    dxhat = dy * params["gamma"]
    dvar = np.sum(dxhat * xc, axis=-1, keepdims=True) * -0.5 * inv ** 3
    dmu = -np.sum(dxhat * inv, axis=-1, keepdims=True) - 2.0 * dvar * np.mean(xc, axis=-1,
                                                                              keepdims=True)
    dx = dxhat * inv + dvar * 2.0 * xc / F + dmu / F
    return {"gamma": dgamma, "beta": dbeta}, dx
