"""The image layers in Keras 3: Conv2D, Flatten (pools: pooling.py).

Keras' layout is the canonical one (channels_last): x (N, H, W, C), ``Conv2D.kernel``
(kh, kw, C_in, C_out), ``Flatten`` of (N, H, W, C) orders the features (h, w, c). Keras'
``padding="same"`` is TensorFlow's: the odd extra row/column of zeros goes bottom/right; TF
computes the amounts at run time from the input size. ``MaxPooling2D(padding="valid")`` drops
the rows and columns that do not fill a window (floor), as torch's ``ceil_mode=False``.
"""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


class Conv2D:
    declaration = L.Conv2D

    @staticmethod
    def make(cfg, dtype):
        o = cfg.opts
        return keras.layers.Conv2D(o["filters"], o["kernel_size"], strides=o["strides"],
                                   padding=o["padding"], use_bias=o["use_bias"], dtype=dtype,
                                   name=cfg.name)


class Flatten:
    declaration = L.Flatten

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Flatten(dtype=dtype, name=cfg.name)
