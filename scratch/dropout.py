"""Dropout, inverted (the scaling at training time), with the mask every implementation shares.

Shapes: x, mask and y (N, ...) alike; the mask is 1 (kept, probability 1 - rate) or 0.
Srivastava et al., "Dropout" (JMLR 2014); inverted as torch.nn.Dropout and
keras.layers.Dropout apply it. The mask comes from crossframe.data.dropout_mask (the layer's seed
and the shape), so scratch, torch and Keras drop the same values.
"""
from __future__ import annotations

from crossframe import layers as L
from crossframe.data import dropout_mask

from .base import Layer


class Dropout(Layer):
    """training: y = x * mask / (1 - rate), dL/dx = G * mask / (1 - rate);
    inference: y = x, dL/dx = G."""

    declaration = L.Dropout

    def __init__(self, rate: float = 0.5, seed: int = 0, **options):
        self.rate, self.seed = rate, seed

    def forward(self, params, x, training=True):
        if not training:
            return x, None
        keep = dropout_mask(self.seed, x.shape, self.rate, x.dtype) / (1 - self.rate)
        return x * keep, keep.astype(x.dtype)

    def backward(self, params, keep, G):
        return {}, G if keep is None else G * keep
