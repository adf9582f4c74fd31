"""Layer normalization in Keras 3: ``layers.LayerNormalization(axis=-1, epsilon)``, variables
``gamma`` and ``beta`` (the canonical names), over the last axis (the channels of NHWC)."""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


class LayerNormalization:
    declaration = L.LayerNormalization

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.LayerNormalization(axis=-1, epsilon=cfg.opts["epsilon"],
                                               dtype=dtype, name=cfg.name)


class BatchNormalization:
    """``layers.BatchNormalization(axis=-1, momentum, epsilon, center, scale)``: variables
    gamma, beta (trainable), moving_mean, moving_variance (updated by a call with
    training=True, with the biased batch variance)."""

    declaration = L.BatchNormalization

    @staticmethod
    def make(cfg, dtype):
        o = cfg.opts
        return keras.layers.BatchNormalization(axis=-1, momentum=o["momentum"],
                                               epsilon=o["epsilon"], center=o["center"],
                                               scale=o["scale"], dtype=dtype, name=cfg.name)
