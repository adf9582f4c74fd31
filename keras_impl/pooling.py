"""The pooling layers in Keras 3: MaxPooling2D and AveragePooling2D, channels_last.

x (N, H, W, C) -> (N, Ho, Wo, C); ``padding="valid"`` drops the rows and columns that do not
fill a window (floor), as torch's ``ceil_mode=False``.
"""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


class MaxPool2D:
    declaration = L.MaxPool2D

    @staticmethod
    def make(cfg, dtype):
        o = cfg.opts
        return keras.layers.MaxPooling2D(o["pool_size"], o["strides"], padding=o["padding"],
                                         dtype=dtype, name=cfg.name)


class AveragePooling2D:
    declaration = L.AveragePooling2D

    @staticmethod
    def make(cfg, dtype):
        o = cfg.opts
        return keras.layers.AveragePooling2D(o["pool_size"], o["strides"], padding=o["padding"],
                                             dtype=dtype, name=cfg.name)
