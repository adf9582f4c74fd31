"""Masking in Keras 3: layers.Masking(mask_value). y = x * m with m = any(x != mask_value, -1),
and m attached to y; the functional model hands it to the layers after (a recurrent layer keeps
its state at masked steps). Shapes: x (N, T, D), m (N, T)."""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


class Masking:
    declaration = L.Masking

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Masking(mask_value=cfg.opts["mask_value"], dtype=dtype,
                                    name=cfg.name)
