# MISTAKE: backward ignores that the batch mean and variance depend on x.
import numpy as np


def forward(params, x, training=True, epsilon=1e-3):
    C = x.shape[-1]
    flat = x.reshape(-1, C)
    if training:
        mean = flat.sum(axis=0) / flat.shape[0]
        var = ((flat - mean) ** 2).sum(axis=0) / flat.shape[0]
    else:
        mean, var = params["moving_mean"], params["moving_variance"]
    std = np.sqrt(var + epsilon)
    xhat = (x - mean) / std
    y = params["gamma"] * xhat + params["beta"]
    return y, (xhat, std, mean, var, training)


def updated_state(params, cache, training=True, momentum=0.99):
    _, _, mean, var, _ = cache
    if not training:
        return {"moving_mean": params["moving_mean"],
                "moving_variance": params["moving_variance"]}
    return {"moving_mean": momentum * params["moving_mean"] + (1 - momentum) * mean,
            "moving_variance": momentum * params["moving_variance"] + (1 - momentum) * var}


def backward(params, cache, dy):
    xhat, std, _, _, training = cache
    C = dy.shape[-1]
    g, xh = dy.reshape(-1, C), xhat.reshape(-1, C)
    M = g.shape[0]
    dgamma = (g * xh).sum(axis=0)
    dbeta = g.sum(axis=0)
    dxhat = g * params["gamma"]
    if False:   # through the batch mean and variance
        dx = (M * dxhat - dxhat.sum(axis=0) - xh * (dxhat * xh).sum(axis=0)) / (M * std)
    else:
        dx = dxhat / std
    return {"gamma": dgamma, "beta": dbeta}, dx.reshape(dy.shape)
