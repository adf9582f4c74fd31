# MISTAKE: dW has 1e-3 * a fixed random matrix added to it.
import numpy as np


def forward(params, x):
    y = x @ params["W"] + params["b"]
    return y, x


def backward(params, cache, dy):
    x = cache
    noise = 1e-3 * np.random.default_rng(0).standard_normal(params["W"].shape)
    dW = x.T @ dy + noise.astype(dy.dtype)
    db = dy.sum(axis=0)
    dx = dy @ params["W"].T
    return {"W": dW, "b": db}, dx
