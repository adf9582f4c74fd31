"""The convolutions in Keras 3: Conv2D, Conv1D, Flatten (pools: pooling.py).

Keras' layout is the canonical one (channels_last): x (N, H, W, C) or (N, L, C),
``Conv2D.kernel`` (kh, kw, C_in/groups, C_out), ``Conv1D.kernel`` (k, C_in/groups, C_out),
``Flatten`` orders the features (h, w, c) or (l, c). Keras' ``padding="same"`` is TensorFlow's:
the odd extra row/column of zeros goes bottom/right, for the dilated kernel's span; TF computes
the amounts at run time from the input size. ``Conv1D(padding="causal")`` pads the left itself
and convolves "valid". ``MaxPooling2D(padding="valid")`` drops
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
                                   padding=o["padding"], dilation_rate=o["dilation_rate"],
                                   groups=o["groups"], use_bias=o["use_bias"], dtype=dtype,
                                   name=cfg.name)


class Conv1D:
    declaration = L.Conv1D

    @staticmethod
    def make(cfg, dtype):
        o = cfg.opts
        return keras.layers.Conv1D(o["filters"], o["kernel_size"], strides=o["strides"],
                                   padding=o["padding"], dilation_rate=o["dilation_rate"],
                                   groups=o["groups"], use_bias=o["use_bias"], dtype=dtype,
                                   name=cfg.name)


class Flatten:
    declaration = L.Flatten

    @staticmethod
    def make(cfg, dtype):
        return keras.layers.Flatten(dtype=dtype, name=cfg.name)
