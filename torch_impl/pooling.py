"""The pooling layers in PyTorch: MaxPool2D and AveragePooling2D, NCHW.

Shape legend: N batch, C channels, H, W height and width. x (N, C, H, W) -> (N, C, Ho, Wo).
"""
from __future__ import annotations

from torch import nn

from crossframe import layers as L


class MaxPool2D(nn.MaxPool2d):
    """Floor semantics (ceil_mode=False, the default), as Keras' padding="valid"."""

    declaration = L.MaxPool2D

    def __init__(self, cfg):
        super().__init__(cfg.opts["pool_size"], cfg.opts["strides"])


class AveragePooling2D(nn.AvgPool2d):
    """Floor semantics (ceil_mode=False, the default), as Keras' padding="valid"."""

    declaration = L.AveragePooling2D

    def __init__(self, cfg):
        super().__init__(cfg.opts["pool_size"], cfg.opts["strides"])
