"""The transposed convolution in Keras 3: Conv2DTranspose, channels_last.

Keras' layout is the canonical one: x (N, H, W, C_in), ``Conv2DTranspose.kernel``
(kh, kw, filters, C_in), bias (filters,). On the TensorFlow backend the layer calls
``tf.nn.conv_transpose`` (conv2d_backprop_input) with the output size from
keras/src/backend/common/backend_utils.py; TensorFlow places the crop of 'same' as its Conv2D
places the pads: the odd one at the bottom/right.
"""
from __future__ import annotations

from crossframe import layers as L

from .backend import keras


class Conv2DTranspose:
    declaration = L.Conv2DTranspose

    @staticmethod
    def make(cfg, dtype):
        o = cfg.opts
        return keras.layers.Conv2DTranspose(o["filters"], o["kernel_size"], strides=o["strides"],
                                            padding=o["padding"],
                                            output_padding=o["output_padding"],
                                            use_bias=o["use_bias"], dtype=dtype, name=cfg.name)
