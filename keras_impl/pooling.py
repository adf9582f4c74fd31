"""The pooling layers in Keras 3, channels_last: MaxPooling2D, AveragePooling2D (x (N, H, W, C)),
MaxPooling1D, AveragePooling1D (x (N, L, C)), GlobalMax/GlobalAveragePooling 1D and 2D
(-> (N, C)).

``padding="valid"`` drops what does not fill a window (floor), as torch's ``ceil_mode=False``;
``padding="same"`` is TensorFlow's: the odd pad after, a max ignoring the pads, an average
dividing by the real elements. The global max is ``ops.max`` (tf.reduce_max): tied maxima
share the gradient evenly.
"""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


def _windowed(cls):
    def make(cfg, dtype):
        o = cfg.opts
        return cls(o["pool_size"], o["strides"], padding=o["padding"], dtype=dtype,
                   name=cfg.name)
    return staticmethod(make)


def _global(cls):
    def make(cfg, dtype):
        return cls(dtype=dtype, name=cfg.name)
    return staticmethod(make)


class MaxPool2D:
    declaration = L.MaxPool2D
    make = _windowed(keras.layers.MaxPooling2D)


class AveragePooling2D:
    declaration = L.AveragePooling2D
    make = _windowed(keras.layers.AveragePooling2D)


class MaxPooling1D:
    declaration = L.MaxPooling1D
    make = _windowed(keras.layers.MaxPooling1D)


class AveragePooling1D:
    declaration = L.AveragePooling1D
    make = _windowed(keras.layers.AveragePooling1D)


class GlobalMaxPooling2D:
    declaration = L.GlobalMaxPooling2D
    make = _global(keras.layers.GlobalMaxPooling2D)


class GlobalMaxPooling1D:
    declaration = L.GlobalMaxPooling1D
    make = _global(keras.layers.GlobalMaxPooling1D)


class GlobalAveragePooling2D:
    declaration = L.GlobalAveragePooling2D
    make = _global(keras.layers.GlobalAveragePooling2D)


class GlobalAveragePooling1D:
    declaration = L.GlobalAveragePooling1D
    make = _global(keras.layers.GlobalAveragePooling1D)
