# Inverted dropout with the mask crossframe shares (its seed and the shape).
from crossframe.data import dropout_mask


def forward(params, x, training=True, rate=0.5, seed=0):
    if not training:
        return x, 1.0
    scale = dropout_mask(seed, x.shape, rate, x.dtype) / (1.0 - rate)
    return x * scale, scale


def backward(params, scale, dy):
    return {}, dy * scale
