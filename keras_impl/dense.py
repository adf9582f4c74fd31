"""Dense and the activations in Keras 3.

``layers.Dense`` stores ``kernel`` as (in, out) — the canonical layout — and ``bias`` (out,); on
more axes it acts on the last one. Each class makes the Keras layer for a ``LayerConfig`` with
the model's dtype given explicitly and the layer's name (its variables' path prefix).
"""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


class Dense:
    declaration = L.Dense

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Dense(cfg.opts["units"], use_bias=cfg.opts["use_bias"], dtype=dtype,
                                  name=cfg.name)


class ReLU:
    declaration = L.ReLU

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.ReLU(dtype=dtype, name=cfg.name)


class Sigmoid:
    declaration = L.Sigmoid

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Activation("sigmoid", dtype=dtype, name=cfg.name)


class Tanh:
    declaration = L.Tanh

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Activation("tanh", dtype=dtype, name=cfg.name)


class Softmax:
    """Over the last axis: the features, or the channels of NHWC."""

    declaration = L.Softmax

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Softmax(axis=-1, dtype=dtype, name=cfg.name)
