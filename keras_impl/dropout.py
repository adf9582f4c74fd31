"""Dropout in Keras 3, with the mask crossframe injects.

keras.layers.Dropout(rate) draws its mask from its own SeedGenerator; for parity this layer
applies the shared mask (crossframe.data.dropout_mask, NHWC like Keras) as
x * mask / (1 - rate) in Keras ops when called with training=True, and is the identity
otherwise, as keras.layers.Dropout is. The real keras.layers.Dropout is checked statistically
in parity_tests/test_dropout.py.
"""
from __future__ import annotations

from crossframe import layers as L
from crossframe.data import dropout_mask

from .backend import keras


class SharedMaskDropout(keras.layers.Layer):
    def __init__(self, rate: float, seed: int, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = rate, seed

    def compute_output_shape(self, input_shape):
        return input_shape

    def call(self, x, training=False):
        if not training:
            return x
        mask = dropout_mask(self.seed, tuple(x.shape), self.rate, self.compute_dtype)
        return x * keras.ops.convert_to_tensor(mask / (1 - self.rate), dtype=self.compute_dtype)


class Dropout:
    declaration = L.Dropout

    @staticmethod
    def make(cfg, dtype):
        return SharedMaskDropout(cfg.opts["rate"], cfg.opts["seed"], dtype=dtype, name=cfg.name)
