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
